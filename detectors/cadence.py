"""A meter's reporting cadence, learned online: how long this meter is silent when nothing is wrong.

Real meters do not report like a clock: readings come at irregular minutes, and now and then
nothing arrives for hours (issue #14: 2 % of the intervals longer than 3 h, 0.06 % longer than
a day, clustered in some meters).  "Silent after k configured intervals" turns every ordinary gap
into a technician ticket; a silence is judged against the meter's own history instead.

The history is a histogram of the intervals between successive readings in fixed log-spaced
bins (four per doubling, from a minute to 45 days): 64 small counters, whatever the meter's
age, that pickle as the few non-empty bins.  Once the counts reach `CAPACITY` they are halved
(rounding up, so a rare long gap is not forgotten at once): old behaviour fades, memory stays
bounded, and the counts fit in 16 bits.
"""

from __future__ import annotations

import bisect
import itertools
import math
from array import array

FIRST_EDGE_S = 60.0
"""The upper edge of the first bin: a gap of a minute or less."""
BINS_PER_DOUBLING = 4
"""Bins are 19 % wide: a quantile read from them is at most that much too long (never too short)."""
BINS = 64
CAPACITY = 8192
"""Counts are halved when their sum reaches this: about a year of hourly readings, three months
of quarter-hourly ones."""
TAIL_FROM = BINS_PER_DOUBLING
"""A gap in the tail is longer than twice the median (this many bins beyond the median's)."""
PRIOR_TAIL_GAPS = 20.0
"""The prior tail index weighs as much as this many learned tail gaps: a meter with few long gaps
leans on what real meters do, one with many on its own."""
PRIOR_TAIL_SHARE, PRIOR_INTERVALS = 0.02, 100.0
"""The prior share of intervals in the tail (real meters: 2 % longer than 3 h, issue #14), weighing as
much as this many learned intervals."""


def bin_of(gap_s: float) -> int:
    """The bin a gap falls in.

    >>> bin_of(30.0), bin_of(60.0), bin_of(61.0), bin_of(3600.0), bin_of(1e12)
    (0, 0, 1, 24, 63)
    """
    if gap_s <= FIRST_EDGE_S:
        return 0
    return min(BINS - 1, math.ceil(BINS_PER_DOUBLING * math.log2(gap_s / FIRST_EDGE_S) - 1e-9))


_BINS_BY_GAP: dict[float, int] = {}
"""`bin_of` remembered (started afresh once it holds `_CACHED_GAPS`): a meter's gaps repeat (900 s,
3600 s ...), so the logarithm is taken once per gap.  A plain dict: `functools.lru_cache` wraps a float
argument in a key tuple, which cost twice the look-up."""
_CACHED_GAPS = 4096
_INF = math.inf


def upper_edge(index: int) -> float:
    """The longest gap of a bin (seconds).

    >>> upper_edge(0), upper_edge(24)
    (60.0, 3840.0)
    """
    return FIRST_EDGE_S * 2 ** (index / BINS_PER_DOUBLING)


_UPPER_EDGES = tuple(upper_edge(index) for index in range(BINS))


