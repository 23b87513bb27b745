"""Hourly use is kept for a configured time, then rolled up per day: never pruned before, ≈ 6.8 KB per household
per day (issue 13 item 4).  On SQLite and PostgreSQL: the roll-up is one INSERT … SELECT … ON CONFLICT per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.usage_chart import hourly_chart
from carewatch.domain import MeterKind, Reading
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import Pipeline
from carewatch.settings import Settings
from ingest.usage import DailyUsage, HourlyUsage, keep_usage, last_days, record_usage

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sessions(sqlite_or_postgres_sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """Retention and roll-ups are tested on SQLite and on PostgreSQL."""
    return sqlite_or_postgres_sessions


async def book_hourly_readings(sessions, household_id: str, start: datetime, days: int) -> None:  # type: ignore[no-untyped-def]
    """A gas meter read every hour for ``days`` days from ``start``, 0.01 m³ an hour (0.24 a day)."""
    readings = [
        Reading(household_id, f"{household_id}-gas", MeterKind.GAS, start + timedelta(hours=h), 100 + 0.01 * h)
        for h in range(days * 24 + 1)
    ]
    async with sessions.begin() as session:
        await record_usage(session, readings)


async def totals(sessions) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        hours = await session.scalar(select(func.count()).select_from(HourlyUsage))
        days = await session.scalar(select(func.count()).select_from(DailyUsage))
        used = (await session.scalar(select(func.sum(HourlyUsage.used_m3))) or 0.0) + (
            await session.scalar(select(func.sum(DailyUsage.used_m3))) or 0.0
        )
    return hours, days, used


async def test_hours_past_their_retention_are_rolled_up_per_day_and_the_total_is_kept(sessions):
    start = NOW - timedelta(days=40)
    for household_id in ("hh-1", "hh-2"):
        await book_hourly_readings(sessions, household_id, start, 40)
    hours, days, used = await totals(sessions)
    assert (hours, days) == (2 * 40 * 24, 0)

    rolled = await keep_usage(sessions, NOW, timedelta(days=35), None)

    cutoff = datetime(2026, 4, 27, tzinfo=UTC)  # the UTC day 35 days before NOW starts here: older days go
    async with sessions() as session:
        oldest_hour = await session.scalar(select(func.min(HourlyUsage.hour)))
        day_rows = (await session.execute(select(DailyUsage.household_id, DailyUsage.day, DailyUsage.used_m3))).all()
    assert oldest_hour == cutoff
    assert rolled == 2 * (cutoff - start) // timedelta(hours=1)
    assert len(day_rows) == 2 * 5 and {day for _, day, _ in day_rows} == {cutoff - timedelta(days=d) for d in range(1, 6)}
    first_day = [u for h, day, u in day_rows if day == datetime(2026, 4, 22, tzinfo=UTC)]
    assert first_day == [pytest.approx(0.12), pytest.approx(0.12)]  # 12:00–24:00 of the first day
    assert (await totals(sessions))[2] == pytest.approx(used)

    assert await keep_usage(sessions, NOW, timedelta(days=35), None) == 0  # nothing more to do
    assert (await totals(sessions))[2] == pytest.approx(used)


async def test_use_booked_late_into_a_rolled_up_day_is_added_to_that_day(sessions):
    await book_hourly_readings(sessions, "hh-1", NOW - timedelta(days=40), 2)
    await keep_usage(sessions, NOW, timedelta(days=35), None)
    async with sessions.begin() as session:  # a gateway's late upload, booked to an hour of a rolled-up day
        session.add(HourlyUsage(household_id="hh-1", kind="gas", hour=datetime(2026, 4, 23, 5, tzinfo=UTC), used_m3=1.0))
    await keep_usage(sessions, NOW, timedelta(days=35), None)
    async with sessions() as session:
        day = await session.get(DailyUsage, ("hh-1", "gas", datetime(2026, 4, 23, tzinfo=UTC)))
    assert day is not None and day.used_m3 == pytest.approx(0.24 + 1.0)


async def test_days_past_the_daily_retention_are_deleted(sessions):
    await book_hourly_readings(sessions, "hh-1", NOW - timedelta(days=40), 40)
    await keep_usage(sessions, NOW, timedelta(days=35), timedelta(days=38))
    async with sessions() as session:
        days = sorted((await session.scalars(select(DailyUsage.day))).all())
    assert days == [datetime(2026, 4, 24, tzinfo=UTC), datetime(2026, 4, 25, tzinfo=UTC), datetime(2026, 4, 26, tzinfo=UTC)]


async def test_the_household_chart_draws_rolled_up_days_where_the_hours_are_gone(sessions):
    # The meter stopped 60 days ago: its last week is older than the hourly retention.
    await book_hourly_readings(sessions, "hh-1", NOW - timedelta(days=67), 7)
    await keep_usage(sessions, NOW, timedelta(days=35), None)
    async with sessions() as session:
        rows, end = await last_days(session, "hh-1", 7)
    assert rows and {row.hours for row in rows} == {24}
    assert end == datetime(2026, 4, 3, tzinfo=UTC)

    chart = hourly_chart(rows, end, ZoneInfo("Asia/Shanghai"))
    gas = next(series for series in chart.series if series.kind == "gas")
    assert len(gas.bars) == 7 and all(bar.width > 100 for bar in gas.bars)  # a day is 24 hours wide, not 4 px
    assert gas.total_m3 == pytest.approx(sum(row.used_m3 for row in rows))


async def test_the_embedded_runner_rolls_up_hourly_use_with_its_hourly_prune(sessions):
    await book_hourly_readings(sessions, "hh-1", NOW - timedelta(days=40), 40)
    settings = Settings(_env_file=None, usage_hourly_retention=timedelta(days=35))  # type: ignore[call-arg]
    pipeline = Pipeline(registry=Registry([]), sessions=sessions, settings=settings, clock=lambda: NOW)
    await pipeline.prune()
    hours, days, _ = await totals(sessions)
    assert days == 5 and hours < 40 * 24
