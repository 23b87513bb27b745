"""The short, sorted history of one meter's readings: the evidence every rule reads.

A meter's register is cumulative, so the use over any span is the difference of
two readings, and a gap in the data never looks like zero use: the next reading
carries everything that was used meanwhile.
"""

from __future__ import annotations

import math
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable

import numpy as np

from detectors.base import EPSILON_M3, below


PRUNE_AFTER = 8
"""Readings are dropped in bunches once this many lie before the window (older ones change
no verdict: the anchor is still the newest reading at or before the window's start)."""
PRUNE_SHARE = 64
"""A dense meter's bunches grow with its window, to a 64th of the readings kept: dropping
copies the window, so a reading costs a bounded share of a copy however dense the readings
(a meter read every 15 minutes keeps ~100 and drops in bunches of PRUNE_AFTER, as always)."""


class MeterHistory:
    """Readings of one meter as (epoch seconds, register m³), sorted by time.

    Out-of-order readings are inserted where they belong.  `prune` keeps only
    what the rules can still need: the trailing window, one anchor reading at or
    before its start, and — further back — the readings that tell since when
    the meter has been quiet.  A reading older than `horizon` arrives too late
    to be judged.

    >>> history = MeterHistory()
    >>> for at_s, register in [(0.0, 5.0), (1800.0, 5.2), (900.0, 5.1)]:
    ...     history.insert(at_s, register)
    >>> list(history.times), list(history.registers)
    ([0.0, 900.0, 1800.0], [5.0, 5.1, 5.2])
    >>> history.at_or_before(1000.0)  # index of the newest reading at or before
    1
    """

    __slots__ = ("times", "registers", "horizon", "_runs")

    def __init__(self) -> None:
        self.times = array("d")
        self.registers = array("d")
        self.horizon = -math.inf
        """Readings before this time were forgotten; later arrivals there cannot be judged."""
        self._runs: dict[Hashable, tuple[int, int]] = {}
        """Derived, never pickled (see `run_start`): per run test, (end, since) — the intervals
        ending at readings since+1 … end pass it."""

    def __len__(self) -> int:
        return len(self.times)

    @property
    def newest(self) -> int:
        """Index of the newest reading (-1 when empty)."""
        return len(self.times) - 1

    def index_of(self, at_s: float) -> int | None:
        """Index of the reading taken exactly at this time, if any."""
        i = bisect_left(self.times, at_s)
        return i if i < len(self.times) and self.times[i] == at_s else None

    def at_or_before(self, at_s: float) -> int:
        """Index of the newest reading at or before this time (-1 if none)."""
        return bisect_right(self.times, at_s) - 1

    def first_at_or_after(self, at_s: float) -> int:
        """Index of the oldest reading at or after this time (len if none)."""
        return bisect_left(self.times, at_s)

    def insert(self, at_s: float, register_m3: float) -> None:
        self.place(at_s, register_m3)

    def place(self, at_s: float, register_m3: float) -> int:
        """Insert in time order; the index it took."""
        i = bisect_left(self.times, at_s)
        if i < len(self.times):
            self._runs.clear()  # a late reading splits an interval some run may cover
        self.times.insert(i, at_s)
        self.registers.insert(i, register_m3)
        return i

    def quiet_since(self, newest: int, min_use_m3: float) -> int:
        """Index of the earliest reading after which less than `min_use_m3` was used
        up to reading `newest`: the end of the last real use.

        Registers never decrease along the history, so this is a binary search.

        >>> history = MeterHistory()
        >>> for at_s, register in [(0.0, 1.0), (60.0, 1.5), (120.0, 1.5), (180.0, 1.505)]:
        ...     history.insert(at_s, register)
        >>> history.quiet_since(3, 0.01)
        1
        """
        floor = self.registers[newest] - min_use_m3 + EPSILON_M3
        return bisect_right(self.registers, floor, 0, newest + 1)

    def last_rise(self, newest: int, oldest: int, step_m3: float) -> int:
        """Index of the latest reading in (oldest, newest] whose register rose by `step_m3` or
        more (beyond float noise) since the reading before; `oldest` when none did.

        Registers never decrease, so every interval that ends after the first reading less
        than `step_m3` below the one before i rose by less: they are passed over by binary
        search.  The steps taken are at most the rise over `step_m3`, however many readings
        lie in between: an idle meter read every second costs what one read hourly does.

        >>> history = MeterHistory()
        >>> for minute, register in enumerate([1.0, 1.002, 1.002, 1.0025, 1.0025, 1.0025]):
        ...     history.insert(minute * 60.0, register)
        >>> history.last_rise(5, 0, 0.001), history.last_rise(5, 1, 0.001)
        (1, 1)
        """
        registers = self.registers
        i = newest
        while i > oldest:
            if not below(registers[i] - registers[i - 1], step_m3):
                return i
            floor = registers[i - 1] - step_m3 + 2 * EPSILON_M3  # twice: safe from float noise
            i = bisect_right(registers, floor, oldest, i - 1)
        return oldest

    def run_start(self, key: Hashable, passes: Callable[[int], bool]) -> int:
        """Index where the run of intervals ending at the newest reading begins: walking back
        from the newest reading while `passes(i)` holds for the interval that ends at reading i
        (which must depend on readings i-1 and i alone; `key` names the test).

        The walk is remembered (not pickled): a run that grows by one reading costs one step,
        not a walk over the whole run.  Readings inserted inside the history forget it;
        pruning keeps what it did not touch.

        >>> history = MeterHistory()
        >>> for minute, register in enumerate([1.0, 1.0, 1.1, 1.2, 1.3]):
        ...     history.insert(minute * 60.0, register)
        >>> rising = lambda i: history.registers[i] > history.registers[i - 1]
        >>> history.run_start("rising", rising)
        1
        >>> history.insert(300.0, 1.4)
        >>> history.run_start("rising", rising)  # one step: the interval that ends at the new reading
        1
        """
        newest = self.newest
        end, since = self._runs.get(key, (newest, newest))
        i = newest
        while i > end:
            if not passes(i):
                self._runs[key] = (newest, i)
                return i
            i -= 1
        i = since
        while i > 0 and passes(i):
            i -= 1
        self._runs[key] = (newest, i)
        return i

    def restart(self, times: list[float], registers: list[float]) -> None:
        """Forget everything and start again from these readings (a replaced or
        reset meter): earlier arrivals belong to the old meter."""
        self.times = array("d", times)
        self.registers = array("d", registers)
        self.horizon = times[0]
        self._runs.clear()

    def prune(self, keep_s: float, min_use_m3: float) -> None:
        """Drop readings no rule can need any more.

        Kept: every reading from the anchor (the newest one at or before
        newest - `keep_s`) on.  Before the anchor only the "quiet tail" survives:
        readings within `min_use_m3` of the newest register, one per register
        value (the earliest), so a household idle for days still knows since when
        it is idle without keeping days of identical readings.

        >>> history = MeterHistory()
        >>> for hour in range(0, 49):  # idle for two days: the register never moves
        ...     history.insert(hour * 3600.0, 7.0)
        >>> history.prune(keep_s=24 * 3600.0, min_use_m3=0.01)
        >>> len(history), history.times[0]  # the anchor's day, plus when idleness began
        (26, 0.0)
        """
        times = self.times
        newest = len(times) - 1
        if newest < 1:
            return
        window_from_s = times[newest] - keep_s
        if newest < PRUNE_AFTER or times[PRUNE_AFTER] > window_from_s:
            return  # the anchor is below PRUNE_AFTER (the test below), found without the bisection: most readings
        anchor = bisect_right(times, window_from_s) - 1  # at_or_before
        if anchor < PRUNE_AFTER or anchor < len(times) // PRUNE_SHARE:
            return  # a few readings older than needed cost less than copying the arrays each time
        floor = self.registers[newest] - min_use_m3 + EPSILON_M3
        tail = [
            i
            for i in range(anchor)
            if self.registers[i] > floor
            and (i == 0 or self.registers[i] - self.registers[i - 1] > EPSILON_M3)
        ]
        if len(tail) == anchor:
            return
        if not tail or tail[0] > 0:
            # Something at the front was forgotten: later arrivals there are too late.
            self.horizon = self.times[tail[0] if tail else anchor]
        times = array("d", (self.times[i] for i in tail))
        registers = array("d", (self.registers[i] for i in tail))
        times.extend(self.times[anchor:])
        registers.extend(self.registers[anchor:])
        self.times, self.registers = times, registers
        self._shift_runs(anchor, len(tail))

    def _shift_runs(self, anchor: int, kept_before: int) -> None:
        """Pruning kept `kept_before` readings before the one at `anchor`, which is now at that
        index: remembered runs keep their intervals from the anchor on; below it they are walked
        again (over the few readings kept there)."""
        shift = anchor - kept_before
        self._runs = {
            key: (end - shift, since - shift if since >= anchor else kept_before)
            for key, (end, since) in self._runs.items()
            if end >= anchor
        }

    def __getstate__(self) -> tuple[object, ...]:
        # A Faust table holds one history per meter for 300,000 households: stored as
        # compressed differences (~100 bytes a day of 15-minute readings instead of ~1.5 KB).
        return (pack(self.times, TIME_SCALE), pack(self.registers, REGISTER_SCALE), self.horizon)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        if len(state) == 2 and isinstance(state[1], dict):  # pickled before compaction: plain slots
            state = (state[1]["times"], state[1]["registers"], state[1]["horizon"])
        times, registers, self.horizon = state
        self._runs = {}
        self.times = unpack(times, TIME_SCALE)  # type: ignore[arg-type]
        self.registers = unpack(registers, REGISTER_SCALE)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"MeterHistory({len(self)} readings, horizon={self.horizon})"


