"""Interface placeholder: being implemented (see detectors helper)."""

from __future__ import annotations

from dataclasses import dataclass

from carewatch.domain import Detection, Reading, RejectReason, Tick
from detectors.config import HouseholdProfile


@dataclass(frozen=True, slots=True)
class Observation:
    """What the monitor made of one reading."""

    detections: tuple[Detection, ...] = ()
    rejection: RejectReason | None = None
    detail: str = ""
    duplicate: bool = False


class HouseholdMonitor:
    def __init__(self, profile: HouseholdProfile) -> None:
        self.profile = profile

    def observe(self, reading: Reading) -> Observation:
        raise NotImplementedError

    def tick(self, tick: Tick) -> tuple[Detection, ...]:
        raise NotImplementedError
