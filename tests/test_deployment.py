"""How the assistant runs: on one machine (assistant/stack.py, `make run`, `make bench`) and in
production (docker-compose.yml, Dockerfile, deploy/).

On one machine: the running stack answers a resident, and start-up problems (a port in use, a
process that dies) are reported clearly instead of hanging. In production there is no Docker
engine on the development and CI machines, so the compose file is checked
structurally: the seven services, their images, health checks and start order, secrets only from
the environment and every variable documented in deploy/.env.example, and that rasa and actions
can be scaled behind the proxy (its nginx.conf: tests/test_proxy.py). The production endpoints
file is read with Rasa's own reader and its tracker store and lock store are exercised against
the real PostgreSQL and Redis. When the `docker compose` CLI is installed, it validates the
file as well.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from assistant.settings import TURN_TIMEOUT_SECONDS, ConfigError, load_settings
from assistant.stack import (
    PRODUCTION_LOCK_LIFETIME,
    PortInUseError,
    Stack,
    StackError,
    free_ports,
    running_stack,
)
from channels.voice.dialogue import RESPONSE_TIMEOUT_SECONDS as VOICE_TIMEOUT_SECONDS
from tests.compose_files import (
    COMPOSE_FILE,
    REPO_ROOT,
    command_of,
    environment_of,
    strings_of,
)
from tests.residents import resident_headers

PRODUCTION_ENDPOINTS = REPO_ROOT / "deploy" / "endpoints.production.yml"

SERVICES = {"rasa", "actions", "webchat", "retention", "redis", "postgres", "proxy"}
OUR_SERVICES = {"rasa", "actions", "webchat", "retention"}  # built from this repository
# What the Python services need at run time inside the image.
IMAGE_DIRECTORIES = {"assistant", "actions", "channels", "rasa_sdk_plugins", "webchat", "models"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE|_KEY$", re.IGNORECASE)
# The secrets of channels a deployment may go without: empty means the channel is off.
OPTIONAL_CHANNEL_SECRETS = {
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_ACCESS_TOKEN",
    "TWILIO_AUTH_TOKEN",
    "AUDIOCODES_TOKEN",
    "VOICE_CALLER_KEY",
}
# ${NAME}, ${NAME:-default}, ${NAME:?message}; "$$" escapes compose interpolation.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")
RASA_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def _dockerfile(service: dict[str, Any]) -> Path:
    build = service["build"]
    context = REPO_ROOT / (build if isinstance(build, str) else build.get("context", "."))
    name = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    return context / name


def _copied_paths(dockerfile: Path) -> set[str]:
    """Destination-relative sources of every COPY in the Dockerfile (e.g. "assistant")."""
    text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
    copied: set[str] = set()
    for line in text.splitlines():
        words = line.split()
        if words and words[0].upper() == "COPY":
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            copied.update(s.rstrip("/") for s in sources)
    return copied


# --- one machine -------------------------------------------------------------------------------


def _say(stack: Stack, sender: str, text: str) -> list[dict[str, Any]]:
    body = {"sender": sender, "message": text, "metadata": {"municipality": "utrecht"}}
    request = urllib.request.Request(
        stack.rest_webhook_url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **resident_headers()},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_the_running_assistant_answers_a_resident(assistant_stack: Stack) -> None:
    sender = f"stack-{uuid.uuid4().hex}"
    # The first message starts a session through the action server (action_session_start), so
    # an answer proves Rasa reaches the actions on the port the stack chose.
    for text in ("goedemorgen", "wat kost een paspoort?"):
        replies = _say(assistant_stack, sender, text)
        assert any(reply.get("text") for reply in replies), f"no answer to {text!r}: {replies}"
    with urllib.request.urlopen(assistant_stack.demo_url, timeout=10) as page:
        assert assistant_stack.rasa_url in page.read().decode(), "the demo page uses this Rasa"


def _start_and_stop(model: Path, **options: Any) -> None:
    with running_stack(model, **options):
        pass


def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path) -> None:
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    rasa_port, action_port = free_ports(2)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=rf"Port {port} \(for the demo site\)"):
            _start_and_stop(model, rasa_port=rasa_port, action_port=action_port, demo_port=port)


def test_a_process_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    """An empty project: the action server and demo site cannot import their code and exit."""
    (tmp_path / "endpoints.yml").write_text("action_endpoint:\n  url: http://x/webhook\n")
    (tmp_path / "credentials.yml").write_text("rest:\n")
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    env = {"PYTHONPATH": str(tmp_path)}  # not the repository: assistant.demo_site is missing
    rasa_port, action_port, demo_port = free_ports(3)
    started = time.monotonic()
    with pytest.raises(StackError, match="stopped unexpectedly") as failure:
        _start_and_stop(
            model,
            rasa_port=rasa_port,
            action_port=action_port,
            demo_port=demo_port,
            env_overrides=env,
            project_dir=tmp_path,
            startup_timeout=120,
        )
    assert "No module named" in str(failure.value), "the log tail says why"
    assert time.monotonic() - started < 60, "a dead process is noticed at once, not at the timeout"


def test_make_run_says_which_port_is_taken() -> None:
    if not (REPO_ROOT / "models" / "assistant.tar.gz").is_file():
        pytest.fail("No trained model: run `make train` first.", pytrace=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rasa_port, action_port = free_ports(2)
        env = {
            **os.environ,
            "RASA_PORT": str(rasa_port),
            "ACTION_SERVER_PORT": str(action_port),
            "DEMO_SITE_PORT": str(port),
        }
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts" / "run.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    assert f"Port {port}" in result.stderr and "in gebruik" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_bench_reports_throughput_latency_and_errors(
    assistant_stack: Stack, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "bench.py"),
            "--url",
            assistant_stack.rasa_url,
            "--concurrency",
            "2",
            "--duration",
            "3",
            # The reference bot is measured by make bench itself; its first training would
            # take a minute of this test, and the results would replace make bench's.
            "--skip-reference",
            "--results-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in ("messages per second", "turn latency p50", "turn latency p99", "errors:"):
        assert figure in result.stdout
    assert re.search(r"errors:\s+0\b", result.stdout)
    assert int(re.search(r"messages answered:\s+(\d+)", result.stdout).group(1)) > 0


# --- the compose file ---------------------------------------------------------------------------


def test_compose_defines_the_seven_services_with_an_image(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == SERVICES
    for name in OUR_SERVICES:
        assert "build" in services[name], f"{name} must be built from this repository"
        assert _dockerfile(services[name]).is_file(), f"{name}: Dockerfile not found"
    for name in SERVICES - OUR_SERVICES:
        image = services[name].get("image", "")
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image version"


def test_every_service_has_a_health_check(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test form"


def test_services_start_only_after_what_they_need_is_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    needs = {
        "rasa": {"actions", "postgres", "redis"},
        "proxy": {"rasa"},
        # The demo page's chat reaches Rasa through the proxy.
        "webchat": {"proxy"},
        "retention": {"postgres"},
    }
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions (a mapping)"
        assert set(depends) >= needs.get(name, set()), f"{name} must wait for {needs[name]}"
        for dependency, rule in depends.items():
            assert dependency in services
            assert rule.get("condition") == "service_healthy", f"{name} -> {dependency}"


def test_rasa_runs_the_trained_model_with_the_production_endpoints(
    services: dict[str, dict[str, Any]],
) -> None:
    command = command_of(services["rasa"])
    assert command[:4] == ["python", "-m", "rasa", "run"]

    def option(flag: str) -> str:
        return command[command.index(flag) + 1]

    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(rf"^MODEL := {re.escape(option('--model'))}$", makefile, re.MULTILINE), (
        "rasa must run the model `make train` produces"
    )
    assert option("--endpoints") == "deploy/endpoints.production.yml"
    assert (REPO_ROOT / option("--credentials")).is_file()
    assert "5005" in command


def test_retention_purges_daily_in_the_database_rasa_keeps_conversations_in(
    services: dict[str, dict[str, Any]],
) -> None:
    command = command_of(services["retention"])
    assert command[:3] == ["python", "-m", "assistant.retention"]
    assert float(command[command.index("--every-hours") + 1]) <= 24
    retention_env, rasa_env = (
        environment_of(services["retention"]),
        environment_of(services["rasa"]),
    )
    for name in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER"):
        assert retention_env.get(name) == rasa_env[name], f"retention: {name} differs from rasa"
    assert retention_env.get("POSTGRES_PASSWORD") == rasa_env["POSTGRES_PASSWORD"]
    assert retention_env.get("ASSISTANT_RETENTION_DAYS") == rasa_env["ASSISTANT_RETENTION_DAYS"]


def test_the_commands_run_code_and_files_that_are_in_the_image(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in OUR_SERVICES:
        copied = _copied_paths(_dockerfile(services[name]))
        assert copied >= IMAGE_DIRECTORIES, f"{name}: the image lacks {IMAGE_DIRECTORIES - copied}"
        command = command_of(services[name])
        module = command[command.index("-m") + 1]
        if module == "rasa_sdk":
            package = command[command.index("--actions") + 1]
            assert (REPO_ROOT / package / "__init__.py").is_file(), f"no package {package}"
        elif module != "rasa":
            assert (REPO_ROOT / (module.replace(".", "/") + ".py")).is_file(), module
        for word in command:
            if word.endswith(".yml"):
                assert (REPO_ROOT / word).is_file(), f"{name}: {word} does not exist"
                assert word in copied or word.split("/")[0] in copied, f"{word} not in image"


def test_dockerfile_installs_the_pinned_requirements_on_python_310(
    services: dict[str, dict[str, Any]],
) -> None:
    for dockerfile in {_dockerfile(services[name]) for name in OUR_SERVICES}:
        text = dockerfile.read_text(encoding="utf-8")
        assert re.search(r"^FROM python:3\.10-slim\b", text, re.MULTILINE)
        assert "pip install -r requirements.txt" in text
        assert re.search(r"^USER (?!root\b)\S+", text, re.MULTILINE), "run as a non-root user"
        for source in _copied_paths(dockerfile):
            # models/ is produced by `make train` (which `make test` runs first).
            assert (REPO_ROOT / source).exists(), f"{dockerfile.name} copies missing {source}"


def test_dockerignore_keeps_the_model_and_drops_local_state() -> None:
    patterns = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for local in (".git", ".venv", "node_modules", ".env", "var"):
        assert local in patterns, f".dockerignore must exclude {local}"
    assert "!models/assistant.tar.gz" in patterns
    assert "!models/spacy-nl" in patterns  # config.yml loads this spaCy pipeline at run time


def test_no_secret_is_written_in_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for key, value in environment_of(service).items():
            if SECRET_NAME.search(key):
                match = COMPOSE_VARIABLE.fullmatch(value)
                if key in OPTIONAL_CHANNEL_SECRETS:  # off when empty, never a written value
                    assert match and (match.group(2), match.group(3)) == (":-", ""), key
                    continue
                assert match and match.group(2) == ":?", (
                    f"{name}.{key} must be a required variable like ${{{key}:?set {key}}}"
                )
    for text in strings_of(services):
        # A password inside a URL (user:password@host) must be a required variable too.
        marked = COMPOSE_VARIABLE.sub(
            lambda m: "REQUIREDVARIABLE" if m.group(2) == ":?" else "VALUE", text
        )
        for url in re.findall(r"\w+://\S+", marked):
            password = urlsplit(url).password
            assert password in (None, "REQUIREDVARIABLE"), f"password written in {text!r}"
        assert not re.search(r"--requirepass\s+(?![\"']?\$)", text), "Redis password literal"


def test_every_variable_is_documented_and_secrets_have_no_default(
    compose: dict[str, Any], documented_variables: dict[str, str]
) -> None:
    used = {}
    for text in strings_of(compose):
        for match in COMPOSE_VARIABLE.finditer(text):
            used[match.group(1)] = match.group(2)
    assert used, "the compose file takes its settings from the environment"
    missing = sorted(set(used) - set(documented_variables))
    assert not missing, f"add {missing} to deploy/.env.example"
    for name, operator in used.items():
        if SECRET_NAME.search(name):
            if name not in OPTIONAL_CHANNEL_SECRETS:
                assert operator == ":?", f"{name} must be required (${{{name}:?...}})"
            assert documented_variables[name] == "", f".env.example must not hold a {name}"


def test_a_conversation_lock_outlives_every_turn_yet_frees_a_crashed_container_soon(
    services: dict[str, dict[str, Any]], documented_variables: dict[str, str]
) -> None:
    """Rasa's lock of a conversation must not expire under a turn still running (the channels
    cancel theirs after TURN_TIMEOUT_SECONDS, the phone sooner), and should not keep the
    residents of a killed container waiting for Rasa's default minute either."""
    setting = COMPOSE_VARIABLE.fullmatch(environment_of(services["rasa"])["TICKET_LOCK_LIFETIME"])
    assert setting and setting.group(2) == ":-", "a default, which .env may change"
    default = setting.group(3)
    assert default == documented_variables["TICKET_LOCK_LIFETIME"] == str(PRODUCTION_LOCK_LIFETIME)
    lifetime = load_settings({"TICKET_LOCK_LIFETIME": default}).ticket_lock_lifetime
    assert max(TURN_TIMEOUT_SECONDS, VOICE_TIMEOUT_SECONDS) < lifetime < 60
    with pytest.raises(ConfigError, match="TICKET_LOCK_LIFETIME"):
        load_settings({"TICKET_LOCK_LIFETIME": str(int(TURN_TIMEOUT_SECONDS))})


