"""Start the assistant's processes on one machine and stop them again.

Used by `make run` (scripts/run.py), by the test suite (tests/conftest.py) and by the load test
(scripts/bench.py), so that all three run exactly the same processes:

- the action server (`python -m rasa_sdk --actions actions`),
- Rasa (`python -m rasa run`) with the REST channel and our web chat channel (credentials.yml),
  which also serves the KCC staff console on its own port (assistant/console/host.py),
- the demo municipality site (`python -m assistant.demo_site`) that hosts the chat widget,
- the back-office sandbox (`python -m assistant.sandbox`): stand-ins for Open Zaak, JCC, Qmatic,
  Signalen and Open Klant, which the demo municipalities' content files point at (`sandbox:/`).

Two profiles:

- "embedded" (the default): one Rasa process with endpoints.yml (conversations in memory), the
  handoff queue in SQLite; needs nothing external.
- "production": Rasa with deploy/endpoints.production.yml (tracker store in PostgreSQL, lock store
  in Redis) and several Sanic workers (SANIC_WORKERS, which Rasa only honours with a Redis lock
  store), the action server with several workers too (rasa_sdk reads
  ACTION_SERVER_SANIC_WORKERS), and everything shared between processes in the same PostgreSQL
  database and Redis: handoff queue, staff accounts, ratings, rate limits, handoff streams,
  WhatsApp queue and de-duplication. Each worker is a process of its own that serves the staff
  console on the same port (SO_REUSEPORT). POSTGRES_* and REDIS_* come from `env_overrides` or
  the environment, else the local services on their standard ports. Rasa's conversation locks
  live TICKET_LOCK_LIFETIME seconds (PRODUCTION_LOCK_LIFETIME unless set), as in
  docker-compose.yml. With `rasa_instances` above 1 it starts that many separate Rasa instances
  (`rasa run` processes on ports of their own, each with its workers and staff console) on the
  same databases and action server, as `--scale rasa=N` runs them; `Stack.kill` ends one of
  them at once, as a crashed container would end (the kill test of scripts/bench.py).

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
from urllib.parse import quote, unquote, urlsplit

import yaml
from cryptography.fernet import Fernet

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

PROFILES = ("embedded", "production")
PRODUCTION_ENDPOINTS = Path("deploy") / "endpoints.production.yml"
# A production-profile run on one machine uses the local PostgreSQL and Redis; every value can be
# replaced through the environment or `env_overrides`. The Redis databases are those of
# docker-compose.yml: locks in 1, everything else (REDIS_URL) in 2.
LOCAL_SERVICES = {
    "POSTGRES_HOST": LOOPBACK,
    "POSTGRES_PORT": "5432",
    "POSTGRES_DB": "assistant",
    "POSTGRES_USER": "postgres",
    "POSTGRES_PASSWORD": "",
    "REDIS_HOST": LOOPBACK,
    "REDIS_PORT": "6379",
    "REDIS_PASSWORD": "",
    "REDIS_LOCK_DB": "1",
}
REDIS_DATA_DB = 2
SERVICE_CHECK_TIMEOUT = 3.0
# Seconds a conversation lock lives in the production profile (Rasa reads TICKET_LOCK_LIFETIME;
# docker-compose.yml has the same default): longer than a turn may last (the channels cancel one
# after TURN_TIMEOUT_SECONDS), and the longest that a killed Rasa process keeps the
# conversations it was answering locked, instead of Rasa's default of a minute.
PRODUCTION_LOCK_LIFETIME = 30
MAX_RASA_INSTANCES = 8


class StackError(RuntimeError):
    """The stack could not be started (the message says which process and why)."""


class PortInUseError(StackError):
    """A port the stack needs is already taken by another program."""


class ServiceUnavailableError(StackError):
    """PostgreSQL or Redis, which the production profile needs, does not answer or refuses."""


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
    `Settings.demo_site_url`), because it is the address of the demo page itself. With several
    Rasa instances, `rasa_urls` has the address of each (the first is `rasa_url`); their
    processes are named by `rasa_name`.
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
    profile: str = "embedded"
    # Worker processes of Rasa and of the action server (1: the process serves by itself).
    rasa_workers: int = 1
    action_workers: int = 1
    rasa_urls: tuple[str, ...] = ()
    _children: list[_Child] = field(default_factory=list, repr=False)
    _cleanup: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def rest_webhook_url(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def log_path(self, name: str) -> Path:
        """Log file of one process: "actions", "rasa" (more instances: `rasa_name`),
        "demo_site" or "sandbox"."""
        return self.log_dir / f"{name}.log"

    def worker_pids(self, name: str) -> list[int]:
        """The processes that serve requests for "rasa" or "actions": with several workers the
        Sanic workers (children of the main process, which only supervises), else the main
        process itself. Empty when the process is not running (or on a system without /proc)."""
        child = self._child(name)
        if child is None or child.process.poll() is not None:
            return []
        if self._workers(name) == 1:
            return [child.process.pid]
        return _child_pids(child.process.pid)

    def check_alive(self) -> None:
        """Raise StackError if one of the processes (or one of its workers) has exited since
        start-up. (Sanic does not replace a worker that died: its siblings serve on, fewer.)"""
        for child in self._children:
            code = child.process.poll()
            if code is not None:
                raise StackError(_died_message(child, code))
        for child in self._children:
            expected = self._workers(child.name)
            if expected > 1 and _HAVE_PROC:
                running = len(_child_pids(child.process.pid))
                if running < expected:
                    raise StackError(
                        f"{running} of {expected} {child.name} workers are running; the others "
                        "stopped. "
                        f"Last lines of {child.log_path}:\n{child.log_tail()}"
                    )

    def _child(self, name: str) -> _Child | None:
        return next((child for child in self._children if child.name == name), None)

    def _workers(self, name: str) -> int:
        if _is_rasa(name):
            return self.rasa_workers
        return self.action_workers if name == "actions" else 1

    def kill(self, name: str) -> list[int]:
        """End one process (e.g. `rasa_name(1)`) with every process it started, at once and
        without warning (SIGKILL), as a crash or an out-of-memory kill would. Returns the ids
        of the processes that were running; the stack no longer watches or stops it."""
        child = self._child(name)
        if child is None:
            raise StackError(f"No running process named {name!r}")
        ended = [child.process.pid, *_child_pids(child.process.pid)]
        self._children.remove(child)
        _signal_group(child.process, signal.SIGKILL)
        child.process.wait()
        child.log_file.close()
        return ended

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


def rasa_name(index: int) -> str:
    """The process name of the Rasa instance at `index` of `Stack.rasa_urls`."""
    return "rasa" if index == 0 else f"rasa-{index + 1}"


def _is_rasa(name: str) -> bool:
    return name == "rasa" or name.startswith("rasa-")


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


# Sanic's workers and the sockets they listen on are read from /proc (Linux). Elsewhere a stack
# still starts; it then only knows that one worker answers.
_HAVE_PROC = Path("/proc/net/tcp").exists()
_TCP_LISTEN = "0A"


def _child_pids(parent: int) -> list[int]:
    """The live processes whose parent is `parent` (a worker that died stays a zombie until
    Sanic's main process, busy waiting for the first worker, gets round to reaping it)."""
    children = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text(encoding="ascii", errors="replace")
            except OSError:  # it ended meanwhile
                continue
            # "pid (command) state ppid ...": the command may contain spaces and parentheses.
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) > 1 and fields[1] == str(parent) and fields[0] not in ("Z", "X"):
                children.append(int(entry.name))
    return sorted(children)


