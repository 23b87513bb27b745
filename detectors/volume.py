"""How much gas and water a household uses in a day, learned: unusual spikes and sustained decline.

`DailyVolume` remembers the litres of gas and water of the household's recent whole days.
From the normal ones (fit to learn from) it knows the most the household uses in a day:
a day going far beyond that — `factor` times the most plus a margin, a tap left running or
a leak, someone else in the flat — is an unusual spike, told while the day is still going.
From all whole days at home it sees a decline: the median of the last week's use under
`decline_ratio` of the household's own normal median (an elder who stops cooking and
washing) is a sustained decline.
"""

from __future__ import annotations

import random
import statistics
from array import array
from collections.abc import Sequence
from datetime import tzinfo
from typing import NamedTuple

from river import base

from carewatch.domain import AlertType, Detection, MeterKind, Transition
from detectors import explain
from detectors.base import RaisedConditions, detection
from detectors.config import HouseholdProfile
from detectors.routine import Day, DayBook, day_start_s, local_quarter

_GAS, _WATER, _SPIKE = MeterKind.GAS, MeterKind.WATER, AlertType.UNUSUAL_SPIKE
"""Bound once: an enum member looked up on its class costs ~0.15 µs in Python 3.11, and every tick asks."""
_MARGIN_L = {_GAS: 500, _WATER: 150}
"""Litres a day may go past `factor` times the most learned before it is a spike."""
_LEAST_BASE_L = {MeterKind.GAS: 100, MeterKind.WATER: 30}
"""A kind used less than this on a normal day is too little to speak of a decline."""
RECENT_DAYS = 7
LEAST_ACTIVE = 4
"""Quarter-hours of use a day needs to count as lived at home."""


class Volumes(NamedTuple):
    """Litres used so far today (None: no such meter)."""

    gas_l: int | None
    water_l: int | None


class Spike(NamedTuple):
    kind: MeterKind
    used_l: int
    limit_l: int
    most_l: int
    days: int


class Decline(NamedTuple):
    kind: MeterKind
    recent_l: float
    usual_l: float
    days: int


