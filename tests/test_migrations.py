"""Schema migrations on real databases: a SQLite file and a fresh PostgreSQL database per test.

PostgreSQL comes from CAREWATCH_TEST_POSTGRES_URL (default: the local server with trust auth);
under CI=true a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from alerts.lifecycle import AlertStatus
from alerts.models import Alert
from carewatch.db import Base, make_engine, make_sessions
from carewatch.directory import Household, Site
from carewatch.domain import AlertType, Audience, Severity
from carewatch.migrations.autogen import COMPARE_OPTIONS
from carewatch.schema import VERSION_TABLE, alembic_config, create_schema, schema_revision
from ingest.models import HouseholdSummary
from tests.services import create_postgres_database, drop_postgres_database

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.service)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database of its own: a new SQLite file, or a uniquely named PostgreSQL database dropped after."""
    if request.param == "sqlite":
        made = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}")
        yield made
        await made.dispose()
        return
    name, url = await create_postgres_database("carewatch_migrations")
    made = make_engine(url)
    try:
        yield made
    finally:
        await made.dispose()
        await drop_postgres_database(name)


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts=dict(COMPARE_OPTIONS))
    return list(compare_metadata(context, Base.metadata))


async def differences_from_models(engine: AsyncEngine) -> list[object]:
    async with engine.connect() as connection:
        return await connection.run_sync(_differences)


AFTER_BASELINE = {"household_summaries", "gateway_sequences", "archive_outbox", "meter_health", "shift_handoffs", "site_silences", "rota_shifts", "rota_overrides", "daily_usage", "registry_file_applied"}
AFTER_BASELINE_COLUMNS = {("alerts", "cleared_at"), ("escalations", "help_requested_at"), ("sites", "phone")}
AFTER_BASELINE_INDEXES = {("hourly_usage", "ix_hourly_usage_hour")}
"""Tables, columns and indexes later revisions create: a database made before migrations existed cannot have them."""


def models_without(*, table: str = "", column: tuple[str, str] = ("", ""), index: tuple[str, str] = ("", "")) -> MetaData:
    """The models as a release before migrations had them: without a table, a column and an index added since."""
    old = MetaData()
    for model in Base.metadata.sorted_tables:
        if model.name != table and model.name not in AFTER_BASELINE:
            model.to_metadata(old)
    for table_name, column_name in {*AFTER_BASELINE_COLUMNS, column} - {("", "")}:
        old.tables[table_name]._columns.remove(old.tables[table_name].c[column_name])
    for table_name, index_name in {*AFTER_BASELINE_INDEXES, index} - {("", "")}:
        old.tables[table_name].indexes = {i for i in old.tables[table_name].indexes if i.name != index_name}
    return old


async def create_all(engine: AsyncEngine, metadata: MetaData) -> None:
    """The way carewatch made its tables before migrations existed."""
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)


async def add_rows(engine: AsyncEngine, metadata: MetaData = Base.metadata) -> None:
    """A site and a household, written through the given (possibly older) tables."""
    async with engine.begin() as connection:
        # Plain SQL for the site: the model's Python-side defaults (sites.phone, 0007) would name columns an older database lacks.
        await connection.execute(text("INSERT INTO sites (id, name, timezone) VALUES ('s1', 'East', 'Asia/Shanghai')"))
        household = {"id": "hh-1", "site_id": "s1", "name": "Mrs Li", "address": "1 Lane", "timezone": "Asia/Shanghai"}
        await connection.execute(metadata.tables["households"].insert(), [household | {"phone": "", "notes": "", "rules": {}}])


async def household_names(engine: AsyncEngine) -> list[str]:
    async with make_sessions(engine)() as session:
        return list((await session.scalars(select(Household.name))).all())


async def test_empty_database_upgrades_to_exactly_the_models(engine: AsyncEngine) -> None:
    await create_schema(engine)

    assert await differences_from_models(engine) == []
    assert await schema_revision(engine) == HEAD


