"""Unusual night-time use: far more use in the household's sleeping hours than on its usual
nights — repeated toilet visits of an infection, restlessness, wandering at night.

`NightUse` learns, per quarter-hour, how often the household uses anything (an integer
moving average, so the same days always give the same state), and takes its sleeping
hours to be the longest run of quarters used on fewer than one day in eight.  For every
normal night it remembers how many separate spells of use its deep sleeping hours saw.  A
night with at least `least` such spells, and `extra` more than any learned night, is unusual.  A household
without a stable sleep (a shift worker) has no sleeping hours and no verdict.
"""

from __future__ import annotations

import random
from datetime import tzinfo
from typing import NamedTuple

from river import base

from carewatch.domain import AlertType, Detection, Transition
from detectors import explain
from detectors.base import RaisedConditions, detection
from detectors.config import HouseholdProfile
from detectors.routine import QUARTER_S, QUARTERS_PER_DAY, Day, DayBook, day_start_s

RARE = 32
"""Of 255: a quarter used on fewer than about one day in eight is a sleeping quarter (an
occasional toilet visit at night does not wake the household's night; a wandering bedtime does)."""
SHORTEST_SLEEP = 24
"""Quarters (6 h): a shorter quiet run is no stable sleep to judge nights by."""
EDGE = 4
"""Quarters (1 h) at each end of the sleeping hours not judged: bedtimes and risings wander."""


class Night(NamedTuple):
    """Quarters used on the evening's day and on the morning's day (so far)."""

    evening: int
    morning: int


