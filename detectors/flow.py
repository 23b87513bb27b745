"""Continuous flow: gas or water running for hours is a safety alert (a stove left
on, a tap left running, a leak).

An interval between consecutive readings counts as flowing when its average
rate reaches the minimum flow and it is short enough to have been observed: a
longer gap breaks the run, because we cannot claim flow we did not see.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from typing import NamedTuple

from carewatch.domain import AlertType, Detection, MeterKind, Transition
from detectors import explain
from detectors.base import EPSILON_M3, RaisedConditions, detection, instant
from detectors.config import HouseholdProfile
from detectors.history import MeterHistory

_ALERT = {MeterKind.GAS: AlertType.GAS_CONTINUOUS, MeterKind.WATER: AlertType.WATER_CONTINUOUS}


class FlowRun(NamedTuple):
    """The run of flowing intervals that ends at the newest reading.

    `start_s == end_s` means the newest interval is not flowing; `gap_s` is that
    interval's length when it was too long to count.

    >>> history = MeterHistory()
    >>> for minute, register in [(0, 1.0), (15, 1.0), (30, 1.01), (45, 1.02)]:
    ...     history.insert(minute * 60.0, register)
    >>> run = flow_run(history, min_flow_m3_per_h=0.02, max_gap_s=3600.0)
    >>> run.start_s / 60, run.end_s / 60, round(run.used_m3, 3)
    (15.0, 45.0, 0.02)
    """

    start_s: float
    end_s: float
    used_m3: float
    gap_s: float


STEADY = 0.25
"""On a coarse meter a run must also be steady: each interval within this share of the
newest one's rate (a burner or an open tap is; boiler cycles and everyday use are not)."""


def flow_run(
    history: MeterHistory, min_flow_m3_per_h: float, max_gap_s: float, steady: bool = False
) -> FlowRun | None:
    """Walk back from the newest reading while intervals are flowing; None with
    fewer than two readings.

    >>> history = MeterHistory()
    >>> for hour, register in [(0, 1.0), (1, 1.3), (2, 1.45), (3, 1.75), (4, 2.05)]:
    ...     history.insert(hour * 3600.0, register)
    >>> flow_run(history, 0.1, 3600.0).start_s / 3600, flow_run(history, 0.1, 3600.0, steady=True).start_s / 3600
    (0.0, 2.0)
    """
    times, registers = history.times, history.registers
    end = history.newest
    if end < 1:
        return None
    newest_span_s = times[end] - times[end - 1]
    flowing = flowing_test(history, min_flow_m3_per_h, max_gap_s, steady)
    if steady:  # judged against the newest rate, which changes with every reading: walked afresh
        i = end
        while i > 0 and flowing(i):
            i -= 1
    else:
        i = history.run_start(("flow", min_flow_m3_per_h, max_gap_s), flowing)
    gap_s = newest_span_s if i == end and newest_span_s > max_gap_s else 0.0
    return FlowRun(times[i], times[end], registers[end] - registers[i], gap_s)


def flowing_test(
    history: MeterHistory, min_flow_m3_per_h: float, max_gap_s: float, steady: bool = False
) -> Callable[[int], bool]:
    """Does the interval that ends at reading i count as flowing: short enough to have been
    observed, at least the least rate, and (`steady`) near the newest interval's rate?
    For a history of two readings or more.

    >>> history = MeterHistory()
    >>> for hour, register in [(0, 1.0), (1, 1.0), (2, 1.2), (6, 2.0)]:
    ...     history.insert(hour * 3600.0, register)
    >>> flowing = flowing_test(history, 0.1, 3600.0)
    >>> flowing(1), flowing(2), flowing(3)  # no use; 0.2 m³ in an hour; a gap of four hours
    (False, True, False)
    """
    times, registers = history.times, history.registers
    end = len(times) - 1
    newest_rate = (registers[end] - registers[end - 1]) / max(times[end] - times[end - 1], 1.0)

    def flowing(i: int) -> bool:
        span_s = times[i] - times[i - 1]
        if span_s > max_gap_s:
            return False
        used = registers[i] - registers[i - 1]
        if used < min_flow_m3_per_h * span_s / 3600 - EPSILON_M3:
            return False
        return not steady or abs(used / span_s - newest_rate) <= STEADY * newest_rate

    return flowing


