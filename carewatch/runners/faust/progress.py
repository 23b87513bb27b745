"""How far each readings partition held by a worker is judged, and where its time stands: no I/O.

The timer asks it whether a partition is caught up (on the wall clock, silence may only be
judged then), idle (in a replay, it then follows the worker's other partitions) and which
tick is due; judging tells it every record passed and every reading's event time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from carewatch.clock import wall_clock
from carewatch.runners.engine import TickSchedule
from carewatch.settings import Settings


class Progress:
    """Per partition: newest event time judged, offset after the newest record judged, tick grid."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = wall_clock) -> None:
        self.settings = settings
        self.clock = clock
        self.newest_event: dict[int, datetime] = {}
        self.judged_next: dict[int, int] = {}
        """Per partition, the offset after the newest record judged in this process."""
        self.started_from: dict[int, int] = {}
        """Per partition, the group's committed offset when this worker was given it: where it began reading."""
        self.highwater_at_sweep: dict[int, int | None] = {}
        """Per partition, its end as the previous timer sweep saw it (replays: is it idle?)."""
        self.schedules: dict[int, TickSchedule] = {}

    def passed(self, partition: int, offset: int) -> None:
        """The record at ``offset`` was judged (or skipped as judged before)."""
        self.judged_next[partition] = max(self.judged_next.get(partition, 0), offset + 1)

    def saw_event(self, partition: int, at: datetime) -> None:
        """A reading of event time ``at`` was accepted on the partition."""
        newest = self.newest_event.get(partition)
        # Asked for every reading judged: the stand-in for a first time is computed only when there is none.
        if at > (at - self.settings.tick_every if newest is None else newest):
            self.newest_event[partition] = at

    def watermark(self, partition: int, behind: bool = False, idle: bool = False) -> datetime | None:
        """No more readings are expected on this partition before this time.

        On the wall clock that is now minus the lateness — unless this worker is ``behind``
        (reading a backlog, e.g. after an outage): then, as in a replay, the newest event time
        judged on the partition, so that queued readings are never taken for silence.  In a
        replay a partition that is ``idle`` (nothing new to read for a sweep, all judged) follows the
        newest event time of this worker's partitions: a partition whose households all fell
        silent gets no readings, and its own event time would stop with them.
        """
        if self.settings.clock == "wall" and not behind:
            return self.clock() - self.settings.watermark_lateness
        newest = self.newest_event.get(partition)
        if idle and self.newest_event:
            newest = max(self.newest_event.values())
        return None if newest is None else newest - self.settings.watermark_lateness

    def due(self, partition: int, behind: bool = False, idle: bool = False) -> datetime | None:
        """The tick the partition's watermark reached, if it is a new one (each is due once)."""
        watermark = self.watermark(partition, behind, idle)
        if watermark is None:
            return None
        schedule = self.schedules.get(partition)
        if schedule is None:  # not setdefault: asked for every reading judged, it would build one each time
            schedule = self.schedules[partition] = TickSchedule(self.settings.tick_every)
        return schedule.due(watermark)

    def caught_up(self, partition: int, highwater: int | None) -> bool:
        """Whether every record of the partition that Kafka holds has been judged here.

        On the wall clock, silence may only be judged then: after an outage the backlog queued
        in Kafka is evidence still to be read, not silence.  ``highwater`` is the partition's
        end as the last fetch saw it.  Before the first record judged here, the offset the
        worker began reading at says whether anything was there to judge — not the consumer's
        position: records fetched are not yet judged (they wait in Faust's buffers and in the
        agent's batch), and taking them for judged once raised false meter_silent alerts.
        """
        judged = self.judged_next.get(partition, self.started_from.get(partition))
        return highwater is not None and judged is not None and judged >= highwater

    def idle(self, partition: int, highwater: int | None) -> bool:
        """In a replay: nothing arrived on the partition since the previous sweep, and all of it is judged.

        Asked once per sweep.  A partition merely caught up for a moment (its next records not yet
        fetched while other partitions' are) is not idle: following their event time then would
        take readings in flight for silence.
        """
        previous = self.highwater_at_sweep.get(partition)
        self.highwater_at_sweep[partition] = highwater
        return highwater is not None and previous == highwater and self.caught_up(partition, highwater)

    def forget(self, partitions: Sequence[int]) -> None:
        """Partitions went to another worker: their event time, tick grid and position are no longer ours."""
        for partition in partitions:
            self.highwater_at_sweep.pop(partition, None)
            self.newest_event.pop(partition, None)
            self.schedules.pop(partition, None)
            self.judged_next.pop(partition, None)
            self.started_from.pop(partition, None)

    def undo_point(self) -> Callable[[], None]:
        """A function that puts back what judging changes here (for a batch undone)."""
        newest_event, judged_next = dict(self.newest_event), dict(self.judged_next)
        schedules = {partition: (schedule, schedule.last) for partition, schedule in self.schedules.items()}

        def undo() -> None:
            self.newest_event, self.judged_next = newest_event, judged_next
            self.schedules = {partition: schedule for partition, (schedule, _) in schedules.items()}
            for schedule, last in schedules.values():
                schedule.last = last

        return undo