def test_postgres_and_redis_keep_their_data_in_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    for name, target in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        mounts = [str(m).split(":") for m in services[name].get("volumes", [])]
        volume = next((source for source, path, *_ in mounts if path == target), None)
        assert volume in (compose.get("volumes") or {}), f"{name} needs a named volume"


def test_only_the_public_services_publish_ports(services: dict[str, dict[str, Any]]) -> None:
    # Rasa (residents and the console) only through the proxy; the demo page on its own.
    assert {name for name, s in services.items() if s.get("ports")} == {"proxy", "webchat"}


# --- the production endpoints file ------------------------------------------------------------


def test_production_endpoints_use_postgres_tracker_and_redis_lock_store(
    services: dict[str, dict[str, Any]],
) -> None:
    endpoints = yaml.safe_load(PRODUCTION_ENDPOINTS.read_text(encoding="utf-8"))
    assert endpoints["action_endpoint"]["url"] == "http://proxy:5055/webhook"
    tracker = endpoints["tracker_store"]
    assert tracker["type"] == "assistant.tracker_store.PostgresTrackerStore"
    assert tracker["dialect"] == "postgresql"
    assert endpoints["lock_store"]["type"] == "assistant.lock_store.RedisTicketLockStore"
    for section in (tracker, endpoints["lock_store"]):
        assert RASA_VARIABLE.fullmatch(str(section["password"])), "password from the environment"
    # Rasa fills ${NAME} from the rasa container's environment: each one must be set there.
    rasa_env = environment_of(services["rasa"])
    used = {name for value in strings_of(endpoints) for name in RASA_VARIABLE.findall(value)}
    missing = sorted(used - set(rasa_env))
    assert not missing, f"the rasa service does not set {missing}"


