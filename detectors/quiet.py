"""The early warning: quiet for longer than this household ever is at this time of day.

`QuietSpell` learns, from the household's normal days, how long it has been quiet (no
gas, no water) at the end of every quarter-hour of the day — after the night that is the
time since bedtime, in the afternoon the gap since lunch.  Its limit for a quarter is the
longest quiet learned there, carried forward by a grace period: a spell may run `grace_h`
past the longest ever seen before it is unusual.  So a household that is always up by
07:45 is judged at 09:15 (with 1.5 h of grace), not 24 h after its last use; a night owl
is judged near noon; a household whose afternoons hold long outings gets long afternoon
limits.  Every limit is at least `floor_h`.

`LearnedQuietRule` turns the verdict into alerts: morning_activity_missing when the
spell began before the night (it spans 04:00) and is judged before 14:00, unusual_quiet
otherwise; cleared as soon as any use is seen.  The 24 h rule stays in force beneath it
and escalates a spell that goes on into its critical alert (no_activity_24h, or no_gas_24h /
no_water_24h in a one-meter home).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple

import numpy as np
from river import base

from carewatch.domain import AlertType, Detection, Explanation, MeterKind, Transition
from detectors import explain
from detectors.base import QUIET_ALERTS, Raised, RaisedConditions, detection, instant, speaking_for_quiet
from detectors.config import HouseholdProfile
from detectors.history import MeterHistory
from detectors.routine import QUARTER_S, QUARTERS_PER_DAY, Day, DayBook, local_quarter

MORNING_FROM_H, MORNING_UNTIL_H = 4, 14
IRREGULAR_SPREAD_H = 2.0
"""A household whose longest daytime spell differs by this much from its usual day's goes
out at any hour: its longest one is usual at every hour of the day."""


ALL_QUARTERS = (1 << QUARTERS_PER_DAY) - 1
"""A mask of local quarter-hours (bit q: the quarter from q/4 h): all of them."""

_CHECK_IN_DEFAULTS = (1, 0.5, 1.0, 1.5, 0.9)
"""QuietSpell's check-in settings (rank, grace, floor, day reach, day anchor) by default."""


class Spell(NamedTuple):
    """A quiet spell to judge: nothing used since `since_s`; evidence up to `to_s`, of
    which everything up to `from_s` was judged already."""

    since_s: float
    from_s: float
    to_s: float
    tz: tzinfo


class Finding(NamedTuple):
    alert_type: AlertType
    at_s: float
    """The end of the first quarter-hour at which the spell was longer than the limit."""
    limit_h: float
    waits_h: tuple[float, ...]
    """For each comparable learned day: hours from the spell's start clock time to the next use."""
    days: int
    detector: str = "quiet"
    """Which learner found it: "quiet" (QuietSpell) or "river" (detectors.anomaly)."""



def spell_probes(rng: random.Random) -> list[Spell]:
    """Quiet spells of every length at any quarter-hour: what the generic detector checks score."""
    start = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
    spells = []
    for _ in range(12):
        since = start + rng.randrange(96) * QUARTER_S
        to = since + rng.uniform(0.5, 20) * 3600
        spells.append(Spell(since, since, to, UTC))
    return spells