class ReportingCadence:
    """The distribution of one reporting stream's gaps (a meter's, or a whole household's).

    River-shaped: `learn_one(gap_s)` takes the interval between two successive readings,
    `quantile(q)` answers with the bin's upper edge (so it errs long: fewer tickets),
    `learned` says how many gaps (decayed) it rests on.

    >>> import random
    >>> rng = random.Random(42)
    >>> cadence = ReportingCadence()
    >>> for _ in range(1000):  # about hourly, and one interval in fifty a gap of 3 to 12 hours
    ...     hours = rng.uniform(3, 12) if rng.random() < 0.02 else rng.uniform(0.8, 1.2)
    ...     cadence.learn_one(3600 * hours)
    >>> cadence.learned, round(cadence.quantile(0.5) / 3600, 2), round(cadence.quantile(0.999) / 3600, 1)
    (1000, 1.07, 12.1)
    """

    __slots__ = ("counts", "learned", "_judged")

    def __init__(self) -> None:
        self.counts = array("H", bytes(2 * BINS))
        self.learned = 0
        """Gaps the counts hold (halved with them)."""
        self._judged: dict[tuple[str, float, float], float] | None = None
        """The answers of `silent_after_s` and `tail_reach_s` by their arguments, until the next gap is
        learned: ticks ask often."""

    def learn_one(self, gap_s: float) -> None:
        if not 0 < gap_s < _INF:  # no gap, none yet (inf) or not a number
            return
        index = _BINS_BY_GAP.get(gap_s)
        if index is None:
            if len(_BINS_BY_GAP) >= _CACHED_GAPS:
                _BINS_BY_GAP.clear()
            index = _BINS_BY_GAP[gap_s] = bin_of(gap_s)
        self.counts[index] += 1
        self.learned += 1
        self._judged = None
        if self.learned >= CAPACITY:
            for i, count in enumerate(self.counts):
                self.counts[i] = (count + 1) // 2
            self.learned = sum(self.counts)

    def quantile(self, q: float) -> float:
        """The gap that at least a share `q` of the learned gaps did not exceed (upper bin edge);
        NaN before anything is learned."""
        if not self.learned:
            return math.nan
        return _UPPER_EDGES[self._bin_at(list(itertools.accumulate(self.counts)), q)]

    def _bin_at(self, running: list[int], q: float) -> int:
        """The bin of the `q` quantile, given the running counts."""
        return min(bisect.bisect_left(running, q * self.learned - 1e-9), BINS - 1)

    def _known(self, key: tuple[str, float, float]) -> float | None:
        return None if self._judged is None else self._judged.get(key)

    def _keep(self, key: tuple[str, float, float], answer: float) -> float:
        if self._judged is None:
            self._judged = {}
        self._judged[key] = answer
        return answer

    def silent_after_s(self, q: float, factor: float) -> float:
        """How long a silence may last before it is unusual for this stream: the median gap, plus
        `factor` times how far the `q` quantile reaches beyond it.  A meter that reports like a
        clock has no spread, and stays on its configured rule (the caller's floor); a gappy one
        is measured by its own gaps.

        >>> clockwork, gappy = ReportingCadence(), ReportingCadence()
        >>> for n in range(1000):
        ...     clockwork.learn_one(900.0)
        ...     gappy.learn_one(5 * 3600.0 if n % 100 == 0 else 3600.0)
        >>> clockwork.silent_after_s(0.999, 10.0) == clockwork.quantile(0.5)
        True
        >>> round(gappy.silent_after_s(0.995, 4.0) / 3600, 1)  # one gap in a hundred of 5 h
        17.1
        """
        key = ("spread", q, factor)
        if not self.learned or (known := self._known(key)) is not None:
            return known if self.learned else math.nan
        running = list(itertools.accumulate(self.counts))
        median_s, reach_s = _UPPER_EDGES[self._bin_at(running, 0.5)], _UPPER_EDGES[self._bin_at(running, q)]
        return self._keep(key, median_s + factor * (reach_s - median_s))

    def tail_reach_s(self, rate: float, prior_index: float) -> float:
        """How long a gap comes once in `1 / rate` intervals, by this stream's tail: its gaps longer
        than twice the median, fitted as a power law (Hill's estimator of the tail index, pooled with
        `prior_index` weighing `PRIOR_TAIL_GAPS` gaps; the tail's share pooled with `PRIOR_TAIL_SHARE`)
        and extrapolated beyond the longest gap learned, which a few hundred gaps cannot place.  NaN for
        a stream with no gap in its tail (a meter that reports like a clock shows none: no tail to fit).

        >>> import random
        >>> rng = random.Random(42)
        >>> calm, gappy = ReportingCadence(), ReportingCadence()
        >>> for n in range(600):  # about hourly: three gaps of 3 h, or a power-law gap one interval in eleven
        ...     calm.learn_one(3600 * (3.0 if n % 200 == 0 else rng.uniform(0.8, 1.2)))
        ...     gappy.learn_one(3600 * (1.5 * rng.paretovariate(1.5) if rng.random() < 0.09 else rng.uniform(0.8, 1.2)))
        >>> [round(c.quantile(1.0) / 3600, 1) for c in (calm, gappy)]  # the longest gap learned
        [3.0, 20.3]
        >>> [round(c.silent_after_s(0.999, 12.0) / 3600) for c in (calm, gappy)]  # the spread rule (hours)
        [24, 232]
        >>> [round(c.tail_reach_s(1e-5, 1.5) / 3600) for c in (calm, gappy)]  # once in 100,000 intervals
        [123, 416]
        >>> clockwork = ReportingCadence()
        >>> clockwork.learn_one(900.0)
        >>> clockwork.tail_reach_s(1e-5, 1.5)
        nan
        """
        key = ("tail", rate, prior_index)
        if not self.learned or (known := self._known(key)) is not None:
            return known if self.learned else math.nan
        beyond = self._bin_at(list(itertools.accumulate(self.counts)), 0.5) + TAIL_FROM
        # The tail starts at the lower edge of the shortest gap's bin past twice the median.
        start = next((i - 1 for i in range(beyond + 1, BINS) if self.counts[i]), None)
        answer = math.nan
        if start is not None:
            tail = excess = 0.0
            for i in range(start + 1, BINS):  # a bin's gaps at its geometric middle, in log units past the start
                tail += self.counts[i]
                excess += self.counts[i] * (i - start - 0.5) * math.log(2) / BINS_PER_DOUBLING
            tail_index = (tail + PRIOR_TAIL_GAPS) / (excess + PRIOR_TAIL_GAPS / prior_index)
            share = (tail + PRIOR_TAIL_SHARE * PRIOR_INTERVALS) / (self.learned + PRIOR_INTERVALS)
            answer = upper_edge(start) * max(1.0, share / rate) ** (1 / tail_index)
        return self._keep(key, answer)

    def __getstate__(self) -> bytes:
        return pack([self])

    def __setstate__(self, state: bytes) -> None:
        [restored] = unpack(state)
        self.counts, self.learned, self._judged = restored.counts, restored.learned, None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReportingCadence) and self.counts == other.counts

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ReportingCadence(learned={self.learned}, median_s={self.quantile(0.5)})"


