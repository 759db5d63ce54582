"""Residents as the running assistant sees them: each from an address of their own.

The test stack trusts one proxy (SANIC_PROXIES_COUNT=1, as production behind its reverse proxy),
so a test gives each resident the address a proxy would report. Rate limits per address then
count residents apart, as they do for real residents, instead of counting the whole suite as one.
"""

from __future__ import annotations

import random

# Documentation and private ranges only: these addresses are never contacted, only reported.
_rng = random.Random()


def resident_address() -> str:
    return f"10.{_rng.randrange(256)}.{_rng.randrange(256)}.{_rng.randrange(1, 255)}"


def resident_headers() -> dict[str, str]:
    return {"X-Forwarded-For": resident_address()}
