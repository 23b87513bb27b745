"""Absence is seen by the clock, not by events: a timer sweeps the households of this worker's partitions.

Faust windows close only when a later event arrives, so a meter that stops
reporting would never be judged by them; this timer ticks every household of
the partitions assigned here, at the watermark: the wall clock minus the allowed
lateness, or the newest event time judged on the partition minus the lateness in
replays and while this worker is still reading a backlog (after an outage).  In a
replay, a partition that has had nothing to read for a whole sweep follows the newest
event time of the worker's other partitions, so households that all fell silent are
still judged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import faust
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from carewatch.kafka import bootstrap_servers, kafka_url
from carewatch.runners.faust.adapter import assigned_partitions, partition_ends
from carewatch.settings import Settings
from carewatch.runners.faust.households import HouseholdJudge

log = logging.getLogger(__name__)


SWEEP_TIMEOUT_S = 30.0
"""A sweep that cannot ask Kafka for its partitions' ends within this long is left for the next one."""


def register_timers(app: faust.App, judge: HouseholdJudge, settings: Settings) -> None:
    @app.timer(interval=settings.stream_sweep_interval.total_seconds(), name="sweep-absences")
    async def sweep_absences() -> None:
        if app.rebalancing or app.in_recovery:
            return  # the table is being restored: judging absence now would read missing state
        actives = assigned_partitions(app, settings.kafka_topic_readings)
        try:
            ends = await asyncio.wait_for(partition_ends(app, actives), SWEEP_TIMEOUT_S)
        except Exception:
            log.exception("could not ask Kafka where the readings partitions end; absence is judged at the next sweep")
            return
        await sweep(judge, settings, [(tp.partition, ends.get(tp)) for tp in actives])


async def sweep(judge: HouseholdJudge, settings: Settings, partitions: Sequence[tuple[int, int | None]]) -> None:
    """Tick the households of these (partition, end offset in Kafka) at their watermarks."""
    if settings.clock == "wall":
        unknown = [partition for partition, _ in partitions if partition not in judge.progress.started_from]
        if unknown:
            judge.progress.started_from.update(await committed_offsets(settings, unknown))
    for partition, end in partitions:
        # While a backlog is being read it is evidence, not silence: judge by its event time.
        behind = settings.clock == "wall" and not judge.progress.caught_up(partition, end)
        # In a replay a partition that has had nothing to read for a sweep follows the others' event time.
        idle = settings.clock == "event" and judge.progress.idle(partition, end)
        sent = await judge.sweep(partition, behind, idle)
        if sent:
            log.info("absence sweep of partition %d sent %d detections", partition, sent)
        if end is not None and judge.stalled(partition, end):
            # Records the stream dropped at the end of a partition have no later record to reveal them.
            await judge.catch_up(partition, end)


async def committed_offsets(settings: Settings, partitions: Sequence[int]) -> dict[int, int]:
    """The workers' committed offsets of these readings partitions (0 where none was committed:
    a new group reads from the start)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(kafka_url(settings)))
    await admin.start()
    try:
        wanted = [TopicPartition(settings.kafka_topic_readings, partition) for partition in partitions]
        committed = await admin.list_consumer_group_offsets(settings.stream_app_id, partitions=wanted)
    finally:
        await admin.close()
    found = {tp.partition: meta.offset for tp, meta in committed.items() if meta is not None}
    return {partition: max(found.get(partition, 0), 0) for partition in partitions}