def _listening_socket_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (
                len(fields) > 9
                and fields[3] == _TCP_LISTEN
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(fields[9])
    return inodes


def listening_pids(pids: list[int], port: int) -> list[int]:
    """Those of `pids` that hold a socket listening on `port` (with SO_REUSEPORT several
    processes each have one)."""
    inodes = _listening_socket_inodes(port)
    holders = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                holders.append(pid)
                break
    return holders


def _production_environment(env: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """POSTGRES_* and REDIS_* (as deploy/endpoints.production.yml reads them), REDIS_URL, and the
    handoff and feedback databases in the tracker store's PostgreSQL database.

    Values in `env` win over the local defaults; REDIS_HOST, REDIS_PORT and REDIS_PASSWORD follow
    REDIS_URL when only that is given. HANDOFF_DATABASE_URL and FEEDBACK_DATABASE_URL are kept
    only when the caller passed them in `overrides` (a developer's SQLite settings for `make run`
    must not split the production profile's data)."""
    result = {}
    defaults = dict(LOCAL_SERVICES)
    redis_url = env.get("REDIS_URL", "").strip()
    if redis_url:
        parts = urlsplit(redis_url)
        if parts.scheme in ("redis", "rediss"):
            defaults["REDIS_HOST"] = parts.hostname or LOOPBACK
            defaults["REDIS_PORT"] = str(parts.port or 6379)
            defaults["REDIS_PASSWORD"] = unquote(parts.password or "")
    for name, default in defaults.items():
        raw = env.get(name)
        if name.endswith("_PASSWORD"):
            # An empty password is a value (trust authentication); an empty host or port is not.
            result[name] = default if raw is None else raw
        else:
            result[name] = (raw or "").strip() or default
    if not redis_url:
        password = result["REDIS_PASSWORD"]
        login = f":{quote(password, safe='')}@" if password else ""
        redis_url = f"redis://{login}{result['REDIS_HOST']}:{result['REDIS_PORT']}/{REDIS_DATA_DB}"
    result["REDIS_URL"] = redis_url
    for name in ("POSTGRES_PORT", "REDIS_PORT", "REDIS_LOCK_DB"):
        if not result[name].isdigit():
            raise StackError(f"{name} must be a whole number, got {result[name]!r}")
    for name in ("HANDOFF_DATABASE_URL", "FEEDBACK_DATABASE_URL"):
        result[name] = overrides.get(name) or postgres_url(result)
    return result


def postgres_url(env: Mapping[str, str]) -> str:
    """The SQLAlchemy URL of the database that POSTGRES_* in `env` name."""
    from sqlalchemy.engine import URL

    return URL.create(
        "postgresql",
        username=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"] or None,
        host=env["POSTGRES_HOST"],
        port=int(env["POSTGRES_PORT"]),
        database=env["POSTGRES_DB"],
    ).render_as_string(hide_password=False)


def check_production_services(env: Mapping[str, str]) -> None:
    """PostgreSQL and Redis as POSTGRES_* and REDIS_* in `env` name them must answer; the
    database is created when it is missing. StackError says which service failed and how to
    start it."""
    _check_postgres(env)
    _check_redis(env)


def _check_postgres(env: Mapping[str, str]) -> None:
    import psycopg2
    import psycopg2.errors
    from psycopg2 import sql

    host, port, user = env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_USER"]
    database = env["POSTGRES_DB"]
    login = {
        "host": host,
        "port": port,
        "user": user,
        "password": env["POSTGRES_PASSWORD"] or None,
        "connect_timeout": int(SERVICE_CHECK_TIMEOUT),
    }
    try:
        psycopg2.connect(dbname=database, **login).close()
        return
    except psycopg2.OperationalError as error:
        first_error = error
    # The server may answer, only without this database: look it up from the maintenance one.
    try:
        admin = psycopg2.connect(dbname="postgres", **login)
    except psycopg2.OperationalError:
        raise ServiceUnavailableError(
            f"PostgreSQL is not reachable at {host}:{port} as user {user!r} "
            f"({_one_line(first_error)}). The production profile keeps conversations there. "
            "Start it (Debian: `sudo service postgresql start`; Docker: `docker run -d -p "
            "5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`) or set POSTGRES_HOST, "
            "POSTGRES_PORT, POSTGRES_USER and POSTGRES_PASSWORD."
        ) from first_error
    admin.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is not None:
                raise ServiceUnavailableError(
                    f"PostgreSQL at {host}:{port} refused database {database!r} for user "
                    f"{user!r} ({_one_line(first_error)})."
                ) from first_error
            with contextlib.suppress(psycopg2.errors.DuplicateDatabase):  # another start won
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg2.Error as error:
        raise ServiceUnavailableError(
            f"Could not create database {database!r} in PostgreSQL at {host}:{port} as user "
            f"{user!r} ({_one_line(error)}). Create it yourself: "
            f"`createdb -h {host} -p {port} -U {user} {database}`."
        ) from error
    finally:
        admin.close()


def _check_redis(env: Mapping[str, str]) -> None:
    import redis

    lock_db = int(env["REDIS_LOCK_DB"])
    timeouts = {
        "socket_connect_timeout": SERVICE_CHECK_TIMEOUT,
        "socket_timeout": SERVICE_CHECK_TIMEOUT,
    }
    clients = {
        # The lock store Rasa's workers share (deploy/endpoints.production.yml).
        f"{env['REDIS_HOST']}:{env['REDIS_PORT']} database {lock_db} (REDIS_HOST, REDIS_PORT, "
        "REDIS_LOCK_DB)": lambda: redis.Redis(
            host=env["REDIS_HOST"],
            port=int(env["REDIS_PORT"]),
            db=lock_db,
            password=env["REDIS_PASSWORD"] or None,
            **timeouts,
        ),
        # Rate limits, handoff streams, WhatsApp queue and de-duplication.
        "REDIS_URL": lambda: redis.Redis.from_url(env["REDIS_URL"], **timeouts),
    }
    for where, connect in clients.items():
        try:
            client = connect()
            try:
                client.ping()
            finally:
                client.close()
        except (redis.RedisError, ValueError, OSError) as error:
            raise ServiceUnavailableError(
                f"Redis is not reachable at {where}: {_one_line(error)}. The production "
                "profile keeps its "
                "locks and shared state there. Start it (Debian: `sudo service redis-server "
                "start`; Docker: `docker run -d -p 6379:6379 redis:7`) or set REDIS_HOST, "
                "REDIS_PORT, REDIS_PASSWORD and REDIS_URL."
            ) from error


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()).rstrip(".")


def _create_schemas(settings: Settings) -> None:
    """Our tables in the shared database, created once before the workers start: every worker
    creates what is missing when it starts, and two doing so at the same moment on an empty
    PostgreSQL database collide (duplicate key in pg_type). (Rasa's own table survives that;
    the WhatsApp delivery statuses' table is created by the workers, as importing its module
    would load Rasa here.)"""
    from assistant.console.schema import ensure_schema as ensure_console_schema
    from assistant.feedback import FeedbackStore
    from assistant.handoff.callbacks import CallbackStore
    from assistant.sql import engine_for

    for url in {settings.handoff_database_url, settings.feedback_database_url}:
        engine = engine_for(url)
        try:
            if url == settings.handoff_database_url:
                CallbackStore(engine).ensure_schema()  # the handoff requests' table too
                ensure_console_schema(engine)
            if url == settings.feedback_database_url:
                FeedbackStore(engine).ensure_schema()
        finally:
            engine.dispose()


def _cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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


class _WorkersListening:
    """Ready when each of a process's `expected` Sanic workers listens on `port`.

    The Rasa port answers as soon as the first worker has loaded the model (the workers share
    one listening socket), so only the staff console's port, which every worker binds for
    itself after loading the model, tells that all of them serve. A worker that exits during
    start-up fails the start at once (Sanic would go on with fewer)."""

    def __init__(self, child: _Child, expected: int, port: int) -> None:
        self.child, self.expected, self.port = child, expected, port
        self.ready_count = 0
        self._seen = 0

    def __call__(self) -> bool:
        if not _HAVE_PROC:
            return True
        workers = _child_pids(self.child.process.pid)
        if len(workers) < self._seen:
            raise StackError(
                f"A {self.child.name} worker stopped during start-up ({len(workers)} of "
                f"{self.expected} left). Last lines of {self.child.log_path}:\n"
                f"{self.child.log_tail()}"
            )
        self._seen = max(self._seen, len(workers))
        self.ready_count = len(listening_pids(workers, self.port))
        return self.ready_count >= self.expected

    def __str__(self) -> str:
        return f"{self.ready_count} of {self.expected} workers listened on port {self.port}"


def _wait_until_ready(
    children: list[_Child],
    checks: Mapping[str, list[tuple[str, str | None]]],
    timeout: float,
    conditions: Mapping[str, Callable[[], bool]] | None = None,
) -> None:
    """Poll until every child answers its URLs (and meets its condition, if it has one)."""
    conditions = conditions or {}
    pending = {child.name: child for child in children}
    deadline = time.monotonic() + timeout
    while pending:
        for name, child in list(pending.items()):
            code = child.process.poll()
            if code is not None:
                raise StackError(_died_message(child, code))
            if all(_http_ok(url, expect) for url, expect in checks[name]) and (
                name not in conditions or conditions[name]()
            ):
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            details = "\n\n".join(
                f"{name} did not answer on {', '.join(u for u, _ in checks[name])} within "
                f"{timeout:.0f} s"
                + (f" ({conditions[name]})" if name in conditions else "")
                + f". Last lines of {child.log_path}:\n{child.log_tail()}"
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
    profile: str = "embedded",
    sanic_workers: int | None = None,
    action_workers: int | None = None,
    rasa_instances: int = 1,
) -> Iterator[Stack]:
    """Start the processes; yield the Stack once all of them answer; stop them afterwards.

    `sandbox_port` and `console_port` default to free ports; the sandbox keeps its data in
    SANDBOX_DATABASE_URL (environment or `env_overrides`), else in an SQLite file in the log
    directory.
    `credentials` defaults to the project's credentials.yml; `endpoints` to endpoints.yml, or in
    the production profile to deploy/endpoints.production.yml. The endpoints file is copied with
    the action URL pointing at `action_port`, so the file in the repository stays usable as it
    is for `rasa shell`. Logs go to `log_dir` (kept) or to a temporary directory that is removed
    on stop.

    `profile` is "embedded" (one process each, nothing external) or "production" (see the module
    docstring): `sanic_workers` Rasa workers (default: one per core) and `action_workers` action
    server workers (default: one per four cores), PostgreSQL and Redis from POSTGRES_* and
    REDIS_* (`env_overrides`, the environment, else the local services), checked before anything
    starts (the database is created when missing). The stack is ready when every Rasa worker
    has loaded the model and serves. `rasa_instances` (production only) Rasa instances run
    on `rasa_port` and free ports, each with `sanic_workers` workers (default: the cores
    divided among them).
    """
    if profile not in PROFILES:
        raise StackError(f"Unknown profile {profile!r}: choose one of {', '.join(PROFILES)}.")
    cores = _cores()
    production = profile == "production"
    if not 1 <= rasa_instances <= MAX_RASA_INSTANCES:
        raise StackError(
            f"rasa_instances must be between 1 and {MAX_RASA_INSTANCES}, got {rasa_instances}"
        )
    if rasa_instances > 1 and not production:
        raise StackError(
            "Several Rasa instances share conversations only through PostgreSQL and Redis: "
            "pass profile='production'."
        )
    if production:
        # By default the instances share the cores: one worker per core in all.
        rasa_workers = max(1, cores // rasa_instances) if sanic_workers is None else sanic_workers
        # Measured: the action server takes about 7 % of the CPU time Rasa takes per turn.
        actions_workers = max(1, cores // 4) if action_workers is None else action_workers
    else:
        rasa_workers, actions_workers = sanic_workers or 1, action_workers or 1
        if rasa_workers != 1 or actions_workers != 1:
            raise StackError(
                "Several workers need the production profile (Rasa allows them only with a "
                "Redis lock store, and the workers share conversations through PostgreSQL and "
                "Redis): pass profile='production'."
            )
    for what, count in (("sanic_workers", rasa_workers), ("action_workers", actions_workers)):
        if not 1 <= count <= 64:
            raise StackError(f"{what} must be between 1 and 64, got {count}")
    project = Path(project_dir).resolve()
    model = Path(model_path).resolve()
    if not model.is_file():
        raise StackError(f"No trained model at {model}. Run `make train` first.")
    extra = 2 * (rasa_instances - 1)  # a Rasa port and a console port per further instance
    spare = iter(p for p in free_ports(5 + extra) if p not in (rasa_port, action_port, demo_port))
    if sandbox_port is None:
        sandbox_port = next(spare)
    if console_port is None:
        console_port = next(p for p in spare if p != sandbox_port)
    more = [p for p in spare if p not in (sandbox_port, console_port)][:extra]
    # (Rasa port, console port) of each instance.
    instances = [(rasa_port, console_port), *zip(more[::2], more[1::2], strict=True)]
    ports = (action_port, demo_port, sandbox_port, *(p for pair in instances for p in pair))
    if len(set(ports)) != len(ports):
        raise StackError(f"The ports must differ: {', '.join(map(str, ports))}")
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
        profile=profile,
        rasa_workers=rasa_workers,
        action_workers=actions_workers,
        rasa_urls=tuple(f"http://{LOOPBACK}:{port}" for port, _ in instances),
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
        env.update(channel_environment(env, stack.sandbox_url))
        if production:
            env.update(_production_environment(env, env_overrides or {}))
            if not env.get("TICKET_LOCK_LIFETIME", "").strip():  # Rasa cannot read "" either
                env["TICKET_LOCK_LIFETIME"] = str(PRODUCTION_LOCK_LIFETIME)
        # Rasa reads SANIC_WORKERS, rasa_sdk ACTION_SERVER_SANIC_WORKERS; set even to 1, so a
        # value in the caller's shell cannot fork workers the embedded profile cannot serve.
        env["SANIC_WORKERS"] = str(rasa_workers)
        env["ACTION_SERVER_SANIC_WORKERS"] = str(actions_workers)
        sandbox_database = env.get("SANDBOX_DATABASE_URL") or f"sqlite:///{logs / 'sandbox.sqlite'}"
        settings = load_settings(env)  # validates the overrides before anything starts
        stack.settings = settings
        if production:
            check_production_services(env)
            _create_schemas(settings)
        default_endpoints = PRODUCTION_ENDPOINTS if production else Path("endpoints.yml")
        endpoints_file = write_endpoints(
            Path(endpoints) if endpoints else project / default_endpoints,
            f"{stack.action_url}/webhook",
            logs / "endpoints.yml",
        )
        python = _python(project)
        rasa_run = [
            python,
            "-m",
            "rasa",
            "run",
            "--model",
            str(model),
            "--interface",
            LOOPBACK,
            "--credentials",
            str(Path(credentials) if credentials else project / "credentials.yml"),
            "--endpoints",
            str(endpoints_file),
            "--cors",
            *settings.webchat_allowed_origins,
        ]
        # Each Rasa instance with its own port and staff console, the rest of its settings shared.
        commands: dict[str, tuple[list[str], Mapping[str, str]]] = {
            "actions": (
                [python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(action_port)],
                env,
            ),
            **{
                rasa_name(index): (
                    [*rasa_run, "--port", str(port)],
                    {**env, "RASA_PORT": str(port), "CONSOLE_PORT": str(console)},
                )
                for index, (port, console) in enumerate(instances)
            },
            "demo_site": ([python, "-m", "assistant.demo_site", "--port", str(demo_port)], env),
            "sandbox": (
                [
                    python,
                    "-m",
                    "assistant.sandbox",
                    "--port",
                    str(sandbox_port),
                    "--database-url",
                    sandbox_database,
                ],
                env,
            ),
        }
        for name, (command, child_env) in commands.items():
            stack._children.append(_start(name, command, project, child_env, logs))

        checks: dict[str, list[tuple[str, str | None]]] = {
            "actions": [(f"{stack.action_url}/health", '"ok"')],
            "demo_site": [(stack.demo_url, None)],
            "sandbox": [(f"{stack.sandbox_url}/", '"ok"')],
        }
        conditions: dict[str, Callable[[], bool]] = {}
        for index, (port, console) in enumerate(instances):
            name, url = rasa_name(index), f"http://{LOOPBACK}:{port}"
            # Rasa only starts listening after the model is loaded; the REST channel answering
            # proves credentials.yml was read.
            checks[name] = [
                (f"{url}/", "Hello from Rasa"),
                (f"{url}/webhooks/rest/", None),
                (f"http://{LOOPBACK}:{console}/health", None),
            ]
            if rasa_workers > 1:
                rasa = stack._child(name)
                assert rasa is not None
                conditions[name] = _WorkersListening(rasa, rasa_workers, console)
        _wait_until_ready(stack._children, checks, startup_timeout, conditions)
        yield stack
    finally:
        stack.stop()


def channel_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """The secrets of the WhatsApp and phone channels for a run on this machine: those in `env`
    are kept, the rest made up; the Graph API and Twilio tokens are the sandbox's own."""
    made_up = {
        "WHATSAPP_APP_SECRET": lambda: secrets.token_hex(16),
        "WHATSAPP_VERIFY_TOKEN": lambda: secrets.token_urlsafe(16),
        "AUDIOCODES_TOKEN": lambda: secrets.token_urlsafe(24),
        "VOICE_CALLER_KEY": lambda: Fernet.generate_key().decode(),
    }
    wired = {name: env.get(name) or make() for name, make in made_up.items()}
    wired.update(
        {
            "WHATSAPP_ACCESS_TOKEN": env["SANDBOX_WHATSAPP_TOKEN"],
            "TWILIO_ACCOUNT_SID": env["SANDBOX_TWILIO_ACCOUNT_SID"],
            "TWILIO_AUTH_TOKEN": env["SANDBOX_TWILIO_AUTH_TOKEN"],
        }
    )
    return wired


def channel_environment(env: Mapping[str, str], sandbox_url: str) -> dict[str, str]:
    """WhatsApp and the phone wired to the sandbox's stand-ins of the Graph API and Twilio's
    Messages API."""
    return {
        **channel_secrets(env),
        "WHATSAPP_API_URL": f"{sandbox_url}/whatsapp/v19.0/",
        "TWILIO_API_URL": f"{sandbox_url}/twilio/",
        "VOICE_SMS_FROM": env.get("VOICE_SMS_FROM") or "Gemeente",
    }


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
