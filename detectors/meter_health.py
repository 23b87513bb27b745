"""Meter health: battery, radio signal, last heard and the flags a meter reports about itself.

All of it is for a technician, never evidence about the elder: a low battery, a weak signal or a
tamper flag says nothing about whether anyone used gas or water.  The rules avoid false alarms:

- battery: the meter's own reading, with hysteresis (raised below `battery_low_pct`, cleared only
  above `battery_ok_pct`), so a battery near the line does not raise and clear every day;
- signal: the median of the hourly signal over `weak_signal_days`, judged only once that long has
  been watched, so one bad reading (a van parked by the meter) never raises anything;
- flags: as the meter reports them in its status word (`flags_in`), raised when a flag appears,
  cleared by a newer reading whose status word no longer carries it.

Only the newest reading of a meter says how it is now: a late copy of an older one changes
nothing but the signal's hourly record.  One alert of each type covers every meter of the
household in that condition (its onset: the reading that brought the first meter into it).
"""

from __future__ import annotations

import functools
import math
import re
from array import array
from bisect import bisect_left, insort
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from carewatch.domain import AlertType, Detection, Explanation, MeterFlag, MeterKind, Reading, Transition
from detectors import explain
from detectors.base import RaisedConditions, detection, epoch, instant
from detectors.config import HouseholdProfile, MeterProfile, RuleConfig

HEALTH_ALERTS = (
    AlertType.METER_LOW_BATTERY,
    AlertType.METER_WEAK_SIGNAL,
    AlertType.METER_TAMPER,
    AlertType.METER_LEAK,
    AlertType.METER_VALVE_CLOSED,
)
"""The alerts of this rule, in the order it judges them (so a replay emits them in the same order)."""
_HEALTH_SET = frozenset(HEALTH_ALERTS)

_FLAG_WORDS = {
    # The contract's words (docs/mqtt-contract.md) and wmbusmeters' status words (docs/gateways.md).
    "tamper": MeterFlag.TAMPER,
    "tampered": MeterFlag.TAMPER,
    "leak": MeterFlag.LEAK,
    "leaking": MeterFlag.LEAK,
    "burst": MeterFlag.LEAK,
    "bursting": MeterFlag.LEAK,
    "valve_closed": MeterFlag.VALVE_CLOSED,
}
_WORD = re.compile(r"[a-z0-9_]+")
_NO_SAMPLE = 127
"""An hour without a signal reading (signals are at most 0 dBm)."""
_SHIFT = 128
"""The ordered samples are kept as sample + 128 (0 to 128): Python's own small ints, one object each
that every list shares, so the bisections of a reading compare objects already in the CPU's cache, not
ints scattered over the heap (measured: half the cost of a bisection out and one in, over 1,000 households)."""
_MIN_SIGNAL_SAMPLES = 3
"""Hours with a signal reading needed to judge it, however long it was watched."""


@functools.lru_cache(maxsize=256)  # a meter repeats its status word in every reading
def flags_in(status: str | None) -> frozenset[MeterFlag]:
    """The flags a status word carries; case, spaces and separators do not matter, unknown words are ignored.

    >>> sorted(flags_in("TAMPER LEAK"))
    [<MeterFlag.LEAK: 'leak'>, <MeterFlag.TAMPER: 'tamper'>]
    >>> flags_in("ok"), flags_in("DRY"), flags_in(None)
    (frozenset(), frozenset(), frozenset())
    >>> flags_in("valve_closed,BURST") == {MeterFlag.VALVE_CLOSED, MeterFlag.LEAK}
    True
    """
    if not status:
        return frozenset()
    return frozenset(_FLAG_WORDS[w] for w in _WORD.findall(status.lower()) if w in _FLAG_WORDS)


@functools.lru_cache(maxsize=256)
def _conditions(status: str | None, battery_low: bool, weak_signal: bool) -> frozenset[AlertType]:
    found = {flag.alert_type for flag in flags_in(status)}
    if battery_low:
        found.add(AlertType.METER_LOW_BATTERY)
    if weak_signal:
        found.add(AlertType.METER_WEAK_SIGNAL)
    return frozenset(found)


