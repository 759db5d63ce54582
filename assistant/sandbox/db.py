"""The sandboxes' database: an SQLite file by default, PostgreSQL when a URL says so.

Every sandbox defines its own tables (SQLAlchemy Core, names prefixed with the standard) on its
own MetaData, so all of them can share one database.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from assistant.sql import engine_for

__all__ = ["create_tables", "engine_for"]


def create_tables(engine: Engine, metadata: MetaData) -> None:
    metadata.create_all(engine)
