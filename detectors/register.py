"""Keeping a meter's register honest: duplicates, rollbacks, replaced meters.

A cumulative register never goes down.  A reading that would make it go down
(below an earlier reading, or above a later one) is rejected and raises a
technician alert, because judging use from it would invent or hide use.  But a
meter that was replaced or reset also starts again lower: when three newest
readings agree among themselves, the meter is taken as new and counted afresh.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import NamedTuple

from carewatch.domain import AlertType, Detection, Transition
from detectors import explain
from detectors.base import EPSILON_M3, RaisedConditions, detection, instant
from detectors.config import HouseholdProfile
from detectors.history import MeterHistory

RESTART_AFTER = 3
"""Agreeing readings below the old register that prove a reset, not a glitch."""


class Outcome(StrEnum):
    """The verdicts on a reading's register.

    >>> [outcome.value for outcome in Outcome]
    ['accept', 'duplicate', 'conflict', 'backwards', 'restart']
    """

    ACCEPT = "accept"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    BACKWARDS = "backwards"
    RESTART = "restart"


class Check(NamedTuple):
    """What a reading means for a meter's history.

    >>> Check(Outcome.DUPLICATE).outcome.value
    'duplicate'
    """

    outcome: Outcome
    detail: str = ""
    neighbour_m3: float = math.nan
    neighbour_is_later: bool = False
    restart: tuple[tuple[float, float], ...] = ()


_ACCEPT = Check(Outcome.ACCEPT)


class RegisterGuard:
    """Per-household state of the register checks: the readings that may prove a
    reset (at most two per meter) and the meters whose register is in fault.

    >>> history, guard = MeterHistory(), RegisterGuard()
    >>> history.insert(0.0, 100.5)
    >>> guard.check("gas-1", history, 0.0, 100.5).outcome.value
    'duplicate'
    >>> [guard.check("gas-1", history, 900.0 * n, 0.01 * n).outcome.value for n in (1, 2, 3)]
    ['backwards', 'backwards', 'restart']
    """

    __slots__ = ("_suspects", "faulty")

    def __init__(self) -> None:
        self._suspects: dict[str, list[tuple[float, float]]] = {}
        self.faulty: tuple[str, ...] = ()
        """Meters whose last judged reading went backwards."""

    def check(self, meter_id: str, history: MeterHistory, at_s: float, register_m3: float) -> Check:
        """Classify a reading against the meter's history (remembering reset suspects)."""
        times = history.times
        if times and at_s > times[-1] and register_m3 >= history.registers[-1] - EPSILON_M3 and not self._suspects:
            return _ACCEPT  # the usual reading: the meter's newest, not below its register, no reset in doubt
        same = history.index_of(at_s)
        if same is not None:
            return _same_instant(meter_id, at_s, history.registers[same], register_m3)
        suspects = self._suspects.get(meter_id, [])
        for suspect_s, suspect_m3 in suspects:
            if suspect_s == at_s:
                return _same_instant(meter_id, at_s, suspect_m3, register_m3)
        after = history.first_at_or_after(at_s)
        before = after - 1
        if before >= 0 and register_m3 < history.registers[before] - EPSILON_M3:
            earlier_m3, earlier_s = history.registers[before], history.times[before]
            detail = (
                f"meter {meter_id}: register {register_m3} m³ at {instant(at_s).isoformat()} is below "
                f"{earlier_m3} m³ read earlier at {instant(earlier_s).isoformat()}"
            )
            if after == len(history):
                return self._suspect(meter_id, suspects, at_s, register_m3, detail, earlier_m3)
            return Check(Outcome.BACKWARDS, detail, earlier_m3, False)
        if after < len(history) and register_m3 > history.registers[after] + EPSILON_M3:
            later_m3, later_s = history.registers[after], history.times[after]
            detail = (
                f"meter {meter_id}: register {register_m3} m³ at {instant(at_s).isoformat()} is above "
                f"{later_m3} m³ read later at {instant(later_s).isoformat()}"
            )
            return Check(Outcome.BACKWARDS, detail, later_m3, True)
        if suspects:
            # A good reading newer than a suspect shows the suspect was a glitch.
            kept = [s for s in suspects if s[0] > at_s]
            if kept:
                self._suspects[meter_id] = kept
            else:
                del self._suspects[meter_id]
        return _ACCEPT

    def _suspect(
        self,
        meter_id: str,
        suspects: list[tuple[float, float]],
        at_s: float,
        register_m3: float,
        detail: str,
        earlier_m3: float,
    ) -> Check:
        """A newest reading below the old register: a glitch, or a new meter."""
        suspects = sorted([*suspects, (at_s, register_m3)])
        first = len(suspects) - 1
        while first > 0 and suspects[first - 1][1] <= suspects[first][1] + EPSILON_M3:
            first -= 1
        suspects = suspects[first:]  # only those that agree with the newest one
        if len(suspects) >= RESTART_AFTER:
            del self._suspects[meter_id]
            return Check(Outcome.RESTART, restart=tuple(suspects))
        self._suspects[meter_id] = suspects
        needed = RESTART_AFTER - len(suspects)
        detail += f"; {needed} more agreeing reading(s) will be taken as a reset or replaced meter"
        return Check(Outcome.BACKWARDS, detail, earlier_m3, False)

    def __repr__(self) -> str:
        return f"RegisterGuard(faulty={self.faulty}, suspects={self._suspects})"


