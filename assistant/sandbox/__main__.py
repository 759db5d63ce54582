"""`python -m assistant.sandbox [--database-url URL] [--host HOST] [--port PORT]`.

Serves the stand-ins of `server.py` until stopped; the credentials they accept are read
from the SANDBOX_* environment variables only.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from aiohttp import web

from assistant.privacy import install_log_redaction
from assistant.sandbox.server import create_app, load_credentials
from assistant.settings import ConfigError
from assistant.weblog import quiet_client_errors


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Serve until interrupted; 2 (with the reason on stderr) when configuration is missing."""
    parser = argparse.ArgumentParser(
        prog="python -m assistant.sandbox",
        description="Serve the stand-ins of the back office and the channels: /zgw/, /jcc/, "
        "/qmatic/, /signalen/, /openklant/, /whatsapp/, /twilio/; credentials from the "
        "SANDBOX_* environment variables.",
    )
    parser.add_argument("--database-url", default="sqlite:///var/sandbox.sqlite")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    try:
        credentials = load_credentials(os.environ if env is None else env)
    except ConfigError as error:
        print(f"Sandbox not started: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    install_log_redaction()
    quiet_client_errors()
    web.run_app(create_app(args.database_url, credentials), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
