"""Security headers on every response the console sends, errors and WebSocket upgrades included.

Added when a response is prepared (aiohttp's `on_response_prepare`), so no handler, refusal or
route added later can forget them. The Content-Security-Policy allows only this origin's own
files: no inline script or style, no other server, no framing. Nothing is cached except the
stylesheets, which browsers revalidate: pages show who is waiting and personal details.
"""

from __future__ import annotations

from aiohttp import web

from assistant.console.context import CONFIG
from assistant.console.csrf import own_origin


def content_security_policy(origin: str) -> str:
    # 'self' covers same-origin WebSockets in CSP 3; the ws(s) origin is named for older browsers.
    websocket = origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {websocket}",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(own_origin(request))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # Not no-referrer: with it Chromium sends "Origin: null" on same-origin posts, which the
    # CSRF check refuses; same-origin still tells other sites nothing.
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if request.app[CONFIG].secure_cookies:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-cache"
    else:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
