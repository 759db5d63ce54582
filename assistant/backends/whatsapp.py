"""HTTP client for the WhatsApp Cloud API (Meta's Graph API): send a message, mark one as read.

`base_url` is the Graph API with its version, `https://graph.facebook.com/v19.0/` (the sandbox:
`<SANDBOX_URL>/whatsapp/v19.0/`); `access_token` is a system user's bearer token.

Retries, unlike every other client here. JsonClient never repeats a POST, so nothing is filed
twice; a send is tried again, up to `max_attempts` in all, after a 429, after a 5xx and after a
failed connection. Meta's error codes page says a message refused with 130429 "Rate limit hit",
131000 "Something went wrong" or 1/2 "service temporarily unavailable" was not sent and asks to
try again later, so a second attempt cannot deliver it twice. A dropped connection might have
been sent; a resident who gets an answer twice is better off than one who gets none. A timeout
is not retried: Meta may still be sending. Waits grow from `backoff_seconds`, doubling, are at
least what a Retry-After header asks and at most MAX_WAIT_SECONDS; all attempts share the one
`timeout`, so a send never takes longer. A 429 that outlasts the attempts is BackendUnavailable
(try later); every other 4xx is BackendRejected with Graph's code, e.g. "131047" (outside the
24-hour window), "131009" (a value WhatsApp refuses) or "190" (a bad token).

Privacy: the token travels only in the Authorization header and the resident's number (`to`)
only in the body. Error messages name the method, the URL (which holds the business's phone
number id, not the resident's), the status and Graph's code, never Graph's text, which may echo
what was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from assistant.backends.errors import BackendRejected, BackendUnavailable, NotConfigured
from assistant.backends.http import FailedAttempt, JsonClient

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_WAIT_SECONDS = 4.0


class WhatsAppClient(JsonClient):
    """The Cloud API's messages endpoint. Raises the `assistant.backends.errors` tree only."""

    system = "whatsapp"

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_attempts: int = 4,
        backoff_seconds: float = 0.5,
    ) -> None:
        if not access_token.strip():
            raise NotConfigured(self.system, "no Graph API access token")
        if max_attempts < 1 or backoff_seconds < 0:
            raise ValueError("max_attempts must be at least 1 and backoff_seconds not negative")
        super().__init__(base_url, session=session, timeout=timeout)
        self._authorization = f"Bearer {access_token.strip()}"
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds

    async def send(self, phone_number_id: str, to: str, message: Mapping[str, Any]) -> str:
        """`POST {phone_number_id}/messages`: send `message` to the resident `to`; the wamid.

        `to` is the resident's wa_id (digits, as the webhook names them). `message` is the part
        that depends on the type, e.g. `{"type": "text", "text": {"body": ..., "preview_url":
        False}}` or `{"type": "interactive", "interactive": {...}}`; the client adds
        `messaging_product`, `recipient_type` and `to`.
        """
        body = {
            **message,
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        }
        answer = await self._post(phone_number_id, body)
        messages = answer.get("messages") if isinstance(answer, dict) else None
        first = messages[0] if isinstance(messages, list) and messages else None
        wamid = first.get("id") if isinstance(first, dict) else None
        if not isinstance(wamid, str) or not wamid:
            raise BackendUnavailable(self.system, "a sent message was answered without its id")
        return wamid

    async def mark_read(self, phone_number_id: str, message_id: str) -> None:
        """`POST {phone_number_id}/messages` with status "read": the resident sees two blue
        ticks on the message `message_id` (a wamid). Raises like `send`; whether a failure
        matters is the caller's to decide."""
        body = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        answer = await self._post(phone_number_id, body)
        if not isinstance(answer, dict) or answer.get("success") is not True:
            raise BackendUnavailable(self.system, "marking a message read was not confirmed")

    async def _post(self, phone_number_id: str, body: Mapping[str, Any]) -> Any:
        path = f"{quote(phone_number_id, safe='')}/messages"
        try:
            return await self.request("POST", path, json=body)
        except BackendRejected as rejected:
            if rejected.status != 429:
                raise
            what = str(rejected).removeprefix(f"{self.system}: ")
            raise BackendUnavailable(
                self.system, f"{what} (code {rejected.code}) until the attempts ran out"
            ) from None

    async def request_headers(self, method: str) -> Mapping[str, str]:
        return {"Authorization": self._authorization}

    def error_code(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        """Graph's `error.code` as a string: "131047", "131009", "190", ..."""
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return None if code is None or isinstance(code, bool) else str(code)

    def error_detail(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        code = self.error_code(status, body, headers)
        return f"code {code}" if code else None

    def retry_delay(self, failed: FailedAttempt) -> float | None:
        """After a 429, a 5xx or a failed connection (the only failures asked about), wait and
        try again while attempts are left."""
        if failed.number >= self._max_attempts:
            return None
        return backoff(failed.number, self._backoff_seconds, failed.headers)


def backoff(attempt: int, backoff_seconds: float, headers: Mapping[str, str]) -> float:
    """The wait after failed attempt number `attempt` (1, 2, ...): `backoff_seconds` doubled for
    every attempt after the first, at least Retry-After, at most MAX_WAIT_SECONDS."""
    wait = backoff_seconds * 2 ** (attempt - 1)
    asked = retry_after(headers)
    if asked is not None:
        wait = max(wait, asked)
    return min(wait, MAX_WAIT_SECONDS)


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Retry-After in seconds (given as seconds or an HTTP date); None if absent or unreadable."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
