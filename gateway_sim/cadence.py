"""When a real smart meter reports: irregular minutes, gaps of hours to days, pulses instead of dials.

Real traces (issue #14) do not come on the quarter-hour.  A meter wakes about once an
hour at a minute of its own, and now and then nothing arrives for hours: about 2 % of
the intervals between two readings are longer than 3 h, 0.5 % longer than 6 h and
0.06 % longer than 24 h.  The gaps cluster in some meters (a bad radio spot, a weak
battery): a fifth of the meters have six times the gaps of the others.  Many meters
count pulses — a reed switch closing every litre or every 10 litres (0.01 m³) — so the
register moves in those steps.

Pure and seeded: one random stream per meter, so a meter's schedule does not depend on
the other households of the run.
"""

from __future__ import annotations

import bisect
import math
import random

REPORT_EVERY_S = 3600
"""A real-cadence meter's nominal interval, and what the registry is told (the detectors' prior)."""
JITTER = 0.2
"""An ordinary interval is the nominal one ±20 %, to the second: readings come at irregular minutes."""
GAP_SHARE = 0.03
"""Share of intervals that are a gap (longer than 1.5 h) for a meter of average gappiness."""
GAP_SURVIVAL = ((1.5, 1.0), (3.0, 2 / 3), (6.0, 1 / 6), (24.0, 0.02), (96.0, 0.0))
"""(hours, share of gaps longer): with GAP_SHARE of the intervals being gaps, 2 % of the
intervals are longer than 3 h, 0.5 % longer than 6 h, 0.06 % longer than 24 h.  Between
the knots the survival is straight on log-log axes (a power law), with the last stretch
straight on a linear axis down to the longest gap, four days."""
GAPPY_SHARE, GAPPY_FACTOR = 0.2, 3.0
"""A fifth of the meters have GAPPY_FACTOR times the average gap share, the others
(1 - GAPPY_SHARE * GAPPY_FACTOR) / (1 - GAPPY_SHARE) of it (a half): the mean stays GAP_SHARE."""
WATER_PULSES_L = (1, 10)
GAS_PULSE_L = 10
"""A water meter counts litres or 10-litre pulses; a gas meter 0.01 m³ pulses."""


def gappiness(rng: random.Random) -> float:
    """How many times the average gap share this meter has: clustered, not uniform.

    >>> sorted({round(gappiness(random.Random(n)), 2) for n in range(20)})
    [0.5, 3.0]
    """
    calm = (1 - GAPPY_SHARE * GAPPY_FACTOR) / (1 - GAPPY_SHARE)
    return GAPPY_FACTOR if rng.random() < GAPPY_SHARE else calm


def gap_hours(u: float) -> float:
    """The gap length whose survival is `u` (inverse transform sampling), in hours.

    >>> [round(gap_hours(s), 2) for s in (1.0, 2 / 3, 1 / 6, 0.02, 0.01, 0.0)]
    [1.5, 3.0, 6.0, 24.0, 60.0, 96.0]
    """
    hours = [h for h, _ in GAP_SURVIVAL]
    survival = [s for _, s in GAP_SURVIVAL]
    if u >= survival[0]:
        return hours[0]
    # survival falls: find the knots around u
    i = next(k for k in range(1, len(survival)) if survival[k] <= u)
    (h0, s0), (h1, s1) = GAP_SURVIVAL[i - 1], GAP_SURVIVAL[i]
    if s1 == 0.0:  # the last stretch: linear down to the longest gap
        return h0 + (h1 - h0) * (s0 - u) / s0
    share = math.log(u / s0) / math.log(s1 / s0)
    return math.exp(math.log(h0) + share * (math.log(h1) - math.log(h0)))


def reading_seconds(rng: random.Random, run_s: float, gappiness: float, every_s: int = REPORT_EVERY_S) -> list[int]:
    """Seconds after the run's start at which one meter reports, in order.

    >>> times = reading_seconds(random.Random(7), 2 * 86400, 0.5)
    >>> times[:4], len(times)
    ([1165, 4983, 8634, 11598], 49)
    """
    share = min(0.5, GAP_SHARE * gappiness)
    times: list[int] = []
    at = rng.uniform(0, every_s)  # the meter's own minute
    while at <= run_s:
        times.append(int(at))
        if rng.random() < share:
            at += 3600 * gap_hours(rng.random())
        else:
            at += every_s * rng.uniform(1 - JITTER, 1 + JITTER)
    return times


def pulse_litres(kind: str, rng: random.Random) -> int:
    """The step this meter's register moves in, in litres."""
    return GAS_PULSE_L if kind == "gas" else rng.choice(WATER_PULSES_L)


def gap_shares(times: list[int], hours: tuple[float, ...] = (3.0, 6.0, 24.0)) -> tuple[float, ...]:
    """Share of a meter's intervals longer than each of `hours` (for checking the simulation).

    >>> gap_shares([0, 3600, 7200, 7200 + 4 * 3600])
    (0.33333333333333337, 0.0, 0.0)
    """
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    if not gaps:
        return tuple(0.0 for _ in hours)
    return tuple(1 - bisect.bisect_right(gaps, 3600 * h) / len(gaps) for h in hours)
