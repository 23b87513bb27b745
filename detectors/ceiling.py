"""Daily ceiling: far more gas or water than a person living alone uses in a day
(a leak, a tap left on, someone else in the flat).

Use over the trailing window is measured from the oldest reading inside the
window, never from one before it: the amount is then a lower bound ("at least
6.4 m³"), so a long gap before the window cannot inflate it into a false alert.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping

from carewatch.domain import AlertType, Detection, MeterKind, Transition
from detectors import explain
from detectors.base import EPSILON_M3, RaisedConditions, above, detection, instant
from detectors.config import HouseholdProfile
from detectors.history import MeterHistory

_ALERT = {MeterKind.GAS: AlertType.HIGH_GAS_USE, MeterKind.WATER: AlertType.HIGH_WATER_USE}


def used_in_window(history: MeterHistory, end: int, window_s: float) -> float:
    """At least this much was used in the window ending at reading `end`.

    >>> history = MeterHistory()
    >>> for hour, register in [(0, 10.0), (20, 12.0), (30, 17.0)]:
    ...     history.insert(hour * 3600.0, register)
    >>> used_in_window(history, 2, 24 * 3600.0)  # from the 20 h reading, not the 0 h one
    5.0
    """
    start = history.first_at_or_after(history.times[end] - window_s)
    return history.registers[end] - history.registers[start]


class DailyCeilingRule:
    """high_gas_use / high_water_use for one household (warning).

    Raised when use over the trailing window exceeds the ceiling; the onset is
    the reading at which it first crossed (so a replay finds the same one);
    cleared when back under.

    >>> from datetime import datetime, UTC
    >>> from detectors.config import MeterProfile
    >>> profile = HouseholdProfile("hh-1", (MeterProfile("water-1", MeterKind.WATER),))
    >>> rule, raised, water = DailyCeilingRule(profile), RaisedConditions(), MeterHistory()
    >>> start = datetime(2024, 1, 5, 6, tzinfo=UTC).timestamp()
    >>> for hour, register in [(0, 50.0), (2, 50.9), (3, 51.6), (4, 51.7)]:
    ...     water.insert(start + hour * 3600, register)
    >>> [alert] = rule.judge({"water-1": water}, raised, MeterKind.WATER, start + 4 * 3600)
    >>> alert.onset.isoformat()  # 1.6 m³ by 09:00 crossed the 1.5 m³ ceiling
    '2024-01-05T09:00:00+00:00'
    >>> print(alert.explanation.en)
    High water use: at least 1.7 m³ in the last 24 h by 10:00 (ceiling 1.5 m³).
    """

    __slots__ = ("profile", "_meters", "_ceiling", "_window_s")

    def __init__(self, profile: HouseholdProfile) -> None:
        self.profile = profile
        self._meters = {kind: tuple(m.meter_id for m in profile.meters_of(kind)) for kind in MeterKind}
        self._ceiling = {
            MeterKind.GAS: profile.rules.gas_daily_ceiling_m3,
            MeterKind.WATER: profile.rules.water_daily_ceiling_m3,
        }
        self._window_s = profile.rules.inactivity_window_h * 3600

    def judge(
        self,
        histories: Mapping[str, MeterHistory],
        raised: RaisedConditions,
        kind: MeterKind,
        at_s: float,
    ) -> list[Detection]:
        alert, ceiling = _ALERT[kind], self._ceiling[kind]
        if alert not in raised:
            window_s = self._window_s
            for m in self._meters[kind]:
                history = histories[m]
                times, registers = history.times, history.registers
                # above(used_in_window(history, newest, window_s), ceiling), in its float steps, without the calls.
                if times and registers[-1] - registers[bisect_left(times, times[-1] - window_s)] > ceiling + EPSILON_M3:
                    break
            else:
                return []  # the usual reading: no meter over the ceiling, nothing raised to clear
        window_h, tz = self._window_s / 3600, self.profile.timezone
        used = {
            m: used_in_window(histories[m], histories[m].newest, self._window_s)
            for m in self._meters[kind]
            if len(histories[m])
        }
        over = [m for m, amount in used.items() if above(amount, ceiling)]
        if over:
            if alert in raised:
                return []
            onset_s = min(self._crossed_at(histories[m], ceiling) for m in over)
            if not raised.open(alert, onset_s, tuple(over)):
                return []
            amount = max(used[m] for m in over)
            words = explain.high_use(kind, at_s, amount, ceiling, window_h, tz)
            facts = {
                "since": instant(onset_s).isoformat(),
                "used_m3": round(amount, 6),
                "threshold_m3": ceiling,
                "window_h": window_h,
            }
            return [detection(self.profile, alert, Transition.RAISED, raised.get(alert), at_s, words, facts)]
        if alert not in raised or not used:
            return []
        ended = raised.close(alert)
        amount = max(used.values())
        words = explain.high_use_over(kind, at_s, amount, ceiling, window_h, tz)
        facts = {"used_m3": round(amount, 6), "threshold_m3": ceiling, "window_h": window_h}
        return [detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, facts)]

    def _crossed_at(self, history: MeterHistory, ceiling: float) -> float:
        """The earliest reading of the unbroken stretch, ending at the newest,
        during which the window's use stayed over the ceiling."""
        i = history.newest
        while i > 0 and above(used_in_window(history, i - 1, self._window_s), ceiling):
            i -= 1
        return history.times[i]