def _same_instant(meter_id: str, at_s: float, known_m3: float, register_m3: float) -> Check:
    if abs(known_m3 - register_m3) <= EPSILON_M3:
        return Check(Outcome.DUPLICATE)
    detail = (
        f"meter {meter_id} already read {known_m3} m³ at {instant(at_s).isoformat()}; "
        f"this reading says {register_m3} m³ for the same instant"
    )
    return Check(Outcome.CONFLICT, detail)


class RegisterFaultRule:
    """meter_register_fault for one household (warning, for a technician).

    Raised once when a reading goes backwards (onset: that reading's time);
    cleared by the next good reading of that meter, or when the meter is
    recognised as reset or replaced.

    >>> from datetime import datetime, UTC
    >>> from carewatch.domain import MeterKind
    >>> from detectors.config import MeterProfile
    >>> profile = HouseholdProfile("hh-1", (MeterProfile("gas-1", MeterKind.GAS),))
    >>> rule, guard, raised = RegisterFaultRule(profile), RegisterGuard(), RaisedConditions()
    >>> at_s = datetime(2024, 1, 5, 10, 15, tzinfo=UTC).timestamp()
    >>> [fault] = rule.rejected(guard, raised, "gas-1", Check(Outcome.BACKWARDS, "", 100.5), at_s, 0.05)
    >>> fault.alert_id, fault.alert_type.audience.value
    ('hh-1.meter_register_fault.20240105T101500Z', 'technician')
    >>> print(fault.explanation.en)
    Meter gas-1 register went backwards at 10:15: 0.050 m³ is below the 100.500 m³ read before it; reading rejected — check the meter or whether it was replaced.
    >>> [cleared] = rule.accepted(guard, raised, "gas-1", at_s + 900, restarted_from=None)
    >>> cleared.transition.value
    'cleared'
    """

    __slots__ = ("profile",)

    def __init__(self, profile: HouseholdProfile) -> None:
        self.profile = profile

    def rejected(
        self,
        guard: RegisterGuard,
        raised: RaisedConditions,
        meter_id: str,
        check: Check,
        at_s: float,
        register_m3: float,
    ) -> list[Detection]:
        alert = AlertType.METER_REGISTER_FAULT
        if meter_id not in guard.faulty:
            guard.faulty += (meter_id,)
        if alert in raised:
            raised.widen(alert, (meter_id,))
            return []
        if not raised.open(alert, at_s, (meter_id,)):
            return []
        words = explain.register_backwards(
            meter_id, at_s, register_m3, check.neighbour_m3, check.neighbour_is_later, self.profile.timezone
        )
        facts = {
            "register_m3": register_m3,
            "neighbour_m3": check.neighbour_m3,
            "neighbour": "later" if check.neighbour_is_later else "earlier",
        }
        return [detection(self.profile, alert, Transition.RAISED, raised.get(alert), at_s, words, facts)]

    def accepted(
        self,
        guard: RegisterGuard,
        raised: RaisedConditions,
        meter_id: str,
        at_s: float,
        restarted_from: float | None,
    ) -> list[Detection]:
        """A good reading (or a recognised reset, counting from `restarted_from`)."""
        if meter_id not in guard.faulty:
            return []
        guard.faulty = tuple(m for m in guard.faulty if m != meter_id)
        alert = AlertType.METER_REGISTER_FAULT
        if guard.faulty or alert not in raised:
            return []
        ended = raised.close(alert)
        tz = self.profile.timezone
        if restarted_from is None:
            words = explain.register_consistent(ended.meter_ids, at_s, tz)
            facts: dict[str, float | str] = {"resolved_by": "consistent_reading"}
        else:
            words = explain.register_restarted(meter_id, at_s, restarted_from, tz)
            facts = {"resolved_by": "meter_reset", "restarted_from_m3": restarted_from}
        return [detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, facts)]
