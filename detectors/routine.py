"""A household's days as the learned detectors see them, and the filter of what they learn.

A day (local midnight to midnight) is summed up as: which quarter-hours saw any gas or
water use, and how much of each was used.  A reading whose register rose since the one
before is a use at that reading's time — the use happened somewhere in the interval, and
its end is the latest moment the household surely was active — so gas and water weigh
the same: an elder who only ran the tap today was up today.

A day is closed once every meter has reported past its end (event time: a daily batch
closes yesterday when it arrives).  Then it is handed to the learned detectors **only if
it is fit to learn from** — river's `anomaly.ThresholdFilter` idea: an incident must not
teach the model that silence is normal.  Not learned: days inside a planned absence, and
days flagged by an alert for duty staff that lasted (an alert that was open when the day
closed, or that stayed open for hours).

A reading gap of hours across which the register rose smeared that use over the gap: when
in it the household was up is not known.  Its quarter-hours are `Day.unknown`, and the rest
of the day is still learned by the quiet learner (detectors.quiet); the learners that need a
whole day (night use, volume, the river model) leave such a day out.  Real meters drop out
for hours on many days (gateway_sim.cadence): leaving those days out whole kept a household
with a gappy meter in its warm-up for weeks, with only the 24 h rule to protect it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from typing import NamedTuple

from carewatch.domain import MeterKind

QUARTERS_PER_DAY = 96
QUARTER_S = 900.0
USE_STEP_M3 = 0.001
"""One litre, the dials' resolution: less than this between two readings is no use."""
USE_FROM_M3 = USE_STEP_M3 - 1e-9
"""Use between two readings from this on is a use: a litre, less the registers' float noise."""
MAX_GAP_S = 4.5 * 3600.0
"""A reading interval longer than this, with use across it, leaves its quarter-hours unknown (a
shorter one only makes a quiet spell look a little longer: a safe error to learn)."""
MOST_UNKNOWN = QUARTERS_PER_DAY // 2
"""A day with more quarter-hours unknown than this tells too little to learn from."""

_INCOMPLETE, _FLAGGED = 1, 2
_GAS = MeterKind.GAS
"""Bound once: an enum member looked up on its class costs ~0.15 µs in Python 3.11, and every reading asks."""


class Day(NamedTuple):
    """One closed local day of a household.

    >>> day = Day(date=739000, active=0b111 << 28, gas_m3=0.6, water_m3=None, learnable=True)
    >>> day.active_quarters, day.used_at(29), day.used_at(31)
    (3, True, False)
    """

    date: int
    """Proleptic ordinal of the local date (`datetime.date.toordinal`)."""
    active: int
    """Bit q set: gas or water was used in the quarter-hour q (bit 0: 00:00-00:15)."""
    gas_m3: float | None
    """None: the household has no gas meter."""
    water_m3: float | None
    learnable: bool
    counted: bool = True
    """A whole day at home with every meter heard: its use tells how the household lives now
    (even when an alert flagged it, so it is not learned as normal)."""
    unknown: int = 0
    """Bit q set: the quarter-hour q lies inside a reading gap of hours across which the register
    rose, so whether it saw use is not known (its use is counted at the gap's end)."""

    @property
    def active_quarters(self) -> int:
        return self.active.bit_count()

    @property
    def whole(self) -> bool:
        """Fit to learn from, every quarter-hour known: what the learners of whole days need."""
        return self.learnable and not self.unknown

    def used_at(self, quarter: int) -> bool:
        return bool(self.active >> quarter & 1)


def local_quarter(at_s: float, tz: tzinfo) -> tuple[int, int]:
    """(local date ordinal, quarter-hour of the day) of the quarter that ends at or
    contains `at_s` — a reading at 07:00 closes the quarter 06:45-07:00.

    Every reading and tick asks this: a whole second is answered from the quarter of UTC it
    falls in, converted once per time zone (`_LOCAL_QUARTERS`).

    >>> from datetime import UTC
    >>> from zoneinfo import ZoneInfo
    >>> local_quarter(datetime(2024, 1, 5, 7, 0, tzinfo=UTC).timestamp(), UTC)
    (738890, 27)
    >>> berlin = ZoneInfo("Europe/Berlin")  # 02:00 becomes 03:00 at 01:00 UTC on 2026-03-29
    >>> spring = datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp()
    >>> [local_quarter(spring + s, berlin) for s in (0.0, 0.5, 1.0)]  # 01:59:59, 01:59:59.5, 03:00:00
    [(739704, 7), (739704, 7), (739704, 12)]
    """
    moment_s = at_s - 1.0
    if not moment_s.is_integer():  # a fraction of a second: rounded as datetime rounds it
        return _local_quarter(moment_s, tz)
    bucket = moment_s // 900  # a whole number (as a float, which finds the same keys as an int)
    by_zone = _LOCAL_QUARTERS.get(tz)
    found = None if by_zone is None else by_zone.get(bucket)
    if found is None:
        found = _remembered_quarter(int(bucket), tz)
    return found if found else _local_quarter(moment_s, tz)


