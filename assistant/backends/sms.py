"""HTTP client for Twilio's Messages API: send one SMS (the phone channel's "link by SMS").

`base_url` is Twilio's API root, `https://api.twilio.com/` (the sandbox: `<SANDBOX_URL>/twilio/`);
the client posts to `2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth
(AccountSid:AuthToken) and a form body, through JsonClient's one request method, so a send is
never repeated: a second POST would be a second SMS.

A refusal is BackendRejected with Twilio's code as a string: "21211" (a To that is no phone
number), "21602" (no body), "20003" (wrong credentials), ... Privacy: the AuthToken travels only
in the Authorization header and the numbers only in the body; error messages name the method,
URL (which holds the AccountSid, an identifier, not a secret), status and Twilio's code, never
Twilio's text, which repeats the number it refused.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from assistant.backends.errors import BackendUnavailable, NotConfigured
from assistant.backends.http import DEFAULT_TIMEOUT_SECONDS, JsonClient


class SmsClient(JsonClient):
    """Twilio's Messages resource. Raises the `assistant.backends.errors` tree only."""

    system = "twilio"

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth_token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if not account_sid.strip() or not auth_token.strip():
            raise NotConfigured(self.system, "an AccountSid and an AuthToken are both needed")
        super().__init__(base_url, session=session, timeout=timeout)
        self._path = f"2010-04-01/Accounts/{quote(account_sid.strip(), safe='')}/Messages.json"
        credentials = f"{account_sid.strip()}:{auth_token.strip()}".encode()
        self._authorization = "Basic " + base64.b64encode(credentials).decode()

    async def send(self, to: str, sender: str, body: str) -> str:
        """`POST 2010-04-01/Accounts/{AccountSid}/Messages.json`: send `body` to `to` (E.164,
        "+316...") from `sender` (a number of the account or an alphanumeric sender id of at
        most 11 characters, "Gemeente"); the message's sid ("SM..."), once Twilio queued it."""
        answer = await self.request(
            "POST", self._path, data={"To": to, "From": sender, "Body": body}
        )
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not isinstance(sid, str) or not sid:
            raise BackendUnavailable(self.system, "a sent message was answered without its sid")
        return sid

    async def request_headers(self, method: str) -> Mapping[str, str]:
        return {"Authorization": self._authorization}

    def error_code(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        """Twilio's numeric `code` as a string: "21211", "21602", "20003", ..."""
        code = body.get("code") if isinstance(body, dict) else None
        return None if code is None or isinstance(code, bool) else str(code)

    def error_detail(self, status: int, body: Any, headers: Mapping[str, str]) -> str | None:
        code = self.error_code(status, body, headers)
        return f"code {code}" if code else None
