"""The learned routine of a household in the API: what its runner last summarised (`ingest.summaries.stored_routine`).

Both runners emit a summary of every household state they save, so the routine is the same
on either engine; a household no runner has judged yet has none to show.
"""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, Field

from detectors.summary import RoutineSummary


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