def _remembered_quarter(bucket: int, tz: tzinfo) -> tuple[int, int] | tuple[()]:
    """`_uniform_quarter`, remembered in `_LOCAL_QUARTERS` (started afresh once it holds `_CACHED_QUARTERS`)."""
    by_zone = _LOCAL_QUARTERS.get(tz)
    if by_zone is None or len(by_zone) >= _CACHED_QUARTERS:
        by_zone = _LOCAL_QUARTERS[tz] = {}
    found = by_zone[bucket] = _uniform_quarter(bucket, tz)
    return found


def _local_quarter(moment_s: float, tz: tzinfo) -> tuple[int, int]:
    moment = datetime.fromtimestamp(moment_s, tz)
    return moment.toordinal(), (moment.hour * 60 + moment.minute) // 15


def _uniform_quarter(bucket: int, tz: tzinfo) -> tuple[int, int] | tuple[()]:
    """The local quarter of every whole second of this quarter of UTC, when they share one (the
    same offset from its first second to its last); () when not (a change of clocks inside it,
    or an offset that is no whole number of quarters): those seconds are converted one by one."""
    first_s = bucket * 900
    first, last = _local_quarter(first_s, tz), _local_quarter(first_s + 899, tz)
    if first != last or _offset(first_s, tz) != _offset(first_s + 899, tz):
        return ()
    return first


def _offset(at_s: float, tz: tzinfo) -> object:
    return datetime.fromtimestamp(at_s, tz).utcoffset()


_LOCAL_QUARTERS: dict[tzinfo, dict[int, tuple[int, int] | tuple[()]]] = {}
"""Per time zone, per quarter of UTC (epoch seconds // 900): its local quarter (see local_quarter)."""
_CACHED_QUARTERS = 1 << 16
"""Quarters remembered per time zone (almost two years' worth) before starting afresh."""


def day_start_s(ordinal: int, tz: tzinfo) -> float:
    """Epoch seconds of local midnight starting that day."""
    key = (ordinal, tz)
    start_s = _DAY_STARTS.get(key)
    if start_s is None:
        if len(_DAY_STARTS) >= _CACHED_QUARTERS:
            _DAY_STARTS.clear()
        day = date.fromordinal(ordinal)
        start_s = _DAY_STARTS[key] = datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    return start_s


_DAY_STARTS: dict[tuple[int, tzinfo], float] = {}
"""Local midnights asked for (every tick asks for today's): converted once."""


