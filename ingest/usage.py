"""Hourly gas and water use per household, kept up to date from accepted readings.

Meters report cumulative registers; the use between two readings is spread evenly over the
hours between them, so a 15-minute meter and a daily one draw the same chart. A gap longer
than ``MAX_SPREAD`` is not spread (we did not see when the use happened): it is booked to
the hour of the reading that ends it. Readings older than the meter's newest one (late
arrivals) are left out: the detectors judge them, the chart would only wobble.

Hourly rows grow by ≈ 6.8 KB per household per day (2 meters × 24 hours, with their index).
``roll_up_usage`` sums the hours older than ``Settings.usage_hourly_retention`` into one row per
household, kind and UTC day (``daily_usage``) and deletes them, in one transaction per day: the
total use is never changed, only its grain.  Use booked later to an hour already rolled up (a
gateway's late upload) is rolled up at the next run, added to its day.  ``usage_between`` reads
both: hours where they are kept, days before.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from sqlalchemy import Float, Integer, String, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from carewatch.db import Base, UTCDateTime
from carewatch.domain import Reading
from ingest.upsert import Between, Upsert

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MAX_SPREAD = timedelta(hours=48)


class HourlyUsage(Base):
    __tablename__ = "hourly_usage"

    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    """Start of the UTC hour (indexed by itself too: the roll-up finds and deletes whole days)."""
    used_m3: Mapped[float] = mapped_column(Float, default=0.0)


class DailyUsage(Base):
    """Hourly use past its retention, summed per UTC day (``roll_up_usage``)."""

    __tablename__ = "daily_usage"

    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    """Start of the UTC day."""
    used_m3: Mapped[float] = mapped_column(Float, default=0.0)


class UsageCursor(Base):
    """Each meter's newest register, where the next reading's use starts from."""

    __tablename__ = "usage_cursors"

    meter_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    register_m3: Mapped[float] = mapped_column(Float)
    readings: Mapped[int] = mapped_column(Integer, default=0)


_CURSORS = Upsert(
    UsageCursor,
    lambda new: {"at": new.at, "register_m3": new.register_m3, "readings": UsageCursor.readings + new.readings},
)
_HOURS = Upsert(HourlyUsage, lambda new: {"used_m3": HourlyUsage.used_m3 + new.used_m3})


_TAKEN_AT = attrgetter("at")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def hour_number(moment: datetime) -> int:
    """The UTC hour ``moment`` falls in, counted from the epoch (exactly: whole timedeltas, no float).

    Use is booked by hour number, made a time once per row written: creating a datetime and hashing it (an aware one
    is shifted to UTC for its hash) cost more than the rest of booking a reading (issue 13).

    >>> hour_number(datetime(1970, 1, 2, 0, 59, tzinfo=UTC)), hour_number(datetime.fromisoformat("1970-01-01T08:59+08:00"))
    (24, 0)
    """
    return (moment - EPOCH) // HOUR


def hour_start(number: int) -> datetime:
    """The start of hour ``number`` (`hour_number`), in UTC."""
    return EPOCH + number * HOUR


def spread(start: datetime, end: datetime, used: float) -> list[tuple[int, float]]:
    """``used`` between ``start`` and ``end``, by UTC hour (`hour_number`), in proportion to the time in each hour.

    A list, not a generator: nearly every accepted reading is booked to one hour (issue 13).

    >>> t = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)
    >>> [(hour_start(h).hour, round(v, 3)) for h, v in spread(t, t + timedelta(hours=1), 1.0)]
    [(7, 0.5), (8, 0.5)]
    """
    if end - start > MAX_SPREAD or end <= start:
        return [(hour_number(end), used)]
    first = hour_number(start)
    if end <= hour_start(first + 1):  # within one hour, as between two 15-minute readings
        return [(first, used)]
    total = (end - start).total_seconds()
    shares = []
    cursor, number = start, first
    while cursor < end:
        boundary = min(hour_start(number + 1), end)
        shares.append((number, used * (boundary - cursor).total_seconds() / total))
        cursor, number = boundary, number + 1
    return shares


def readings_by_meter(readings: Iterable[Reading]) -> dict[str, list[Reading]]:
    """Each meter's readings, in the order given."""
    by_meter: dict[str, list[Reading]] = defaultdict(list)
    for reading in readings:
        by_meter[reading.meter_id].append(reading)
    return by_meter


