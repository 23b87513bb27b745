"""One engine, two runners: how a reading and the passage of time are judged.

The embedded runner (`carewatch.runners.embedded.pipeline`) and the Faust workers (`carewatch.runners.faust`)
both call these, so the same reading gives the same verdict whichever runs it.
What differs between them is only where state is kept and how outcomes are
committed (one database transaction, or Kafka topics and a changelog).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from carewatch.domain import Reading, RejectReason
from carewatch.registry import Registry
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
        due = EPOCH + ((watermark - EPOCH) // self.step) * self.step
        if self.last is not None and due <= self.last:
            return None
        self.last = due
        return due
