"""The staff console inside each Rasa process, on its own port.

The console takes over conversations through this process's router and its Rasa agent: it
records an employee's words in the conversation's tracker under the lock store, exactly as Rasa
does, and the live bus carries them to whichever process holds the resident's connection. So the
console runs where the agent is. Rasa lets a project add to its server only through input
channels, so credentials.yml lists this class; it adds no routes to Rasa, only starts and
stops the console's own aiohttp server with Rasa's.

`make run` serves the console on http://127.0.0.1:8070/ (CONSOLE_HOST, CONSOLE_PORT). With
several Rasa processes, each serves it; they share accounts, sessions and the queue in
PostgreSQL and the live events in Redis, so an employee may use any of them. That includes the
Sanic workers of one Rasa instance (SANIC_WORKERS): each is a process of its own that starts
this listener, all on the same CONSOLE_PORT, which SO_REUSEPORT allows; the kernel then spreads
the employees' connections over them.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint

from assistant.console.app import create_app
from assistant.console.config import load_console_config
from assistant.console.desk_routes import desk_routes
from assistant.handoff.runtime import handoff_for
from assistant.settings import load_settings
from assistant.weblog import quiet_client_errors

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
# Every worker of a Rasa instance binds the console's port. Linux lets only processes of the same
# user join a port this way, so no other account can take a share of the console's connections.
REUSE_PORT = hasattr(socket, "SO_REUSEPORT")


class StaffConsole(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "console"

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> StaffConsole:
        if credentials:
            raise ValueError(
                "assistant.console.host.StaffConsole takes no options in credentials.yml; "
                f"configure it with CONSOLE_* environment variables (got {sorted(credentials)})"
            )
        return cls()

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        console = Blueprint("staff_console", __name__)

        @console.listener("after_server_start")
        async def start_console(app: Any, _loop: Any) -> None:
            config = load_console_config()
            desk = handoff_for(app, load_settings()).desk
            quiet_client_errors()
            self._runner = web.AppRunner(
                create_app(config, extra_routes=desk_routes(desk)), access_log=None
            )
            await self._runner.setup()
            host = os.environ.get("CONSOLE_HOST", DEFAULT_HOST)
            await web.TCPSite(self._runner, host, config.port, reuse_port=REUSE_PORT).start()
            logger.info("staff console listening on %s:%d", host, config.port)

        @console.listener("before_server_stop")
        async def stop_console(_app: Any, _loop: Any) -> None:
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None

        return console
