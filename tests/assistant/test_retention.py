"""Conversations expire after the retention period (AVG), in Rasa's real SQL tracker store.

The tracker store is Rasa's own SQLTrackerStore on a fresh PostgreSQL database; conversations are
saved and read back through it, exactly as the running assistant does.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.retention import purge_conversations
from assistant.stack import free_ports

REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.now(dt.timezone.utc)
# Settings the command reads; removed from the developer's environment for the CLI tests.
OWN_VARIABLES = (
    "TRACKER_STORE_URL",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRESQL_SCHEMA",
    "ASSISTANT_RETENTION_DAYS",
)


def _ago(**delta: float) -> float:
    return (NOW - dt.timedelta(**delta)).timestamp()


def _session(at: float, question: str, answer: str) -> list[Event]:
    """A session as Rasa stores it: session start, then one question and its answer."""
    return [
        ActionExecuted("action_session_start", timestamp=at),
        SessionStarted(timestamp=at),
        ActionExecuted("action_listen", timestamp=at),
        UserUttered(question, intent={"name": "vraag", "confidence": 1.0}, timestamp=at + 1),
        ActionExecuted("utter_antwoord", timestamp=at + 2),
        BotUttered(answer, timestamp=at + 2),
        ActionExecuted("action_listen", timestamp=at + 3),
    ]


@pytest.fixture
def store(postgres_url: str) -> Iterator[SQLTrackerStore]:
    # A host containing "://" is used by Rasa as the complete database URL.
    tracker_store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=postgres_url)
    yield tracker_store
    tracker_store.engine.dispose()


async def _save(store: SQLTrackerStore, events: list[Event]) -> tuple[str, list[dict[str, Any]]]:
    sender = f"retention-{uuid.uuid4().hex}"
    await store.save(DialogueStateTracker.from_events(sender, events, slots=[]))
    return sender, [event.as_dict() for event in events]


async def _stored(store: SQLTrackerStore, sender: str) -> list[dict[str, Any]] | None:
    tracker = await store.retrieve_full_tracker(sender)
    return None if tracker is None else [event.as_dict() for event in tracker.events]


async def test_only_conversations_silent_for_longer_than_the_period_are_deleted(
    store: SQLTrackerStore, postgres_url: str
) -> None:
    old, _ = await _save(store, _session(_ago(days=40), "Wat kost een paspoort?", "€ 80,35"))
    recent, recent_events = await _save(
        store, _session(_ago(hours=2), "Wanneer is het gemeentehuis open?", "Van 9 tot 17 uur")
    )
    # Started long ago, but the resident came back yesterday: kept whole, first session too.
    returning, returning_events = await _save(
        store,
        _session(_ago(days=90), "Ik ben verhuisd", "U geeft uw verhuizing door via ...")
        + _session(_ago(days=1), "Hoe lang duurt dat?", "Binnen 5 werkdagen"),
    )

    assert purge_conversations(postgres_url, 30, now=NOW) == 1

    assert await store.retrieve(old) is None
    assert await _stored(store, old) is None
    assert await _stored(store, recent) == recent_events
    assert await _stored(store, returning) == returning_events
    assert (await store.retrieve(returning)).latest_message.text == "Hoe lang duurt dat?"
    # Nothing left to delete on the next run.
    assert purge_conversations(postgres_url, 30, now=NOW) == 0


async def test_the_period_counts_from_the_last_message(
    store: SQLTrackerStore, postgres_url: str
) -> None:
    just_expired, _ = await _save(store, _session(_ago(days=30, minutes=5), "Hallo", "Dag"))
    just_kept, kept_events = await _save(store, _session(_ago(days=30, minutes=-5), "Hoi", "Dag"))

    assert purge_conversations(postgres_url, 30, now=NOW) == 1

    assert await _stored(store, just_expired) is None
    assert await _stored(store, just_kept) == kept_events


def test_a_database_rasa_has_not_used_yet_has_nothing_to_delete(postgres_url: str) -> None:
    assert purge_conversations(postgres_url, 30) == 0


@pytest.mark.parametrize("days", [0, -1, 3651, 1.5, "30", True, None])
def test_an_invalid_retention_period_is_refused(days: Any) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        purge_conversations("postgresql://postgres@127.0.0.1/unused", days)


def test_a_time_without_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        purge_conversations("postgresql://postgres@127.0.0.1/unused", 30, now=dt.datetime.now())


# --- the command (the `retention` service in docker-compose.yml) -------------------------------


def _env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}
    return {**env, **variables}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.retention", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_command_purges_once_and_logs_only_the_count(
    store: SQLTrackerStore, postgres_url: str
) -> None:
    old, _ = await _save(store, _session(_ago(days=40), "Mijn BSN is 111222333", "Dank u"))
    recent, recent_events = await _save(store, _session(_ago(days=1), "Hallo", "Dag"))

    result = _run("--database-url", postgres_url, env=_env(ASSISTANT_RETENTION_DAYS="30"))

    assert result.returncode == 0, result.stderr
    assert "Deleted 1 conversation(s)" in result.stderr
    assert old not in result.stdout + result.stderr and recent not in result.stderr
    assert await _stored(store, old) is None
    assert await _stored(store, recent) == recent_events


async def test_the_service_reads_the_production_variables_and_stops_on_sigterm(
    store: SQLTrackerStore, postgres_url: str, tmp_path: Path
) -> None:
    old, _ = await _save(store, _session(_ago(days=10), "Hallo", "Dag"))
    database = urlsplit(postgres_url)
    env = _env(
        POSTGRES_HOST=database.hostname or "",
        POSTGRES_PORT=str(database.port or 5432),
        POSTGRES_DB=database.path.lstrip("/"),
        POSTGRES_USER=database.username or "",
        POSTGRES_PASSWORD=database.password or "",
        ASSISTANT_RETENTION_DAYS="7",
    )
    health = tmp_path / "healthy-until"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistant.retention",
            "--every-hours",
            "24",
            "--health-file",
            health,
        ],
        cwd=REPO_ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stderr], daemon=True
    ).start()
    try:
        log = []
        while not any("Deleted" in line for line in log):
            log.append(lines.get(timeout=60))  # the first purge runs at start
        assert "Deleted 1 conversation(s)" in log[-1]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "SIGTERM stops the loop at once, cleanly"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert await _stored(store, old) is None
    # The health check sees a deadline after the next run (in 24 hours).
    assert float(health.read_text()) > time.time() + 23 * 3600


@pytest.mark.parametrize(
    ("args", "variables", "named"),
    [
        ((), {}, "TRACKER_STORE_URL"),
        ((), {"POSTGRES_HOST": "db"}, "POSTGRES_DB and POSTGRES_USER"),
        (
            (),
            {"POSTGRES_HOST": "db", "POSTGRES_DB": "a", "POSTGRES_USER": "a", "POSTGRES_PORT": "x"},
            "POSTGRES_PORT",
        ),
        (("--database-url", "postgresql://u:geheim@h:poort/db"), {}, "database URL"),
        (("--database-url", "onbekend://u:geheim@h/db"), {}, "database URL"),
        (
            ("--database-url", "postgresql://u:geheim@h/db"),
            {"ASSISTANT_RETENTION_DAYS": "0"},
            "ASSISTANT_RETENTION_DAYS",
        ),
        (("--database-url", "postgresql://h/db", "--every-hours", "0"), {}, "--every-hours"),
    ],
)
def test_a_wrong_setting_exits_with_2_and_says_which(
    args: tuple[str, ...], variables: dict[str, str], named: str
) -> None:
    result = _run(*args, env=_env(**variables))
    assert result.returncode == 2, result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert "geheim" not in result.stderr, "a password is never repeated"


def test_an_unreachable_database_fails_with_1_and_a_reason() -> None:
    (port,) = free_ports(1)
    result = _run("--database-url", f"postgresql://postgres:geheim@127.0.0.1:{port}/x", env=_env())
    assert result.returncode == 1
    assert "Purging expired conversations failed" in result.stderr
    assert str(port) in result.stderr, "the database's reason is given"
    assert "Traceback" not in result.stderr and "geheim" not in result.stderr
