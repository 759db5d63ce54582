"""The reference of `make bench`: a bare `rasa init` bot from the same environment.

A speed figure of the assistant means little on a shared, noisy machine; a ratio against a
reference measured in the same run does. The reference is what `rasa init --no-prompt` makes
with the Rasa of this virtual environment: its example project and default pipeline, trained once
and kept under var/bench/ per Rasa version and hash of the init template, so a new Rasa or a
changed template trains a new one. It is served as one process (`rasa run --enable-api`, the
REST channel of the init project's credentials.yml, its default endpoints: in-memory trackers and
locks, no action server) on a free loopback port, and stopped by the same run.

The init bot has no custom actions (its actions.py is an example, commented out), so every
message below is answered by responses alone. `reference_scripts` gives it conversations of the
same lengths as the assistant's, from its own domain (greet, mood, yes/no, bot challenge,
goodbye), so both servers handle the same number of messages per conversation.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / "var" / "bench"
LOOPBACK = "127.0.0.1"
TRAIN_TIMEOUT = 900.0  # seconds; the init bot trains in one to two minutes on two cores
STARTUP_TIMEOUT = 300.0  # Rasa loads TensorFlow and the model before it listens
STOP_GRACE_SECONDS = 15.0
POLL_INTERVAL = 0.2
LOG_TAIL_LINES = 30

# Conversations for the init bot, built to the assistant's lengths: a greeting, then what its
# stories and rules answer (a mood; after a sad one, yes or no to "Did that help you?"; the bot
# challenge, a rule that holds anywhere), then a goodbye (also a rule).
_GREETINGS = ("hello there", "hi", "good morning", "hey", "good evening")
_GOODBYES = ("bye", "goodbye", "see you later", "bye bye", "have a nice day")
_MIDDLES = (
    ("I am feeling very good", "are you a bot?"),
    ("I am sad", "yes", "are you a bot?"),
    ("I am sad", "no", "are you a bot?"),
)
_PADDING = "am I talking to a bot?"


class ReferenceBotError(RuntimeError):
    """The reference bot could not be made or started (the message says why)."""


def reference_script(length: int, variant: int) -> tuple[str, ...]:
    """A conversation of `length` messages the init bot answers with its responses alone."""
    if length < 1:
        raise ValueError("a conversation has at least one message")
    greeting = _GREETINGS[variant % len(_GREETINGS)]
    if length == 1:
        return (greeting,)
    middle = list(_MIDDLES[variant % len(_MIDDLES)])
    middle += [_PADDING] * max(0, length - 2 - len(middle))
    return (greeting, *middle[: length - 2], _GOODBYES[variant % len(_GOODBYES)])


def reference_scripts(scripts: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """For each of the assistant's scripts one of the init bot's, of the same length."""
    return tuple(reference_script(len(script), i) for i, script in enumerate(scripts))


# --- the trained project, cached ---------------------------------------------------------------


def _template_dir() -> Path:
    # Found without importing Rasa (which takes seconds and loads TensorFlow).
    spec = importlib.util.find_spec("rasa")
    if spec is None or spec.origin is None:
        raise ReferenceBotError("Rasa is not installed in this environment")
    return Path(spec.origin).parent / "cli" / "initial_project"


def template_hash(template: Path | None = None) -> str:
    """A hash of the files `rasa init` copies (names and contents; byte code left out)."""
    root = template or _template_dir()
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def rasa_version() -> str:
    return importlib.metadata.version("rasa")


def _python() -> str:
    venv_python = REPO_ROOT / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",  # no network except package registries
            "SANIC_WORKERS": "1",  # one process, whatever the caller's shell says
            "PYTHONUNBUFFERED": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
        }
    )
    return env


def _model_in(project: Path) -> Path | None:
    models = sorted((project / "models").glob("*.tar.gz"))
    return models[-1] if models else None


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def trained_project(cache_dir: Path = CACHE_DIR, *, log: Callable[[str], None] = print) -> Path:
    """The init project with its trained model, made and trained on first use and kept.

    It is built in a temporary directory next to the cache and moved into place when complete,
    so an interrupted or concurrent run never leaves (or sees) a half-made project.
    """
    version = rasa_version()
    project = cache_dir / f"reference-rasa-{version}-{template_hash()}"
    if _model_in(project):
        return project
    cache_dir.mkdir(parents=True, exist_ok=True)
    log(f"Making the reference bot (rasa init, Rasa {version}) in {project}; trained once...")
    work = Path(tempfile.mkdtemp(prefix="reference-building-", dir=cache_dir))
    log_path = work.parent / f"{work.name}.log"
    try:
        with log_path.open("wb") as log_file:
            try:
                subprocess.run(
                    [_python(), "-m", "rasa", "init", "--no-prompt", "--init-dir", str(work)],
                    cwd=work,
                    env=_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    timeout=TRAIN_TIMEOUT,
                    check=True,
                    start_new_session=True,
                )
            except subprocess.TimeoutExpired as error:
                raise ReferenceBotError(
                    f"`rasa init` did not finish within {TRAIN_TIMEOUT:.0f} s. "
                    f"Last lines of {log_path}:\n{_tail(log_path)}"
                ) from error
            except subprocess.CalledProcessError as error:
                raise ReferenceBotError(
                    f"`rasa init` failed (exit code {error.returncode}). "
                    f"Last lines of {log_path}:\n{_tail(log_path)}"
                ) from error
        if not _model_in(work):
            raise ReferenceBotError(f"`rasa init` trained no model. Last lines:\n{_tail(log_path)}")
        try:
            work.rename(project)
        except OSError:
            if not _model_in(project):  # not a concurrent run that finished first
                raise
        log_path.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return project


# --- serving -------------------------------------------------------------------------------------


@dataclass
class Reference:
    url: str
    project: Path
    model: Path
    version: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise ReferenceBotError(
                f"The reference bot stopped (exit code {code}). "
                f"Last lines of {self.log_path}:\n{_tail(self.log_path)}"
            )


def _answers(url: str, expect: str | None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body = response.read().decode("utf-8", "replace")
            return response.status == 200 and (expect is None or expect in body)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # start_new_session=True made the child the leader of its own group: pgid == pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _stop(process: subprocess.Popen[bytes]) -> None:
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()
    _signal_group(process, signal.SIGKILL)  # anything it started and left behind


@contextlib.contextmanager
def running_reference(
    port: int,
    *,
    cache_dir: Path = CACHE_DIR,
    startup_timeout: float = STARTUP_TIMEOUT,
    log: Callable[[str], None] = print,
) -> Iterator[Reference]:
    """The trained init bot served on 127.0.0.1:`port` until the block ends."""
    project = trained_project(cache_dir, log=log)
    model = _model_in(project)
    assert model is not None  # trained_project guarantees it
    logs = Path(tempfile.mkdtemp(prefix="reference-run-"))
    log_path = logs / "rasa.log"
    command = [
        _python(),
        "-m",
        "rasa",
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--interface",
        LOOPBACK,
        "--port",
        str(port),
        "--credentials",
        str(project / "credentials.yml"),
        "--endpoints",
        str(project / "endpoints.yml"),
    ]
    url = f"http://{LOOPBACK}:{port}"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=project,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    reference = Reference(url, project, model, rasa_version(), log_path, process)
    try:
        deadline = time.monotonic() + startup_timeout
        while not (
            _answers(f"{url}/", "Hello from Rasa") and _answers(f"{url}/webhooks/rest/", None)
        ):
            reference.check_alive()
            if time.monotonic() > deadline:
                raise ReferenceBotError(
                    f"The reference bot did not answer on {url} within {startup_timeout:.0f} s. "
                    f"Last lines of {log_path}:\n{_tail(log_path)}"
                )
            time.sleep(POLL_INTERVAL)  # polling interval, not a wait for readiness
        yield reference
    finally:
        _stop(process)
        shutil.rmtree(logs, ignore_errors=True)
