"""Rendering the console's pages (Jinja2, autoescaped) and its Dutch refusals.

Every word an employee reads is Dutch. Pages share `templates/base.html` (lang="nl", a skip
link, the NL Design System tokens from webchat/tokens.css and `static/console.css`; no inline
script or style, as the Content-Security-Policy forbids them). A refusal is an HTML page for the
browser, or `{"error": "<Dutch message>"}` for requests under /api/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# The design tokens the web chat uses, so the console looks like the rest of the assistant.
TOKENS_CSS = Path(__file__).resolve().parents[2] / "webchat" / "tokens.css"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Default Dutch messages for refusals that aiohttp itself raises.
STATUS_MESSAGES = {
    400: "Het verzoek klopt niet. Laad de pagina opnieuw en probeer het nog eens.",
    401: "U bent niet (meer) ingelogd. Log opnieuw in.",
    403: "U mag dit niet doen.",
    404: "Deze pagina bestaat niet.",
    405: "Deze pagina kunt u zo niet gebruiken.",
    413: "Wat u verstuurde is te groot.",
    500: "Er ging bij ons iets mis. Probeer het later opnieuw.",
}


def render(template: str, *, status: int = 200, **context: Any) -> web.Response:
    """A page from `templates/<template>`; context values are escaped."""
    context.setdefault("employee", None)
    context.setdefault("errors", [])
    context.setdefault("csrf_token", "")
    body = _environment.get_template(template).render(**context)
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")


def wants_json(request: web.Request) -> bool:
    """Requests to the console's API get JSON answers; pages get HTML."""
    return request.path.startswith("/api/")


def refusal(request: web.Request, status: int, message: str | None = None) -> web.Response:
    """A Dutch refusal with `status`, as JSON under /api/ and as a page elsewhere."""
    text = message or STATUS_MESSAGES.get(status, STATUS_MESSAGES[500])
    if wants_json(request):
        return web.json_response({"error": text}, status=status)
    return render("error.html", status=status, title=_title(status), message=text)


def _title(status: int) -> str:
    if status == 404:
        return "Pagina niet gevonden"
    if status in (401, 403):
        return "Geen toegang"
    return "Er ging iets mis"


async def stylesheet(_: web.Request) -> web.Response:
    return _css(STATIC_DIR / "console.css")


async def tokens(_: web.Request) -> web.Response:
    return _css(TOKENS_CSS)


def _css(path: Path) -> web.Response:
    return web.Response(body=path.read_bytes(), content_type="text/css", charset="utf-8")
