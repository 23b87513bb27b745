"""One engine, two runners: how a reading, the passage of time and what people said are judged.

The embedded runner (`carewatch.runners.embedded.pipeline`) and the Faust workers (`carewatch.runners.faust`)
both call these, so the same reading gives the same verdict whichever runs it.
What differs between them is only where state is kept and how outcomes are
committed (one database transaction, or Kafka topics and a changelog).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

from carewatch.domain import CheckInAnswer, Detection, Explanation, GatewayState, OutcomeHeard, Reading, RejectReason
from carewatch.registry import Registry
from detectors import explain
from detectors.household import HouseholdMonitor, Observation

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def judge(monitor: HouseholdMonitor, reading: Reading) -> Observation:
    """Observe one reading; a detector bug becomes a PROCESSING_ERROR verdict, never a lost reading."""
    try:
        observation = monitor.observe(reading)
    except Exception as exc:
        log.exception("detector failed on a reading of meter %s", reading.meter_id)
        return Observation(rejection=RejectReason.PROCESSING_ERROR, detail=f"detector error: {exc!r}")
    return observation


def told_at(given: datetime, now: datetime) -> datetime:
    """When what a person said is told to a monitor: when it was given, or the runner's ``now`` (its event
    time) if that is earlier: simulated time in the demo and replays, where an answer stamped on the wall
    clock must not come from the detectors' future."""
    return min(given, now)


def answered(monitor: HouseholdMonitor, answer: CheckInAnswer, now: datetime) -> tuple[Detection, ...]:
    """The elder's answer to a check-in, as an event to her monitor, at `told_at`."""
    return monitor.answered(dataclasses.replace(answer, at=told_at(answer.at, now)))


def gateway_heard(monitor: HouseholdMonitor, status: GatewayState, now: datetime) -> None:
    """A gateway's status (online, or offline by its last will) to the monitor of a household on it, at
    `told_at`: when the runner received it, or its event time if that is earlier.  The runner tells it to
    every household of the gateway (`Registry.households_on`)."""
    monitor.gateway(dataclasses.replace(status, at=told_at(status.at, now)))


def taught(monitor: HouseholdMonitor, heard: OutcomeHeard, now: datetime) -> tuple[Explanation, datetime]:
    """A person's outcome that teaches (alerts.lessons) to its household's monitor, as an event timed as
    `answered` times an answer; returns the words for the alert's audit trail (``learned``) and that time.
    An outcome that teaches nothing (the learner still warming up) gets words too, so the alert is marked
    taught and not offered again."""
    at = told_at(heard.at, now)
    ended = None if heard.ended is None else min(heard.ended, at)
    words = monitor.learn_outcome(dataclasses.replace(heard, ended=ended, at=at))
    return words or explain.nothing_learned(heard.lesson.value), at


def new_monitor(registry: Registry, household_id: str) -> HouseholdMonitor:
    return HouseholdMonitor(registry.households[household_id].profile)


def refreshed(monitor: HouseholdMonitor, registry: Registry) -> HouseholdMonitor:
    """A monitor restored from storage, with the registry's current profile (thresholds may have changed)."""
    household = registry.households.get(monitor.profile.household_id)
    if household is not None and household.profile != monitor.profile:
        monitor.profile = household.profile
    return monitor


class TickSchedule:
    """Ticks on a fixed grid (every ``step`` since the epoch): a watermark gives at most one new tick per step.

    Both runners tick on the same grid, so absence verdicts do not depend on how
    readings happened to be batched.

    >>> schedule = TickSchedule(timedelta(minutes=5))
    >>> schedule.due(datetime(2026, 1, 5, 8, 7, tzinfo=UTC))
    datetime.datetime(2026, 1, 5, 8, 5, tzinfo=datetime.timezone.utc)
    >>> schedule.due(datetime(2026, 1, 5, 8, 9, tzinfo=UTC)) is None  # same step: nothing new
    True
    """

    __slots__ = ("step", "last")

    def __init__(self, step: timedelta) -> None:
        self.step = step
        self.last: datetime | None = None

    def due(self, watermark: datetime) -> datetime | None:
        # Asked for every reading a replay judges: most are in the step of the last tick, told by one
        # comparison (``last`` is on the grid) before any arithmetic on the grid.
        if self.last is not None and watermark < self.last + self.step:
            return None
        self.last = EPOCH + ((watermark - EPOCH) // self.step) * self.step
        return self.last
