"""Cross-site request forgery: a state-changing request must come from the console's own pages.

Two checks on every request that is not GET, HEAD or OPTIONS, and on WebSocket upgrades
(which are GETs a foreign page can start too):

- a per-session random token, sent as the form field `csrf_token` or the header `X-CSRF-Token`
  (for a WebSocket, which cannot send headers from a browser: the query parameter
  `csrf_token`), compared in constant time with the session's;
- the `Origin` header, when the browser sends one (always for WebSockets), must be the
  console's own origin.

The session cookie's `SameSite=Strict` already keeps it off cross-site requests; these checks
do not depend on the browser honouring that. The login form carries a token too (login CSRF).
"""

from __future__ import annotations

import hmac
import logging
import secrets

from aiohttp import hdrs, web
from aiohttp_session import Session, get_session

from assistant.console.context import CONFIG, Handler
from assistant.console.pages import refusal

log = logging.getLogger(__name__)

SESSION_KEY = "csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

REFUSED = (
    "Deze actie is geweigerd, omdat het formulier verlopen of niet van deze site is. "
    "Laad de pagina opnieuw en probeer het nog eens."
)


def csrf_token(session: Session) -> str:
    """The session's token for forms and scripts (made on first use)."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def own_origin(request: web.Request) -> str:
    """The console's origin as the browser sees it: CONSOLE_PUBLIC_ORIGIN, else the request's
    host, with https when cookies are secure (TLS may end at a proxy in front of us)."""
    config = request.app[CONFIG]
    if config.public_origin:
        return config.public_origin
    scheme = "https" if config.secure_cookies else request.scheme
    return f"{scheme}://{request.host}".lower()


def is_websocket_upgrade(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


@web.middleware
async def csrf_protection(request: web.Request, handler: Handler) -> web.StreamResponse:
    websocket = is_websocket_upgrade(request)
    if request.method in SAFE_METHODS and not websocket:
        return await handler(request)
    origin = request.headers.get(hdrs.ORIGIN)
    if (origin is None and websocket) or (
        origin is not None and origin.rstrip("/").lower() != own_origin(request)
    ):
        log.warning(
            "console request refused: foreign origin on %s %s", request.method, request.path
        )
        return refusal(request, 403, REFUSED)
    expected = (await get_session(request)).get(SESSION_KEY)
    sent = await _sent_token(request, websocket)
    if not isinstance(expected, str) or not sent or not _same(expected, sent):
        log.warning("console request refused: CSRF token missing or wrong on %s", request.path)
        return refusal(request, 403, REFUSED)
    return await handler(request)


async def _sent_token(request: web.Request, websocket: bool) -> str | None:
    if header := request.headers.get(HEADER):
        return header
    if websocket:
        return request.query.get(FIELD)
    if request.content_type in _FORMS:
        value = (await request.post()).get(FIELD)  # kept by aiohttp for the handler
        return value if isinstance(value, str) else None
    return None


def _same(expected: str, sent: str) -> bool:
    return hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))
