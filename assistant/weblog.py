"""Log hygiene for our aiohttp servers (the demo site, the sandboxes).

aiohttp logs a client's malformed request (a megabyte-long address, a broken header line) as
"Error handling request" with a traceback, as if our code had failed. It is the client's mistake
and aiohttp has already answered 400, so one line at info level says enough, and the tracebacks
that remain in the logs are real failures.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError


class ClientErrorFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg = "malformed request refused with %s: %s"
            record.args = (error.code, type(error).__name__)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def quiet_client_errors() -> None:
    """Install the filter on aiohttp's server logger (idempotent)."""
    server_logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientErrorFilter) for f in server_logger.filters):
        server_logger.addFilter(ClientErrorFilter())
