"""Absence is seen by the clock, not by events: a timer sweeps the households of this worker's partitions.

Faust windows close only when a later event arrives, so a meter that stops
reporting would never be judged by them; this timer ticks every household of
the partitions assigned here, at the watermark: the wall clock minus the allowed
lateness, or the newest event time judged on the partition minus the lateness in
replays and while this worker is still reading a backlog (after an outage).
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
            if tp.topic != settings.kafka_topic_readings:
                continue
            # While a backlog is being read it is evidence, not silence: judge by its event time.
            behind = settings.clock == "wall" and not judge.caught_up(
                tp.partition, app.consumer.highwater(tp), await app.consumer.position(tp)
            )
            sent = await judge.sweep(tp.partition, behind)
            if sent:
                log.info("absence sweep of partition %d sent %d detections", tp.partition, sent)
