"""Dutch answers for what goes wrong: refusals aiohttp raises (404, 405, 413) and our failures.

A refusal a handler raised with its own text is left as it is; aiohttp's English defaults
("404: Not Found") and unexpected exceptions become a Dutch page, or JSON under /api/. The
traceback goes to the log, never to the employee's screen.
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web

from assistant.console.context import Handler
from assistant.console.pages import refusal

log = logging.getLogger(__name__)


@web.middleware
async def dutch_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or not _from_aiohttp(error):
            raise
        response = refusal(request, error.status)
        if allow := error.headers.get(hdrs.ALLOW):
            response.headers[hdrs.ALLOW] = allow
        return response
    except Exception:
        log.exception("console request failed: %s %s", request.method, request.path)
        return refusal(request, 500)


def _from_aiohttp(error: web.HTTPException) -> bool:
    """Raised by aiohttp with its English text (a handler's own text is kept)."""
    if isinstance(error, web.HTTPRequestEntityTooLarge):  # "Maximum request body size ..."
        return True
    return error.text == f"{error.status}: {error.reason}"
