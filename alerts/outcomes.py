"""What a person found when they checked on the elder: stored with the alert to tune detectors later."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_OUTCOME_DETAIL = 500


class OutcomeKind(StrEnum):
    SAFE = "safe"
    UNWELL = "unwell"  # help was sent
    HOSPITALISED = "hospitalised"
    FALSE_ALARM = "false_alarm"
    UNREACHABLE = "unreachable"


class FalseAlarmReason(StrEnum):
    AWAY = "away"  # travelling, staying with family, in hospital for a planned stay
    METER_FAULT = "meter_fault"
    OTHER = "other"


class InvalidOutcome(ValueError):
    """The outcome does not hold together; the message says what to send instead."""


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    reason: FalseAlarmReason | None = None
    """Only for false alarms, and required for them: this is what detector tuning reads."""
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", OutcomeKind(self.kind))
        if self.reason is not None:
            object.__setattr__(self, "reason", FalseAlarmReason(self.reason))
        if self.kind is OutcomeKind.FALSE_ALARM and self.reason is None:
            raise InvalidOutcome("a false alarm needs a reason: away, meter_fault or other")
        if self.kind is not OutcomeKind.FALSE_ALARM and self.reason is not None:
            raise InvalidOutcome(f"a reason ({self.reason.value}) is only given for false alarms, not for {self.kind.value}")
        if self.reason is FalseAlarmReason.OTHER and not self.detail.strip():
            raise InvalidOutcome("a false alarm for another reason needs a detail saying what it was")
        if len(self.detail) > MAX_OUTCOME_DETAIL:
            raise InvalidOutcome(f"the outcome detail must be at most {MAX_OUTCOME_DETAIL} characters")

    def describe(self) -> str:
        """For the audit trail: ``false_alarm (away): visiting her son``."""
        text = self.kind.value + (f" ({self.reason.value})" if self.reason else "")
        return f"{text}: {self.detail}" if self.detail else text
