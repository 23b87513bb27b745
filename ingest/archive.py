"""Accepted readings archived to InfluxDB (v2 write API, line protocol), through a durable outbox.

Each accepted reading becomes a row of ``archive_outbox`` in the transaction that accepts it (the
embedded runner's batch, or the alert service's consumer of the readings topic with its stored
offsets), so the archive never holds back ingest or alerts.  An `Archiver` drains the outbox: the
oldest rows, a batch per request, deleted only after InfluxDB acknowledged the write; while
InfluxDB is away it retries (`until_it_works`) and the rows wait, so nothing is lost when it returns.
A crash between the write and the delete writes the batch again: the same series and timestamp,
so InfluxDB keeps one point (VictoriaMetrics too, with -dedup.minScrapeInterval).

One point per reading (docs/archive.md): measurement ``meter_reading``, tags household, meter,
kind, site; fields register_m3, usage_m3 (since the meter's previous reading, when known),
battery (%), signal (dBm).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from operator import attrgetter
from typing import Any

from influxdb_client import WritePrecision
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from sqlalchemy import Float, Integer, String, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from carewatch.db import Base, UTCDateTime
from carewatch.directory import Household
from carewatch.domain import Reading
from carewatch.retrying import until_it_works
from carewatch.settings import Settings
from ingest.upsert import Between, in_pieces
from ingest.usage import readings_by_meter, usage_cursors

log = logging.getLogger(__name__)

MEASUREMENT = "meter_reading"
UNKNOWN_SITE = "unknown"
OUTBOX_ROWS_PER_PIECE = 500
"""Outbox rows per statement when the caller's loop must not wait (≈ 6 µs a row of the loop's CPU: 3 ms a piece)."""


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


async def queue_for_archive(
    session: AsyncSession, readings: Sequence[Reading], sites: Mapping[str, str], between: Between | None = None
) -> None:
    """Put accepted ``readings`` in the outbox, in the caller's transaction; call it before `record_usage`
    moves the meters' cursors (the use is counted from them).  ``sites``: household → site.  ``between``: as
    `record_usage`'s (a night bunch's batch is ≈ 50,000 rows here, ≈ 0.6 s of the loop's CPU in one statement)."""
    if not readings:
        return
    by_meter = readings_by_meter(readings)
    cursors = await usage_cursors(session, by_meter)
    used: dict[int, float | None] = {}
    for meter_id, meter_readings in by_meter.items():  # a meter at a time: all 50,000 at once held the loop ≈ 50 ms
        in_time = sorted(meter_readings, key=attrgetter("at"))  # a batch may hold a meter's readings out of order
        previous = {meter_id: cursors[meter_id]} if meter_id in cursors else {}
        used.update(zip(map(id, in_time), usage_since_previous(in_time, previous)))
        if between is not None:
            await between()
    rows = (
        {"household_id": r.household_id, "meter_id": r.meter_id, "kind": r.kind.value, "site": sites.get(r.household_id, UNKNOWN_SITE),
         "at": r.at, "register_m3": r.register_m3, "usage_m3": used[id(r)], "battery_pct": r.battery_pct, "signal_dbm": r.signal_dbm}
        for r in readings
    )

    async def write(piece: list[dict[str, Any]]) -> None:
        # Core executemany on the table, not the ORM's bulk insert of the class (12 µs a row of the loop's CPU, not 6)
        await session.execute(insert(ArchiveOutbox.__table__), piece)

    await in_pieces(rows, write, between, OUTBOX_ROWS_PER_PIECE)


async def directory_sites(session: AsyncSession, readings: Sequence[Reading]) -> dict[str, str]:
    """The directory's site of each household of ``readings`` (the scaled-out path has no registry in memory)."""
    households = sorted({r.household_id for r in readings})
    rows = await session.execute(select(Household.id, Household.site_id).where(Household.id.in_(households)))
    return {household_id: site for household_id, site in rows}


OUTBOX_COLUMNS = (
    ArchiveOutbox.id, ArchiveOutbox.household_id, ArchiveOutbox.meter_id, ArchiveOutbox.kind, ArchiveOutbox.site,
    ArchiveOutbox.at, ArchiveOutbox.register_m3, ArchiveOutbox.usage_m3, ArchiveOutbox.battery_pct, ArchiveOutbox.signal_dbm,
)
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})


def line_of(row: Sequence[Any]) -> str:
    r"""A row of ``OUTBOX_COLUMNS`` as one line of InfluxDB line protocol (nanosecond time).

    Formatted here, not by influxdb-client's ``Point``: the archiver formats every reading, and
    ``Point`` costs several times as much (the tests check that both give the same line).

    >>> from datetime import UTC
    >>> print(line_of((1, "hh 1", "gas-1", "gas", "east,2", datetime(2026, 1, 5, tzinfo=UTC), 10.5, None, 87, None)))
    meter_reading,household=hh\ 1,kind=gas,meter=gas-1,site=east\,2 battery=87,register_m3=10.5 1767571200000000000
    """
    _, household, meter, kind, site, at, register, usage, battery, signal = row
    fields = [f"{name}={_number(value)}" for name, value in
              (("battery", battery), ("register_m3", register), ("signal", signal), ("usage_m3", usage)) if value is not None]
    tags = ",".join(f"{name}={str(value).translate(_TAG_ESCAPES)}" for name, value in
                    (("household", household), ("kind", kind), ("meter", meter), ("site", site)))
    at_ns = int(at.replace(tzinfo=at.tzinfo or UTC).timestamp()) * 1_000_000_000 + at.microsecond * 1000
    return f"{MEASUREMENT},{tags} {','.join(fields)} {at_ns}"


def _number(value: float) -> str:
    text = repr(float(value))
    return text.removesuffix(".0")  # as influxdb-client writes a whole float (still a float field: no "i" suffix)


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
                await self._count()  # each try: the backlog grows while InfluxDB is away
                await writer.write(self.target.bucket, self.target.org, lines, WritePrecision.NS)

            while True:
                async with self.sessions() as session:
                    rows = (await session.execute(select(*OUTBOX_COLUMNS).order_by(ArchiveOutbox.id).limit(self.batch))).all()
                if not rows:
                    self.backlog = 0
                    await asyncio.sleep(self.idle_s)
                    continue
                lines = [line_of(row) for row in rows]
                await until_it_works(partial(write, lines), self._refused, cap=5.0)
                # By id, never "up to the highest": on PostgreSQL a lower id may commit after a higher one was read.
                async with self.sessions.begin() as session:
                    await session.execute(delete(ArchiveOutbox).where(ArchiveOutbox.id.in_([row[0] for row in rows])))
                self.archived += len(rows)

    async def _count(self) -> None:
        self.backlog = await outbox_backlog(self.sessions)

    def _refused(self, error: BaseException, wait: float) -> None:
        log.warning("InfluxDB at %s took no write (%r); %d readings wait in the outbox; retrying in %.1f s",
                    self.target.url, error, self.backlog, wait)

    async def emptied(self, timeout: float = 60.0) -> None:
        """Wait until the outbox is empty (tests, the headless demo)."""
        await outbox_emptied(self.sessions, timeout)
        self.backlog = 0


async def outbox_backlog(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(ArchiveOutbox)) or 0


async def outbox_emptied(sessions: async_sessionmaker[AsyncSession], timeout: float = 60.0) -> None:
    """Wait until every reading in the outbox was acknowledged by InfluxDB."""
    deadline = asyncio.get_running_loop().time() + timeout
    while backlog := await outbox_backlog(sessions):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{backlog} readings still wait in the archive outbox after {timeout:.0f} s")
        await asyncio.sleep(0.1)