class NightUse(base.Base):
    """Use in the household's sleeping hours, night by night.

    >>> rng = random.Random(42)
    >>> nights = NightUse(warmup_days=14)
    >>> def day(n):  # up 07:00-21:30, a toilet visit some nights
    ...     visit = 1 << rng.randint(4, 20) if rng.random() < 0.3 else 0
    ...     return Day(739000 + n, sum(1 << q for q in range(28, 88, 3)) | visit, 0.5, 0.1, True)
    >>> for n in range(20):
    ...     nights.learn_one(day(n))
    >>> nights.sleep()  # from quarter 88 (22:00), 34 quarters long: to 06:30
    (88, 34)
    >>> busy = sum(1 << q for q in (4, 8, 12, 16, 20))  # five visits between 01:00 and 05:00
    >>> nights.score_one(Night(day(20).active, busy | day(21).active))  # (spells of use, most learned)
    (5, 1)
    >>> nights.score_one(Night(day(20).active, day(21).active)) is None
    True
    """

    __slots__ = ("window_days", "warmup_days", "extra", "least", "_usage", "_counts", "_previous", "_days", "_sleep")

    def __init__(self, window_days: int = 28, warmup_days: int = 14, extra: int = 2, least: int = 4):
        self.window_days = window_days
        self.warmup_days = warmup_days
        self.extra = extra
        self.least = least
        self._usage: bytes = b""
        """Per quarter-hour, 0-255: how often it is used (moving average over about 16 days, so a
        shift worker's alternating weeks blur into no sleeping hours at all)."""
        self._counts: list[int] = []
        """Used sleeping quarters of each learned night."""
        self._previous: tuple[int, int] = (0, 0)
        """(date, quarters used) of the last normal day, for the night that begins on it."""
        self._days = 0
        """Normal days learned."""
        self._sleep: tuple[int, int] | None = None
        """Derived from `_usage` whenever a day is learned (not pickled)."""

    @property
    def days_learned(self) -> int:
        return self._days

    def sleep(self) -> tuple[int, int] | None:
        """(first quarter, length) of the household's sleeping hours, or None."""
        return self._sleep

    def learned_sleep(self) -> tuple[int, int] | None:
        """The sleeping hours once warmed up (None before, or with none stable): what verdicts may use."""
        return self._sleep if self._days >= self.warmup_days else None

    def _find_sleep(self) -> tuple[int, int] | None:
        if not self._usage:
            return None
        usage = self._usage
        # Averaged over an hour and a quarter: one quarter of the night that saw a few toilet
        # visits over the weeks does not split the night in two.
        rare = [sum(usage[(q + k) % QUARTERS_PER_DAY] for k in range(-2, 3)) < 5 * RARE for q in range(QUARTERS_PER_DAY)]
        best: tuple[int, int] | None = None
        run = 0
        for q in range(2 * QUARTERS_PER_DAY):  # twice round the clock: a sleep spans midnight
            run = run + 1 if rare[q % QUARTERS_PER_DAY] else 0
            if run and (best is None or run > best[1]) and run <= QUARTERS_PER_DAY:
                best = ((q - run + 1) % QUARTERS_PER_DAY, run)
        return best if best is not None and best[1] >= SHORTEST_SLEEP else None

    def count(self, night: Night) -> int | None:
        """Separate spells of use (a toilet visit, a walk to the kitchen) in the deep sleeping
        hours — an hour in from each end, so a late bedtime or an early rise is no spell."""
        sleep = self.sleep()
        if sleep is None:
            return None
        first, length = sleep
        spells, using = 0, False
        for q in range(first + EDGE, first + length - EDGE):
            mask = night.evening if q < QUARTERS_PER_DAY else night.morning
            used = bool(mask >> (q % QUARTERS_PER_DAY) & 1)
            spells += used and not using
            using = used
        return spells

    def learn_one(self, day: Day) -> None:
        if not day.whole:
            return
        date, previous = self._previous
        if date == day.date - 1:
            used = self.count(Night(previous, day.active))
            if used is not None:
                self._counts = [*self._counts, used][-self.window_days :]
        elif date >= day.date:
            return
        usage = self._usage or bytes(QUARTERS_PER_DAY)
        weight = min(self._days + 1, 16)  # a plain mean of the first days, then a moving one
        self._usage = bytes(u + ((255 if day.used_at(q) else 0) - u) // weight for q, u in enumerate(usage))
        self._previous = (day.date, day.active)
        self._days += 1
        self._sleep = self._find_sleep()

    def score_one(self, night: Night) -> tuple[int, int] | None:
        """(used sleeping quarters, the most on a learned night) when the night is unusual."""
        if self.days_learned < self.warmup_days or not self._counts:
            return None
        used = self.count(night)
        most = max(self._counts)
        if used is None or used < max(self.least, most + self.extra):
            return None
        return used, most

    def evening_of(self, date: int) -> int | None:
        """Quarters used on a day already learned (the evening of a night to judge)."""
        return self._previous[1] if self._previous[0] == date else None

    @classmethod
    def _unit_test_probes(cls, rng: random.Random) -> list[Night]:
        return [
            Night(sum(1 << q for q in rng.sample(range(96), 30)), sum(1 << q for q in rng.sample(range(96), 30)))
            for _ in range(12)
        ]

    def __getstate__(self) -> tuple[object, ...]:
        settings = (self.window_days, self.warmup_days, self.extra, self.least)
        return (settings, self._usage, bytes(min(255, c) for c in self._counts), self._previous, self._days)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        settings, self._usage, counts, self._previous, self._days = state  # type: ignore[misc]
        self.window_days, self.warmup_days, self.extra, self.least = settings  # type: ignore[misc]
        self._counts = list(counts)  # type: ignore[call-overload]
        self._sleep = self._find_sleep()

    def __repr__(self) -> str:
        return f"NightUse(nights={len(self._counts)}, sleep={self.sleep()})"


class NightUseRule:
    """unusual_night_use (warning): judged once a night, an hour after the household's sleeping
    hours end; cleared when a later night is usual again."""

    __slots__ = ("profile", "_meters", "_tz")

    def __init__(self, profile: HouseholdProfile) -> None:
        self.profile = profile
        self._meters = tuple(m.meter_id for m in profile.meters)
        self._tz: tzinfo = profile.timezone

    def judge(
        self, learner: NightUse, days: DayBook, raised: RaisedConditions, evidence_s: float, local: tuple[int, int]
    ) -> list[Detection]:
        """Judge each night whose morning the evidence (up to `evidence_s`, in `local` quarter
        `local_quarter(evidence_s)`) has passed by an hour (a daily batch brings a whole night at
        once), each night once."""
        sleep = learner.learned_sleep()
        if sleep is None:
            return []
        first, length = sleep
        spans_midnight = first + length > QUARTERS_PER_DAY
        ends = (first + length) % QUARTERS_PER_DAY if spans_midnight else first + length
        today, quarter = local
        last = today if quarter >= ends + 4 else today - 1
        if days.scored_night >= last:
            return []  # the usual tick: this morning's night is judged already
        out: list[Detection] = []
        for morning_day in range(max(days.scored_night + 1, last - 1), last + 1):
            evening_day = morning_day - 1 if spans_midnight else morning_day
            evening, morning = _quarters(days, learner, evening_day), _quarters(days, learner, morning_day)
            if evening is None or morning is None:
                continue
            days.scored_night = morning_day
            found = learner.score_one(Night(evening, morning if spans_midnight else 0))
            core_from_s = day_start_s(evening_day, self._tz) + first * QUARTER_S
            out += self._transition(learner, raised, found, core_from_s, length, evidence_s)
        return out

    def _transition(
        self,
        learner: NightUse,
        raised: RaisedConditions,
        found: tuple[int, int] | None,
        core_from_s: float,
        length: int,
        evidence_s: float,
    ) -> list[Detection]:
        alert = AlertType.UNUSUAL_NIGHT_USE
        if found is None:
            if alert not in raised:
                return []
            ended = raised.close(alert)
            words = explain.night_over(evidence_s, self._tz)
            return [detection(self.profile, alert, Transition.CLEARED, ended, evidence_s, words, {})]
        if alert in raised or not raised.open(alert, core_from_s, self._meters):
            return []
        used, most = found
        words = explain.night_use(
            used, most, learner.days_learned, core_from_s, core_from_s + length * QUARTER_S, self._tz
        )
        facts = {"spells": used, "most_spells": most, "nights_learned": learner.days_learned}
        return [detection(self.profile, alert, Transition.RAISED, raised.get(alert), evidence_s, words, facts)]


def _quarters(days: DayBook, learner: NightUse, date: int) -> int | None:
    so_far = days.so_far(date)
    if so_far is not None:
        return so_far[0]
    if days.closed_through is not None and date > days.closed_through:
        return 0  # heard, open, and nothing used yet
    return learner.evening_of(date)
