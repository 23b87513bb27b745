"""Accepted readings archived to InfluxDB (v2 write API, line protocol), through a durable outbox.

Each accepted reading becomes a row of ``archive_outbox`` in the transaction that accepts it (the
embedded runner's batch, or the alert service's consumer of the readings topic with its stored
offsets), so the archive never holds back ingest or alerts.  An `Archiver` drains the outbox: the
oldest rows, a batch per request, deleted only after InfluxDB acknowledged the write; while
InfluxDB is away it retries (`until_it_works`) and the rows wait, so nothing is lost when it returns.
A crash between the write and the delete writes the batch again: the same series and timestamp,
so InfluxDB (and VictoriaMetrics) keep one point.

One point per reading (docs/archive.md): measurement ``meter_reading``, tags household, meter,
kind, site; fields register_m3, usage_m3 (since the meter's previous reading, when known),
battery (%), signal (dBm).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from influxdb_client import Point, WritePrecision
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from sqlalchemy import Float, Integer, String, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from carewatch.db import Base, UTCDateTime
from carewatch.directory import Household
from carewatch.domain import Reading
from carewatch.retrying import until_it_works
from carewatch.settings import Settings
from ingest.usage import UsageCursor

log = logging.getLogger(__name__)

MEASUREMENT = "meter_reading"
UNKNOWN_SITE = "unknown"


class ArchiveOutbox(Base):
    """Accepted readings not yet acknowledged by InfluxDB, oldest first (by id)."""

    __tablename__ = "archive_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(String(64))
    meter_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    site: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    register_m3: Mapped[float] = mapped_column(Float)
    usage_m3: Mapped[float | None] = mapped_column(Float)
    battery_pct: Mapped[float | None] = mapped_column(Float)
    signal_dbm: Mapped[float | None] = mapped_column(Float)


def usage_since_previous(readings: Iterable[Reading], previous: Mapping[str, tuple[datetime, float]]) -> list[float | None]:
    """Each reading's use since its meter's previous reading (``previous``: each meter's newest before these),
    in the readings' order; None when unknown: the first reading of a meter, a late arrival, a register that went back.

    >>> from datetime import UTC
    >>> from carewatch.domain import MeterKind
    >>> t = datetime(2026, 1, 5, 7, tzinfo=UTC)
    >>> def at(hour, register): return Reading("hh-1", "gas-1", MeterKind.GAS, t.replace(hour=hour), register)
    >>> usage_since_previous([at(9, 10.5), at(8, 10.2), at(10, 10.0)], {"gas-1": (t, 10.0)})
    [0.5, None, None]
    """
    newest: dict[str, tuple[datetime, float]] = dict(previous)
    used: list[float | None] = []
    for reading in readings:
        last = newest.get(reading.meter_id)
        if last is not None and reading.at <= last[0]:
            used.append(None)  # late: its neighbours' use is already booked
            continue
        grew = last is not None and reading.register_m3 >= last[1]
        used.append(round(reading.register_m3 - last[1], 9) if grew and last is not None else None)
        newest[reading.meter_id] = (reading.at, reading.register_m3)
    return used


async def queue_for_archive(session: AsyncSession, readings: Sequence[Reading], sites: Mapping[str, str]) -> None:
    """Put accepted ``readings`` in the outbox, in the caller's transaction; call it before `record_usage`
    moves the meters' cursors (the use is counted from them).  ``sites``: household → site."""
    if not readings:
        return
    meters = sorted({r.meter_id for r in readings})
    cursors = (await session.scalars(select(UsageCursor).where(UsageCursor.meter_id.in_(meters)))).all()
    in_time = sorted(readings, key=lambda r: r.at)  # a batch may hold a meter's readings out of order
    used = dict(zip(map(id, in_time), usage_since_previous(in_time, {c.meter_id: (c.at, c.register_m3) for c in cursors})))
    session.add_all(
        ArchiveOutbox(
            household_id=r.household_id, meter_id=r.meter_id, kind=r.kind.value, site=sites.get(r.household_id, UNKNOWN_SITE),
            at=r.at, register_m3=r.register_m3, usage_m3=used[id(r)], battery_pct=r.battery_pct, signal_dbm=r.signal_dbm,
        )
        for r in readings
    )


async def directory_sites(session: AsyncSession, readings: Sequence[Reading]) -> dict[str, str]:
    """The directory's site of each household of ``readings`` (the scaled-out path has no registry in memory)."""
    households = sorted({r.household_id for r in readings})
    rows = await session.execute(select(Household.id, Household.site_id).where(Household.id.in_(households)))
    return {household_id: site for household_id, site in rows}


def line_of(row: ArchiveOutbox) -> str:
    """The row as one line of InfluxDB line protocol (nanosecond time)."""
    point = (
        Point(MEASUREMENT)
        .tag("household", row.household_id).tag("meter", row.meter_id).tag("kind", row.kind).tag("site", row.site)
        .field("register_m3", float(row.register_m3))
        .time(row.at, WritePrecision.NS)
    )
    for name, value in (("usage_m3", row.usage_m3), ("battery", row.battery_pct), ("signal", row.signal_dbm)):
        if value is not None:
            point.field(name, float(value))
    return point.to_line_protocol()


@dataclass(frozen=True, slots=True)
class InfluxTarget:
    url: str
    token: str
    org: str
    bucket: str

    @classmethod
    def of(cls, settings: Settings) -> InfluxTarget | None:
        """Where the settings archive to; None when the archive is off (no CAREWATCH_INFLUX_URL)."""
        if settings.influx_url is None:
            return None
        assert settings.influx_token and settings.influx_org and settings.influx_bucket, "checked by Settings"
        return cls(settings.influx_url, settings.influx_token, settings.influx_org, settings.influx_bucket)


class Archiver:
    """Drains the outbox into InfluxDB until cancelled; ``backlog`` counts the rows still waiting."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], target: InfluxTarget, *, batch: int = 5000, idle_s: float = 0.5
    ) -> None:
        self.sessions = sessions
        self.target = target
        self.batch = batch
        self.idle_s = idle_s
        self.backlog = 0
        self.archived = 0
        """Points InfluxDB acknowledged since start."""

    async def run(self) -> None:
        async with InfluxDBClientAsync(self.target.url, self.target.token, self.target.org, timeout=30_000) as client:
            writer = client.write_api()

            async def write(lines: list[str]) -> None:
                await writer.write(self.target.bucket, self.target.org, lines, WritePrecision.NS)

            while True:
                await self._count()
                async with self.sessions() as session:
                    rows = (await session.scalars(select(ArchiveOutbox).order_by(ArchiveOutbox.id).limit(self.batch))).all()
                if not rows:
                    await asyncio.sleep(self.idle_s)
                    continue
                lines = [line_of(row) for row in rows]
                await until_it_works(lambda: write(lines), self._refused, cap=5.0)
                # By id, never "up to the highest": on PostgreSQL a lower id may commit after a higher one was read.
                async with self.sessions.begin() as session:
                    await session.execute(delete(ArchiveOutbox).where(ArchiveOutbox.id.in_([row.id for row in rows])))
                self.archived += len(rows)

    async def _count(self) -> None:
        async with self.sessions() as session:
            self.backlog = await session.scalar(select(func.count()).select_from(ArchiveOutbox)) or 0

    def _refused(self, error: BaseException, wait: float) -> None:
        log.warning("InfluxDB at %s took no write (%r); %d readings wait in the outbox; retrying in %.1f s",
                    self.target.url, error, self.backlog, wait)

    async def emptied(self, timeout: float = 60.0) -> None:
        """Wait until the outbox is empty (tests, the headless demo)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            await self._count()
            if self.backlog == 0:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{self.backlog} readings still wait in the archive outbox after {timeout:.0f} s")
            await asyncio.sleep(0.1)
