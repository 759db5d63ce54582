"""The public addresses of the voice webhooks, as the telephony platform sees them.

Behind a reverse proxy the URL Rasa sees can differ from the one the platform called (another
host, http instead of https). Twilio signs the URL it called, and both platforms must be given
absolute URLs to call next, so VOICE_PUBLIC_URL (a base URL) replaces the request's own scheme
and host when it is set.
"""

from __future__ import annotations

from sanic.request import Request


def public_base(request: Request, public_url: str | None) -> str:
    """``https://host[:port]`` under which the platform reaches Rasa."""
    return public_url or f"{request.scheme}://{request.host}"


def public_request_url(request: Request, public_url: str | None) -> str:
    """The full URL of this request as the platform called it (path and query included)."""
    if not public_url:
        return request.url
    query = f"?{request.query_string}" if request.query_string else ""
    return f"{public_url}{request.path}{query}"


def sibling_url(request: Request, public_url: str | None, name: str) -> str:
    """The absolute URL of another route of the same blueprint ("webhook", "whisper")."""
    prefix = request.path.rsplit("/", 1)[0]
    return f"{public_base(request, public_url)}{prefix}/{name}"