TIME_SCALE = 1000.0
"""Times are kept exactly when they are whole milliseconds (they are: seconds in the contract)."""
REGISTER_SCALE = 10000.0
"""Registers are kept exactly when they are whole 0.1 litres (the finest dial resolves 0.0001 m³)."""


def pack(values: array, scale: float) -> bytes | array:
    """Values as zlib-compressed differences of whole units of 1/scale — when that is exact;
    the values themselves otherwise (pickling never changes a value).

    >>> values = array("d", [1234.567, 1234.567, 1234.6, 1234.614])
    >>> packed = pack(values, REGISTER_SCALE)
    >>> isinstance(packed, bytes), unpack(packed, REGISTER_SCALE) == values
    (True, True)
    >>> pack(array("d", [0.1 + 0.2]), REGISTER_SCALE)  # not a whole number of units: kept as it is
    array('d', [0.30000000000000004])
    """
    if len(values) >= PACK_VECTOR_FROM:
        packed = _pack_vector(values, scale)
        if packed is not None:
            return packed
    units = [round(v * scale) for v in values]
    if any(u / scale != v for u, v in zip(units, values, strict=True)):
        return values
    differences = array("q", (b - a for a, b in zip([0, *units], units, strict=False)))
    return zlib.compress(differences.tobytes())