def pack(cadences: list[ReportingCadence]) -> bytes:
    """Several cadences as one string of 16-bit numbers: for each, how many non-empty bins,
    then (bin, count) pairs — a clockwork meter's whole history is three numbers.

    >>> one, two = ReportingCadence(), ReportingCadence()
    >>> for _ in range(5):
    ...     one.learn_one(900.0)
    >>> blob = pack([one, two])
    >>> len(blob), unpack(blob) == [one, two]
    (8, True)
    """
    numbers = array("H")
    for cadence in cadences:
        counts = cadence.counts
        filled = list(itertools.compress(_BIN_INDICES, counts))  # the non-empty bins, found in C: most are empty
        numbers.append(len(filled))
        for i in filled:
            numbers.append(i)
            numbers.append(counts[i])
    return numbers.tobytes()


_BIN_INDICES = range(BINS)


def unpack(blob: bytes) -> list[ReportingCadence]:
    numbers = array("H")
    numbers.frombytes(blob)
    cadences, i = [], 0
    while i < len(numbers):
        cadence, count = ReportingCadence(), numbers[i]
        for k in range(count):
            cadence.counts[numbers[i + 1 + 2 * k]] = numbers[i + 2 + 2 * k]
        cadence.learned = sum(cadence.counts)
        cadences.append(cadence)
        i += 1 + 2 * count
    return cadences
