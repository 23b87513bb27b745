"""`ingest.upsert.Upsert` hands SQLite's driver tuples it builds itself: what it stores must be exactly what
SQLAlchemy would have stored, or the queries that compare the stored values (the hourly roll-up's ``hour <
cutoff``, the console's time ranges) silently miss rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from carewatch.db import make_engine, make_sessions
from carewatch.schema import create_schema
from ingest.models import HouseholdSummary
from ingest.upsert import Upsert
from ingest.usage import HourlyUsage

AT = datetime(2026, 4, 27, 8, 0, tzinfo=timezone(timedelta(hours=8)))  # 00:00 UTC, written from +08:00


async def stored_rows(engine, table: str, key: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {key}")
        return [tuple(row) for row in result]


@pytest.mark.parametrize(
    ("model", "key", "row"),
    [
        (HourlyUsage, "household_id", {"household_id": "hh-{}", "kind": "gas", "hour": AT, "used_m3": 0.25}),
        (
            HouseholdSummary, "household_id",
            {"household_id": "hh-{}", "readings_accepted": 3, "readings_duplicate": 0, "routine": {"quiet": [1, 2]}, "updated_at": AT},
        ),
    ],
    ids=["times-and-floats", "json"],
)
async def test_a_row_written_by_upsert_is_stored_as_sqlalchemy_stores_it(tmp_path, model, key, row):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/upsert.db")
    await create_schema(engine)
    sessions = make_sessions(engine)
    by_upsert = {name: value.format(1) if name == key else value for name, value in row.items()}
    by_sqlalchemy = {name: value.format(2) if name == key else value for name, value in row.items()}
    async with sessions.begin() as session:
        await Upsert(model).write(session, [by_upsert])
        await session.execute(insert(model.__table__), [by_sqlalchemy])
    first, second = await stored_rows(engine, model.__tablename__, key)
    assert first[1:] == second[1:]  # everything but the key, byte for byte as SQLite holds it
    await engine.dispose()


async def test_an_upsert_still_refuses_a_naive_time(tmp_path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/upsert.db")
    await create_schema(engine)
    with pytest.raises(ValueError, match="naive"):
        async with make_sessions(engine).begin() as session:
            await Upsert(HourlyUsage).write(session, [{"household_id": "hh", "kind": "gas", "hour": datetime(2026, 1, 1), "used_m3": 1.0}])
    await engine.dispose()

