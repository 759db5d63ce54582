"""A demo municipality website with the chat widget on it: `python -m assistant.demo_site`.

Pages (from webchat/demo/):

- ``/``          "Gemeente Utrecht (demo)"; also the health check (200)
- ``/zwolle/``   "Gemeente Zwolle (demo)"
- ``/demo.css``  the pages' own styles

Each page embeds the widget with one script tag pointing at the Rasa server. That address is
RASA_PUBLIC_URL, else the local Rasa (http://127.0.0.1:RASA_PORT); a visitor can try another
server with ``?rasa=https://assistent.example.nl``. Pages are sent with a Content-Security-Policy
that allows nothing but this site and that Rasa server, which proves the widget needs no other
server (no CDN, no web fonts).
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from assistant.settings import ConfigError, load_settings
from assistant.weblog import quiet_client_errors

DEMO_DIR = Path(__file__).resolve().parent.parent / "webchat" / "demo"
PAGES = {"/": "index.html", "/zwolle/": "zwolle/index.html"}
PLACEHOLDER = "__RASA_URL__"
RASA_URL_KEY = web.AppKey("rasa_url", str)


class InvalidRasaUrl(ValueError):
    """The given Rasa address is not a plain http(s) address."""


def normalise_rasa_url(raw: str) -> str:
    """`https://host[:port][/path]` without trailing slash; anything else is refused."""
    raw = raw.strip()
    parts = urlsplit(raw)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or any(c in raw for c in "\"'<> \\")
    ):
        raise InvalidRasaUrl(raw)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidRasaUrl(raw) from None
    return raw.rstrip("/")


def default_rasa_url(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    public = env.get("RASA_PUBLIC_URL", "").strip()
    if public:
        try:
            return normalise_rasa_url(public)
        except InvalidRasaUrl:
            raise ConfigError(
                f"RASA_PUBLIC_URL must be an http(s) address like https://assistent.example.nl, "
                f"got {public!r}"
            ) from None
    return load_settings(env).rasa_url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(rasa_url: str) -> str:
    origin = _origin(rasa_url)
    websocket = origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {origin}",
            f"style-src 'self' {origin}",
            f"connect-src 'self' {origin} {websocket}",
            "img-src 'self' data:",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _error_page(status: int, message: str) -> web.Response:
    body = (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Fout – demo</title></head><body><main><h1>Er ging iets mis</h1>"
        f'<p>{html.escape(message)}</p><p><a href="/">Naar de demopagina</a></p>'
        "</main></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")


async def page(request: web.Request) -> web.Response:
    rasa_url = request.app[RASA_URL_KEY]
    requested = request.query.get("rasa")
    if requested is not None:
        try:
            rasa_url = normalise_rasa_url(requested)
        except InvalidRasaUrl:
            return _error_page(
                400,
                "Het adres van de assistent in de link klopt niet. Gebruik een adres dat begint "
                "met http:// of https://, bijvoorbeeld ?rasa=http://127.0.0.1:5005.",
            )
    template = (DEMO_DIR / PAGES[request.path]).read_text(encoding="utf-8")
    body = template.replace(PLACEHOLDER, html.escape(rasa_url, quote=True))
    return web.Response(
        text=body,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": content_security_policy(rasa_url),
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


async def stylesheet(_: web.Request) -> web.Response:
    return web.Response(
        body=(DEMO_DIR / "demo.css").read_bytes(),
        content_type="text/css",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


async def zwolle_redirect(_: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/zwolle/")


@web.middleware
async def dutch_errors(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _error_page(404, "Deze pagina bestaat niet.")
    except web.HTTPMethodNotAllowed:
        return _error_page(405, "Deze pagina kunt u alleen bekijken, niet versturen.")


def create_app(rasa_url: str) -> web.Application:
    app = web.Application(middlewares=[dutch_errors])
    app[RASA_URL_KEY] = normalise_rasa_url(rasa_url)
    app.router.add_get("/", page)
    app.router.add_get("/zwolle/", page)
    app.router.add_get("/zwolle", zwolle_redirect)
    app.router.add_get("/demo.css", stylesheet)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Demo municipality site with the web chat.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: DEMO_SITE_PORT or 8080")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        rasa_url = default_rasa_url()
    except ConfigError as error:
        print(f"Instelling klopt niet / invalid setting: {error}", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else settings.demo_site_port
    if not 1 <= port <= 65535:
        print(f"--port must be between 1 and 65535, got {port}", file=sys.stderr)
        return 2
    print(f"Demo site on http://{args.host}:{port}/ (chat server {rasa_url})", flush=True)
    quiet_client_errors()
    web.run_app(create_app(rasa_url), host=args.host, port=port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
