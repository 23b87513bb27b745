"""Readings per second per core through every detector, and pickled state per household.

    python benchmarks/detectors_throughput.py [--households 10000] [--hours 6] [--repeat 3]

Forty simulated households (varied routines, gas and water, 15-minute readings) live
18 days; their monitors, warm (the learned detectors past their warm-up), are pickled
and unpickled into `--households` monitors with their own ids.  Then every monitor gets
the next `--hours` of its template's readings, in event-time order across households as
a runner sees them, with a tick every 15 minutes.  Timed: `observe` and `tick` only.

The baseline, measured in the same run on the same readings: the seed rule alone
(`RuleConfig.learned = False`), i.e. the detectors as they were before learning.
One process, timed in CPU seconds (`time.process_time`), so the figures are per core and hold on a
shared, loaded machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import pickle
import statistics
import time
from datetime import UTC, datetime, timedelta

from carewatch.domain import Reading, Tick
from carewatch.registry import Registry
from carewatch.runners.state import HouseholdState, dumps, loads
from detectors.household import HouseholdMonitor
from gateway_sim import SimConfig, Simulation
from ingest.payload import parse_readings, parse_topic

TEMPLATES = 40
WARM_DAYS = 18
START = datetime(2026, 1, 5, tzinfo=UTC)


def template_readings(days: float, households: int = TEMPLATES) -> tuple[Registry, dict[str, list[Reading]]]:
    """The simulated households and their readings, parsed as the bridge parses them (tests/detectors/test_usual_work
    counts the lines of a few of them)."""
    simulation = Simulation(
        SimConfig(households=households, days=days, seed=5, start=START, varied_routines=True, incidents=[])
    )
    registry = Registry.from_document(simulation.registry_document())
    readings: dict[str, list[Reading]] = {h: [] for h in registry.households}
    for message in simulation.messages():
        if message.kind == "readings":
            topic = parse_topic(message.topic, simulation.config.topic_prefix)
            for _, reading in parse_readings(topic.gateway_id, message.payload, registry, message.sim_time).readings:
                readings[reading.household_id].append(reading)
    return registry, readings


def warm_states(registry: Registry, readings: dict[str, list[Reading]], until: datetime, learned: bool) -> dict[str, bytes]:
    states = {}
    for household_id, household in registry.households.items():
        profile = household.profile
        monitor = HouseholdMonitor(dataclasses.replace(profile, rules=dataclasses.replace(profile.rules, learned=learned)))
        for reading in readings[household_id]:
            if reading.at < until:
                monitor.observe(reading)
        states[household_id] = dumps(HouseholdState(monitor))
    return states


def clones(states: dict[str, bytes], count: int) -> list[HouseholdMonitor]:
    """`count` monitors, each a warm template under its own household id."""
    templates = list(states)
    monitors = []
    for n in range(count):
        monitor = loads(states[templates[n % len(templates)]]).monitor
        state = list(monitor.__getstate__())
        state[1] = dataclasses.replace(state[1], household_id=f"bench-{n:05d}")
        monitor.__setstate__(tuple(state))
        monitors.append(monitor)
    return monitors


def run_once(monitors: list[HouseholdMonitor], readings: dict[str, list[Reading]], since: datetime, hours: float) -> tuple[int, float]:
    """Feed `hours` of readings to every monitor, quarter-hour by quarter-hour; seconds spent judging."""
    templates = list(readings)
    until = since + timedelta(hours=hours)
    by_quarter: dict[datetime, list[tuple[int, Reading]]] = {}
    for t, household_id in enumerate(templates):
        for reading in readings[household_id]:
            if since <= reading.at < until:
                by_quarter.setdefault(reading.at, []).append((t, reading))
    count, spent = 0, 0.0
    for at in sorted(by_quarter):
        batch = [
            (monitor, dataclasses.replace(reading, household_id=monitor.profile.household_id))
            for n, monitor in enumerate(monitors)
            for t, reading in by_quarter[at]
            if n % len(templates) == t
        ]
        gc.disable()
        started = time.process_time()
        for monitor, reading in batch:
            monitor.observe(reading)
        tick = Tick(at)
        for monitor in monitors:
            monitor.tick(tick)
        spent += time.process_time() - started
        gc.enable()
        count += len(batch)
    return count, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    registry, readings = template_readings(WARM_DAYS + args.hours / 24 + 0.1)
    since = START + timedelta(days=WARM_DAYS)
    results: dict[str, dict[str, float]] = {}
    for name, learned in (("seed rule alone (baseline)", False), ("all detectors, learned", True)):
        states = warm_states(registry, readings, since, learned)
        rates, sizes = [], []
        for _ in range(args.repeat):
            monitors = clones(states, args.households)
            count, spent = run_once(monitors, readings, since, args.hours)
            rates.append(count / spent)
            sizes = sorted(len(pickle.dumps(m)) for m in monitors)
        warm = sum(m._learners["quiet"].warm for m in monitors) if learned else 0
        results[name] = {
            "readings_per_s": statistics.median(rates),
            "state_bytes_median": statistics.median(sizes),
            "state_bytes_p95": sizes[int(0.95 * (len(sizes) - 1))],
            "state_bytes_max": sizes[-1],
        }
        print(
            f"{name}: {statistics.median(rates):,.0f} readings/s per core (median of {args.repeat}: "
            f"{', '.join(f'{r:,.0f}' for r in rates)}; {count:,} readings over {args.households:,} households, "
            f"each ticked every quarter-hour); state per household: median {statistics.median(sizes):,.0f} B, "
            f"p95 {sizes[int(0.95 * (len(sizes) - 1))]:,} B, max {sizes[-1]:,} B"
            + (f"; learned detectors warm in {warm:,} households" if learned else "")
        )
    base, learned_figures = results["seed rule alone (baseline)"], results["all detectors, learned"]
    print(
        f"ratio learned / baseline: throughput {learned_figures['readings_per_s'] / base['readings_per_s']:.2f}, "
        f"state {learned_figures['state_bytes_median'] / base['state_bytes_median']:.2f}"
    )


if __name__ == "__main__":
    main()
