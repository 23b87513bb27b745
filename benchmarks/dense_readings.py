"""Time per reading for one household as its readings get denser: flat, or growing?

    python benchmarks/dense_readings.py [--counts 100,1000,10000,100000] [--repeat 3]

One household (a gas and a water meter, all detectors on) gets `count` readings 1 s apart,
the meters taking turns, with a tick every 15 minutes of event time; the same counts 15
minutes apart are the baseline.  What the readings show is the worst for rules that look
back over the history: a gas leak (2 m³/h) from the start for 3.5 h — continuous flow,
and the daily ceiling crossed — then no gas; a tap dripping below the 24 h rule's
threshold and otherwise no water, so from 24 h on the household is quiet over a whole
window and the 24 h rule judges its quiet spell at every reading; then use again.  The
pattern repeats every 32 hours (which the 15-minute baseline sees hundreds of times).

Timed: `observe` and `tick` only, medians of `--repeat` runs.  The last line is the ratio
of the time per reading at the largest count to the smallest, 1 s apart: linear cost keeps
it near 1 (the aim is ≤ 2).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from datetime import UTC, datetime, timedelta

from carewatch.domain import MeterKind, Reading, Tick
from detectors.config import HouseholdProfile, MeterProfile
from detectors.household import HouseholdMonitor

START = datetime(2026, 1, 5, tzinfo=UTC)
CYCLE_H = 32.0
LEAK_UNTIL_H, LEAK_M3_PER_H = 3.5, 2.0
QUIET_UNTIL_H = 28.0
"""From here to the end of the cycle: gas and water used every half hour."""
DRIP_M3, DRIP_EVERY_H = 0.0001, 0.5
TICK_EVERY = timedelta(minutes=15)


def gas_m3(hours: float) -> float:
    cycles, h = divmod(hours, CYCLE_H)
    per_cycle = LEAK_M3_PER_H * LEAK_UNTIL_H + 0.05 * (CYCLE_H - QUIET_UNTIL_H) * 2
    leak = LEAK_M3_PER_H * min(h, LEAK_UNTIL_H)
    cooking = 0.05 * int(max(0.0, h - QUIET_UNTIL_H) * 2)
    return round(100.0 + cycles * per_cycle + leak + cooking, 4)  # as a dial shows it (0.1 L)


def water_m3(hours: float) -> float:
    cycles, h = divmod(hours, CYCLE_H)
    drips_per_cycle = int(QUIET_UNTIL_H / DRIP_EVERY_H)
    per_cycle = DRIP_M3 * drips_per_cycle + 0.01 * (CYCLE_H - QUIET_UNTIL_H) * 2
    drips = DRIP_M3 * int(min(h, QUIET_UNTIL_H) / DRIP_EVERY_H)
    washing = 0.01 * int(max(0.0, h - QUIET_UNTIL_H) * 2)
    return round(40.0 + cycles * per_cycle + drips + washing, 4)


def household(apart_s: float) -> HouseholdProfile:
    interval_s = 2 * apart_s  # the meters take turns
    return HouseholdProfile(
        "hh-dense",
        (MeterProfile("gas-dense", MeterKind.GAS, interval_s), MeterProfile("water-dense", MeterKind.WATER, interval_s)),
    )


def readings(count: int, apart_s: float) -> list[Reading]:
    out = []
    for n in range(count):
        hours = n * apart_s / 3600
        at = START + timedelta(seconds=n * apart_s)
        if n % 2 == 0:
            out.append(Reading("hh-dense", "gas-dense", MeterKind.GAS, at, gas_m3(hours)))
        else:
            out.append(Reading("hh-dense", "water-dense", MeterKind.WATER, at, water_m3(hours)))
    return out


def judge(count: int, apart_s: float) -> tuple[float, int]:
    """Seconds spent observing `count` readings (and ticking every 15 min); detections seen."""
    monitor = HouseholdMonitor(household(apart_s))
    stream = readings(count, apart_s)
    next_tick = START + TICK_EVERY
    found = 0
    gc.collect()
    gc.disable()
    started = time.perf_counter()
    for reading in stream:
        while reading.at >= next_tick:
            found += len(monitor.tick(Tick(next_tick)))
            next_tick += TICK_EVERY
        observation = monitor.observe(reading)
        found += len(observation.detections)
    spent = time.perf_counter() - started
    gc.enable()
    return spent, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="100,1000,10000,100000", help="readings per run, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]

    per_reading: dict[tuple[float, int], float] = {}
    for apart_s, label in ((1.0, "1 s apart"), (900.0, "15 min apart (baseline)")):
        for count in counts:
            runs = [judge(count, apart_s) for _ in range(args.repeat)]
            spent = statistics.median(s for s, _ in runs)
            per_reading[apart_s, count] = spent / count
            print(
                f"{label:>24}: {count:>7,} readings in {spent:8.3f} s = {1e6 * spent / count:7.1f} µs per reading "
                f"(median of {args.repeat}; {runs[0][1]} alert transitions)",
                flush=True,
            )
    low, high = counts[0], counts[-1]
    print(
        f"ratio of µs per reading, {high:,} vs {low:,} readings: 1 s apart {per_reading[1.0, high] / per_reading[1.0, low]:.2f}, "
        f"15 min apart {per_reading[900.0, high] / per_reading[900.0, low]:.2f}"
    )


if __name__ == "__main__":
    main()
