"""Start the assistant's processes on one machine and stop them again.

Used by `make run` (scripts/run.py), by the test suite (tests/conftest.py) and by the load test
(scripts/bench.py), so that all three run exactly the same processes:

- the action server (`python -m rasa_sdk --actions actions`),
- Rasa (`python -m rasa run`) with the REST channel and our web chat channel (credentials.yml),
  which also serves the KCC staff console on its own port (assistant/console/host.py),
- the demo municipality site (`python -m assistant.demo_site`) that hosts the chat widget,
- the back-office sandbox (`python -m assistant.sandbox`): stand-ins for Open Zaak, JCC, Qmatic,
  Signalen and Open Klant, which the demo municipalities' content files point at (`sandbox:/`).

The sandbox's credentials are the SANDBOX_* environment variables; where they are not set, the
stack makes random ones for this run and gives them to the sandbox and the action server alike.

Readiness is decided by polling each process's health URL, never by waiting a fixed time. When a
process dies or does not become ready in time, the error names it and shows the end of its log.
Every child runs in its own process group, so stopping it also stops anything it started.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

from assistant.sandbox.server import VARIABLES as SANDBOX_VARIABLES
from assistant.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
# Rasa loads TensorFlow and the model before it listens; on a 2-core machine that takes up to a
# minute or two. Generous, because a slow start is not a failure; a dead process fails at once.
DEFAULT_STARTUP_TIMEOUT = 300.0
STOP_GRACE_SECONDS = 15.0
POLL_INTERVAL = 0.2
LOG_TAIL_LINES = 40


class StackError(RuntimeError):
    """The stack could not be started (the message says which process and why)."""


class PortInUseError(StackError):
    """A port the stack needs is already taken by another program."""


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        self.log_file.flush()
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@dataclass
class Stack:
    """The running processes. URLs are loopback addresses on the ports the stack was given.

    `rasa_url` and `action_url` have no trailing slash; `demo_url` ends with "/" (like
    `Settings.demo_site_url`), because it is the address of the demo page itself.
    """

    rasa_url: str
    action_url: str
    demo_url: str
    log_dir: Path
    sandbox_url: str = ""
    # The KCC staff console, served by the Rasa process on its own port; ends with "/".
    console_url: str = ""
    # The settings the processes run with (e.g. the feedback database a test can inspect).
    settings: Settings | None = None
    _children: list[_Child] = field(default_factory=list, repr=False)
    _cleanup: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def rest_webhook_url(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def log_path(self, name: str) -> Path:
        """Log file of one process: "actions", "rasa", "demo_site" or "sandbox"."""
        return self.log_dir / f"{name}.log"

    def check_alive(self) -> None:
        """Raise StackError if one of the processes has exited since start-up."""
        for child in self._children:
            code = child.process.poll()
            if code is not None:
                raise StackError(_died_message(child, code))

    def stop(self) -> None:
        """Terminate every process (SIGTERM), then kill what is still running. Safe to repeat."""
        children, self._children = self._children, []
        for child in children:
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
            # Children of the child (if any) may outlive it in its process group.
            _signal_group(child.process, signal.SIGKILL)
            child.log_file.close()
        cleanup, self._cleanup = self._cleanup, []
        for step in reversed(cleanup):
            step()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # start_new_session=True made the child the leader of its own group: pgid == pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _died_message(child: _Child, code: int) -> str:
    return (
        f"{child.name} stopped unexpectedly (exit code {code}). "
        f"Last lines of {child.log_path}:\n{child.log_tail()}"
    )


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different free ports (all sockets are held open while picking, so no repeats)."""
    with contextlib.ExitStack() as sockets:
        ports = []
        for _ in range(count):
            sock = sockets.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _python(project_dir: Path) -> str:
    venv_python = project_dir / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def write_endpoints(base: Path, action_webhook_url: str, target: Path) -> Path:
    """Copy an endpoints file with the action server URL replaced.

    `${VAR}` references in the base file are kept as text: Rasa expands them when it reads the copy.
    """
    content = yaml.safe_load(base.read_text(encoding="utf-8")) or {}
    if not isinstance(content, dict):
        raise StackError(f"{base} is not a YAML mapping of endpoints")
    action = content.get("action_endpoint") or {}
    content["action_endpoint"] = {**action, "url": action_webhook_url}
    target.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return target