PACK_VECTOR_FROM = 16
"""Histories at least this long are packed by numpy: a Faust worker pickles a household's state with
every upload it judges, and the loop above was ~45 % of that pickling (~100 readings a meter)."""

_EXACT_BELOW = 2.0**52
"""Units this small are exact as floats and as int64, so numpy's arithmetic gives the loop's bytes."""


def _pack_vector(values: array, scale: float) -> bytes | array | None:
    """`pack` by numpy, byte for byte the same: ``rint`` rounds half to even as ``round`` does, the
    products and quotients are the same IEEE operations.  None when a value is not finite or too
    large for that (the loop then decides, and raises as it would have)."""
    floats = np.frombuffer(values, dtype=np.float64)
    units = np.rint(floats * scale)
    if not np.abs(units).max() < _EXACT_BELOW:  # NaN (a value not finite) fails it too
        return None
    if (units / scale != floats).any():
        return values
    # The differences with 0 before the first (``np.diff(..., prepend=0)``), without its concatenation:
    # numpy's own overhead is most of the cost at a few dozen readings.
    whole = units.astype(np.int64)
    differences = whole.copy()
    np.subtract(whole[1:], whole[:-1], out=differences[1:])
    return zlib.compress(differences.tobytes())


def unpack(packed: bytes | array, scale: float) -> array:
    if isinstance(packed, array):
        return array("d", packed)
    differences = array("q")
    differences.frombytes(zlib.decompress(packed))
    total, values = 0, array("d")
    for difference in differences:
        total += difference
        values.append(total / scale)
    return values
