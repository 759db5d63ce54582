"""HTTP client for the Signalen public API: one method per endpoint, wire types in and out.

`base_url` is the Signalen root, the address under which `signals/v1/...` lives (for Amsterdam
`https://api.meldingen.amsterdam.nl/`). The public endpoints are anonymous, so there is no
credential to configure; Signalen throttles them per client address instead
(PUBLIC_THROTTLE_RATE, 60/hour by default), which reaches the caller as BackendRejected with
status 429 and code "throttled".
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from assistant.backends.errors import NotFound
from assistant.backends.http import JsonClient
from assistant.backends.signalen.types import (
    CategoryPage,
    MainCategory,
    PublicSignal,
    SignalCreate,
    SubCategory,
)

SIGNALS_PATH = "signals/v1/public/signals/"
CATEGORIES_PATH = "signals/v1/public/terms/categories/"
# A public category tree has a few dozen main categories; more pages than this means a link loop.
MAX_CATEGORY_PAGES = 20


class SignalenClient(JsonClient):
    """Signalen's public endpoints. Raises the `assistant.backends.errors` tree only."""

    system = "signalen"

    async def create_signal(self, body: SignalCreate) -> PublicSignal:
        """`POST signals/v1/public/signals/`: file a melding; 201 with its public view.

        Never retried (JsonClient retries only idempotent methods), so a melding is not filed
        twice. A 400 carries the first invalid field as `code` (see `error_code`).
        """
        return await self.request("POST", SIGNALS_PATH, json=body)

    async def get_signal(self, signal_id: str) -> PublicSignal:
        """`GET signals/v1/public/signals/{signal_id}`: the public view (state OPEN or CLOSED).

        `signal_id` is the melding's uuid; the public API has no lookup by "SIG-123". Anything
        that is not a uuid cannot name a melding, so it raises NotFound without a request.
        """
        try:
            canonical = str(uuid.UUID(signal_id))
        except (ValueError, AttributeError, TypeError):
            raise NotFound(self.system, "a melding id is a uuid") from None
        return await self.request("GET", SIGNALS_PATH + canonical)

    async def list_categories(self) -> list[MainCategory]:
        """`GET signals/v1/public/terms/categories/`, every page: main categories with their
        sub-categories."""
        page: CategoryPage = await self.request("GET", CATEGORIES_PATH)
        categories = list(page["results"])
        for _ in range(MAX_CATEGORY_PAGES):
            next_url = page["_links"]["next"]["href"]
            if not next_url:
                break
            page = await self.request("GET", next_url, absolute=True)
            categories.extend(page["results"])
        return categories

    async def get_sub_category(self, slug: str, sub_slug: str) -> SubCategory:
        """`GET signals/v1/public/terms/categories/{slug}/sub_categories/{sub_slug}`."""
        return await self.request("GET", self.sub_category_path(slug, sub_slug))

    @staticmethod
    def sub_category_path(slug: str, sub_slug: str) -> str:
        return f"{CATEGORIES_PATH}{slug}/sub_categories/{sub_slug}"

    def sub_category_url(self, slug: str, sub_slug: str) -> str:
        """The URL a melding names its category by (`category.sub_category`)."""
        return self.base_url + self.sub_category_path(slug, sub_slug)

    def error_code(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        """DRF sends no error code, so the code is what a caller can act on: "throttled" for a
        429, otherwise the dotted path of the first invalid field ("text",
        "location.geometrie", "category.sub_category", "non_field_errors")."""
        if status == 429:
            return "throttled"
        return _first_error_path(body)


def _first_error_path(body: Any) -> str | None:
    if not isinstance(body, dict) or not body or "detail" in body:
        return None
    key = next(iter(body))
    inner = _first_error_path(body[key]) if isinstance(body[key], dict) else None
    return f"{key}.{inner}" if inner else str(key)
