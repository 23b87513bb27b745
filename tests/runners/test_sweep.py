"""The absence sweep decides per partition, from where Kafka says the partition ends, whether a
replay's partition is idle (it then follows the worker's other partitions' event time).

The ends come from Kafka itself (`adapter.partition_ends`), not from the consumer's last fetch: a
partition the consumer had not fetched lately kept an old end there, was taken for idle with
records still to come, and its households were ticked hours ahead of their readings — a storm of
false meter_silent alerts in the Faust demo (4 of 10 runs on the loaded 2-core machine).  The last test
runs the registered timer on a stand-in app whose consumer's last fetch is behind Kafka: on the code before the
mend partition 0 was taken for idle from the second sweep on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from faust.types import TP

from carewatch.runners.faust.progress import Progress
from carewatch.runners.faust.timers import register_timers, sweep
from carewatch.settings import Settings

START = datetime(2026, 1, 6, 9, tzinfo=UTC)


class Judge:
    """What the sweep asks of `HouseholdJudge`, with the real `Progress`; every sweep asked is kept."""

    def __init__(self) -> None:
        self.progress = Progress(Settings(_env_file=None, clock="event"))  # type: ignore[call-arg]
        self.swept: list[tuple[int, bool, bool]] = []

    async def sweep(self, partition: int, behind: bool, idle: bool) -> int:
        self.swept.append((partition, behind, idle))
        return 0

    def stalled(self, partition: int, end: int) -> bool:
        return False


def judged(judge: Judge, partition: int, up_to: int, at: datetime) -> None:
    for offset in range(up_to):
        judge.progress.passed(partition, offset)
    judge.progress.saw_event(partition, at)


async def test_a_replays_partition_with_records_still_to_come_in_kafka_is_not_idle():
    judge = Judge()
    judged(judge, 0, 10, START)  # partition 0 judged up to offset 10; Kafka holds 25
    judged(judge, 1, 40, START + timedelta(hours=6))  # partition 1 far ahead, all judged
    settings = judge.progress.settings

    for _ in range(3):
        await sweep(judge, settings, [(0, 25), (1, 40)])  # type: ignore[arg-type]

    assert {(p, idle) for p, _, idle in judge.swept} == {(0, False), (1, False), (1, True)}
    # Its households are ticked by its own event time, not partition 1's six hours later.
    assert judge.progress.watermark(0) == START - settings.watermark_lateness


async def test_a_replays_partition_all_judged_and_quiet_for_a_sweep_follows_the_others():
    judge = Judge()
    judged(judge, 0, 10, START)
    judged(judge, 1, 40, START + timedelta(hours=6))
    settings = judge.progress.settings

    await sweep(judge, settings, [(0, 10), (1, 40)])  # type: ignore[arg-type]
    await sweep(judge, settings, [(0, 10), (1, 40)])  # type: ignore[arg-type]

    assert judge.swept[-2:] == [(0, False, True), (1, False, True)]
    assert judge.progress.watermark(0, idle=True) == START + timedelta(hours=6) - settings.watermark_lateness


class Consumer:
    """Faust's transport consumer as the sweep meets it: ``highwater`` is what its last fetch saw,
    ``highwaters`` asks Kafka."""

    def __init__(self, last_fetched: dict[TP, int], in_kafka: dict[TP, int]) -> None:
        self.last_fetched, self.in_kafka = last_fetched, in_kafka

    def highwater(self, tp: TP) -> int:
        return self.last_fetched[tp]

    async def highwaters(self, *partitions: TP) -> dict[TP, int]:
        return {tp: self.in_kafka[tp] for tp in partitions}


class App:
    """The app as the sweep timer uses it; the timer registered is kept to be run by the test."""

    rebalancing = in_recovery = False

    def __init__(self, topic: str, consumer: Consumer) -> None:
        self.consumer = consumer
        self.assignor = SimpleNamespace(assigned_actives=lambda: set(consumer.in_kafka))
        self.timers: list[Callable] = []

    def timer(self, interval: float, name: str) -> Callable:
        def register(function: Callable) -> Callable:
            self.timers.append(function)
            return function
        return register


async def test_the_sweep_timer_takes_a_partitions_end_from_kafka_not_from_the_consumers_last_fetch():
    judge = Judge()
    settings = judge.progress.settings
    topic = settings.kafka_topic_readings
    behind, ahead = TP(topic, 0), TP(topic, 1)
    judged(judge, 0, 10, START)
    judged(judge, 1, 40, START + timedelta(hours=6))
    # The consumer last fetched partition 0 when it ended at 10; Kafka holds 25 records there now.
    app = App(topic, Consumer({behind: 10, ahead: 40}, {behind: 25, ahead: 40}))
    register_timers(app, judge, settings)  # type: ignore[arg-type]

    for _ in range(3):
        await app.timers[0]()

    assert [idle for partition, _, idle in judge.swept if partition == 0] == [False, False, False]