class DailyVolume(base.Base):
    """The household's daily litres of gas and water.

    >>> rng = random.Random(42)
    >>> volume = DailyVolume(warmup_days=14)
    >>> for n in range(20):
    ...     volume.learn_one(Day(739000 + n, 0xFFFF << 28, rng.uniform(0.4, 0.7), rng.uniform(0.08, 0.14), True))
    >>> volume.score_one(Volumes(gas_l=600, water_l=150)) is None  # an ordinary day
    True
    >>> volume.score_one(Volumes(gas_l=600, water_l=900))  # a tap left running
    Spike(kind=<MeterKind.WATER: 'water'>, used_l=900, limit_l=357, most_l=138, days=20)
    >>> for n in range(20, 27):  # a week of little use
    ...     volume.learn_one(Day(739000 + n, 0xFF << 28, rng.uniform(0.1, 0.2), rng.uniform(0.03, 0.05), False))
    >>> volume.decline()
    Decline(kind=<MeterKind.GAS: 'gas'>, recent_l=127, usual_l=593.5, days=20)
    """

    __slots__ = (
        "window_days", "warmup_days", "factor", "decline_ratio", "_dates", "_gas", "_water", "_learnable", "_most",
        "_days_learned",
    )

    def __init__(self, window_days: int = 28, warmup_days: int = 14, factor: float = 1.5, decline_ratio: float = 0.5):
        self.window_days = window_days
        self.warmup_days = warmup_days
        self.factor = factor
        self.decline_ratio = decline_ratio
        self._dates: list[int] = []
        self._gas: list[int] = []
        self._water: list[int] = []
        self._learnable: list[bool] = []
        self._most: dict[MeterKind, int | None] = {}
        """The most litres of each kind on a normal day learned (None: none), derived as days are
        learned: a tick's spike check needs no pass over the days."""
        self._days_learned = 0
        """The normal days remembered, derived with `_most`."""
        self._derive_most()

    @property
    def days_learned(self) -> int:
        return self._days_learned

    def learn_one(self, day: Day) -> None:
        """Remember a whole day lived at home; only normal ones set what normal is.  A day with
        next to no use is no day of lower use but an absence or an incident, told by others."""
        if not day.counted or day.active_quarters < LEAST_ACTIVE or (self._dates and day.date <= self._dates[-1]):
            return
        self._dates.append(day.date)
        self._gas.append(_litres(day.gas_m3))
        self._water.append(_litres(day.water_m3))
        self._learnable.append(day.learnable)
        for column in (self._dates, self._gas, self._water, self._learnable):
            del column[: -self.window_days]
        self._derive_most()

    def _derive_most(self) -> None:
        self._most = {kind: max(self.learned_litres(kind), default=None) for kind in (MeterKind.GAS, MeterKind.WATER)}
        self._days_learned = sum(self._learnable)

    def score_one(self, today: Volumes) -> Spike | None:
        """A kind used far more today than on any normal day learned."""
        return self.spike_of(today.gas_l, today.water_l)

    def spike_of(self, gas_l: int | None, water_l: int | None) -> Spike | None:
        """`score_one` on the litres themselves (the rule asks every tick: no `Volumes` built for it)."""
        if (water_l is None or water_l <= _MARGIN_L[_WATER]) and (gas_l is None or gas_l <= _MARGIN_L[_GAS]):
            return None  # less than any limit could be: the usual tick
        days = self._days_learned
        if days < self.warmup_days:
            return None
        for kind, used in ((_WATER, water_l), (_GAS, gas_l)):
            if used is None or used <= _MARGIN_L[kind]:
                continue  # less than any limit could be: the usual tick
            most = self._most.get(kind)
            if most is None:
                continue
            limit = round(most * self.factor) + _MARGIN_L[kind]
            if used > limit:
                return Spike(kind, used, limit, most, days)
        return None

    def learned_litres(self, kind: MeterKind) -> list[int]:
        """Litres of this kind on each normal day remembered (none for a kind the household lacks)."""
        column = self._gas if kind is MeterKind.GAS else self._water
        return [v for v, ok in zip(column, self._learnable, strict=True) if ok and v >= 0]

    def decline(self) -> Decline | None:
        """The last week at home used far less than the household's normal days before it."""
        if len(self._dates) < RECENT_DAYS or self._dates[-1] - self._dates[-RECENT_DAYS] > RECENT_DAYS + 2:
            return None  # not a week of days at home lately
        before = [i for i in range(len(self._dates) - RECENT_DAYS) if self._learnable[i]]
        if len(before) < self.warmup_days:
            return None
        for kind, column in ((MeterKind.GAS, self._gas), (MeterKind.WATER, self._water)):
            usual = statistics.median(column[i] for i in before)
            if usual < _LEAST_BASE_L[kind] or column[-1] < 0:
                continue
            recent = statistics.median(column[-RECENT_DAYS:])
            if recent < self.decline_ratio * usual and max(column[-RECENT_DAYS + 1 :]) < usual:
                return Decline(kind, recent, usual, len(before))
        return None

    def recovered(self, kind: MeterKind) -> bool:
        """The last week's median is back over the middle between declined and usual."""
        before = [i for i in range(max(0, len(self._dates) - RECENT_DAYS)) if self._learnable[i]]
        column = self._gas if kind is MeterKind.GAS else self._water
        if not before or len(column) < RECENT_DAYS:
            return False
        usual = statistics.median(column[i] for i in before)
        return statistics.median(column[-RECENT_DAYS:]) >= (1 + self.decline_ratio) / 2 * usual

    @classmethod
    def _unit_test_probes(cls, rng: random.Random) -> list[Volumes]:
        return [Volumes(rng.randrange(0, 3000), rng.randrange(0, 1500)) for _ in range(12)]

    def __getstate__(self) -> tuple[object, ...]:
        first = self._dates[0] if self._dates else 0
        gaps = bytes(min(255, b - a) for a, b in zip(self._dates, self._dates[1:], strict=False))
        settings = (self.window_days, self.warmup_days, self.factor, self.decline_ratio)
        litres = array("H", (min(v, _NONE - 1) if v >= 0 else _NONE for v in self._gas + self._water)).tobytes()
        learnable = sum(1 << i for i, ok in enumerate(self._learnable) if ok)
        return (settings, first, gaps, litres, learnable)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        settings, first, gaps, litres, learnable = state
        self.window_days, self.warmup_days, self.factor, self.decline_ratio = settings  # type: ignore[misc]
        values = array("H")
        values.frombytes(litres)  # type: ignore[arg-type]
        both = [-1 if v == _NONE else v for v in values]
        self._gas, self._water = both[: len(both) // 2], both[len(both) // 2 :]
        self._dates = [first] if self._gas else []  # type: ignore[list-item]
        for gap in gaps:  # type: ignore[union-attr]
            self._dates.append(self._dates[-1] + gap)
        self._learnable = [bool(learnable >> i & 1) for i in range(len(self._gas))]  # type: ignore[operator]
        self._derive_most()

    def __repr__(self) -> str:
        return f"DailyVolume(days={len(self._dates)}, learned={self.days_learned})"


_NONE = 0xFFFF
"""A day's litres are pickled as 16-bit numbers (65 m³ a day at most); this one means no meter."""


def _litres(m3: float | None) -> int:
    return -1 if m3 is None else min(round(m3 * 1000), _NONE - 1)


class VolumeRule:
    """unusual_spike (judged at ticks on today's use so far; cleared when the day is over) and
    sustained_decline (judged when a day closes; cleared once the last week is back near normal)."""

    __slots__ = ("profile", "_meters", "_tz", "_gas", "_water")

    def __init__(self, profile: HouseholdProfile) -> None:
        self.profile = profile
        self._meters = tuple(m.meter_id for m in profile.meters)
        self._tz: tzinfo = profile.timezone
        self._gas, self._water = bool(profile.meters_of(_GAS)), bool(profile.meters_of(_WATER))
        """Which kinds the household has: a kind it lacks has no volume (None), not zero."""

    def spike(
        self, learner: DailyVolume, days: DayBook, raised: RaisedConditions, evidence_s: float, today: int
    ) -> list[Detection]:
        """Judge the use of `today` (the local day of `evidence_s`) so far."""
        alert = _SPIKE
        entry = raised.get(alert)
        if entry is not None:
            if local_quarter(entry.onset_s + 1, self._tz)[0] == today:
                return []
            ended = raised.close(alert)
            words = explain.spike_over(evidence_s, self._tz)
            return [detection(self.profile, alert, Transition.CLEARED, ended, evidence_s, words, {})]
        so_far = days.so_far(today)
        if so_far is None:
            return []
        _, gas_m3, water_m3 = so_far
        found = learner.spike_of(
            round(gas_m3 * 1000) if self._gas else None, round(water_m3 * 1000) if self._water else None
        )
        if found is None or not raised.open(alert, day_start_s(today, self._tz), self._meters):
            return []
        words = explain.spike(found.kind, found.used_l, found.most_l, found.days, evidence_s, self._tz)
        facts = {"kind": found.kind.value, "used_l": found.used_l, "limit_l": found.limit_l, "most_l": found.most_l}
        return [detection(self.profile, alert, Transition.RAISED, raised.get(alert), evidence_s, words, facts)]

    def decline(self, learner: DailyVolume, raised: RaisedConditions, at_s: float, closed: Sequence[Day]) -> list[Detection]:
        alert = AlertType.SUSTAINED_DECLINE
        entry = raised.get(alert)
        if entry is not None:
            kind = raised_kind(entry.meter_ids, self.profile)
            if not learner.recovered(kind):
                return []
            ended = raised.close(alert)
            words = explain.decline_over(kind, at_s, self._tz)
            return [detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, {"kind": kind.value})]
        found = learner.decline()
        if found is None or not closed:
            return []
        onset_s = day_start_s(closed[-1].date - RECENT_DAYS + 1, self._tz)
        meters = tuple(m.meter_id for m in self.profile.meters_of(found.kind))
        if not raised.open(alert, onset_s, meters):
            return []
        words = explain.decline(found.kind, found.recent_l, found.usual_l, found.days, RECENT_DAYS)
        facts = {"kind": found.kind.value, "recent_l": found.recent_l, "usual_l": found.usual_l, "days": found.days}
        return [detection(self.profile, alert, Transition.RAISED, raised.get(alert), at_s, words, facts)]


def raised_kind(meter_ids: Sequence[str], profile: HouseholdProfile) -> MeterKind:
    meter = profile.meter(meter_ids[0])
    return meter.kind if meter is not None else MeterKind.WATER

