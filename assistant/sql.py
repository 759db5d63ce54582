"""One way to open a SQL database from a URL, for every store of the project.

The embedded default is an SQLite file (its folder is created), production a PostgreSQL URL.
SQLite connections may be used from the worker threads async callers run blocking calls in.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url


def engine_for(url: str) -> Engine:
    """An engine for `url` (ArgumentError when it is malformed)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, future=True, pool_pre_ping=True)
    if parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, future=True, connect_args={"check_same_thread": False})
