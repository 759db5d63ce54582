"""The console's two tables: employees' accounts and their server-side sessions.

They live in the handoff queue's database (HANDOFF_DATABASE_URL) but in a MetaData of their
own, so the console creates only what it owns. SQLAlchemy Core, the same statements for the
embedded SQLite file and PostgreSQL. Timestamps are stored in UTC (SQLite keeps the digits and
drops the zone; `assistant.handoff.store.aware` puts it back).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Engine

MAX_USERNAME_LENGTH = 64
MAX_DISPLAY_NAME_LENGTH = 60
MAX_MUNICIPALITIES_LENGTH = 2000

metadata = MetaData()

accounts = Table(
    "console_accounts",
    metadata,
    Column("id", String(32), primary_key=True),
    # Stored in lower case: the unique index makes usernames unique regardless of case.
    Column("username", String(MAX_USERNAME_LENGTH), nullable=False, unique=True),
    # The first name residents see in the chat ("Sanne").
    Column("display_name", String(MAX_DISPLAY_NAME_LENGTH), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("totp_secret", String(64), nullable=True),
    # The last TOTP time step accepted: a code is accepted once, never replayed in its window.
    Column("totp_last_step", BigInteger, nullable=True),
    # Comma-separated municipality ids whose queues the employee serves; empty: all of them.
    Column("municipalities", String(MAX_MUNICIPALITIES_LENGTH), nullable=False),
    Column("is_admin", Boolean(name="console_accounts_is_admin"), nullable=False),
    # Attempts since the last completed login; at the maximum the account is locked.
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
)

sessions = Table(
    "console_sessions",
    metadata,
    # SHA-256 of the cookie's value: a copy of the table cannot be replayed as cookies.
    Column("key_hash", String(64), primary_key=True),
    # Whose session (None before login), so a new password ends every session of the account.
    Column("account_id", String(32), nullable=True, index=True),
    Column("data", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


def ensure_schema(engine: Engine) -> None:
    """Create the console's tables when they are missing (idempotent)."""
    metadata.create_all(engine)
