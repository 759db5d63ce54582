"""docker-compose.yml and deploy/.env.example as the deployment tests read them (their fixtures,
`compose`, `services` and `documented_variables`, are in tests/conftest.py).

Shared by tests/test_deployment.py (the services, their images and settings) and
tests/test_proxy.py (the reverse proxy in front of the scaled services).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / "deploy" / ".env.example"


def strings_of(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings_of(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_of(item)


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words[:2] == ["sh", "-c"]:  # a shell command line: look at the words it runs
        words = shlex.split(words[2])
    return [w for w in words if w != "exec"]
