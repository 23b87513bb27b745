"""The alert service's summary consumer (the scaled-out path) stores a batch without holding the console's event loop."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from benchmarks.loop_lag import stall_while
from carewatch.domain import MeterKind
from detectors.meter_health import MeterHealthSummary
from detectors.summary import summarize
from ingest.summaries import HouseholdSummaryConsumer, HouseholdSummaryRecord
from tests.detectors.conftest import feed, monitor, routine

HEARD = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)
SUMMARIES = "t-summaries"


async def test_storing_a_batch_of_summaries_never_stalls_the_event_loop_50_ms(sessions):
    # A night bunch on the workers saves every household's state: the summary topic brings a record per household
    # (its routine as learned over 20 days, its two meters' health), 2,000 a batch; two batches' worth here, so that the
    # work is well over the limit on a fast host too (2,000 took 0.095–0.18 s of CPU, 66–69 ms of it in one go before).
    learned = monitor()
    feed(learned, routine(20))
    routine_summary = summarize(learned)
    consumer = HouseholdSummaryConsumer(sessions, bootstrap_servers="127.0.0.1:9", summaries_topic=SUMMARIES, group_id="g")

    def summary(offset: int) -> ConsumerRecord:
        household = f"hh-{offset:05d}"
        meters = tuple(
            MeterHealthSummary(f"{kind}-{offset:05d}", kind, HEARD, 80.0, -97.0, -98.5, "OK", (), False, False)
            for kind in (MeterKind.GAS, MeterKind.WATER)
        )
        value = HouseholdSummaryRecord(household, 48, 0, routine_summary, meters).encode()
        return ConsumerRecord(SUMMARIES, offset % 4, offset, 0, 0, household.encode(), value, None, 4, len(value), ())

    batch = [summary(n) for n in range(4000)]
    assert await consumer.write([]) == 0  # the database's first connection, made once when the service starts
    stored = await stall_while(consumer.write(batch))

    assert stored.result == 4000
    assert stored.cpu > 0.1, f"the batch took {stored.cpu:.3f} s: too few records to show a stall"
    assert stored.longest_cpu < 0.05, f"the event loop stalled {stored.longest_cpu * 1000:.0f} ms while 4,000 summaries were stored"
