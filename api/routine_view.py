"""The learned routine of a household, from the runner's stored detector state (monitor_snapshots).

Where available: the embedded runner (`carewatch run`, the demo) stores each household's monitor
with every batch; a household it has not seen yet, or whose state is from an older version,
has none to show.
"""

from __future__ import annotations

import logging
import pickle
from datetime import time

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from detectors.summary import RoutineSummary, summarize
from ingest.models import MonitorSnapshot

log = logging.getLogger(__name__)


class RoutinePublic(BaseModel):
    """What the household's monitor has learned (docs/detectors.md)."""

    learning: bool = Field(description="False when the household's rules turn the learned detectors off")
    days_learned: int
    warmup_days: int = Field(description="Normal days needed before the learned detectors may raise alerts")
    warm: bool
    first_use: time | None = Field(description="By when water or gas is usually first used in the morning (local time)")
    sleep_start: time | None
    sleep_end: time | None
    usual_litres_per_day: dict[str, int] = Field(description="Per meter kind: litres on a normal day (median)")
    usual_quiet_h_by_hour: list[float] | None = Field(
        description="24 values, from 00:00: hours without use still usual at that hour (null during the warm-up)"
    )

    @classmethod
    def of(cls, summary: RoutineSummary) -> RoutinePublic:
        return cls(
            learning=summary.learning, days_learned=summary.days_learned, warmup_days=summary.warmup_days,
            warm=summary.warm, first_use=summary.first_use,
            sleep_start=summary.sleep[0] if summary.sleep else None, sleep_end=summary.sleep[1] if summary.sleep else None,
            usual_litres_per_day={kind.value: litres for kind, litres in sorted(summary.usual_l.items())},
            usual_quiet_h_by_hour=list(summary.quiet_h) if summary.quiet_h is not None else None,
        )


async def learned_routine(session: AsyncSession, household_id: str) -> RoutineSummary | None:
    """The routine the runner's monitor of the household has learned, or None if there is no usable state."""
    snapshot = await session.get(MonitorSnapshot, household_id)
    if snapshot is None:
        return None
    try:
        monitor = pickle.loads(snapshot.state)  # our own table, written by the runner
        return summarize(monitor)
    except Exception:  # a state from another version: the page goes on without the routine
        log.warning("the stored detector state of %s cannot be read; its learned routine is not shown", household_id, exc_info=True)
        return None