def _production_env(postgres_url: str, redis_url: str) -> dict[str, str]:
    database = urlsplit(postgres_url)
    cache = urlsplit(redis_url)
    return {
        "POSTGRES_HOST": database.hostname or "",
        "POSTGRES_PORT": str(database.port or 5432),
        "POSTGRES_DB": database.path.lstrip("/"),
        "POSTGRES_USER": database.username or "",
        "POSTGRES_PASSWORD": database.password or "",
        "REDIS_HOST": cache.hostname or "",
        "REDIS_PORT": str(cache.port or 6379),
        "REDIS_PASSWORD": cache.password or "",
        "REDIS_LOCK_DB": cache.path.lstrip("/") or "0",
    }


async def test_production_stores_keep_conversations_and_locks_for_every_rasa_instance(
    postgres_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Rasa instances reading deploy/endpoints.production.yml share conversations and locks."""
    import redis
    from rasa.core.lock_store import LockStore
    from rasa.core.tracker_store import TrackerStore
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from assistant.lock_store import RedisTicketLockStore
    from assistant.tracker_store import PostgresTrackerStore

    for name, value in _production_env(postgres_url, redis_url).items():
        monkeypatch.setenv(name, value)
    endpoints = AvailableEndpoints.read_endpoints(str(PRODUCTION_ENDPOINTS))
    domain = Domain.empty()
    first, second = (TrackerStore.create(endpoints.tracker_store, domain) for _ in range(2))
    # Rasa falls back to memory, with only a warning, when it cannot import a store's class.
    assert type(first) is PostgresTrackerStore

    sender = f"deployment-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, slots=[])
    tracker.update(UserUttered("Wat kost een paspoort?"))
    await first.save(tracker)
    restored = await second.retrieve(sender)
    assert restored is not None
    assert restored.latest_message.text == "Wat kost een paspoort?"

    locks_a, locks_b = (
        LockStore.create(endpoints.lock_store),
        LockStore.create(endpoints.lock_store),
    )
    assert type(locks_a) is RedisTicketLockStore
    order: list[str] = []

    async def second_instance() -> None:
        async with locks_b.lock(sender):
            order.append("b")

    _, queue, _ = locks_b.keys(sender)
    lock_db = redis.Redis.from_url(redis_url)
    try:
        async with locks_a.lock(sender):
            waiting = asyncio.create_task(second_instance())
            while lock_db.zcard(queue) < 2:  # until b has its ticket and waits
                await asyncio.sleep(0.01)
            order.append("a")
        await asyncio.wait_for(waiting, 30)
        assert order == ["a", "b"], "the other instance waits for the lock"
    finally:
        lock_db.close()
        await locks_a.close()
        await locks_b.close()


# --- Docker's own validation, where the CLI exists ---------------------------------------------


def _docker_compose() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False
    )
    return [docker, "compose"] if probe.returncode == 0 else None


def test_docker_compose_accepts_the_file_and_demands_the_secrets(
    documented_variables: dict[str, str],
) -> None:
    cli = _docker_compose()
    if cli is None:
        pytest.skip("`docker compose` CLI not installed; the structural checks above ran instead")
    base = {k: v for k, v in os.environ.items() if k not in documented_variables}
    run = [*cli, "--file", str(COMPOSE_FILE), "config", "--quiet"]
    without = subprocess.run(run, env=base, capture_output=True, text=True, timeout=60)
    assert without.returncode != 0 and "set POSTGRES_PASSWORD" in without.stderr + without.stdout
    secrets = {"POSTGRES_PASSWORD": "example1", "REDIS_PASSWORD": "example2"}
    ok = subprocess.run(run, env={**base, **secrets}, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