class ContinuousFlowRule:
    """gas_continuous / water_continuous for one household (critical).

    Raised when the run ending at the newest reading lasts longer than the
    kind's limit, with the start of the run as onset; cleared as soon as the
    newest interval is not flowing.

    >>> from datetime import datetime, UTC
    >>> from detectors.config import MeterProfile
    >>> profile = HouseholdProfile("hh-1", (MeterProfile("gas-1", MeterKind.GAS),))
    >>> rule, raised, gas = ContinuousFlowRule(profile), RaisedConditions(), MeterHistory()
    >>> start = datetime(2024, 1, 5, 10, 5, tzinfo=UTC).timestamp()
    >>> for quarter in range(14):  # 0.03 m³ every 15 min: 0.12 m³/h for 3.25 h
    ...     gas.insert(start + quarter * 900, 2.0 + 0.03 * quarter)
    >>> [alert] = rule.judge({"gas-1": gas}, raised, MeterKind.GAS, start + 13 * 900)
    >>> alert.alert_type.value, alert.transition.value, alert.onset.isoformat()
    ('gas_continuous', 'raised', '2024-01-05T10:05:00+00:00')
    >>> print(alert.explanation.en)
    Gas has been flowing continuously since 10:05 (3.2 h, 0.39 m³) — check whether a stove was left on.
    """

    __slots__ = ("profile", "_meters", "_min_flow", "_coarse", "_max_gap_s", "_limit_s")

    def __init__(self, profile: HouseholdProfile) -> None:
        rules = profile.rules
        self.profile = profile
        self._meters = {kind: tuple(m.meter_id for m in profile.meters_of(kind)) for kind in MeterKind}
        fine = {MeterKind.GAS: rules.gas_min_flow_m3_per_h, MeterKind.WATER: rules.water_min_flow_m3_per_h}
        coarse = {MeterKind.GAS: rules.coarse_gas_flow_m3_per_h, MeterKind.WATER: rules.coarse_water_flow_m3_per_h}
        self._coarse = frozenset(m.meter_id for m in profile.meters if m.interval_s > rules.fine_interval_s)
        self._min_flow = {
            m.meter_id: max(fine[m.kind], coarse[m.kind]) if m.meter_id in self._coarse else fine[m.kind]
            for m in profile.meters
        }
        self._limit_s = {
            MeterKind.GAS: rules.gas_continuous_h * 3600,
            MeterKind.WATER: rules.water_continuous_h * 3600,
        }
        self._max_gap_s = rules.continuity_max_gap_h * 3600

    def _may_outlast(self, history: MeterHistory, meter_id: str, limit_s: float) -> bool:
        """May the run ending at the newest reading last longer than `limit_s`?  Only if every interval
        ending within `limit_s` of the newest reading flows: one of them is looked at, not the run walked
        (a day's use flows for a quarter-hour now and then, seldom for hours).  The one after the first
        of them, so that rounding `times[-1] - limit_s` (which may put the first on the wrong side of
        the limit) can never skip a run that the full judgement would find long enough."""
        times = history.times
        within = min(bisect_right(times, times[-1] - limit_s) + 1, len(times) - 1)
        return flowing_test(history, self._min_flow[meter_id], self._max_gap_s, meter_id in self._coarse)(within)

    def judge(
        self,
        histories: Mapping[str, MeterHistory],
        raised: RaisedConditions,
        kind: MeterKind,
        at_s: float,
    ) -> list[Detection]:
        alert = _ALERT[kind]
        if alert not in raised:
            for m in self._meters[kind]:
                history = histories[m]
                times, registers = history.times, history.registers
                # Does the newest interval flow (at least the least rate over its span), and may its run
                # be long enough to raise?
                if len(times) >= 2 and (
                    registers[-1] - registers[-2] >= self._min_flow[m] * (times[-1] - times[-2]) / 3600 - EPSILON_M3
                ) and self._may_outlast(history, m, self._limit_s[kind]):
                    break
            else:
                return []  # the usual reading: nothing flowing long enough, nothing raised to clear
        runs = {
            meter_id: flow_run(histories[meter_id], self._min_flow[meter_id], self._max_gap_s, meter_id in self._coarse)
            for meter_id in self._meters[kind]
        }
        known = {m: r for m, r in runs.items() if r is not None}
        flowing = {m: r for m, r in known.items() if r.end_s - r.start_s > self._limit_s[kind]}
        tz = self.profile.timezone
        if flowing:
            if alert in raised:
                return []
            flowing_meter, first = min(flowing.items(), key=lambda item: item[1].start_s)
            if not raised.open(alert, first.start_s, tuple(flowing)):
                return []
            words = explain.continuous(kind, first.start_s, first.end_s, first.used_m3, tz)
            facts = {
                "since": instant(first.start_s).isoformat(),
                "hours": round((first.end_s - first.start_s) / 3600, 2),
                "used_m3": round(first.used_m3, 6),
                "rate_m3_per_h": round(first.used_m3 * 3600 / (first.end_s - first.start_s), 6),
                "threshold_h": self._limit_s[kind] / 3600,
                "min_flow_m3_per_h": self._min_flow[flowing_meter],
            }
            return [detection(self.profile, alert, Transition.RAISED, raised.get(alert), at_s, words, facts)]
        stopped = [r for r in known.values() if r.start_s == r.end_s]
        if alert not in raised or not stopped or len(stopped) < len(known):
            # Still flowing on some meter (only not yet long enough): not over.
            return []
        ended = raised.close(alert)
        gap = next((r for r in stopped if r.gap_s), None)
        if gap is not None:
            words = explain.flow_unconfirmed(kind, gap.end_s - gap.gap_s, gap.end_s, tz)
            facts = {"gap_h": round(gap.gap_s / 3600, 2)}
        else:
            words = explain.flow_stopped(kind, at_s, tz)
            facts = {}
        return [detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, facts)]
