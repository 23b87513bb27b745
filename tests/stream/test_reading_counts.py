"""The workers' reading counts reach the console's statistics from their changelog, once per record.

Real SQLite; the records are aiokafka's own record type holding real saved states (the
real-broker check is in test_end_to_end.py).
"""

from __future__ import annotations

from aiokafka import ConsumerRecord

from carewatch.runners.engine import new_monitor
from carewatch.registry import Registry
from carewatch.runners.faust.counts import ReadingCountConsumer
from carewatch.runners.faust.records import HouseholdState, mark_key
from ingest.stats import read_stats

CHANGELOG = "t-workers-household-state-changelog"
REGISTRY = Registry.from_document(
    {"version": 1, "households": [{"household_id": h, "meters": [{"meter_id": f"gas-{h}", "kind": "gas"}]} for h in ("hh-1", "hh-2")]}
)


def saved(offset: int, household_id: str, accepted: int, duplicate: int = 0) -> ConsumerRecord:
    blob = HouseholdState(new_monitor(REGISTRY, household_id), accepted, duplicate, offset).dumps()
    return ConsumerRecord(CHANGELOG, 0, offset, 0, 0, household_id.encode(), blob, None, 4, len(blob), ())


async def totals(sessions) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        stats = await read_stats(session)
    return stats.readings_accepted, stats.readings_duplicate


async def test_each_households_newest_saved_counts_are_summed_once(sessions):
    counts = ReadingCountConsumer(sessions, bootstrap_servers="127.0.0.1:9", changelog_topic=CHANGELOG, group_id="g")
    mark = ConsumerRecord(CHANGELOG, 0, 2, 0, 0, mark_key(0), b"41", None, 4, 2, ())
    first = [saved(0, "hh-1", 10), saved(1, "hh-2", 5, 1), mark, saved(3, "hh-1", 12)]
    assert await counts.write(first) == 2
    assert await totals(sessions) == (17, 1)  # hh-1's newest state (12), not 10 + 12; the mark is no household
    assert await counts.write(first) == 0  # redelivered after a lost commit
    assert await counts.write(first[2:] + [saved(4, "hh-2", 8, 1)]) == 1
    assert await totals(sessions) == (20, 1)
