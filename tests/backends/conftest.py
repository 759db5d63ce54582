"""Fixtures of the client tests; how stand-ins are served is in `tests/sandbox/serving.py`."""

from __future__ import annotations

from tests.sandbox.serving import zgw_root

__all__ = ["zgw_root"]
