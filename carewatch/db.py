"""The relational database: one declarative Base for every room's tables, and the engine.

SQLite (aiosqlite) is the embedded default; a postgresql+asyncpg:// URL works unchanged.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from enum import StrEnum

from sqlalchemy import DateTime, Dialect, Enum, TypeDecorator, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase


SQLITE_BUSY_TIMEOUT_MS = 5000

IN_LIST_MAX = 500
"""Keys in one ``WHERE column IN (...)`` look-up: well under the parameters one statement may bind (SQLite
allowed 999 before 3.32)."""

log = logging.getLogger(__name__)

T = TypeVar("T")


class Base(DeclarativeBase):
    pass


def in_lists(keys: Sequence[T], size: int = IN_LIST_MAX) -> Iterator[Sequence[T]]:
    """``keys`` in runs of at most ``size``: a look-up of any number of keys, one ``IN (...)`` list at a time.

    >>> [list(run) for run in in_lists(["a", "b", "c"], size=2)]
    [['a', 'b'], ['c']]
    """
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def make_engine(url: str) -> AsyncEngine:
    # A pre-ping finds a server connection that went stale; a SQLite file has none, and the ping costs a
    # SELECT 1 per transaction (about 0.6 ms of CPU, benchmarks/embedded_ingest.py).
    sqlite = url.startswith("sqlite")
    # The pool's rollback of a returned connection is a trip to aiosqlite's thread after every commit: on SQLite it is
    # left to `_sqlite_rollback_if_open`, which skips it when no transaction is open (issue 13).
    engine = create_async_engine(url, pool_pre_ping=not sqlite, **({"pool_reset_on_return": None} if sqlite else {}))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "reset")
        def _sqlite_rollback_if_open(dbapi_connection, _record, reset_state):  # type: ignore[no-untyped-def]
            if not reset_state.terminate_only and dbapi_connection.driver_connection.in_transaction:
                dbapi_connection.rollback()

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # A busy timeout instead of "database is locked"; first, so that it covers the pragma after it.
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            try:
                # WAL lets the console read while ingest writes.  Turning a new file to WAL needs it unlocked and the
                # busy timeout does not wait for that: when another connection holds it, create_schema sees to it.
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as error:
                log.debug("journal mode left to create_schema: %s", error)
            cursor.close()

    return engine


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would otherwise hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store naive datetime {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def text_enum(enum: type[StrEnum]) -> Enum:
    """An enum column stored as plain strings (the enum values): adding a member needs no ALTER TYPE
    on PostgreSQL, and partial indexes can name the values."""
    return Enum(enum, native_enum=False, length=32, values_callable=lambda members: [m.value for m in members])
