"""The seed rule: no gas (or water) used over the trailing window means an elder
may need help — judged from evidence only.

A meter is "quiet at b" when, b being its newest reading and a the newest
reading at least one window before b, the register moved less than the
threshold from a to b, and no use of a litre or more (a use, as the learned
detectors count one) surely came within that window: a quiet spell that ended
before its window was complete is over, not an incident.  Without such an a
there is no verdict: missing data is never "no use", so a silent meter can never
raise an inactivity alert.  Because the register is cumulative, the first
reading after a gap covers the gap and a genuinely idle household is still
caught; a litre or two across a gap that began a window ago may have run at any
time in it (a dripping tap), so it does not end the spell.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from typing import NamedTuple

from carewatch.domain import AlertType, Detection, MeterKind, Transition
from detectors import explain
from detectors.base import EPSILON_M3, INACTIVITY_ALERTS, RaisedConditions, below, detection, instant
from detectors.config import HouseholdProfile
from detectors.history import MeterHistory
from detectors.routine import USE_STEP_M3

_SINGLE = {MeterKind.GAS: AlertType.NO_GAS_24H, MeterKind.WATER: AlertType.NO_WATER_24H}


class Usage(NamedTuple):
    """A verdict over the trailing window ending at the reading at `at_s`.

    `since_s` is when the quiet began (the end of the last real use); it is
    NaN when the window was not quiet.

    >>> history = MeterHistory()  # a gap of 25 h: the 9.9 L may have run at any time in it
    >>> for hour, register in [(0, 1.0), (25, 1.0099)]:
    ...     history.insert(hour * 3600.0, register)
    >>> usage = usage_of(history, 25 * 3600.0, window_s=24 * 3600.0, min_use_m3=0.01)
    >>> usage.quiet, round(usage.used_m3, 4), usage.since_s / 3600
    (True, 0.0099, 0.0)
    """

    quiet: bool
    used_m3: float
    since_s: float
    at_s: float


def use_step(min_use_m3: float) -> float:
    """The least rise between two readings that is a use, ending a quiet spell: a litre (as the
    learned detectors count a use), or a tenth of a higher threshold — a household whose
    threshold was raised (a boiler, a pilot flame) has that much gas used with nobody up.

    >>> use_step(0.01), use_step(0.2)
    (0.001, 0.02)
    """
    return max(USE_STEP_M3, min_use_m3 / 10)


def usage_of(history: MeterHistory, at_s: float, window_s: float, min_use_m3: float) -> Usage | None:
    """The verdict of one meter at its newest reading at or before `at_s`; None
    when the history does not reach a whole window back.

    Less than the threshold over the window is quiet unless a use (a rise of
    `use_step` or more between two readings) surely came inside it: then the
    quiet spell ended less than a window ago.  The spell is quiet since the end of
    the last use, or of the last `min_use_m3`, whichever is later.

    >>> history = MeterHistory()
    >>> for hour, register in [(0, 1.0), (22, 1.0), (22.25, 1.002), (24, 1.002)]:
    ...     history.insert(hour * 3600.0, register)
    >>> usage_of(history, 24 * 3600.0, window_s=24 * 3600.0, min_use_m3=0.01).quiet  # 2 L at 22 h
    False
    """
    b = history.at_or_before(at_s)
    if b < 0:
        return None
    a = history.at_or_before(history.times[b] - window_s)
    if a < 0:
        return None
    times, registers = history.times, history.registers
    used = registers[b] - registers[a]
    if not below(used, min_use_m3):
        return Usage(False, used, math.nan, times[b])
    window_start_s, step_m3 = times[b] - window_s, use_step(min_use_m3)
    start = history.quiet_since(b, min_use_m3)
    i = history.last_rise(b, start, step_m3)
    while i > start:
        if times[i - 1] >= window_start_s:  # surely used inside the window: the spell is over
            return Usage(False, used, math.nan, times[b])
        if times[i] <= window_start_s:  # used before the window: the spell began when that use ended
            start = i
            break
        # A step across a gap that began before the window: its use may be older; look further back.
        i = history.last_rise(i - 1, start, step_m3)
    return Usage(True, used, times[start], times[b])


def combine(usages: list[Usage | None]) -> Usage | None:
    """Several meters of one kind: use on any of them is use; quiet needs all of
    them quiet, and the kind is quiet only since the latest of their quiets."""
    known = [u for u in usages if u is not None]
    active = [u for u in known if not u.quiet]
    used = sum(u.used_m3 for u in known)
    at_s = max((u.at_s for u in known), default=math.nan)
    if active:
        return Usage(False, used, math.nan, at_s)
    if not known or len(known) < len(usages):
        return None
    return Usage(True, used, max(u.since_s for u in known), at_s)


class InactivityRule:
    """No gas, no water, or no activity at all, for one household.

    With both kinds of meter: gas quiet while water is not → no_gas_24h
    (warning); the reverse → no_water_24h; both quiet over the same window
    (judged at the older of the meters' newest readings) → no_activity_24h
    (critical), which takes over an open no_gas / no_water alert so duty staff
    see one alert per incident.  With one kind only, its alert is critical.
    Whatever the learned detectors have said, these are raised: a learned
    warning is escalated into the critical alert (HouseholdMonitor), never a
    reason to hold it back.  A use of a litre or more clears at once.

    >>> from datetime import datetime, UTC
    >>> from detectors.config import MeterProfile
    >>> profile = HouseholdProfile("hh-1", (MeterProfile("gas-1", MeterKind.GAS),))
    >>> rule, raised, gas = InactivityRule(profile), RaisedConditions(), MeterHistory()
    >>> start = datetime(2024, 1, 5, 8, tzinfo=UTC).timestamp()
    >>> for hour, register in [(0, 3.2), (1, 3.5), (26, 3.5)]:
    ...     gas.insert(start + hour * 3600, register)
    >>> [alert] = rule.judge({"gas-1": gas}, raised, start + 26 * 3600)
    >>> alert.alert_id, alert.severity.value
    ('hh-1.no_gas_24h.20240105T090000Z', 'critical')
    >>> print(alert.explanation.en)
    No gas used since 09:00 on 01-05 (25.0 h); less than 0.01 m³ in the last 24 h.
    >>> rule.judge({"gas-1": gas}, raised, start + 26 * 3600)  # raised once, not every reading
    []
    """

    __slots__ = ("profile", "_meters", "_window_s", "_min_use", "_wait_s", "_away", "_quiet_below")

    def __init__(self, profile: HouseholdProfile) -> None:
        rules = profile.rules
        self.profile = profile
        self._meters = {
            kind: tuple(m.meter_id for m in profile.meters_of(kind))
            for kind in MeterKind
            if profile.meters_of(kind)
        }
        self._window_s = rules.inactivity_window_h * 3600
        self._min_use = {MeterKind.GAS: rules.gas_min_use_m3, MeterKind.WATER: rules.water_min_use_m3}
        # Each meter with the use under which its window may be quiet: below(used, min use + 2 ε), worked
        # out once, in the same float steps, for the quick look every reading takes.
        self._quiet_below = tuple(
            (meter_id, self._min_use[kind] + 2 * EPSILON_M3 - EPSILON_M3)
            for kind, meters in self._meters.items()
            for meter_id in meters
        )
        # How long the verdict waits for a lagging meter: as long as it may lag
        # before the silence rule calls it silent.
        self._wait_s = {m.meter_id: m.silent_after_s(rules.silent_after_intervals) for m in profile.meters}
        self._away = tuple((w.start.timestamp(), w.end.timestamp()) for w in profile.away)

    def _away_during(self, at_s: float) -> bool:
        """Does a planned absence overlap the window ending at `at_s`?  Then its quiet is
        expected: no inactivity verdict until a whole window after the return."""
        return any(start_s < at_s and end_s > at_s - self._window_s for start_s, end_s in self._away)

    def judge(
        self, histories: Mapping[str, MeterHistory], raised: RaisedConditions, at_s: float
    ) -> list[Detection]:
        """Transitions of the inactivity alerts given the evidence now held."""
        if not raised.any_of(INACTIVITY_ALERTS) and not self._any_meter_quiet_now(histories):
            # Fast path, the usual reading: every meter shows use in its latest window (or has
            # no window yet), and an alert needs a kind quiet now; nothing raised to clear.
            return []
        newest = {
            m: histories[m].times[histories[m].newest]
            for kinds in self._meters.values()
            for m in kinds
            if len(histories[m])
        }
        if not newest:
            return []
        # Judge where the household's evidence is complete: at the oldest newest
        # reading among the meters keeping up.  Then "gas quiet, water not" never
        # rests on water readings that have not arrived yet; but a meter lagging
        # beyond its silence threshold is not waited for, so a broken water
        # meter cannot hide that the gas is unused.
        now = {kind: self._usage(histories, kind, math.inf) for kind in self._meters}
        if not raised.any_of(INACTIVITY_ALERTS) and all(u is None or not u.quiet for u in now.values()):
            # Fast path, the usual reading: every kind shows use in its latest window (or has
            # no window yet), and an alert needs a kind quiet now; nothing raised to clear.
            return []
        latest_s = max(newest.values())
        judged_s = min(s for m, s in newest.items() if s >= latest_s - self._wait_s[m])
        judged = {kind: self._usage(histories, kind, judged_s) for kind in self._meters}
        out: list[Detection] = []
        if len(self._meters) == 2 and len(newest) == sum(len(k) for k in self._meters.values()):
            out += self._judge_household(histories, raised, min(newest.values()), now, judged, at_s)
        for kind in self._meters:
            out += self._judge_single(histories, kind, now, judged, raised, at_s)
        return out

    def _any_meter_quiet_now(self, histories: Mapping[str, MeterHistory]) -> bool:
        """Could any kind be quiet over the window ending at its newest reading?  (A kind is
        quiet only if each of its meters is: one quiet meter is enough to look closer.)"""
        window_s = self._window_s
        for meter_id, quiet_below in self._quiet_below:
            history = histories[meter_id]
            times = history.times
            if times:
                anchor = bisect_right(times, times[-1] - window_s) - 1
                if anchor >= 0 and history.registers[-1] - history.registers[anchor] < quiet_below:
                    return True
        return False

    def _usage(self, histories: Mapping[str, MeterHistory], kind: MeterKind, at_s: float) -> Usage | None:
        meters = self._meters[kind]
        if len(meters) == 1:  # the usual household: no combining to do
            return usage_of(histories[meters[0]], at_s, self._window_s, self._min_use[kind])
        return combine(
            [
                usage_of(histories[m], at_s, self._window_s, self._min_use[kind])
                for m in self._meters[kind]
            ]
        )

    def _quiet_since(self, histories: Mapping[str, MeterHistory], kind: MeterKind, since_s: float) -> bool:
        """Less than the threshold, and no single use, on this kind's meters from `since_s` to their
        newest readings: the spell that began then is still going."""
        anchors = {m: histories[m].at_or_before(since_s) for m in self._meters[kind]}
        if min(anchors.values()) < 0:
            return False
        used = sum(histories[m].registers[histories[m].newest] - histories[m].registers[a] for m, a in anchors.items())
        if not below(used, self._min_use[kind]):
            return False
        # Less than the threshold since then: few register values to pass looking for a use.
        step_m3 = use_step(self._min_use[kind])
        return all(histories[m].last_rise(histories[m].newest, a, step_m3) == a for m, a in anchors.items())

    def _judge_household(
        self,
        histories: Mapping[str, MeterHistory],
        raised: RaisedConditions,
        common_s: float,
        now: dict[MeterKind, Usage | None],
        judged: dict[MeterKind, Usage | None],
        at_s: float,
    ) -> list[Detection]:
        """no_activity_24h: both kinds quiet over one window, judged at the time
        up to which every meter has reported, so neither quiet rests on a
        window the other meter did not cover."""
        then = {kind: self._usage(histories, kind, common_s) for kind in self._meters}
        active = [
            kind
            for kind in self._meters
            for usage in (now[kind], judged[kind], then[kind])
            if usage is not None and not usage.quiet
        ]
        alert = AlertType.NO_ACTIVITY_24H
        gas, water = then[MeterKind.GAS], then[MeterKind.WATER]
        if gas is not None and water is not None and gas.quiet and water.quiet and not active and not self._away_during(common_s):
            since_s = max(gas.since_s, water.since_s)
            meters = self._meters[MeterKind.GAS] + self._meters[MeterKind.WATER]
            if alert in raised or not raised.open(alert, since_s, meters):
                return []
            words = explain.no_use(
                {kind: self._min_use[kind] for kind in self._meters},
                since_s,
                common_s,
                self._window_s / 3600,
                self.profile.timezone,
            )
            facts = {
                "since": instant(since_s).isoformat(),
                "hours": round((common_s - since_s) / 3600, 2),
                "gas_used_m3": round(gas.used_m3, 6),
                "water_used_m3": round(water.used_m3, 6),
                "gas_threshold_m3": self._min_use[MeterKind.GAS],
                "water_threshold_m3": self._min_use[MeterKind.WATER],
                "window_h": self._window_s / 3600,
                "judged_at": instant(common_s).isoformat(),
            }
            out = [detection(self.profile, alert, Transition.RAISED, raised.get(alert), at_s, words, facts)]
            for kind in self._meters:  # one alert per incident: fold the single ones in
                single = _SINGLE[kind]
                if single in raised:
                    ended = raised.close(single)
                    words = explain.escalated(kind, at_s, self.profile.timezone)
                    facts = {"escalated_into": alert.value}
                    out.append(detection(self.profile, single, Transition.CLEARED, ended, at_s, words, facts))
            return out
        if alert not in raised or not active:
            return []
        kind = active[0]
        usage = next(u for u in (now[kind], judged[kind], then[kind]) if u is not None and not u.quiet)
        other = MeterKind.WATER if kind is MeterKind.GAS else MeterKind.GAS
        still = now[other]
        still_unused = None
        if still is not None and still.quiet:
            # The clearing words say the other meter is still quiet; that quiet
            # belongs to this incident and gets no alert of its own.
            still_unused = (other, still.since_s)
            raised.settle(_SINGLE[other], still.since_s)
        ended = raised.close(alert)
        words = explain.use_resumed(
            kind, at_s, usage.used_m3, self._window_s / 3600, self.profile.timezone, still_unused
        )
        facts = {"resumed": kind.value, "used_m3": round(usage.used_m3, 6)}
        return [detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, facts)]

    def _judge_single(
        self,
        histories: Mapping[str, MeterHistory],
        kind: MeterKind,
        now: dict[MeterKind, Usage | None],
        judged: dict[MeterKind, Usage | None],
        raised: RaisedConditions,
        at_s: float,
    ) -> list[Detection]:
        """no_gas_24h / no_water_24h.  Unknown (not enough history) changes nothing."""
        alert, window_h = _SINGLE[kind], self._window_s / 3600
        fresh = [u for u in (now[kind], judged[kind]) if u is not None and not u.quiet]
        if alert in raised:
            if not fresh:
                return []
            ended = raised.close(alert)
            words = explain.use_resumed(kind, at_s, fresh[0].used_m3, window_h, self.profile.timezone)
            facts = {"used_m3": round(fresh[0].used_m3, 6), "window_h": window_h}
            return [detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, facts)]
        usage = judged[kind]
        if usage is None or not usage.quiet or fresh or AlertType.NO_ACTIVITY_24H in raised:
            return []
        if self._away_during(usage.at_s):
            return []
        if any(u is not None and u.quiet for k, u in judged.items() if k is not kind):
            # Both quiet: no_activity_24h speaks for the household once it has
            # the joint evidence; a second single alert would only add noise.
            return []
        told_s = raised.told(alert)
        if told_s is not None and told_s < usage.since_s and self._quiet_since(histories, kind, told_s):
            # The same quiet spell, told already: its start only looks later because a
            # trickle below the threshold ran through since.
            return []
        if not raised.open(alert, usage.since_s, self._meters[kind]):
            return []
        words = explain.no_use(
            {kind: self._min_use[kind]}, usage.since_s, usage.at_s, window_h, self.profile.timezone
        )
        facts = {
            "since": instant(usage.since_s).isoformat(),
            "hours": round((usage.at_s - usage.since_s) / 3600, 2),
            "used_m3": round(usage.used_m3, 6),
            "threshold_m3": self._min_use[kind],
            "window_h": window_h,
        }
        return [detection(self.profile, alert, Transition.RAISED, raised.get(alert), at_s, words, facts)]
