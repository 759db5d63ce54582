"""The domain as Rasa merges it from `domain/*.yml`, for tests of its texts, slots and forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.shared.core.domain import Domain

DOMAIN_DIR = Path(__file__).resolve().parent.parent / "domain"
DOMAIN: dict[str, Any] = Domain.load(str(DOMAIN_DIR)).as_dict()