async def usage_cursors(session: AsyncSession, meters: Iterable[str]) -> dict[str, tuple[datetime, float]]:
    """The stored cursor (newest reading booked: its time and register) of each of ``meters`` that has one."""
    query = select(UsageCursor.meter_id, UsageCursor.at, UsageCursor.register_m3).where(UsageCursor.meter_id.in_(sorted(meters)))
    return {meter_id: (at, register) for meter_id, at, register in await session.execute(query)}


async def record_usage(
    session: AsyncSession, readings: Iterable[Reading], between: Between | None = None
) -> None:
    """Add the use that ``readings`` (accepted, any order) reveal to ``hourly_usage``, in the caller's transaction.

    ``between``: awaited after each meter's readings are spread over their hours and between the pieces of each
    write (`ingest.upsert.in_pieces`), for a caller whose event loop must not wait for all of them (the embedded
    runner's slices: a batch of day-long uploads is ≈ 50,000 readings, ≈ 150 ms of spreading and writing); the rows
    are the same."""
    by_meter = readings_by_meter(readings)
    if not by_meter:
        return
    cursors = await usage_cursors(session, by_meter)
    # Household and kind → hour number → use: dictionaries of numbers only, which the cyclic collector does not track
    # (a tuple key per booked hour was 48,000 tracked objects in a night bunch's batch, and a full pass over them).
    hours: dict[tuple[str, str], dict[int, float]] = {}
    moved = []
    for meter_id, meter_readings in by_meter.items():
        last_at, last_register = cursors.get(meter_id, (None, None))
        for reading in sorted(meter_readings, key=_TAKEN_AT):
            at, register = reading.at, reading.register_m3
            if last_at is not None and at <= last_at:
                continue
            if last_at is not None and last_register is not None and register >= last_register:
                # str(), not .value: the same word (a StrEnum), without the enum's property
                booked = hours.setdefault((reading.household_id, str(reading.kind)), {})
                for hour, used in spread(last_at, at, register - last_register):
                    booked[hour] = booked.get(hour, 0.0) + used
            last_at, last_register = at, register  # a reset re-baselines without booking use
        if last_at is not None:
            moved.append({"meter_id": meter_id, "at": last_at, "register_m3": last_register, "readings": len(meter_readings)})
        if between is not None:
            await between()
    await _CURSORS.write(session, moved, between)
    starts = {hour: hour_start(hour) for hour in set().union(*hours.values())}  # one time per hour, formatted once
    # A generator: the 48,000 rows of a night bunch's batch made at once held the loop 17–19 ms.
    rows = (
        {"household_id": h, "kind": k, "hour": starts[hour], "used_m3": used}
        for (h, k), booked in hours.items() for hour, used in booked.items()
    )
    await _HOURS.write(session, rows, between)


