"""Delete conversations past the retention period (AVG) from Rasa's SQL tracker store.

Rasa keeps every event of a conversation as a row of its `events` table (one `sender_id` per
conversation, `timestamp` in seconds since the epoch) and never deletes anything itself. A
conversation expires when its *latest* event is older than ASSISTANT_RETENTION_DAYS: a resident
who chatted two months ago and again yesterday keeps the whole conversation for another period.
An expired conversation is deleted completely, every row of its sender id.

Command line (the `retention` service in docker-compose.yml runs it every 24 hours):

    python -m assistant.retention [--database-url URL] [--every-hours N] [--health-file PATH]

The database is, in this order: --database-url; the environment variable TRACKER_STORE_URL (an
SQLAlchemy URL such as postgresql://user:password@host:5432/assistant); or the variables Rasa's
production tracker store uses (deploy/endpoints.production.yml): POSTGRES_HOST, POSTGRES_PORT
(default 5432), POSTGRES_DB, POSTGRES_USER, POSTGRES_PASSWORD. Like Rasa, POSTGRESQL_SCHEMA
selects a schema other than the default. Prefer the environment over --database-url: a password
on the command line is visible to every user of the machine.

Without --every-hours it purges once (exit 0, or 1 when the database cannot be reached); with it,
it purges at start and then every N hours until SIGTERM or Ctrl+C. A wrong setting exits with 2
and a message naming it. The log holds counts only, never a sender id.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from sqlalchemy import (
    Column,
    Float,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    distinct,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from assistant.privacy import install_log_redaction
from assistant.settings import (
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    ConfigError,
    load_settings,
)

logger = logging.getLogger(__name__)

MAX_EVERY_HOURS = 24 * 365
# After a failed purge (database down, wrong password) try again sooner than the full interval.
RETRY_SECONDS = 15 * 60
# The health file promises the next successful purge before `next run + this margin`.
HEALTH_MARGIN_SECONDS = 15 * 60
CONNECT_TIMEOUT_SECONDS = 10

# The two columns of Rasa's table that decide expiry (rasa.core.tracker_store.SQLTrackerStore
# .SQLEvent). Rasa creates the table on its first start; this module never creates it.
_metadata = MetaData()
events = Table(
    "events",
    _metadata,
    Column("sender_id", String(255), nullable=False),
    Column("timestamp", Float),
)


def purge_conversations(
    tracker_store_url: str | URL, retention_days: int, now: dt.datetime | None = None
) -> int:
    """Delete every conversation whose latest event is older than `retention_days` days.

    Returns the number of conversations (sender ids) deleted; 0 when Rasa has not created its
    `events` table yet. `now` (timezone-aware) is the moment the period is counted back from.
    Raises ValueError for invalid arguments and SQLAlchemyError when the database fails.
    """
    cutoff = _cutoff(retention_days, now)
    engine = _engine(tracker_store_url)
    try:
        with engine.begin() as conn:
            if not inspect(conn).has_table(events.name):
                logger.info(
                    "No conversations stored yet (no table %r): nothing to delete.", "events"
                )
                return 0
            deleted = _delete_expired(conn, cutoff.timestamp())
    finally:
        engine.dispose()
    logger.info(
        "Deleted %d conversation(s) without a message in the last %d day(s).",
        deleted,
        retention_days,
    )
    return deleted


def _cutoff(retention_days: int, now: dt.datetime | None) -> dt.datetime:
    if (
        isinstance(retention_days, bool)
        or not isinstance(retention_days, int)
        or not MIN_RETENTION_DAYS <= retention_days <= MAX_RETENTION_DAYS
    ):
        raise ValueError(
            f"retention_days must be a whole number from {MIN_RETENTION_DAYS} to "
            f"{MAX_RETENTION_DAYS}, got {retention_days!r}"
        )
    if now is None:
        now = dt.datetime.now(dt.timezone.utc)
    elif now.tzinfo is None or now.utcoffset() is None:
        # Rasa's timestamps are seconds since the epoch: a naive time is ambiguous.
        raise ValueError("now must be timezone-aware, e.g. datetime.now(timezone.utc)")
    return now - dt.timedelta(days=retention_days)


def _engine(tracker_store_url: str | URL) -> Engine:
    try:
        url = make_url(tracker_store_url)
    except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
        # SQLAlchemy's own message repeats the URL, password included.
        raise ValueError(
            "the database URL is not valid; expected e.g. "
            "postgresql://user:password@host:5432/database"
        ) from None
    options: dict = {"poolclass": NullPool}  # one short run a day: no idle pooled connections
    if url.get_backend_name() == "postgresql":
        connect_args: dict[str, object] = {}
        if url.get_driver_name() == "psycopg2":
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        schema = os.environ.get("POSTGRESQL_SCHEMA")
        if schema:  # the schema Rasa uses too (rasa.core.tracker_store.create_engine_kwargs)
            connect_args["options"] = f"-csearch_path={schema}"
        options["connect_args"] = connect_args
    try:
        return create_engine(url, **options)
    except ArgumentError as error:  # e.g. an unknown dialect or driver
        raise ValueError(f"the database URL cannot be used: {error}") from None
    except ImportError as error:  # the dialect's driver is not installed
        raise ValueError(f"no database driver for this URL: {error}") from None


def _delete_expired(conn: Connection, cutoff: float) -> int:
    expired = (
        select(events.c.sender_id)
        .group_by(events.c.sender_id)
        .having(func.max(events.c.timestamp) < cutoff)
    )
    doomed = delete(events).where(events.c.sender_id.in_(expired))
    if conn.dialect.name == "postgresql":
        # One statement: the conversations counted are exactly the ones deleted, and a message
        # that arrives while it runs cannot be deleted with them.
        gone = doomed.returning(events.c.sender_id).cte("gone")
        return int(conn.execute(select(func.count(distinct(gone.c.sender_id)))).scalar_one())
    # Other databases (SQLite in development): count, then delete what is still expired.
    count = conn.execute(select(func.count()).select_from(expired.subquery())).scalar_one()
    conn.execute(doomed)
    return int(count)


# --- command line ------------------------------------------------------------------------------


def database_url_from_env(env: Mapping[str, str]) -> str | URL:
    """TRACKER_STORE_URL, or the URL of the PostgreSQL database Rasa's tracker store uses."""
    explicit = env.get("TRACKER_STORE_URL", "").strip()
    if explicit:
        return explicit
    host = env.get("POSTGRES_HOST", "").strip()
    if not host:
        raise ConfigError(
            "set TRACKER_STORE_URL, or POSTGRES_HOST with POSTGRES_DB, POSTGRES_USER and "
            "POSTGRES_PASSWORD (the variables of deploy/endpoints.production.yml)"
        )
    missing = [name for name in ("POSTGRES_DB", "POSTGRES_USER") if not env.get(name, "").strip()]
    if missing:
        raise ConfigError(f"POSTGRES_HOST is set, so set {' and '.join(missing)} as well")
    raw_port = env.get("POSTGRES_PORT", "").strip() or "5432"
    if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
        raise ConfigError(f"POSTGRES_PORT must be a port number (1-65535), got {raw_port!r}")
    # URL.create quotes the password, so any character in it is safe.
    return URL.create(
        "postgresql",
        username=env["POSTGRES_USER"].strip(),
        password=env.get("POSTGRES_PASSWORD") or None,
        host=host,
        port=int(raw_port),
        database=env["POSTGRES_DB"].strip(),
    )


