"""What the console knows of each household's runner state: its reading counts and learned routine.

Both runners emit a `HouseholdSummaryRecord` for every household state they save
(`carewatch.runners.state.summary_of`): the embedded runner writes it with `store_summaries` in
its batch transaction; a Faust worker sends it, small JSON keyed by household, to a compacted
topic, and `HouseholdSummaryConsumer` (run by `carewatch alerts`) stores it exactly once.  So
``household_summaries`` is filled the same way on both engines, and the household page and the
ingest statistics read only that table, never a pickled detector state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from aiokafka import ConsumerRecord
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carewatch.clock import wall_clock
from detectors.summary import RoutineSummary
from ingest.models import HouseholdSummary
from ingest.reports import StoredOnce

log = logging.getLogger(__name__)

SUMMARY_VERSION = 1


@dataclass(frozen=True, slots=True)
class HouseholdSummaryRecord:
    """A household's reading counts and learned routine as its newest saved state holds them."""

    household_id: str
    readings_accepted: int
    readings_duplicate: int
    routine: RoutineSummary

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
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a household summary record v{SUMMARY_VERSION}: {exc!r}") from None


async def store_summaries(session: AsyncSession, records: Iterable[HouseholdSummaryRecord], at: datetime) -> None:
    """Set each household's row to its record (the newest wins: give each household once)."""
    rows = [
        {
            "household_id": r.household_id,
            "readings_accepted": r.readings_accepted,
            "readings_duplicate": r.readings_duplicate,
            "routine": r.routine.as_json(),
            "updated_at": at,
        }
        for r in records
    ]
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(HouseholdSummary)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[HouseholdSummary.household_id],
            set_={column: statement.excluded[column] for column in rows[0] if column != "household_id"},
        ),
        rows,
    )


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
        """Store each household's newest summary among the records; returns how many households."""
        newest: dict[str, HouseholdSummaryRecord] = {}
        for record in records:
            try:
                summary = HouseholdSummaryRecord.decode(record.value)
            except ValueError as exc:  # a worker of another version: loudly, and on
                log.error("skipping %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc)
                continue
            newest[summary.household_id] = summary  # later offsets of a household win
        await store_summaries(session, newest.values(), wall_clock())
        return len(newest)
