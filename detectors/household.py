"""One household's monitor: readings and ticks in, transitions of alerts out.

Pure and event-time: time arrives only inside readings and ticks.  The state is
the evidence (a short history per meter) and what is currently raised; the
rules are derived from the profile and rebuilt after unpickling, so a Faust
table stores only what a replay could not recompute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carewatch.domain import AlertType, Detection, MeterKind, Reading, RejectReason, Tick
from detectors.base import RaisedConditions, epoch, instant
from detectors.ceiling import DailyCeilingRule
from detectors.config import HouseholdProfile
from detectors.flow import ContinuousFlowRule
from detectors.history import MeterHistory
from detectors.inactivity import InactivityRule
from detectors.register import Outcome, RegisterFaultRule, RegisterGuard
from detectors.silence import SilenceWatch, SilentMeterRule

_STATE_VERSION = 1
"""Bump when the pickled state changes shape, so an old table entry fails loudly."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What the monitor made of one reading.

    >>> Observation(rejection=RejectReason.UNKNOWN_METER, detail="meter x-1 is not registered")
    Observation(detections=(), rejection=<RejectReason.UNKNOWN_METER: 'unknown_meter'>, detail='meter x-1 is not registered', duplicate=False)
    """

    detections: tuple[Detection, ...] = ()
    rejection: RejectReason | None = None
    detail: str = ""
    duplicate: bool = False


class HouseholdMonitor:
    """Watches one household through its meters.

    `observe` judges a reading and re-evaluates the rules its meter affects;
    `tick` judges the passage of time (silent meters).  Both return
    transitions: an alert is RAISED once and CLEARED once.

    >>> from datetime import datetime, timedelta, UTC
    >>> from zoneinfo import ZoneInfo
    >>> from detectors.config import MeterProfile
    >>> profile = HouseholdProfile(
    ...     "hh-0007",
    ...     (MeterProfile("gas-0007", MeterKind.GAS), MeterProfile("water-0007", MeterKind.WATER)),
    ...     timezone=ZoneInfo("Asia/Shanghai"),
    ... )
    >>> monitor = HouseholdMonitor(profile)
    >>> start = datetime(2024, 1, 5, 11, 40, tzinfo=UTC)  # 19:40 in Shanghai
    >>> def reading(meter, kind, hours, register):
    ...     at = start + timedelta(hours=hours)
    ...     return Reading("hh-0007", meter, kind, at, register)
    >>> for hour in range(0, 27):  # water used every third hour, the gas never
    ...     for observation in (
    ...         monitor.observe(reading("gas-0007", MeterKind.GAS, hour, 81.2)),
    ...         monitor.observe(reading("water-0007", MeterKind.WATER, hour, 40 + 0.05 * (hour // 3))),
    ...     ):
    ...         for detection in observation.detections:
    ...             print(detection.alert_id, detection.transition.value, detection.at.hour)
    hh-0007.no_gas_24h.20240105T114000Z raised 11
    >>> monitor.observe(reading("gas-0007", MeterKind.GAS, 26, 81.2)).duplicate
    True
    >>> monitor.observe(reading("gas-0007", MeterKind.GAS, 26, 81.3)).rejection.value
    'conflicting_duplicate'
    >>> [d.alert_type.value for d in monitor.tick(Tick(start + timedelta(hours=28)))]
    ['meter_silent']
    """

    __slots__ = (
        "_profile",
        "_histories",
        "_raised",
        "_guard",
        "_silence",
        "_keep_s",
        "_min_use",
        "_inactivity",
        "_flow",
        "_ceiling",
        "_silent",
        "_faults",
    )

    def __init__(self, profile: HouseholdProfile) -> None:
        self._histories: dict[str, MeterHistory] = {}
        self._raised = RaisedConditions()
        self._guard = RegisterGuard()
        self._silence = SilenceWatch()
        self._profile = profile
        self.profile = profile

    @property
    def profile(self) -> HouseholdProfile:
        return self._profile

    @profile.setter
    def profile(self, profile: HouseholdProfile) -> None:
        """A changed profile (new thresholds in the registry) takes effect at once.

        The rules are re-derived from it; a new meter starts with no history,
        and the evidence of a meter no longer listed is dropped.
        """
        if profile.household_id != self._profile.household_id:
            raise ValueError(
                f"a monitor belongs to household {self._profile.household_id}, "
                f"not {profile.household_id}: create a new HouseholdMonitor"
            )
        self._profile = profile
        self._histories = {
            m.meter_id: self._histories.get(m.meter_id) or MeterHistory() for m in profile.meters
        }
        self._derive_rules()

    def _derive_rules(self) -> None:
        profile, rules = self.profile, self.profile.rules
        window_s, gap_s = rules.inactivity_window_h * 3600, rules.continuity_max_gap_h * 3600
        # Keep a whole window for the inactivity and ceiling rules, and enough for
        # a continuous run to be seen from its start even if it outlasts the window.
        self._keep_s = {
            MeterKind.GAS: max(window_s, rules.gas_continuous_h * 3600 + gap_s),
            MeterKind.WATER: max(window_s, rules.water_continuous_h * 3600 + gap_s),
        }
        self._min_use = {MeterKind.GAS: rules.gas_min_use_m3, MeterKind.WATER: rules.water_min_use_m3}
        self._inactivity = InactivityRule(profile)
        self._flow = ContinuousFlowRule(profile)
        self._ceiling = DailyCeilingRule(profile)
        self._silent = SilentMeterRule(profile)
        self._faults = RegisterFaultRule(profile)

    def observe(self, reading: Reading) -> Observation:
        meter = self.profile.meter(reading.meter_id)
        if meter is None or reading.household_id != self.profile.household_id or reading.kind != meter.kind:
            return Observation(rejection=RejectReason.UNKNOWN_METER, detail=self._unknown(reading))
        meter_id, kind = meter.meter_id, meter.kind
        at_s, register_m3 = epoch(reading.at), reading.register_m3
        if not math.isfinite(register_m3) or register_m3 < 0:
            # Ingest refuses these; one slipping through must not poison the history.
            return Observation(
                rejection=RejectReason.INVALID_VALUE,
                detail=f"meter {meter_id}: register {register_m3!r} m³ is not a finite, non-negative number",
            )
        history = self._histories[meter_id]
        if at_s < history.horizon:
            return Observation(
                detail=f"meter {meter_id}: reading at {reading.at.isoformat()} is older than the kept "
                f"history (from {instant(history.horizon).isoformat()}); accepted, but too late to "
                "change any verdict"
            )
        check = self._guard.check(meter_id, history, at_s, register_m3)
        if check.outcome is Outcome.DUPLICATE:
            return Observation(duplicate=True)
        if check.outcome is Outcome.CONFLICT:
            return Observation(rejection=RejectReason.CONFLICTING_DUPLICATE, detail=check.detail)
        if check.outcome is Outcome.BACKWARDS:
            faults = self._faults.rejected(self._guard, self._raised, meter_id, check, at_s, register_m3)
            return Observation(
                detections=tuple(faults), rejection=RejectReason.REGISTER_WENT_BACKWARDS, detail=check.detail
            )

        previous_newest_s = history.times[history.newest] if len(history) else -math.inf
        detail = ""
        if check.outcome is Outcome.RESTART:
            times, registers = zip(*check.restart, strict=True)
            history.restart(list(times), list(registers))
            restarted_from: float | None = registers[0]
            detail = (
                f"meter {meter_id}: {len(times)} agreeing readings below the old register; taken as a "
                f"reset or replaced meter, counting restarts from {registers[0]} m³"
            )
        else:
            history.insert(at_s, register_m3)
            restarted_from = None
        newest_s = history.times[history.newest]
        detections = self._faults.accepted(self._guard, self._raised, meter_id, newest_s, restarted_from)
        detections += self._silent.heard(self._silence, self._raised, meter_id, previous_newest_s, newest_s)
        history.prune(self._keep_s[kind], self._min_use[kind])
        detections += self._inactivity.judge(self._histories, self._raised, newest_s)
        detections += self._flow.judge(self._histories, self._raised, kind, newest_s)
        detections += self._ceiling.judge(self._histories, self._raised, kind, newest_s)
        return Observation(detections=tuple(detections), detail=detail)

    def tick(self, tick: Tick) -> tuple[Detection, ...]:
        return tuple(self._silent.tick(self._histories, self._silence, self._raised, epoch(tick.at)))

    def raised(self) -> dict[AlertType, datetime]:
        """The alerts raised right now, with their onsets (for status pages and tests)."""
        return {alert: instant(entry.onset_s) for alert, entry in self._raised.items()}

    def _unknown(self, reading: Reading) -> str:
        meter = self.profile.meter(reading.meter_id)
        if meter is None:
            known = ", ".join(m.meter_id for m in self.profile.meters)
            return (
                f"meter {reading.meter_id} is not registered to household {self.profile.household_id} "
                f"(its meters: {known}); register it or fix the gateway's meter list"
            )
        if reading.household_id != self.profile.household_id:
            return (
                f"meter {reading.meter_id} belongs to household {self.profile.household_id}, "
                f"not {reading.household_id}; check the registry"
            )
        return (
            f"meter {reading.meter_id} is registered as {meter.kind.value}, but the reading says "
            f"{reading.kind}; check the registry"
        )

    def __getstate__(self) -> tuple[object, ...]:
        # Rules are configuration derived from the profile: not stored.
        return (_STATE_VERSION, self.profile, self._histories, self._raised, self._guard, self._silence)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        version, *rest = state
        if version != _STATE_VERSION:
            raise ValueError(
                f"HouseholdMonitor state version {version} is not {_STATE_VERSION}; "
                "rebuild the table by replaying the readings"
            )
        self._profile, self._histories, self._raised, self._guard, self._silence = rest
        self._derive_rules()

    def __repr__(self) -> str:
        return f"HouseholdMonitor({self.profile.household_id!r}, raised={self._raised!r})"
