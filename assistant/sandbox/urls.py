"""Absolute URLs in a stand-in's answers, as the client reached it, mount prefix included.

The real systems link with absolute URLs (DRF's `request.build_absolute_uri`), and clients
follow them as they are. So the stand-ins build them from `request.url` (the scheme, host and
port the client used) and from their named routes, which carry the prefix the app is mounted
under (`/zgw`, `/signalen`, ... in `assistant.sandbox.server`): a link always leads back into
the same app, at the root of a test server as well as behind the runner.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from aiohttp import web


def mount_prefix(router: web.UrlDispatcher, route: str, path: str) -> str:
    """The prefix the app is mounted under ("/zgw"; "" when it is not mounted under one).

    `route` names one of the app's routes whose path inside the app is `path`; what the router
    puts before that path is the prefix.
    """
    return router[route].url_for().path.removesuffix(path)


class Urls:
    """The absolute URLs of one request's answer: the app's routes and paths under its root."""

    def __init__(
        self, request: web.Request, router: web.UrlDispatcher, route: str, path: str
    ) -> None:
        self._request = request
        self._router = router
        self.prefix = mount_prefix(router, route, path)
        # Scheme, host, port and prefix: "http://127.0.0.1:8090/signalen".
        self.root = str(request.url.origin()) + self.prefix

    def route(self, name: str, **parts: str) -> str:
        """The absolute URL of the route `name` with `parts` filled in."""
        return str(self._request.url.join(self._router[name].url_for(**parts)))

    def local_path(self, url: str) -> str | None:
        """The path of `url` inside this app (host ignored, as DRF's hyperlinked fields do), or
        None when it lies outside the mount prefix."""
        path = unquote(urlsplit(url).path)
        if not path.startswith(self.prefix + "/"):
            return None
        return path[len(self.prefix) :]
