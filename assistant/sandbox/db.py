"""The sandboxes' database: an SQLite file by default, PostgreSQL when a URL says so.

Every sandbox defines its own tables (SQLAlchemy Core, names prefixed with the standard) on its
own MetaData, so all of them can share one database.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine


def engine_for(url: str) -> Engine:
    """An engine for `url`; creates the folder of an SQLite file."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, future=True, connect_args={"check_same_thread": False})
    return create_engine(url, future=True, pool_pre_ping=True)


def create_tables(engine: Engine, metadata: MetaData) -> None:
    metadata.create_all(engine)
