"""What the console knows of each household's runner state: its reading counts, learned routine and meter health.

Both runners emit a `HouseholdSummaryRecord` for every household state they save
(`carewatch.runners.state.summary_of`): the embedded runner writes it with `store_summaries` in
its batch transaction; a Faust worker sends it, small JSON keyed by household, to a compacted
topic, and `HouseholdSummaryConsumer` (run by `carewatch alerts`) stores it exactly once.  So
``household_summaries`` (and ``meter_health``, one row per meter) is filled the same way on both
engines, and the household page, the devices page and the ingest statistics read only those tables,
never a pickled detector state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from aiokafka import ConsumerRecord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carewatch.clock import wall_clock
from detectors.meter_health import MeterHealthSummary
from detectors.summary import RoutineSummary
from ingest.models import HouseholdSummary, MeterHealthRow
from ingest.reports import StoredOnce
from ingest.upsert import Between, Upsert

log = logging.getLogger(__name__)

SUMMARY_VERSION = 1
"""Meter health was added as an optional field ("meters"): a record without it is still version 1."""


@dataclass(frozen=True, slots=True)
class HouseholdSummaryRecord:
    """A household's reading counts, learned routine and meter health as its newest saved state holds them."""

    household_id: str
    readings_accepted: int
    readings_duplicate: int
    routine: RoutineSummary
    meters: tuple[MeterHealthSummary, ...] = ()

    def encode(self) -> bytes:
        """JSON, versioned (a consumer in another language can read it).

        >>> record = HouseholdSummaryRecord("hh-1", 12, 1, RoutineSummary(False, 0, 14, None, None, {}, None))
        >>> HouseholdSummaryRecord.decode(record.encode()) == record
        True
        """
        return orjson.dumps(
            {
                "v": SUMMARY_VERSION,
                "household_id": self.household_id,
                "readings_accepted": self.readings_accepted,
                "readings_duplicate": self.readings_duplicate,
                "routine": self.routine.as_json(),
                "meters": [m.as_json() for m in self.meters],
            }
        )

    @classmethod
    def decode(cls, value: bytes | None) -> HouseholdSummaryRecord:
        """Raises ValueError naming the problem when ``value`` is not a summary of this version."""
        try:
            document = orjson.loads(value or b"")
            if document.get("v") != SUMMARY_VERSION:
                raise ValueError(f"version {document.get('v')!r}, not {SUMMARY_VERSION}")
            return cls(
                str(document["household_id"]),
                int(document["readings_accepted"]),
                int(document["readings_duplicate"]),
                RoutineSummary.from_json(document["routine"]),
                tuple(MeterHealthSummary.from_json(m) for m in document.get("meters", ())),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a household summary record v{SUMMARY_VERSION}: {exc!r}") from None


_SUMMARIES = Upsert(HouseholdSummary, rows_per_piece=200)  # ≈ 15 µs a row: the routine's JSON
_METER_HEALTH = Upsert(MeterHealthRow)


async def store_summaries(
    session: AsyncSession, records: Iterable[HouseholdSummaryRecord], at: datetime, between: Between | None = None
) -> None:
    """Set each household's row, and its meters' health rows, to its record (the newest wins: give each household
    once).  ``between``: awaited between the pieces of each write (`ingest.upsert.in_pieces`)."""
    records = list(records)
    rows = (
        {
            "household_id": r.household_id,
            "readings_accepted": r.readings_accepted,
            "readings_duplicate": r.readings_duplicate,
            "routine": r.routine.as_json(),
            "updated_at": at,
        }
        for r in records
    )
    await _SUMMARIES.write(session, rows, between)
    await _METER_HEALTH.write(session, (_meter_row(r.household_id, m, at) for r in records for m in r.meters), between)


def _meter_row(household_id: str, meter: MeterHealthSummary, at: datetime) -> dict[str, Any]:
    return {
        "meter_id": meter.meter_id,
        "household_id": household_id,
        "kind": meter.kind.value,
        "heard_at": meter.heard_at,
        "battery_pct": meter.battery_pct,
        "signal_dbm": meter.signal_dbm,
        "signal_median_dbm": meter.signal_median_dbm,
        "status": meter.status,
        "flags": [f.value for f in meter.flags],
        "battery_low": meter.battery_low,
        "weak_signal": meter.weak_signal,
        "updated_at": at,
    }


async def stored_routine(session: AsyncSession, household_id: str) -> RoutineSummary | None:
    """The household's learned routine as its runner last saved it; None if there is none to show
    (no state saved yet, or a routine from another version: logged)."""
    row = await session.get(HouseholdSummary, household_id)
    if row is None or row.routine is None:
        return None
    try:
        return RoutineSummary.from_json(row.routine)
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("the stored routine of %s cannot be read; it is not shown", household_id, exc_info=True)
        return None


class HouseholdSummaryConsumer(StoredOnce):
    """The workers' summary topic into ``household_summaries``, once per record (offsets stored with the rows).
    Within a batch only each household's newest record is stored."""

    what = "household summaries"

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, bootstrap_servers: str, summaries_topic: str, group_id: str
    ) -> None:
        super().__init__(sessions, summaries_topic, bootstrap_servers=bootstrap_servers, group_id=group_id)

    async def store(self, session: AsyncSession, records: Sequence[ConsumerRecord]) -> int:
        """Store each household's newest summary among the records; returns how many households.  In slices
        (`carewatch.slices`): the alert service serves the console on the same loop (2,000 records held it 66–69 ms)."""
        newest: dict[str, HouseholdSummaryRecord] = {}
        slices = self.slices
        for record in records:
            await slices.turn()
            try:
                summary = HouseholdSummaryRecord.decode(record.value)
            except ValueError as exc:  # a worker of another version: loudly, and on
                log.error("skipping %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc)
                continue
            newest[summary.household_id] = summary  # later offsets of a household win
        await store_summaries(session, newest.values(), wall_clock(), slices.turn)
        return len(newest)


async def stored_meter_health(session: AsyncSession, household_id: str) -> dict[str, MeterHealthRow]:
    """The household's meters' health as its runner last saved it, by meter id (a meter never summarised is absent)."""
    rows = await session.scalars(select(MeterHealthRow).where(MeterHealthRow.household_id == household_id))
    return {row.meter_id: row for row in rows}