def _hours(raw: str) -> float:
    try:
        hours = float(raw)
    except ValueError:
        hours = float("nan")
    if not 0 < hours <= MAX_EVERY_HOURS:  # also rejects NaN
        raise argparse.ArgumentTypeError(
            f"must be a number of hours above 0 and at most {MAX_EVERY_HOURS}, got {raw!r}"
        )
    return hours


def _describe(error: SQLAlchemyError) -> str:
    """The database's own reason (first line), without SQL text or parameters."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        reason = str(error.orig).strip().splitlines()
        return f"{type(error.orig).__name__}: {reason[0] if reason else ''}".rstrip(": ")
    return type(error).__name__


def _purge_once(url: str | URL, retention_days: int) -> bool:
    try:
        purge_conversations(url, retention_days)
    except SQLAlchemyError as error:
        logger.error("Purging expired conversations failed: %s", _describe(error))
        return False
    return True


def _write_health(path: Path | None, healthy_until: float | None) -> None:
    """The health check reads a deadline from `path`; no file means unhealthy."""
    if path is None:
        return
    if healthy_until is None:
        path.unlink(missing_ok=True)
        return
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(f"{healthy_until:.0f}\n", encoding="utf-8")
    partial.replace(path)  # atomic: the health check never reads half a number


def _run_every(url: str | URL, retention_days: int, hours: float, health: Path | None) -> int:
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    interval = hours * 3600
    _write_health(health, None)  # a file left by an earlier run of this container says nothing
    logger.info(
        "Purging conversations older than %d day(s) every %g hour(s).", retention_days, hours
    )
    while not stop.is_set():
        ok = _purge_once(url, retention_days)
        wait = interval if ok else min(interval, RETRY_SECONDS)
        _write_health(health, time.time() + wait + HEALTH_MARGIN_SECONDS if ok else None)
        stop.wait(wait)
    logger.info("Stopped.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.retention",
        description=(
            "Delete conversations whose last message is older than ASSISTANT_RETENTION_DAYS "
            "(default 30) from Rasa's SQL tracker store."
        ),
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help=(
            "SQLAlchemy URL of the tracker store database. Default: TRACKER_STORE_URL, else "
            "built from POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB, POSTGRES_USER, "
            "POSTGRES_PASSWORD."
        ),
    )
    parser.add_argument(
        "--every-hours",
        type=_hours,
        metavar="N",
        help="keep running and purge every N hours until stopped (default: purge once)",
    )
    parser.add_argument(
        "--health-file",
        type=Path,
        metavar="PATH",
        help=(
            "with --every-hours: after each successful purge write the time (epoch seconds) "
            "before which the next one is due; removed when a purge fails"
        ),
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_log_redaction()
    try:
        retention_days = load_settings().retention_days
        url = args.database_url or database_url_from_env(os.environ)
        _engine(url).dispose()  # checks the URL without connecting
    except (ConfigError, ValueError) as error:
        print(f"Instelling klopt niet / invalid setting: {error}", file=sys.stderr)
        return 2
    if args.health_file is not None and args.every_hours is None:
        print("--health-file only works with --every-hours", file=sys.stderr)
        return 2
    if args.every_hours is None:
        return 0 if _purge_once(url, retention_days) else 1
    return _run_every(url, retention_days, args.every_hours, args.health_file)


if __name__ == "__main__":
    sys.exit(main())