async def test_database_made_before_migrations_is_adopted_with_its_rows(engine: AsyncEngine) -> None:
    await create_all(engine, models_without())
    await add_rows(engine)

    await create_schema(engine)

    assert await household_names(engine) == ["Mrs Li"]
    assert await schema_revision(engine) == HEAD
    assert await differences_from_models(engine) == []


async def test_old_database_gets_the_tables_columns_and_indexes_added_since(engine: AsyncEngine) -> None:
    """An earlier release's database: no meters table, households without birth_year, alerts without an index."""
    old = models_without(table="meters", column=("households", "birth_year"), index=("alerts", "ix_alerts_status"))
    await create_all(engine, old)
    await add_rows(engine, old)
    missing = {(d[0], d[1].name if d[0] != "add_column" else d[3].name) for d in await differences_from_models(engine)}
    assert missing == {("add_table", "meters"), ("add_column", "birth_year"), ("add_index", "ix_alerts_status"),
                       ("add_index", "ix_meters_household_id"), ("add_table", "household_summaries"), ("add_table", "gateway_sequences"),
                       ("add_table", "archive_outbox"), ("add_table", "meter_health"), ("add_index", "ix_meter_health_household_id"),
                       ("add_table", "shift_handoffs"), ("add_index", "ix_shift_handoffs_site_id"), ("add_index", "ix_shift_handoffs_written_at"),
                       ("add_table", "site_silences"), ("add_index", "ix_site_silences_site_id"), ("add_index", "ix_site_silences_starts_at"),
                       ("add_index", "ix_site_silences_ends_at"), ("add_table", "rota_shifts"), ("add_index", "ix_rota_shifts_site_id"),
                       ("add_table", "rota_overrides"), ("add_index", "ix_rota_overrides_site_id"),
                       ("add_table", "daily_usage"), ("add_table", "registry_file_applied"), ("add_index", "ix_daily_usage_day"), ("add_index", "ix_hourly_usage_hour"),
                       ("add_column", "cleared_at"), ("add_column", "help_requested_at"), ("add_column", "phone")}

    await create_schema(engine)

    assert await household_names(engine) == ["Mrs Li"]
    assert await schema_revision(engine) == HEAD
    assert await differences_from_models(engine) == []


