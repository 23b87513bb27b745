"""The workers' reading counts for the console: their table's changelog → ``household_reading_counts``.

A worker counts each household's readings accepted and duplicates in the state it saves
(`HouseholdState`), exactly: a redelivered reading is recognised by its offset.  Run by
`carewatch alerts`, this consumer follows the changelog and keeps each household's newest
counts, so `/api/ingest/stats` shows them on the scaled-out path too.  Its offsets are stored
with the counts (exactly once); within a batch only each household's newest state is read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carewatch.runners.faust.records import HouseholdState, is_household_key
from ingest.reports import StoredOnce, record_household_counts

log = logging.getLogger(__name__)


class ReadingCountConsumer(StoredOnce):
    what = "saved states' counts"

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, bootstrap_servers: str, changelog_topic: str, group_id: str
    ) -> None:
        super().__init__(sessions, changelog_topic, bootstrap_servers=bootstrap_servers, group_id=group_id)

    async def store(self, session: AsyncSession, records: Sequence[ConsumerRecord]) -> int:
        """Store each household's newest counts among the records; returns how many households."""
        newest: dict[str, bytes] = {}
        for record in records:
            if record.key and record.value and is_household_key(record.key):
                newest[record.key.decode()] = record.value  # later offsets of a household win
        counts: dict[str, tuple[int, int]] = {}
        for household_id, blob in newest.items():
            try:
                state = HouseholdState.loads(blob)
            except Exception as exc:  # noqa: BLE001  (a state from another version: its counts are unknown here)
                log.error("cannot read the saved state of %s: %r", household_id, exc)
                continue
            counts[household_id] = (state.readings_accepted, state.readings_duplicate)
        await record_household_counts(session, counts)
        return len(counts)