@dataclass(frozen=True, slots=True)
class UsageSpan:
    """Use of one kind over ``hours`` hours from ``hour``: an hour (1), or a rolled-up UTC day (24)."""

    hour: datetime
    kind: str
    used_m3: float
    hours: int = 1


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def last_days(session: AsyncSession, household_id: str, days: int) -> tuple[list[UsageSpan], datetime | None]:
    """The household's use over the ``days`` days up to its newest booked hour (or day), and the end of that span:
    by hour where hours are kept, by day before (``roll_up_usage``).

    Up to the newest data rather than now: a replay, or a gateway that stopped, still shows its last week.
    """
    newest_hour = await session.scalar(select(func.max(HourlyUsage.hour)).where(HourlyUsage.household_id == household_id))
    newest_day = await session.scalar(select(func.max(DailyUsage.day)).where(DailyUsage.household_id == household_id))
    ends = [_aware(newest_hour) + HOUR] if newest_hour is not None else []
    ends += [_aware(newest_day) + DAY] if newest_day is not None else []
    if not ends:
        return [], None
    end = max(ends)
    start = end - timedelta(days=days)
    hours = (
        await session.scalars(
            select(HourlyUsage).where(HourlyUsage.household_id == household_id, HourlyUsage.hour >= start)
        )
    ).all()
    rolled = (
        await session.scalars(
            select(DailyUsage).where(DailyUsage.household_id == household_id, DailyUsage.day > start - DAY)
        )
    ).all()
    spans = [UsageSpan(row.hour, row.kind, row.used_m3) for row in hours]
    spans += [UsageSpan(row.day, row.kind, row.used_m3, 24) for row in rolled]
    return sorted(spans, key=lambda span: (span.hour, span.kind, span.hours)), end


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def roll_up_usage(session: AsyncSession, before: datetime, *, max_days: int | None = None) -> int:
    """Sum the hourly use of the UTC days that end at or before ``before`` into ``daily_usage`` and delete those
    hours, in the caller's transaction; returns the hourly rows rolled up.  ``max_days``: the oldest so many
    days only (``keep_usage`` gives each day its own transaction).  Two statements per day: an
    ``INSERT … SELECT … GROUP BY … ON CONFLICT`` adding to the day, and a ``DELETE`` of its hours."""
    cutoff = _day(before)
    oldest = await session.scalar(select(func.min(HourlyUsage.hour)).where(HourlyUsage.hour < cutoff))
    if oldest is None:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    day, rolled, done = _day(_aware(oldest)), 0, 0
    while day < cutoff and (max_days is None or done < max_days):
        following = day + DAY
        in_day = (HourlyUsage.hour >= day, HourlyUsage.hour < following)
        totals = (
            select(HourlyUsage.household_id, HourlyUsage.kind, literal(day, UTCDateTime), func.sum(HourlyUsage.used_m3))
            .where(*in_day)
            .group_by(HourlyUsage.household_id, HourlyUsage.kind)
        )
        statement = insert(DailyUsage).from_select(["household_id", "kind", "day", "used_m3"], totals)
        statement = statement.on_conflict_do_update(
            index_elements=["household_id", "kind", "day"], set_={"used_m3": DailyUsage.used_m3 + statement.excluded.used_m3}
        )
        await session.execute(statement)
        rolled += (await session.execute(delete(HourlyUsage).where(*in_day))).rowcount or 0
        day, done = following, done + 1
    return rolled


async def keep_usage(
    sessions: async_sessionmaker[AsyncSession], now: datetime, hourly: timedelta | None, daily: timedelta | None
) -> int:
    """What ``Settings.usage_hourly_retention`` and ``usage_daily_retention`` ask, once: hours older than ``hourly``
    rolled up into days, one transaction per day (a first run over months of hours holds no lock for long), then
    days older than ``daily`` deleted (None: kept).  Returns the hourly rows rolled up."""
    rolled = 0
    while hourly is not None:
        async with sessions.begin() as session:
            done = await roll_up_usage(session, now - hourly, max_days=1)
        if not done:
            break
        rolled += done
    if daily is not None:
        async with sessions.begin() as session:
            await session.execute(delete(DailyUsage).where(DailyUsage.day < _day(now - daily)))
    return rolled


KEEP_EVERY_S = 3600.0
"""How often the alert service rolls up hourly use (the embedded runner does it with its hourly prune)."""


async def keep_usage_hourly(
    sessions: async_sessionmaker[AsyncSession],
    hourly: timedelta | None,
    daily: timedelta | None,
    now: Callable[[], datetime | None],
) -> None:
    """Run until cancelled: ``keep_usage`` every ``KEEP_EVERY_S`` at ``now()`` (None: not yet known, wait);
    a failure is logged and waits for the next time."""
    while True:
        moment = now()
        if moment is not None and (hourly is not None or daily is not None):
            try:
                rolled = await keep_usage(sessions, moment, hourly, daily)
                if rolled:
                    log.info("rolled up %d hourly use rows older than %s into days", rolled, hourly)
            except Exception:
                log.exception("could not roll up old hourly use; trying again in %.0f s", KEEP_EVERY_S)
        await asyncio.sleep(KEEP_EVERY_S)
