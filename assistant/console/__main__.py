"""Run the console alone on 127.0.0.1:CONSOLE_PORT: `python -m assistant.console`.

In the assembled assistant the console runs inside the Rasa process on its own port; this is
for trying it out and for developing the console's pages.
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from assistant.console.app import create_app
from assistant.console.config import load_console_config
from assistant.settings import ConfigError
from assistant.weblog import quiet_client_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="De KCC-console (inloggen voor medewerkers).")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        config = load_console_config()
    except ConfigError as error:
        print(f"Instelling klopt niet / invalid setting: {error}", file=sys.stderr)
        return 2
    print(f"KCC-console op http://{args.host}:{config.port}/", flush=True)
    quiet_client_errors()
    web.run_app(create_app(config), host=args.host, port=config.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
