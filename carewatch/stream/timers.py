"""Absence is seen by the clock, not by events: a timer sweeps the households of this worker's partitions.

Faust windows close only when a later event arrives, so a meter that stops
reporting would never be judged by them; this timer ticks every household of
the partitions assigned here, at the watermark (the wall clock, or the newest
event time of the partition in replays, minus the allowed lateness).
"""

from __future__ import annotations

import logging

import faust

from carewatch.settings import Settings
from carewatch.stream.households import HouseholdJudge

log = logging.getLogger(__name__)


def register_timers(app: faust.App, judge: HouseholdJudge, settings: Settings) -> None:
    @app.timer(interval=settings.stream_sweep_interval.total_seconds(), name="sweep-absences")
    async def sweep_absences() -> None:
        if app.rebalancing or app.in_recovery:
            return  # the table is being restored: judging absence now would read missing state
        for tp in sorted(app.assignor.assigned_actives()):
            if tp.topic == settings.kafka_topic_readings:
                sent = await judge.sweep(tp.partition)
                if sent:
                    log.info("absence sweep of partition %d sent %d detections", tp.partition, sent)
