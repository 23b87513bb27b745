"""Hourly gas and water use per household, kept up to date from accepted readings.

Meters report cumulative registers; the use between two readings is spread evenly over the
hours between them, so a 15-minute meter and a daily one draw the same chart. A gap longer
than ``MAX_SPREAD`` is not spread (we did not see when the use happened): it is booked to
the hour of the reading that ends it. Readings older than the meter's newest one (late
arrivals) are left out: the detectors judge them, the chart would only wobble.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Float, Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from carewatch.db import Base, UTCDateTime
from carewatch.domain import Reading
from ingest.upsert import Upsert

HOUR = timedelta(hours=1)
MAX_SPREAD = timedelta(hours=48)


class HourlyUsage(Base):
    __tablename__ = "hourly_usage"

    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    """Start of the UTC hour."""
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


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def spread(start: datetime, end: datetime, used: float) -> Iterable[tuple[datetime, float]]:
    """``used`` between ``start`` and ``end``, by UTC hour, in proportion to the time in each hour.

    >>> t = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)
    >>> [(h.hour, round(v, 3)) for h, v in spread(t, t + timedelta(hours=1), 1.0)]
    [(7, 0.5), (8, 0.5)]
    """
    if end - start > MAX_SPREAD or end <= start:
        yield _hour(end), used
        return
    total = (end - start).total_seconds()
    cursor = start
    while cursor < end:
        boundary = min(_hour(cursor) + HOUR, end)
        yield _hour(cursor), used * (boundary - cursor).total_seconds() / total
        cursor = boundary


async def record_usage(session: AsyncSession, readings: Iterable[Reading]) -> None:
    """Add the use that ``readings`` (accepted, any order) reveal to ``hourly_usage``, in the caller's transaction."""
    by_meter: dict[str, list[Reading]] = defaultdict(list)
    for reading in readings:
        by_meter[reading.meter_id].append(reading)
    if not by_meter:
        return
    cursors = {
        meter_id: (at, register)
        for meter_id, at, register in await session.execute(
            select(UsageCursor.meter_id, UsageCursor.at, UsageCursor.register_m3).where(UsageCursor.meter_id.in_(sorted(by_meter)))
        )
    }
    hours: dict[tuple[str, str, datetime], float] = defaultdict(float)
    moved = []
    for meter_id, meter_readings in by_meter.items():
        last_at, last_register = cursors.get(meter_id, (None, None))
        for reading in sorted(meter_readings, key=lambda r: r.at):
            if last_at is not None and reading.at <= last_at:
                continue
            if last_at is not None and last_register is not None and reading.register_m3 >= last_register:
                for hour, used in spread(last_at, reading.at, reading.register_m3 - last_register):
                    hours[(reading.household_id, reading.kind.value, hour)] += used
            last_at, last_register = reading.at, reading.register_m3  # a reset re-baselines without booking use
        if last_at is not None:
            moved.append({"meter_id": meter_id, "at": last_at, "register_m3": last_register, "readings": len(meter_readings)})
    await _CURSORS.write(session, moved)
    await _HOURS.write(
        session, [{"household_id": h, "kind": k, "hour": hour, "used_m3": used} for (h, k, hour), used in hours.items()]
    )


async def last_days(session: AsyncSession, household_id: str, days: int) -> tuple[list[HourlyUsage], datetime | None]:
    """The household's hourly use over the ``days`` days up to its newest booked hour, and the end of that span.

    Up to the newest data rather than now: a replay, or a gateway that stopped, still shows its last week.
    """
    newest = await session.scalar(select(func.max(HourlyUsage.hour)).where(HourlyUsage.household_id == household_id))
    if newest is None:
        return [], None
    end = newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest
    end += HOUR
    query = select(HourlyUsage).where(HourlyUsage.household_id == household_id, HourlyUsage.hour >= end - timedelta(days=days))
    return list((await session.scalars(query.order_by(HourlyUsage.hour, HourlyUsage.kind))).all()), end