class DayBook:
    """Per-household state: the days not closed yet, and since when nothing was used.

    >>> from datetime import UTC
    >>> book = DayBook()
    >>> midnight = datetime(2024, 1, 5, tzinfo=UTC).timestamp()
    >>> book.heard(midnight - 18 * 3600, UTC)  # first heard at 06:00 the day before
    >>> book.use(MeterKind.WATER, midnight + 7 * 3600, 0.006, UTC)  # a flush, by 07:00
    >>> book.last_use_s == midnight + 7 * 3600
    True
    >>> first, second = book.close(midnight + 86400, UTC, kinds={MeterKind.WATER})
    >>> first.learnable  # heard only from 06:00: not a whole day
    False
    >>> second.active_quarters, second.water_m3, second.gas_m3, second.learnable
    (1, 0.006, None, True)
    """

    __slots__ = (
        "_open", "closed_through", "next_close_s", "last_use_s", "scored_s", "quiet_raised_s", "scored_night",
        "fine_s", "asked_s",
    )

    def __init__(self) -> None:
        self._open: dict[int, list[float]] = {}
        """date -> [active quarters, gas m³, water m³, flags, unknown quarters], for days not closed yet."""
        self.closed_through: int | None = None
        self.next_close_s = math.inf
        """When the oldest open day ends: evidence past it closes it."""
        self.last_use_s = -math.inf
        self.scored_s = -math.inf
        """Evidence up to which the learned inactivity verdict was judged."""
        self.quiet_raised_s = -math.inf
        """When the open learned inactivity alert was raised."""
        self.scored_night = 0
        """Date of the last morning whose night was judged."""
        self.fine_s = -math.inf
        """When the elder last answered a check-in "I'm fine": a sign of life for the learned detectors."""
        self.asked_s = -math.inf
        """When the open check-in was asked (detectors.checkin)."""

    def heard(self, at_s: float, tz: tzinfo) -> None:
        """A first reading starts the book; its day began before we listened: not learned."""
        if self.closed_through is not None:
            return
        today, _ = local_quarter(at_s, tz)
        self.closed_through = today - 1
        self.next_close_s = day_start_s(today + 1, tz)
        self._entry(today)[3] = _INCOMPLETE

    def use(self, kind: MeterKind, at_s: float, used_m3: float, tz: tzinfo) -> None:
        """`used_m3` ran through a meter in the interval ending at `at_s`."""
        active = used_m3 >= USE_FROM_M3
        if active and at_s > self.last_use_s:  # max(), without the call: every reading asks
            self.last_use_s = at_s
        self.adjust(kind, at_s, used_m3, tz, active)

    def adjust(self, kind: MeterKind, at_s: float, used_m3: float, tz: tzinfo, active: bool = False) -> None:
        """Add (or, negative, take back) use counted in the day of `at_s`.  A late reading
        that splits an interval moves part of its use to an earlier quarter."""
        day, quarter = local_quarter(at_s, tz)
        if self.closed_through is None or day <= self.closed_through:
            return  # that day is learned already
        entry = self._entry(day)
        entry[1 if kind is _GAS else 2] += used_m3
        if active:
            entry[0] = int(entry[0]) | 1 << quarter

    def so_far(self, day: int) -> tuple[int, float, float] | None:
        """(active quarters, gas m³, water m³) heard so far of a day not closed yet."""
        entry = self._open.get(day)
        return None if entry is None else (int(entry[0]), entry[1], entry[2])

    def mark_gap(self, from_s: float, to_s: float, tz: tzinfo, *, used: bool) -> None:
        """A meter was not heard from `from_s` to `to_s`.  With use across the gap (`used`), the
        quarter-hours ending inside it are unknown: that use may have come before any of them.
        Without, they were quiet, as seen."""
        if self.closed_through is None or not used:
            return
        end_s = math.floor(from_s / QUARTER_S) * QUARTER_S + QUARTER_S
        while end_s < to_s:
            day, quarter = local_quarter(end_s, tz)
            if day > self.closed_through:
                entry = self._entry(day)
                entry[4] = int(entry[4]) | 1 << quarter
            end_s += QUARTER_S

    def mark_flagged(self, from_s: float, to_s: float, tz: tzinfo) -> None:
        self._mark(from_s, to_s, _FLAGGED, tz)

    def close(
        self,
        evidence_s: float,
        tz: tzinfo,
        *,
        kinds: Iterable[MeterKind],
        open_since: Sequence[float] = (),
        complete: bool = True,
        away: Sequence[tuple[float, float]] = (),
    ) -> list[Day]:
        """Close every day that ended by `evidence_s`.

        `open_since`: onsets of the alerts for duty staff open now; a day that ended after
        one of them saw it.  `complete`: False when a lagging meter is given up on.
        """
        if self.closed_through is None or evidence_s < self.next_close_s:
            return []
        kinds = set(kinds)
        closed = []
        while evidence_s >= self.next_close_s:
            day = self.closed_through + 1
            active, gas, water, flags, unknown = self._open.pop(day, (0, 0.0, 0.0, 0, 0))
            start_s, end_s = day_start_s(day, tz), self.next_close_s
            heard = (
                complete and not int(flags) & _INCOMPLETE and not any(a < end_s and b > start_s for a, b in away)
            )
            learnable = (
                heard
                and not any(onset_s < end_s for onset_s in open_since)
                and not int(flags) & _FLAGGED
                and int(unknown).bit_count() <= MOST_UNKNOWN
            )
            closed.append(
                Day(
                    day,
                    int(active),
                    round(gas, 6) if MeterKind.GAS in kinds else None,
                    round(water, 6) if MeterKind.WATER in kinds else None,
                    learnable,
                    heard and not unknown,  # use split wrongly between days by a gap across midnight
                    int(unknown),
                )
            )
            self.closed_through = day
            self.next_close_s = day_start_s(day + 2, tz)
        return closed

    def _entry(self, day: int) -> list[float]:
        entry = self._open.get(day)
        if entry is None:
            entry = self._open[day] = [0, 0.0, 0.0, 0, 0]
        return entry

    def _mark(self, from_s: float, to_s: float, flag: int, tz: tzinfo) -> None:
        if self.closed_through is None:
            return
        first, _ = local_quarter(from_s + 1.0, tz)
        last, _ = local_quarter(to_s, tz)
        for day in range(max(first, self.closed_through + 1), last + 1):
            entry = self._entry(day)
            entry[3] = int(entry[3]) | flag

    def __getstate__(self) -> tuple[object, ...]:
        days = tuple(
            (day, int(a), g, w, int(f), int(u)) if u else (day, int(a), g, w, int(f))
            for day, (a, g, w, f, u) in sorted(self._open.items())
        )
        state = (
            days, self.closed_through, self.next_close_s, self.last_use_s, self.scored_s, self.quiet_raised_s,
            self.scored_night,
        )
        asked = (self.fine_s, self.asked_s)
        return state if asked == (-math.inf,) * 2 else state + asked

    def __setstate__(self, state: tuple[object, ...]) -> None:
        if len(state) == 7:  # pickled before the check-ins, or none asked yet
            state = (*state, -math.inf, -math.inf)
        (
            days, self.closed_through, self.next_close_s, self.last_use_s, self.scored_s, self.quiet_raised_s,
            self.scored_night, self.fine_s, self.asked_s,
        ) = state  # type: ignore[misc]
        # A day's unknown quarters are stored only when it has any (and were not, before gaps were learned).
        self._open = {day: [a, g, w, f, u[0] if u else 0] for day, a, g, w, f, *u in days}  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"DayBook(closed_through={self.closed_through}, open={sorted(self._open)}, last_use_s={self.last_use_s})"