def _http_ok(url: str, expect: str | None = None, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            if response.status != 200:
                return False
            return expect is None or expect in response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _wait_until_ready(
    children: list[_Child], checks: Mapping[str, list[tuple[str, str | None]]], timeout: float
) -> None:
    pending = {child.name: child for child in children}
    deadline = time.monotonic() + timeout
    while pending:
        for name, child in list(pending.items()):
            code = child.process.poll()
            if code is not None:
                raise StackError(_died_message(child, code))
            if all(_http_ok(url, expect) for url, expect in checks[name]):
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            details = "\n\n".join(
                f"{name} did not answer on {', '.join(u for u, _ in checks[name])} within "
                f"{timeout:.0f} s. Last lines of {child.log_path}:\n{child.log_tail()}"
                for name, child in pending.items()
            )
            raise StackError(details)
        time.sleep(POLL_INTERVAL)  # polling interval, not a wait for readiness


@contextlib.contextmanager
def running_stack(
    model_path: str | os.PathLike[str],
    *,
    rasa_port: int,
    action_port: int,
    demo_port: int,
    sandbox_port: int | None = None,
    console_port: int | None = None,
    env_overrides: Mapping[str, str] | None = None,
    project_dir: str | os.PathLike[str] = REPO_ROOT,
    credentials: str | os.PathLike[str] | None = None,
    endpoints: str | os.PathLike[str] | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
) -> Iterator[Stack]:
    """Start the processes; yield the Stack once all of them answer; stop them afterwards.

    `sandbox_port` and `console_port` default to free ports; the sandbox keeps its data in
    SANDBOX_DATABASE_URL (environment or `env_overrides`), else in an SQLite file in the log
    directory.
    `credentials` and `endpoints` default to the project's credentials.yml and endpoints.yml. The
    endpoints file is copied with the action URL pointing at `action_port`, so the file in the
    repository stays usable as it is for `rasa shell`. Logs go to `log_dir` (kept) or to a
    temporary directory that is removed on stop.
    """
    project = Path(project_dir).resolve()
    model = Path(model_path).resolve()
    if not model.is_file():
        raise StackError(f"No trained model at {model}. Run `make train` first.")
    spare = iter(p for p in free_ports(5) if p not in (rasa_port, action_port, demo_port))
    if sandbox_port is None:
        sandbox_port = next(spare)
    if console_port is None:
        console_port = next(p for p in spare if p != sandbox_port)
    ports = (rasa_port, action_port, demo_port, sandbox_port, console_port)
    if len(set(ports)) != len(ports):
        raise StackError(f"The five ports must differ: {', '.join(map(str, ports))}")
    for name, port in (
        ("Rasa", rasa_port),
        ("the action server", action_port),
        ("the demo site", demo_port),
        ("the back-office sandbox", sandbox_port),
        ("the staff console", console_port),
    ):
        if not port_is_free(port):
            raise PortInUseError(
                f"Port {port} (for {name}) is already in use by another program. Stop that "
                f"program or choose other ports (RASA_PORT, ACTION_SERVER_PORT, DEMO_SITE_PORT)."
            )

    stack = Stack(
        rasa_url=f"http://{LOOPBACK}:{rasa_port}",
        action_url=f"http://{LOOPBACK}:{action_port}",
        demo_url=f"http://{LOOPBACK}:{demo_port}/",
        log_dir=Path(),
        sandbox_url=f"http://{LOOPBACK}:{sandbox_port}",
        console_url=f"http://{LOOPBACK}:{console_port}/",
    )
    try:
        if log_dir is None:
            logs = Path(tempfile.mkdtemp(prefix="assistant-stack-"))
            stack._cleanup.append(lambda: shutil.rmtree(logs, ignore_errors=True))
        else:
            logs = Path(log_dir).resolve()
            logs.mkdir(parents=True, exist_ok=True)
        stack.log_dir = logs

        env = _child_env(project, rasa_port, action_port, demo_port, env_overrides)
        env["SANDBOX_URL"] = stack.sandbox_url
        env["CONSOLE_PORT"] = str(console_port)
        env["CONSOLE_HOST"] = LOOPBACK
        # The demo content files name the same variables for the clients.
        for name in SANDBOX_VARIABLES.values():
            env.setdefault(name, secrets.token_urlsafe(24))
        sandbox_database = env.get("SANDBOX_DATABASE_URL") or f"sqlite:///{logs / 'sandbox.sqlite'}"
        settings = load_settings(env)  # validates the overrides before anything starts
        stack.settings = settings
        endpoints_file = write_endpoints(
            Path(endpoints) if endpoints else project / "endpoints.yml",
            f"{stack.action_url}/webhook",
            logs / "endpoints.yml",
        )
        python = _python(project)
        commands = {
            "actions": [
                python,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(action_port),
            ],
            "rasa": [
                python,
                "-m",
                "rasa",
                "run",
                "--model",
                str(model),
                "--interface",
                LOOPBACK,
                "--port",
                str(rasa_port),
                "--credentials",
                str(Path(credentials) if credentials else project / "credentials.yml"),
                "--endpoints",
                str(endpoints_file),
                "--cors",
                *settings.webchat_allowed_origins,
            ],
            "demo_site": [python, "-m", "assistant.demo_site", "--port", str(demo_port)],
            "sandbox": [
                python,
                "-m",
                "assistant.sandbox",
                "--port",
                str(sandbox_port),
                "--database-url",
                sandbox_database,
            ],
        }
        for name, command in commands.items():
            stack._children.append(_start(name, command, project, env, logs))

        checks: dict[str, list[tuple[str, str | None]]] = {
            "actions": [(f"{stack.action_url}/health", '"ok"')],
            # Rasa only starts listening after the model is loaded; the REST channel answering
            # proves credentials.yml was read.
            "rasa": [
                (f"{stack.rasa_url}/", "Hello from Rasa"),
                (f"{stack.rasa_url}/webhooks/rest/", None),
                (f"{stack.console_url}health", None),
            ],
            "demo_site": [(stack.demo_url, None)],
            "sandbox": [(f"{stack.sandbox_url}/", '"ok"')],
        }
        _wait_until_ready(stack._children, checks, startup_timeout)
        yield stack
    finally:
        stack.stop()


def _child_env(
    project: Path,
    rasa_port: int,
    action_port: int,
    demo_port: int,
    overrides: Mapping[str, str] | None,
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RASA_PORT": str(rasa_port),
            "ACTION_SERVER_PORT": str(action_port),
            "DEMO_SITE_PORT": str(demo_port),
            "ACTION_ENDPOINT_URL": f"http://{LOOPBACK}:{action_port}/webhook",
            # rasa_sdk reads its bind address from SANIC_HOST; keep it on loopback.
            "SANIC_HOST": LOOPBACK,
            "RASA_TELEMETRY_ENABLED": "false",  # no network except package registries
            "PYTHONUNBUFFERED": "1",  # logs reach the file as they happen
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            # Library deprecation noise would push the useful lines out of an error's log tail.
            "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
        }
    )
    env.update(overrides or {})
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = f"{project}{os.pathsep}{path}" if path else str(project)
    return env


def _start(name: str, command: list[str], cwd: Path, env: Mapping[str, str], logs: Path) -> _Child:
    log_path = logs / f"{name}.log"
    log_file = log_path.open("wb")  # a fresh log per start
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as error:
        log_file.close()
        raise StackError(f"Could not start {name} ({command[0]}): {error}") from error
    return _Child(name=name, process=process, log_path=log_path, log_file=log_file)
