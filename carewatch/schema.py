"""Brings the database to the current schema through the Alembic migrations in carewatch/migrations.

It imports every room's models (Alembic compares against them), so only the wiring may import it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import alerts.models
import alerts.notify_tables
import alerts.rota
import alerts.silences
import api.models
import ingest.archive
import carewatch.directory
import ingest.models
import ingest.usage
from carewatch.db import SQLITE_BUSY_TIMEOUT_MS, Base, make_engine, make_sessions
from carewatch.retrying import until_it_works

MODELS = (alerts.models, alerts.notify_tables, alerts.rota, alerts.silences, api.models, carewatch.directory, ingest.archive, ingest.models, ingest.usage)  # their tables are on Base
VERSION_TABLE = "alembic_version"
# Any fixed 64-bit number: PostgreSQL's advisory lock that serialises two services upgrading at once.
SCHEMA_LOCK_KEY = 0x63_61_72_65_77_61_74_63  # "carewatc"
SQLITE_WAL_ATTEMPTS = 70  # about a minute, waiting 0.05 s doubling to 1 s between tries
SQLITE_MIGRATION_WAIT_MS = 60_000

log = logging.getLogger(__name__)
T = TypeVar("T")


def alembic_config(connection: Connection | None = None) -> Config:
    """The migrations' configuration without alembic.ini: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", "carewatch:migrations")
    config.attributes["connection"] = connection
    return config


async def create_schema(engine: AsyncEngine) -> None:
    """Upgrades the database to the newest revision, in one transaction; a no-op when it is already there.

    A database made before migrations existed (our tables, no alembic_version) is adopted by the
    baseline revision: it creates only the tables that are missing and adds missing columns.
    """
    if engine.dialect.name == "sqlite":
        await until_it_works(lambda: _write_ahead_log(engine), _report_locked, first=0.05, cap=1.0, attempts=SQLITE_WAL_ATTEMPTS)
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A second service starting at the same time waits here, then finds the database at head.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        elif connection.dialect.name == "sqlite":
            # Take the write lock now, not at the first CREATE TABLE, waiting as long as another service may
            # take to migrate (longer than the usual busy timeout).
            await connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_MIGRATION_WAIT_MS}")
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            await connection.run_sync(_upgrade)
        finally:
            if connection.dialect.name == "sqlite":
                await connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


async def in_current_database(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``work`` in one transaction on the database at ``database_url``, brought to the newest schema first, with an
    engine of its own, disposed of after: a runner's start-up import, the admin commands, the demo's district."""
    engine = make_engine(database_url)
    try:
        await create_schema(engine)
        async with make_sessions(engine).begin() as session:
            return await work(session)
    finally:
        await engine.dispose()


async def _write_ahead_log(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode=WAL")).scalar_one()
    if mode not in ("wal", "memory"):
        log.warning("SQLite kept journal mode %r instead of WAL: the console's reads may wait for ingest's writes", mode)


def _report_locked(error: BaseException, wait: float) -> None:
    log.info("turning the SQLite file to WAL: %s; trying again in %.2f s", error, wait)


def _upgrade(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    ours = tables & set(Base.metadata.tables)
    if ours and VERSION_TABLE not in tables:
        log.warning(
            "database has %d carewatch tables and no %s: made before migrations, adopting it at the baseline",
            len(ours),
            VERSION_TABLE,
        )
    command.upgrade(alembic_config(connection), "head")


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is stamped at; None before the first upgrade (empty, or made before migrations)."""
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
