"""The workers' household summaries reach the console (reading counts, learned routine) once per record.

Real SQLite; the records are aiokafka's own record type holding real summaries (the
real-broker check is in test_end_to_end.py).
"""

from __future__ import annotations

from aiokafka import ConsumerRecord

from carewatch.registry import Registry
from carewatch.runners.engine import new_monitor
from carewatch.runners.state import HouseholdState, summary_of
from ingest.stats import read_stats
from ingest.summaries import HouseholdSummaryConsumer, stored_routine

TOPIC = "t-workers-household-summaries"
REGISTRY = Registry.from_document(
    {"version": 1, "households": [{"household_id": h, "meters": [{"meter_id": f"gas-{h}", "kind": "gas"}]} for h in ("hh-1", "hh-2")]}
)


def sent(offset: int, household_id: str, accepted: int, duplicate: int = 0) -> ConsumerRecord:
    value = summary_of(household_id, HouseholdState(new_monitor(REGISTRY, household_id), accepted, duplicate)).encode()
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, household_id.encode(), value, None, 4, len(value), ())


async def totals(sessions) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        stats = await read_stats(session)
    return stats.readings_accepted, stats.readings_duplicate


async def test_each_households_newest_counts_are_summed_once(sessions):
    summaries = HouseholdSummaryConsumer(sessions, bootstrap_servers="127.0.0.1:9", summaries_topic=TOPIC, group_id="g")
    first = [sent(0, "hh-1", 10), sent(1, "hh-2", 5, 1), sent(2, "hh-1", 12)]
    assert await summaries.write(first) == 2
    assert await totals(sessions) == (17, 1)  # hh-1's newest summary (12), not 10 + 12
    assert await summaries.write(first) == 0  # redelivered after a lost commit
    assert await summaries.write(first[2:] + [sent(3, "hh-2", 8, 1)]) == 1
    assert await totals(sessions) == (20, 1)
    async with sessions() as session:
        routine = await stored_routine(session, "hh-1")
    assert routine is not None and routine.days_learned == 0 and not routine.warm


async def test_a_record_that_is_no_summary_is_passed_and_the_others_stored(sessions):
    summaries = HouseholdSummaryConsumer(sessions, bootstrap_servers="127.0.0.1:9", summaries_topic=TOPIC, group_id="g")
    garbage = ConsumerRecord(TOPIC, 0, 1, 0, 0, b"hh-2", b'{"v": 99}', None, 4, 9, ())

    assert await summaries.write([sent(0, "hh-1", 10), garbage, sent(2, "hh-2", 3)]) == 2

    assert await totals(sessions) == (13, 0)
    assert await summaries.write([garbage]) == 0  # its offset was stored with the others


async def test_the_workers_meter_health_reaches_the_meter_health_table(sessions):
    """The Faust path: a worker's summary carries each meter's health, stored as the embedded runner stores it."""
    from datetime import UTC, datetime

    from carewatch.domain import MeterFlag, MeterKind, Reading
    from ingest.summaries import stored_meter_health

    monitor = new_monitor(REGISTRY, "hh-1")
    heard = datetime(2026, 1, 5, 8, tzinfo=UTC)
    monitor.observe(Reading("hh-1", "gas-hh-1", MeterKind.GAS, heard, 12.5, battery_pct=9.0, signal_dbm=-104.0, status="TAMPER"))
    value = summary_of("hh-1", HouseholdState(monitor, 1, 0)).encode()
    summaries = HouseholdSummaryConsumer(sessions, bootstrap_servers="127.0.0.1:9", summaries_topic=TOPIC, group_id="g")

    assert await summaries.write([ConsumerRecord(TOPIC, 0, 0, 0, 0, b"hh-1", value, None, 4, len(value), ())]) == 1

    async with sessions() as session:
        [(meter_id, row)] = (await stored_meter_health(session, "hh-1")).items()
    assert (meter_id, row.heard_at, row.battery_pct, row.signal_dbm, row.status) == ("gas-hh-1", heard, 9.0, -104.0, "TAMPER")
    assert row.flags == [MeterFlag.TAMPER.value] and row.battery_low and not row.weak_signal
