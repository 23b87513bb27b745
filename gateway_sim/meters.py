"""From use events to what a meter shows: cumulative registers at each reading, to the litre.

Also keeps a normal life inside the detectors' continuous-flow limits: an elder
who cooks while the boiler cycles and the kettle boils can, by chance, keep gas
flowing through every reading interval for hours.  Real carewatch would (rightly)
alert on that pattern, so a *normal* simulated household must not produce it;
otherwise every false alarm in a demo would be the simulator's fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gateway_sim.routines import UseEvent


@dataclass(frozen=True, slots=True)
class FlowLimit:
    min_flow_m3_per_h: float
    """An interval whose average flow reaches this counts as flowing."""
    max_continuous_h: float
    """Longest run of flowing intervals a normal life may show."""


# carewatch alerts beyond 3 h of gas at >= 0.02 m³/h and 2 h of water at >= 0.005 m³/h;
# normal life keeps half an hour clear of those lines.
GAS_LIMIT = FlowLimit(min_flow_m3_per_h=0.02, max_continuous_h=2.5)
WATER_LIMIT = FlowLimit(min_flow_m3_per_h=0.005, max_continuous_h=1.5)


def flow_per_minute(events: Sequence[UseEvent], run_minutes: int, kind: str) -> np.ndarray:
    """m³ drawn in each minute of the run by ``kind`` ("gas" or "water")."""
    change = np.zeros(run_minutes + 1)
    for event in events:
        rate = event.gas_m3_per_min if kind == "gas" else event.water_m3_per_min
        if rate:
            change[min(event.start_min, run_minutes)] += rate
            change[min(event.end_min, run_minutes)] -= rate
    # Summing +rate/-rate leaves ~1e-19 residue where nothing runs; clip so it cannot go negative.
    return np.clip(np.cumsum(change[:-1]), 0.0, None)


def registers_litres(initial_m3: float, flow: np.ndarray, interval_min: int) -> np.ndarray:
    """The register (whole litres = 0.001 m³, the dial's resolution) at every reading of the run.

    Dials truncate: the register shows a litre only once it has fully passed.
    """
    drawn = np.concatenate(([0.0], np.cumsum(flow)))[::interval_min]
    litres = np.floor(initial_m3 * 1000.0 + drawn * 1000.0 + 1e-9).astype(np.int64)
    return np.maximum.accumulate(litres)


def flowing_intervals(registers_l: np.ndarray, interval_s: int, limit: FlowLimit) -> np.ndarray:
    """For each interval between two readings: did it reach the limit's flow?  (As carewatch judges it.)"""
    litres_per_h = np.diff(registers_l) * 3600.0 / interval_s
    return litres_per_h >= limit.min_flow_m3_per_h * 1000.0 - 1e-9


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, stop) index pairs of every run of True values."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def keep_within_limits(
    events: Sequence[UseEvent],
    run_minutes: int,
    interval_s: int,
    initial_m3: dict[str, float],
    limits: dict[str, FlowLimit],
) -> list[UseEvent]:
    """Drop the fewest small uses needed so no meter flows continuously for longer than its limit.

    Where a run is too long, the interval inside it with the least use is cleared of
    the events that draw on that meter (usually one flush or one boiler burn), and
    everything is judged again, rounding included, until no run is too long.
    """
    interval_min = interval_s // 60
    kept = list(events)
    while True:
        violation = _first_violation(kept, run_minutes, interval_s, initial_m3, limits)
        if violation is None:
            return kept
        kind, quiet = violation
        lo, hi = quiet * interval_min, (quiet + 1) * interval_min
        remaining = [
            e
            for e in kept
            if not (e.start_min < hi and e.end_min > lo and (e.gas_m3_per_min if kind == "gas" else e.water_m3_per_min))
        ]
        if len(remaining) == len(kept):  # cannot happen: a flowing interval always has a use in it
            raise RuntimeError(f"no {kind} use found in flowing interval {quiet}")
        kept = remaining


def _first_violation(
    events: Sequence[UseEvent],
    run_minutes: int,
    interval_s: int,
    initial_m3: dict[str, float],
    limits: dict[str, FlowLimit],
) -> tuple[str, int] | None:
    interval_min = interval_s // 60
    for kind, limit in limits.items():
        flow = flow_per_minute(events, run_minutes, kind)
        registers = registers_litres(initial_m3[kind], flow, interval_min)
        longest = int(limit.max_continuous_h * 3600 // interval_s)
        use = np.diff(registers)
        for first, stop in runs(flowing_intervals(registers, interval_s, limit)):
            if stop - first > longest:
                # The least-used interval of the run; ties go to the middle, which splits the run best.
                middle = (first + stop - 1) / 2
                quiet = min(range(first, stop), key=lambda k: (use[k], abs(k - middle)))
                return kind, quiet
    return None