def _median_of(ordered: list[int]) -> float | None:
    """statistics.median's arithmetic, on samples already in order and shifted by `_SHIFT` (None: no samples).

    >>> _median_of([s + _SHIFT for s in (-90, -85, -80)]), _median_of([s + _SHIFT for s in (-90, -85)])
    (-85.0, -87.5)
    """
    n = len(ordered)
    if not n:
        return None
    if n % 2:
        return float(ordered[n // 2] - _SHIFT)
    return ((ordered[n // 2 - 1] - _SHIFT) + (ordered[n // 2] - _SHIFT)) / 2


class HealthLimits(NamedTuple):
    """The thresholds of the rule, from the household's rules.

    >>> HealthLimits.of(RuleConfig()).signal_hours
    72
    """

    battery_low_pct: float
    battery_ok_pct: float
    weak_signal_dbm: float
    signal_ok_dbm: float
    signal_hours: int

    @classmethod
    def of(cls, rules: RuleConfig) -> HealthLimits:
        hours = max(1, round(rules.weak_signal_days * 24))
        return cls(rules.battery_low_pct, rules.battery_ok_pct, rules.weak_signal_dbm, rules.signal_ok_dbm, hours)


class MeterVitals:
    """What one meter last said about itself, and whether it is in a bad way.

    `learn_one` takes a reading's battery, signal and status; the verdicts (`battery_low`,
    `weak_signal`, `flags`) follow with their hysteresis.  The signal is kept as one value
    per hour (the last of the hour) for the judged window, in a ring of signed bytes:
    72 bytes a meter for three days, whatever the reading interval.

    >>> limits = HealthLimits(15.0, 25.0, -110.0, -105.0, 72)
    >>> vitals = MeterVitals()
    >>> hour = 3600.0
    >>> for n, battery in enumerate((30, 14, 20, 24, 26)):  # hysteresis: low below 15, well again only above 25
    ...     vitals.learn_one(n * hour, battery, None, None, limits)
    ...     print(battery, vitals.battery_low)
    30 False
    14 True
    20 True
    24 True
    26 False
    >>> vitals.learn_one(5 * hour, None, -121.0, None, limits)  # one bad reading: not judged yet
    >>> vitals.weak_signal, vitals.signal_median_dbm()
    (False, -121.0)
    >>> for h in range(6, 6 + 72):
    ...     vitals.learn_one(h * hour, None, -115.0 if h % 2 else -116.0, "TAMPER", limits)
    >>> vitals.weak_signal, vitals.signal_median_dbm(), [f.value for f in vitals.flags]
    (True, -115.5, ['tamper'])
    """

    __slots__ = (
        "heard_s", "battery_pct", "signal_dbm", "status", "battery_low", "weak_signal",
        "_signal", "_signal_hour", "_first_hour", "_sorted", "_median", "conditions_now",
    )

    def __init__(self) -> None:
        self.heard_s: float | None = None
        """When the newest reading was taken."""
        self.battery_pct: float | None = None
        self.signal_dbm: float | None = None
        self.status: str | None = None
        """The newest status word the meter sent (None: it never sent one)."""
        self.battery_low = False
        self.weak_signal = False
        self._signal: array[int] | None = None
        self._signal_hour = 0
        self._first_hour = 0
        self._sorted: list[int] | None = None
        """The ring's samples in order, each plus `_SHIFT` (None: no ring), kept up as the ring changes
        (derived, not pickled): the median of a 72-hour window costs two bisections a reading, not a sort."""
        self._median: float | None = None
        """The median of `_sorted`, worked out when the samples change (derived), not each time it is asked."""
        self.conditions_now: frozenset[AlertType] = frozenset()
        """The health alerts this meter is in now (`conditions`), worked out when its status or a verdict
        changes (derived): every reading asks whether any meter is unwell."""

    @property
    def flags(self) -> frozenset[MeterFlag]:
        return flags_in(self.status)

    def learn_one(
        self, at_s: float, battery_pct: float | None, signal_dbm: float | None, status: str | None, limits: HealthLimits
    ) -> None:
        if signal_dbm is not None:
            self._record_signal(at_s, signal_dbm, limits.signal_hours)
        if self.heard_s is not None and at_s < self.heard_s:
            return  # a late reading: the meter's state now is what its newest reading said
        self.heard_s = at_s
        # The verdicts in locals, stored only when they change: every reading of every meter comes here.
        was_status, was_low, was_weak = self.status, self.battery_low, self.weak_signal
        if battery_pct is None:
            battery_pct = self.battery_pct
        else:
            self.battery_pct = battery_pct
        if signal_dbm is not None:
            self.signal_dbm = signal_dbm
        if status is not None:
            self.status = status
        low = was_low
        if battery_pct is not None:
            if low and battery_pct > limits.battery_ok_pct:
                low = False
            elif not low and battery_pct < limits.battery_low_pct:
                low = True
        weak = was_weak
        median = self._judged_median(limits.signal_hours)
        if median is not None:  # watched long enough to judge
            if weak and median > limits.signal_ok_dbm:
                weak = False
            elif not weak and median < limits.weak_signal_dbm:
                weak = True
        if low != was_low or weak != was_weak or self.status != was_status:
            self.battery_low, self.weak_signal = low, weak
            self.conditions_now = _conditions(self.status, low, weak)

    def conditions(self) -> frozenset[AlertType]:
        """The health alerts this meter is in now."""
        return self.conditions_now

    def signal_median_dbm(self) -> float | None:
        """The median of the hourly signal over the window (None: no signal heard in it)."""
        return self._median

    def _set_sample(self, ring: array, slot: int, sample: int) -> None:
        """Put a sample (or _NO_SAMPLE) in the ring's slot, keeping the ordered samples and their median in step."""
        old = ring[slot]
        if old == sample:
            return
        ring[slot] = sample
        ordered = self._sorted
        assert ordered is not None  # kept with the ring
        if old != _NO_SAMPLE:
            del ordered[bisect_left(ordered, old + _SHIFT)]
        if sample != _NO_SAMPLE:
            insort(ordered, sample + _SHIFT)
        self._median = _median_of(ordered)

    def _judged_median(self, hours: int) -> float | None:
        """The signal's median, once watched long enough to judge it (None before)."""
        ordered = self._sorted  # None exactly while there is no ring
        if ordered is None or len(ordered) < _MIN_SIGNAL_SAMPLES or self._signal_hour - self._first_hour + 1 < hours:
            return None
        return self._median

    def _record_signal(self, at_s: float, dbm: float, hours: int) -> None:
        hour = math.floor(at_s / 3600)
        ring = self._signal
        if ring is None or len(ring) != hours:  # first signal, or the window was changed: watch afresh
            ring = self._signal = array("b", [_NO_SAMPLE] * hours)
            self._signal_hour = self._first_hour = hour
            self._sorted, self._median = [], None
        if hour > self._signal_hour:
            # The hours skipped hold no sample; this hour's slot is written just below.
            for skipped in range(max(self._signal_hour + 1, hour - hours + 1), hour):
                self._set_sample(ring, skipped % hours, _NO_SAMPLE)
            self._signal_hour = hour
        elif hour <= self._signal_hour - hours:
            return  # older than the window
        sample = round(dbm)  # kept in a signed byte, and signals are at most 0 dBm
        if sample > 0:
            sample = 0
        elif sample < -128:
            sample = -128
        slot = hour % hours
        if ring[slot] != sample:  # the usual reading of an hour already heard at this signal: nothing to keep
            self._set_sample(ring, slot, sample)
        if hour < self._first_hour:
            self._first_hour = hour

    def __getstate__(self) -> tuple[object, ...]:
        # A plain tuple, the ring as bytes: pickled once per meter in every saved household state.
        ring = None if self._signal is None else self._signal.tobytes()
        return (
            self.heard_s, self.battery_pct, self.signal_dbm, self.status, self.battery_low, self.weak_signal,
            ring, self._signal_hour, self._first_hour,
        )

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (
            self.heard_s, self.battery_pct, self.signal_dbm, self.status, self.battery_low, self.weak_signal,
            ring, self._signal_hour, self._first_hour,
        ) = state
        self._signal = None if ring is None else array("b", ring)
        self._sorted = None if self._signal is None else sorted(v + _SHIFT for v in self._signal if v != _NO_SAMPLE)
        self._median = None if self._sorted is None else _median_of(self._sorted)
        self.conditions_now = _conditions(self.status, self.battery_low, self.weak_signal)

    def __repr__(self) -> str:
        return (
            f"MeterVitals(heard_s={self.heard_s}, battery_pct={self.battery_pct}, signal_dbm={self.signal_dbm}, "
            f"status={self.status!r}, battery_low={self.battery_low}, weak_signal={self.weak_signal})"
        )


class MeterHealthRule:
    """meter_low_battery, meter_weak_signal, meter_tamper, meter_leak, meter_valve_closed for one
    household (warnings, for a technician).

    >>> from datetime import UTC, datetime
    >>> from carewatch.domain import MeterKind, Reading
    >>> profile = HouseholdProfile("hh-1", (MeterProfile("water-1", MeterKind.WATER),))
    >>> rule, vitals, raised = MeterHealthRule(profile), {}, RaisedConditions()
    >>> def reading(hour, battery=None, status=None):
    ...     at = datetime(2024, 1, 5, hour, tzinfo=UTC)
    ...     return Reading("hh-1", "water-1", MeterKind.WATER, at, 10.0 + hour, battery_pct=battery, status=status)
    >>> rule.heard(vitals, raised, reading(1, battery=40, status="OK"))
    []
    >>> [low, tamper] = rule.heard(vitals, raised, reading(2, battery=12, status="TAMPER"))
    >>> low.alert_id, low.alert_type.audience.value
    ('hh-1.meter_low_battery.20240105T020000Z', 'technician')
    >>> print(low.explanation.en)
    Meter water-1 reports its battery at 12 % (02:00), below 15 % — replace the battery; a device problem, not an elder problem.
    >>> print(tamper.explanation.en)
    Meter water-1 reports tampering (status "TAMPER") at 02:00 — send a technician to check the meter.
    >>> [cleared] = rule.heard(vitals, raised, reading(3, battery=20, status="OK"))
    >>> cleared.alert_type.value, cleared.transition.value, cleared.onset == tamper.onset
    ('meter_tamper', 'cleared', True)
    """

    __slots__ = ("profile", "_limits")

    def __init__(self, profile: HouseholdProfile) -> None:
        self.profile = profile
        self._limits = HealthLimits.of(profile.rules)

    def heard(
        self, vitals: MutableMapping[str, MeterVitals], raised: RaisedConditions, reading: Reading, at_s: float | None = None
    ) -> list[Detection]:
        """A reading of one of the household's meters was taken in (at `at_s`, its time in epoch
        seconds, when the caller has it already)."""
        if at_s is None:
            at_s = epoch(reading.at)
        meter = vitals.get(reading.meter_id)
        if meter is None:
            meter = vitals[reading.meter_id] = MeterVitals()
        meter.learn_one(at_s, reading.battery_pct, reading.signal_dbm, reading.status, self._limits)
        return self.judge(vitals, raised, at_s)

    def judge(self, vitals: Mapping[str, MeterVitals], raised: RaisedConditions, at_s: float) -> list[Detection]:
        """Raise what a meter has newly fallen into, widen what is raised, clear what no meter is in any more."""
        if not raised.any_of(_HEALTH_SET):
            for v in vitals.values():
                if v.conditions_now:
                    break
            else:
                return []  # the usual reading: every meter well, nothing raised to clear
        conditions = {meter_id: v.conditions_now for meter_id, v in vitals.items()}
        found: list[Detection] = []
        for alert in HEALTH_ALERTS:
            meters = tuple(m for m, held in conditions.items() if alert in held)
            if meters and alert in raised:
                raised.widen(alert, meters)
            elif meters and raised.open(alert, at_s, meters):
                words, facts = self._raised_words(alert, vitals[meters[0]], meters, at_s)
                found.append(detection(self.profile, alert, Transition.RAISED, raised.get(alert), at_s, words, facts))
            elif not meters and alert in raised:
                ended = raised.close(alert)
                words = explain.meter_health_over(alert, ended.meter_ids, at_s, self.profile.timezone)
                found.append(detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, {}))
        return found

    def _raised_words(
        self, alert: AlertType, first: MeterVitals, meters: tuple[str, ...], at_s: float
    ) -> tuple[Explanation, dict[str, float | str]]:
        tz, limits = self.profile.timezone, self._limits
        facts: dict[str, float | str] = {"meters": ",".join(meters)}
        if alert is AlertType.METER_LOW_BATTERY:
            assert first.battery_pct is not None  # low only on a battery reading
            facts |= {"battery_pct": first.battery_pct, "low_pct": limits.battery_low_pct, "ok_pct": limits.battery_ok_pct}
            return explain.battery_low(meters[0], first.battery_pct, limits.battery_low_pct, at_s, tz), facts
        if alert is AlertType.METER_WEAK_SIGNAL:
            median = first.signal_median_dbm()
            assert median is not None  # weak only on a judged median
            facts |= {"median_dbm": median, "weak_dbm": limits.weak_signal_dbm, "hours": limits.signal_hours}
            return explain.signal_weak(meters[0], median, limits.weak_signal_dbm, limits.signal_hours, at_s, tz), facts
        flag = next(f for f in MeterFlag if f.alert_type is alert)
        facts |= {"status": first.status or ""}
        return explain.meter_flag(flag, meters[0], first.status or "", at_s, tz), facts

    def __repr__(self) -> str:
        return f"MeterHealthRule({self.profile.household_id!r}, {self._limits})"


@dataclass(frozen=True, slots=True)
class MeterHealthSummary:
    """One meter's health in plain values, for the console (household page, devices page).

    >>> summary = MeterHealthSummary("gas-1", MeterKind.GAS, None, 12.0, -96.0, -97.5, "TAMPER", (MeterFlag.TAMPER,), True, False)
    >>> MeterHealthSummary.from_json(summary.as_json()) == summary
    True
    """

    meter_id: str
    kind: MeterKind
    heard_at: datetime | None
    """When its newest reading was taken (None: never heard)."""
    battery_pct: float | None
    signal_dbm: float | None
    """The newest signal reading."""
    signal_median_dbm: float | None
    """The median of the hourly signal over the judged window."""
    status: str | None
    flags: tuple[MeterFlag, ...]
    battery_low: bool
    weak_signal: bool

    @classmethod
    def of(cls, meter: MeterProfile, vitals: MeterVitals | None) -> MeterHealthSummary:
        if vitals is None:
            return cls(meter.meter_id, meter.kind, None, None, None, None, None, (), False, False)
        return cls(
            meter.meter_id,
            meter.kind,
            None if vitals.heard_s is None else instant(vitals.heard_s),
            vitals.battery_pct,
            vitals.signal_dbm,
            vitals.signal_median_dbm(),
            vitals.status,
            tuple(sorted(vitals.flags)),
            vitals.battery_low,
            vitals.weak_signal,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "meter_id": self.meter_id,
            "kind": self.kind.value,
            "heard_at": None if self.heard_at is None else self.heard_at.isoformat(),
            "battery_pct": self.battery_pct,
            "signal_dbm": self.signal_dbm,
            "signal_median_dbm": self.signal_median_dbm,
            "status": self.status,
            "flags": [f.value for f in self.flags],
            "battery_low": self.battery_low,
            "weak_signal": self.weak_signal,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> MeterHealthSummary:
        heard = document["heard_at"]
        return cls(
            str(document["meter_id"]),
            MeterKind(document["kind"]),
            None if heard is None else datetime.fromisoformat(heard),
            _optional_float(document["battery_pct"]),
            _optional_float(document["signal_dbm"]),
            _optional_float(document["signal_median_dbm"]),
            None if document["status"] is None else str(document["status"]),
            tuple(MeterFlag(f) for f in document["flags"]),
            bool(document["battery_low"]),
            bool(document["weak_signal"]),
        )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