class QuietSpell(base.Base):
    """How long the household is normally quiet at each quarter-hour of the day.

    >>> import random
    >>> from datetime import UTC
    >>> rng = random.Random(42)
    >>> detector = QuietSpell(warmup_days=14)
    >>> def normal_day(date):  # up at about 07:00, uses every hour, in bed by 22:00
    ...     wake = 28 + rng.randint(-1, 2)
    ...     return Day(date, sum(1 << q for q in range(wake, 88, 4)), 0.5, 0.12, True)
    >>> for date in range(739000, 739021):
    ...     detector.learn_one(normal_day(date))
    >>> detector.days_learned
    21
    >>> [detector.limit_h(4 * hour) for hour in (2, 6, 8, 9, 15)]  # quiet hours still usual at 02:00, ...
    [8.0, 11.25, 12.0, 3.25, 3.25]
    >>> evening = datetime(2024, 6, 1, 21, 30, tzinfo=UTC).timestamp()  # last use, then nothing
    >>> detector.score_one(Spell(evening, evening, evening + 10 * 3600, UTC)) is None  # 07:30: not yet
    True
    >>> found = detector.score_one(Spell(evening, evening, evening + 14 * 3600, UTC))
    >>> found.alert_type.value, instant(found.at_s).strftime("%H:%M"), found.days
    ('morning_activity_missing', '09:15', 21)
    """

    __slots__ = (
        "window_days", "warmup_days", "grace_h", "pool_h", "margin_h", "floor_h", "pool_day",
        "check_in_rank", "check_in_grace_h", "check_in_floor_h", "check_in_day_reach_h", "check_in_day_anchor",
        "_dates", "_masks", "_unknown", "_limits", "_usual", "_usual_day", "_answers", "_outings", "_shortest",
    )

    def __init__(
        self,
        window_days: int = 28,
        warmup_days: int = 14,
        grace_h: float = 1.5,
        pool_h: float = 2.0,
        margin_h: float = 1.0,
        floor_h: float = 2.0,
        pool_day: bool = True,
        check_in_rank: int = 1,
        check_in_grace_h: float = 0.5,
        check_in_floor_h: float = 1.0,
        check_in_day_reach_h: float = 1.5,
        check_in_day_anchor: float = 0.9,
    ):
        self.window_days = window_days
        self.warmup_days = warmup_days
        self.grace_h = grace_h
        self.pool_h = pool_h
        self.margin_h = margin_h
        self.floor_h = floor_h
        self.pool_day = pool_day
        self.check_in_rank = check_in_rank
        self.check_in_grace_h = check_in_grace_h
        self.check_in_floor_h = check_in_floor_h
        self.check_in_day_reach_h = check_in_day_reach_h
        self.check_in_day_anchor = check_in_day_anchor
        self._dates: list[int] = []
        self._masks: list[int] = []
        self._unknown: list[int] = []
        """Per learned day: its quarter-hours inside a reading gap (`Day.unknown`), whose quiet is not known."""
        self._limits: tuple[float, ...] | None = None
        self._shortest = math.inf
        """3600 × the least of `_limits` (derived with them): a spell shorter is usual at any hour."""
        self._usual: tuple[float, ...] | None = None
        """Per quarter-hour: the quiet that is still usual, past which the elder is asked (the soft tier)."""
        self._usual_day: tuple[float, ...] | None = None
        """The same for a spell that began in the day (`_usual_limits`): the longest quiet learned there
        only as far as the other days bear it out, and no grace carried into a quarter always used."""
        self._answers: list[tuple[int, int, int]] = []
        """The elder's "I'm fine" answers remembered: (local date, quarter-hour, quarters quiet by then)."""
        self._outings: list[tuple[int, int, int]] = []
        """Spells a person's outcome said were the elder out ("went out", "visiting family"), remembered
        as long as the learned days: (local date and quarter-hour of the spell's end, quarters quiet by then)."""

    @classmethod
    def _unit_test_probes(cls, rng: random.Random) -> list[Spell]:
        """Inputs of `score_one` for the generic detector checks: spells of every length."""
        return spell_probes(rng)

    def retuned(self, **settings: float) -> QuietSpell:
        """The same learned days under new settings (a changed profile)."""
        fresh = QuietSpell(**{**self._get_params(), **settings})
        fresh._dates = self._dates[-fresh.window_days :]
        fresh._masks = self._masks[-fresh.window_days :]
        fresh._unknown = self._unknown[-fresh.window_days :]
        fresh._answers = list(self._answers)
        fresh._outings = list(self._outings)
        fresh._derive()
        return fresh

    @property
    def days_learned(self) -> int:
        return len(self._dates)

    @property
    def warm(self) -> bool:
        return self._limits is not None

    @property
    def shortest_unusual_s(self) -> float:
        """No spell shorter than this (seconds) is unusual at any hour: `score_one` finds nothing in it
        (inf while warming up)."""
        return self._shortest

    def limit_h(self, quarter: int) -> float:
        """Hours of quiet that are still usual at the end of this quarter-hour (NaN while warming up)."""
        return math.nan if self._limits is None else self._limits[quarter]

    def learn_one(self, day: Day) -> None:
        """Learn a normal day (all but the quarter-hours of a reading gap in it); a day that is not
        fit to learn from is ignored."""
        if not day.learnable or (self._dates and day.date <= self._dates[-1]):
            return
        self._dates.append(day.date)
        self._masks.append(day.active)
        self._unknown.append(day.unknown)
        del self._dates[: -self.window_days], self._masks[: -self.window_days], self._unknown[: -self.window_days]
        self._answers = [a for a in self._answers if a[0] > day.date - self.window_days]
        self._outings = [o for o in self._outings if o[0] > day.date - self.window_days]
        self._derive()

    def score_one(self, spell: Spell) -> Finding | None:
        """The first quarter-hour end in (from_s, to_s] at which the spell is unusual."""
        limits = self._limits
        if limits is None or spell.to_s - spell.since_s < self._shortest:
            return None  # the usual tick: a spell shorter than any limit
        start = max(spell.from_s, spell.since_s + self._shortest)
        boundary = math.floor(start / QUARTER_S) * QUARTER_S + QUARTER_S
        while boundary <= spell.to_s:
            date, quarter = local_quarter(boundary, spell.tz)
            limit_h = self.limit_on(date, quarter) if self._outings else limits[quarter]
            if boundary - spell.since_s > limit_h * 3600:
                waits = self.waits_after(spell.since_s, spell.tz)
                morning = _spans_the_night(spell.since_s, boundary, spell.tz)
                alert = AlertType.MORNING_ACTIVITY_MISSING if morning else AlertType.UNUSUAL_QUIET
                return Finding(alert, boundary, limit_h, waits, len(self._dates))
            boundary += QUARTER_S
        return None

    def usual_h(self, quarter: int, date: int | None = None, daytime: bool = False) -> float:
        """Hours of quiet still usual at the end of this quarter-hour, past which the elder is asked
        (NaN while warming up, inf where asking would come no sooner than the learned alert); `daytime`:
        for a spell that began in the day, not before the night (`_spans_the_night`).  On `date`,
        an "I'm fine" answered on the same weekday near this clock time makes that spell usual too."""
        if self._usual is None or self._usual_day is None:
            return math.nan
        usual = (self._usual_day if daytime else self._usual)[quarter]
        if date is not None:
            for answered, at_quarter, quiet in self._answers:
                later = quarter - at_quarter
                if (date - answered) % 7 == 0 and 0 <= later <= 4:  # the same weekday, up to an hour after
                    usual = max(usual, (quiet + later) / 4 + self.check_in_grace_h)
            # No outing told (the usual tick): what `_outing_h` would answer, without the call.
            usual = max(usual, self._outing_h(date, quarter, self.check_in_grace_h) if self._outings else 0.0)
        return usual

    def limit_on(self, date: int, quarter: int) -> float:
        """`limit_h` on a given local date: an outing a person told us of (`learn_outing`), on the same
        weekday, makes its spell usual there — from the spell's start clock time to an hour past its end."""
        if self._limits is None:
            return math.nan
        return max(self._limits[quarter], self._outing_h(date, quarter, self.grace_h))

    def _outing_h(self, date: int, quarter: int, grace_h: float) -> float:
        """The longest quiet a remembered outing makes usual at this date's quarter (0: none)."""
        widest = 0.0
        week = 7 * QUARTERS_PER_DAY
        for ended, at_quarter, quiet in self._outings:
            # Quarters from the outing's end to this one, on the same weekday (wrapping at midnight).
            later = ((date - ended) * QUARTERS_PER_DAY + quarter - at_quarter + week // 2) % week - week // 2
            if -quiet <= later <= 4:
                widest = max(widest, (quiet + later) / 4 + grace_h)
        return widest

    def learn_outing(self, since_s: float, until_s: float, tz: tzinfo, most_h: float) -> float:
        """A person said a quiet spell (`since_s` to `until_s`) was the elder out: on that weekday, at
        those clock times, such a spell is usual (as long as the learned days are remembered).

        Bounded: the spell taught is at most `most_h` hours long (the caller passes what one outcome may
        widen the learned limit by, and never the seed rule's window); returns the hours taught (0: none,
        while warming up or for a spell of no length)."""
        if self._limits is None or not until_s > since_s:
            return 0.0
        date, quarter = local_quarter(until_s, tz)
        quiet = round((until_s - since_s) / QUARTER_S)
        quiet = max(0, min(quiet, math.floor(most_h * 4)))
        if not quiet:
            return 0.0
        self._outings.append((date, quarter, quiet))
        del self._outings[: -self.window_days]
        return quiet / 4

    @property
    def outings_learned(self) -> int:
        return len(self._outings)

    def check_in(self, spell: Spell, askable: int = ALL_QUARTERS) -> Finding | None:
        """The first quarter-hour end in (from_s, to_s], at a local quarter-hour whose bit is set in
        `askable`, at which the spell is longer than usual but not yet unusual: ask the elder then.
        A spell only found unusual (the learned alert) is not asked about."""
        usual, limits = self._usual, self._limits
        if usual is None or limits is None:
            return None
        start = max(spell.from_s, spell.since_s + 3600 * self.check_in_floor_h)
        boundary = math.floor(start / QUARTER_S) * QUARTER_S + QUARTER_S
        # Counted as the learned days count it: from the end of the quarter-hour of the last use.
        since_s = math.floor(spell.since_s / QUARTER_S) * QUARTER_S + QUARTER_S
        while boundary <= spell.to_s:
            date, quarter = local_quarter(boundary, spell.tz)
            limit_h = self.limit_on(date, quarter) if self._outings else limits[quarter]
            if boundary - spell.since_s > limit_h * 3600:
                return None  # already unusual: the learned alert speaks, not a question
            if askable >> quarter & 1:
                daytime = not _spans_the_night(spell.since_s, boundary, spell.tz)
                if boundary - since_s > (usual_h := self.usual_h(quarter, date, daytime)) * 3600:
                    return Finding(AlertType.CHECK_IN, boundary, usual_h, (), len(self._dates))
            boundary += QUARTER_S
        return None

    def learn_answer(self, since_s: float, at_s: float, tz: tzinfo) -> None:
        """The elder answered "I'm fine" at `at_s`, quiet since `since_s`: on that weekday, near that
        clock time, such a spell is usual (remembered as long as the learned days)."""
        date, quarter = local_quarter(at_s, tz)
        quiet = min(QUARTERS_PER_DAY * 4, max(0, round((at_s - since_s) / QUARTER_S)))
        self._answers.append((date, quarter, quiet))
        del self._answers[: -self.window_days]

    @property
    def answers_learned(self) -> int:
        return len(self._answers)

    def waits_after(self, since_s: float, tz: tzinfo) -> tuple[float, ...]:
        """For each learned day (whose next day is learned too, when needed): hours from the
        clock time of `since_s` to the next use."""
        return waits_after(self._dates, self._masks, since_s, tz)

    def _derive(self) -> None:
        """Limits per quarter-hour from the learned days (recomputed when a day is learned)."""
        if len(self._dates) < self.warmup_days:
            self._limits = self._usual = self._usual_day = None
            self._shortest = math.inf
            return
        bits, unknown = _bits(self._masks), _bits(self._unknown)
        quiet = _quiet_quarters(self._dates, bits, unknown)
        self._usual, self._usual_day = self._usual_limits(quiet), self._usual_limits(quiet, daytime=True)
        with np.errstate(all="ignore"):
            longest = np.nanmax(quiet, axis=0) if np.isfinite(quiet).any() else np.zeros(QUARTERS_PER_DAY)
        longest = np.where(np.isnan(longest), np.nanmax(longest), longest)
        # The longest quiet learned near each quarter: a spell seen k quarters earlier is carried
        # forward (k quarters longer by now) for up to `grace_h`, and one seen up to `pool_h`
        # later counts as it is — a long gap after lunch on one day may come an hour earlier on another.
        carry, pool = round(self.grace_h * 4), round(self.pool_h * 4)
        near = np.max([np.roll(longest, k) + max(k, 0) for k in range(-pool, carry + 1)], axis=0)
        floor = self.floor_h
        if self.pool_day:
            # A household that goes out for hours at any time of day: its longest daytime spell
            # (between a day's first and last use) is usual at every hour.
            floor = max(floor, _daytime_floor_h(bits, unknown, self.margin_h))
        limits = np.maximum(near / 4 + self.margin_h, floor)
        self._limits = tuple(round(float(v), 2) for v in limits)
        self._shortest = 3600 * min(self._limits)
        # Asking makes sense only before the learned alert would come.
        self._usual = tuple(u if u < limit else math.inf for u, limit in zip(self._usual, self._limits, strict=True))
        self._usual_day = tuple(u if u < limit else math.inf for u, limit in zip(self._usual_day, self._limits, strict=True))

    def _usual_limits(self, quiet: np.ndarray, daytime: bool = False) -> tuple[float, ...]:
        """Per quarter: the `check_in_rank`-th longest quiet learned there, carried forward by
        `check_in_grace_h` (no pooling, no margin: the soft tier asks early, and cheaply).

        `daytime`: for a spell that began in the day, judged by the household's own days at that hour
        rather than by its single longest one — the longest quiet learned at a quarter counts only up to
        `check_in_day_reach_h` past the next longest (one long outing, or a use a lost stretch of
        readings hid, does not make hours of quiet usual there for four weeks), and no grace is carried
        into a quarter the household used on `check_in_day_anchor` of its days or more (its lunch or
        dinner: a spell that runs through it has missed what the household nearly always does)."""
        rank = max(1, min(int(self.check_in_rank), len(quiet)))
        known = np.where(np.isfinite(quiet), quiet, -1.0)
        ordered = np.sort(known, axis=0)
        ranked = ordered[-rank]
        longest = ordered[-1]
        usual = np.where(ranked >= 0, ranked, longest)  # too few known days there: the longest
        if daytime and len(quiet) > 1:
            borne_out = ordered[-2] + 4 * self.check_in_day_reach_h
            usual = np.where(ordered[-2] >= 0, np.minimum(usual, borne_out), usual)
        usual = np.where(usual >= 0, usual, np.max(usual))
        carry = round(self.check_in_grace_h * 4)
        carried = [np.roll(usual, k) + k for k in range(1, carry + 1)]
        if daytime:
            always = (known == 0).sum(axis=0) >= self.check_in_day_anchor * np.maximum(np.isfinite(quiet).sum(axis=0), 1)
            carried = [np.where(always, usual, c) for c in carried]
        near = np.max([usual, *carried], axis=0)
        return tuple(round(float(v), 2) for v in np.maximum(near / 4, self.check_in_floor_h))

    def __getstate__(self) -> tuple[object, ...]:
        # Days as 12-byte masks: 28 days of a routine in under 400 bytes; the quarters of reading
        # gaps, which few days have, as (day, first quarter, quarters) spans beside them.
        masks: bytes | tuple[bytes, bytes] = b"".join(m.to_bytes(12, "little") for m in self._masks)
        if any(self._unknown):
            masks = (masks, _spans(self._unknown))
        first = self._dates[0] if self._dates else 0
        gaps = bytes(min(255, b - a) for a, b in zip(self._dates, self._dates[1:], strict=False))
        settings: tuple[object, ...] = (
            self.window_days, self.warmup_days, self.grace_h, self.pool_h, self.margin_h, self.floor_h, self.pool_day,
        )
        check_in = (
            self.check_in_rank, self.check_in_grace_h, self.check_in_floor_h, self.check_in_day_reach_h, self.check_in_day_anchor,
        )
        if check_in != _CHECK_IN_DEFAULTS:  # the defaults are not stored: a few bytes per household
            settings += check_in
        if self._outings:
            return (settings, first, gaps, masks, tuple(self._answers), tuple(self._outings))
        if not self._answers:
            return (settings, first, gaps, masks)
        return (settings, first, gaps, masks, tuple(self._answers))

    def __setstate__(self, state: tuple[object, ...]) -> None:
        settings, first, gaps, masks, *answers = state
        self._outings = [tuple(o) for o in answers[1]] if len(answers) > 1 else []  # type: ignore[misc]
        defaults = _CHECK_IN_DEFAULTS  # not stored, or pickled before the soft tier
        (
            self.window_days, self.warmup_days, self.grace_h, self.pool_h, self.margin_h, self.floor_h, self.pool_day,
            self.check_in_rank, self.check_in_grace_h, self.check_in_floor_h, self.check_in_day_reach_h, self.check_in_day_anchor,
        ) = (*settings, *defaults[len(settings) - 7 :])  # type: ignore[misc]
        self._answers = [tuple(a) for a in answers[0]] if answers else []  # type: ignore[misc]
        masks, spans = masks if isinstance(masks, tuple) else (masks, b"")  # no gap learned (or pickled before)
        count = len(masks) // 12  # type: ignore[arg-type]
        self._masks = [int.from_bytes(masks[12 * i : 12 * i + 12], "little") for i in range(count)]  # type: ignore[index]
        self._unknown = _from_spans(spans, count)  # type: ignore[arg-type]
        self._dates = [first] if count else []  # type: ignore[list-item]
        for gap in gaps:  # type: ignore[union-attr]
            self._dates.append(self._dates[-1] + gap)
        self._derive()

    def __repr__(self) -> str:
        return f"QuietSpell(days_learned={len(self._dates)}, warm={self.warm})"


def waits_after(dates: Sequence[int], masks: Sequence[int], since_s: float, tz: tzinfo) -> tuple[float, ...]:
    """For each learned day (whose next day is learned too, when needed): hours from the
    clock time of `since_s` to the next use."""
    _, start = local_quarter(since_s, tz)
    known = dict(zip(dates, masks, strict=True))
    waits = []
    for day, mask in known.items():
        later = mask >> (start + 1)
        if later:
            waits.append(((later & -later).bit_length()) / 4)
            continue
        following = known.get(day + 1)
        if following:
            waits.append((QUARTERS_PER_DAY - start - 1 + (following & -following).bit_length()) / 4)
    return tuple(waits)


def _bits(masks: Sequence[int]) -> np.ndarray:
    """days x 96 booleans: was the quarter used?"""
    packed = np.frombuffer(b"".join(m.to_bytes(12, "little") for m in masks), dtype=np.uint8)
    return np.unpackbits(packed.reshape(len(masks), 12), axis=1, bitorder="little").astype(bool)


def _spans(masks: Sequence[int]) -> bytes:
    """Runs of set bits as (index of the mask, first bit, length) bytes.

    >>> _spans([0, 0b1110, 1 << 95]), _from_spans(_spans([0, 0b1110, 1 << 95]), 3) == [0, 0b1110, 1 << 95]
    (b'\\x01\\x01\\x03\\x02_\\x01', True)
    """
    out = bytearray()
    for index, mask in enumerate(masks):
        while mask:
            first = (mask & -mask).bit_length() - 1
            length = (~mask >> first & -(~mask >> first)).bit_length() - 1
            out += bytes((index, first, length))
            mask &= ~(((1 << length) - 1) << first)
    return bytes(out)


def _from_spans(spans: bytes, count: int) -> list[int]:
    masks = [0] * count
    for i in range(0, len(spans), 3):
        index, first, length = spans[i : i + 3]
        masks[index] |= ((1 << length) - 1) << first
    return masks


def _quiet_quarters(dates: Sequence[int], bits: np.ndarray, unknown: np.ndarray | None = None) -> np.ndarray:
    """days x 96: quarters since the last use at the end of each quarter; NaN where that
    reaches back past the previous day, or into a previous day that was not learned, in the
    `unknown` quarters (inside a reading gap) and where it is counted from the use seen at a
    gap's end (which may have come hours earlier: from then to the next use, the quiet is not known)."""
    days = len(bits)
    unknown = np.zeros_like(bits) if unknown is None else unknown
    previous, previous_unknown = np.zeros_like(bits), np.zeros_like(bits)
    known_before = np.zeros(days, dtype=bool)
    for i in range(1, days):
        if dates[i] - 1 == dates[i - 1]:
            previous[i], previous_unknown[i], known_before[i] = bits[i - 1], unknown[i - 1], True
    both = np.concatenate([previous, bits], axis=1)
    index = np.arange(2 * QUARTERS_PER_DAY)
    last = np.maximum.accumulate(np.where(both, index, -1), axis=1)[:, QUARTERS_PER_DAY:]
    quiet = (index[QUARTERS_PER_DAY:] - last).astype(float)
    floor = np.where(known_before, 0, QUARTERS_PER_DAY)[:, None]
    gaps = np.concatenate([previous_unknown, unknown], axis=1)
    smeared = np.zeros_like(gaps)
    smeared[:, 1:] = gaps[:, :-1] & ~gaps[:, 1:]  # the quarter a gap's use was counted in
    from_smeared = np.take_along_axis(smeared, np.maximum(last, 0), axis=1)
    return np.where((last >= floor) & ~unknown & ~from_smeared, quiet, np.nan)


def _daytime_spells(bits: np.ndarray, unknown: np.ndarray) -> list[int]:
    """Per day, quarters of its longest quiet spell wholly inside the household's waking
    hours: the quarters with some use within an hour on at least half of the days (so a
    night-time toilet visit does not make the night part of the day).  Spells reaching into a
    reading gap's unknown quarters, or beginning with the use seen at its end, are of unknown
    length: not counted."""
    near = np.zeros_like(bits)
    for k in range(-4, 5):
        near |= np.roll(bits, k, axis=1)
    awake = near.mean(axis=0) >= 0.5
    spells = []
    for day, gap in zip(bits, unknown, strict=True):
        run = longest = 0
        after_gap = from_gap = False
        for quarter in range(QUARTERS_PER_DAY):
            if not awake[quarter] or gap[quarter]:
                run = 0  # a spell reaching out of the waking hours is a night, not a day
                after_gap, from_gap = bool(gap[quarter]), False
            elif day[quarter]:
                if not from_gap:  # a spell from the use seen at a gap's end is of unknown length
                    longest = max(longest, run)
                run, from_gap, after_gap = 0, after_gap, False
            else:
                run, after_gap = run + 1, False
        spells.append(longest)
    return spells


def _daytime_floor_h(bits: np.ndarray, unknown: np.ndarray, margin_h: float) -> float:
    """The longest daytime spell learned, plus a margin that grows with how much the
    household's days differ: a household that sometimes goes out for the afternoon may one
    day stay out longer than it ever did."""
    spells = _daytime_spells(bits, unknown)
    longest, usual = max(spells) / 4, float(np.median(spells)) / 4
    if longest - usual < IRREGULAR_SPREAD_H:
        return 0.0  # days alike: the limits by time of day say it better
    return longest + max(margin_h, longest - usual)


def _spans_the_night(since_s: float, at_s: float, tz: tzinfo) -> bool:
    """Did the spell begin before the last 04:00, and is it now morning (before 14:00)?"""
    by_zone = _MORNINGS.get(tz)
    four_s = None if by_zone is None else by_zone.get(at_s)
    if four_s is None:
        four_s = _morning_of(at_s, tz)
    return since_s < four_s  # NaN, not in the morning: never


def _morning_of(at_s: float, tz: tzinfo) -> float:
    """The local 04:00 that began the morning `at_s` is in (NaN when it is not morning), remembered
    in `_MORNINGS`: a check-in asks at every quarter-hour it judges, and a conversion through the
    time zone costs a few microseconds."""
    local = datetime.fromtimestamp(at_s, tz)
    four_s = math.nan
    if MORNING_FROM_H <= local.hour < MORNING_UNTIL_H:
        four_s = local.replace(hour=MORNING_FROM_H, minute=0, second=0, microsecond=0).timestamp()
    by_zone = _MORNINGS.get(tz)
    if by_zone is None or len(by_zone) >= _CACHED_MORNINGS:
        by_zone = _MORNINGS[tz] = {}
    by_zone[at_s] = four_s
    return four_s


_MORNINGS: dict[tzinfo, dict[float, float]] = {}
"""Per time zone, per moment asked (quarter-hour ends, mostly): `_morning_of`."""
_CACHED_MORNINGS = 1 << 16


class LearnedQuietRule:
    """morning_activity_missing / unusual_quiet for one household (warning).

    Judged at ticks, on the evidence every meter has delivered (a daily batch is judged
    when it arrives, once, whole — never raised and cleared within one batch); cleared by
    the first use seen after the spell began.  Silent during warm-up, while a planned
    absence lasts (and a spell counts from the return), and while the 24 h rule's
    critical alert already speaks for the household.
    """

    __slots__ = ("profile", "_meters", "_kinds", "_away", "_relearn_s", "_spoken")

    def __init__(self, profile: HouseholdProfile, relearn_within_h: float = 4.0) -> None:
        self.profile = profile
        self._meters = tuple(m.meter_id for m in profile.meters)
        self._kinds = tuple(kind for kind in MeterKind if profile.meters_of(kind))
        self._away = tuple(sorted((w.start.timestamp(), w.end.timestamp()) for w in profile.away))
        self._relearn_s = relearn_within_h * 3600
        """An alert cleared this soon after it was raised was a late morning, not an incident:
        its day is still learned, so a changed routine is learned instead of alerted on forever."""
        self._spoken = speaking_for_quiet(profile)
        """Alerts that already speak for a quiet spell: no learned verdict while one is open."""

    def judge(
        self,
        learners: Sequence[QuietSpell] | Sequence[Any],
        days: DayBook,
        raised: RaisedConditions,
        evidence_s: float,
        at_s: float,
    ) -> list[Detection]:
        """Judge the spell, on the evidence up to `evidence_s` (`evidence_of`), by every learner
        (`QuietSpell`, and a `RiverQuiet` when switched on): the first to find it unusual raises the alert."""
        if evidence_s <= days.scored_s or days.last_use_s == -math.inf:
            return []
        if raised.any_of(self._spoken):
            return []
        learners = [learner for learner in learners if learner.warm]
        if not learners:
            return []
        since_s, since_return = max(days.last_use_s, days.fine_s), False  # "I'm fine" to a check-in is a sign of life
        for start_s, end_s in self._away:
            if start_s <= evidence_s < end_s:
                days.scored_s = evidence_s  # away: nothing to judge, and nothing owed later
                return []
            if since_s < end_s <= evidence_s:
                since_s, since_return = end_s, True  # a spell counts from the return
        from_s, days.scored_s = max(days.scored_s, since_s), evidence_s
        for learner in learners:
            if evidence_s - since_s >= learner.shortest_unusual_s:
                break
        else:
            return []  # the usual tick in the day: a spell no learner can find unusual yet
        spell = Spell(since_s, from_s, evidence_s, self.profile.timezone)
        found = None  # the earliest finding; on a tie, the first learner's
        for learner in learners:
            finding = learner.score_one(spell)
            if finding is not None and (found is None or finding.at_s < found.at_s):
                found = finding
        if found is None or not raised.open(found.alert_type, since_s, self._meters):
            return []
        days.quiet_raised_s = at_s
        words = explain.quiet_unusual(
            self._kinds, since_s, found.at_s, found.waits_h, found.days,
            found.alert_type is AlertType.MORNING_ACTIVITY_MISSING, self.profile.timezone, since_return,
        )
        facts: dict[str, float | str] = {
            "since": instant(since_s).isoformat(),
            "hours": round((found.at_s - since_s) / 3600, 2),
            "limit_h": found.limit_h,
            "days_learned": found.days,
            "longest_wait_h": max(found.waits_h, default=math.nan),
            "judged_at": instant(found.at_s).isoformat(),
            "detector": found.detector,
        }
        if since_return:
            facts["counted_from"] = "planned_return"
        entry = raised.get(found.alert_type)
        return [detection(self.profile, found.alert_type, Transition.RAISED, entry, evidence_s, words, facts)]

    def heard(self, days: DayBook, raised: RaisedConditions, at_s: float) -> list[Detection]:
        """After a reading: clear a quiet alert once use after its onset is seen."""
        for alert in QUIET_ALERTS:
            entry = raised.get(alert)
            if entry is not None and days.last_use_s > entry.onset_s:
                return [self._clear(alert, days, raised, at_s, explain.quiet_over(
                    self._kinds, entry.onset_s, days.last_use_s, self.profile.timezone
                ), {"used_at": instant(days.last_use_s).isoformat()})]
        return []

    def escalated(self, days: DayBook, raised: RaisedConditions, at_s: float, into: AlertType) -> list[Detection]:
        """The seed rule's critical alert `into` took over: one alert per incident."""
        return [
            self._clear(alert, days, raised, at_s, explain.quiet_escalated(into, at_s, self.profile.timezone),
                        {"escalated_into": into.value})
            for alert in QUIET_ALERTS
            if alert in raised
        ]

    def _clear(
        self, alert: AlertType, days: DayBook, raised: RaisedConditions, at_s: float,
        words: Explanation, facts: dict[str, float | str],
    ) -> Detection:
        ended: Raised = raised.close(alert)
        if not at_s - days.quiet_raised_s <= self._relearn_s:
            days.mark_flagged(ended.onset_s, at_s, self.profile.timezone)
        days.quiet_raised_s = -math.inf
        return detection(self.profile, alert, Transition.CLEARED, ended, at_s, words, facts)


def evidence_of(histories: Mapping[str, MeterHistory], meters: Sequence[str]) -> float | None:
    """Up to when every meter has reported (None while one never has)."""
    newest = math.inf
    for meter_id in meters:
        times = histories[meter_id].times
        if not times:
            return None
        if times[-1] < newest:  # min(), without the call: every tick asks
            newest = times[-1]
    return newest