async def test_the_workers_reading_counts_of_revision_0002_become_household_summaries(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0002"))
        await connection.execute(
            text("INSERT INTO household_reading_counts VALUES ('hh-1', 120, 3), ('hh-2', 7, 0)")
        )

    await create_schema(engine)

    async with make_sessions(engine)() as session:
        rows = (await session.scalars(select(HouseholdSummary).order_by(HouseholdSummary.household_id))).all()
    assert [(r.household_id, r.readings_accepted, r.readings_duplicate, r.routine) for r in rows] == [
        ("hh-1", 120, 3, None), ("hh-2", 7, 0, None)  # the routine comes with each household's next summary
    ]
    assert all(r.updated_at.tzinfo is not None for r in rows)
    assert await differences_from_models(engine) == []


async def test_old_table_lacking_a_required_column_is_refused_with_the_fix(engine: AsyncEngine) -> None:
    old = models_without(column=("households", "phone"))  # NOT NULL, no default
    await create_all(engine, old)

    with pytest.raises(RuntimeError, match=r"lacks column 'phone'.*add it by hand"):
        await create_schema(engine)

    assert await schema_revision(engine) is None  # the whole upgrade rolled back: next start tries again


async def test_create_schema_twice_changes_nothing(engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    await create_schema(engine)
    async with make_sessions(engine).begin() as session:
        session.add(Site(id="s1", name="East", timezone="Asia/Shanghai"))
    async with engine.connect() as connection:
        before = await connection.run_sync(lambda sync: sorted(inspect(sync).get_table_names()))

    with caplog.at_level(logging.INFO, logger="alembic"):
        await create_schema(engine)

    assert not [r.message for r in caplog.records if "Running upgrade" in r.message]
    async with engine.connect() as connection:
        assert await connection.run_sync(lambda sync: sorted(inspect(sync).get_table_names())) == before
        assert (await connection.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}"))).scalar_one() == 1
        assert (await connection.execute(select(Site.name))).scalars().all() == ["East"]
    assert await schema_revision(engine) == HEAD


async def test_two_services_starting_at_once_both_come_up(engine: AsyncEngine) -> None:
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        await asyncio.gather(create_schema(engine), create_schema(other))
    finally:
        await other.dispose()

    assert await schema_revision(engine) == HEAD
    assert await differences_from_models(engine) == []


async def test_a_service_opening_a_new_sqlite_file_while_another_holds_its_first_write_lock_waits(tmp_path: Path) -> None:
    """The race behind a CI failure: turning a new file to WAL needs it unlocked, and SQLite's busy timeout does
    not wait for that; a second service connecting just then failed at once with "database is locked"."""
    path = tmp_path / "carewatch.db"
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    first.execute("BEGIN IMMEDIATE")  # the other service, its file still in rollback-journal mode, mid-write
    first.execute("CREATE TABLE other_service_was_here (x)")
    asyncio.get_running_loop().call_later(0.5, first.execute, "COMMIT")
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await create_schema(engine)
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
        assert await schema_revision(engine) == HEAD
    finally:
        await engine.dispose()
        first.close()


async def test_upgraded_database_stores_and_reads_aware_datetimes(engine: AsyncEngine) -> None:
    """The baseline writes UTCDateTime columns as plain DateTime(timezone=True); the models still read them aware."""
    await create_schema(engine)
    await add_rows(engine)
    at = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)
    async with make_sessions(engine).begin() as session:
        session.add(
            Alert(
                id="a1", household_id="hh-1", alert_type=AlertType.NO_GAS_24H, severity=Severity.CRITICAL,
                audience=Audience.CARE, status=AlertStatus.OPEN, onset=at, raised_at=at, created_at=at, updated_at=at, outcome_detail="",
                explanation_zh="", explanation_en="", meter_ids=[], facts={},
            )
        )
    async with make_sessions(engine)() as session:
        assert (await session.scalar(select(Alert.onset))) == at


async def test_alerts_the_detector_closed_before_0003_get_cleared_at_from_their_audit_trail(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0002"))
    await add_rows(engine)
    at, cleared = datetime(2025, 3, 2, 8, 0, tzinfo=UTC), datetime(2025, 3, 2, 9, 30, tzinfo=UTC)
    alert = {
        "household_id": "hh-1", "alert_type": "no_gas_24h", "severity": "critical", "audience": "care",
        "onset": at, "raised_at": at, "created_at": at, "updated_at": at, "outcome_detail": "",
        "explanation_zh": "", "explanation_en": "", "meter_ids": [], "facts": {},
    }
    event = {"actor": "detector", "at": at, "note": "", "from_status": "open"}
    async with engine.begin() as connection:  # rows without cleared_at: the table as 0002 made it
        await connection.execute(Base.metadata.tables["alerts"].insert(), [
            alert | {"id": "closed", "status": "auto_resolved"}, alert | {"id": "open", "status": "open"}
        ])
        await connection.execute(Base.metadata.tables["alert_events"].insert(), [
            event | {"alert_id": "closed", "action": "auto_resolved", "to_status": "auto_resolved", "event_time": cleared}
        ])

    await create_schema(engine)

    async with make_sessions(engine)() as session:
        stored = dict((await session.execute(select(Alert.id, Alert.cleared_at))).all())
    assert stored == {"closed": cleared, "open": None}


def test_admin_migrate_upgrades_then_has_nothing_to_do(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from carewatch.cli import app as cli

    env = {"CAREWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}"}
    first = CliRunner().invoke(cli, ["admin", "migrate"], env=env)
    again = CliRunner().invoke(cli, ["admin", "migrate"], env=env)

    assert first.exit_code == 0, first.output
    assert f"schema upgraded from none (empty, or made before migrations) to {HEAD}" in first.output
    assert again.exit_code == 0, again.output
    assert f"schema already at revision {HEAD}: nothing to do" in again.output
