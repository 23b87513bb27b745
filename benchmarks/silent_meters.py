"""Silent meters on real cadence: which technician alerts no incident explains, and how soon a dead gateway is told without its will.

    python3 benchmarks/silent_meters.py unexplained --seed 1 --shards 3 [--rule NAME=VALUE ...]
    python3 benchmarks/silent_meters.py dead-gateways --seeds 1 2 3

`unexplained` replays the real-cadence family as `carewatch evaluate --family "real cadence" --seed N
--shards S` does (learned column; silence is judged alike in both) and lists each `meter_silent` in the
scored period that no incident explains: its household, the meters, whether it was every meter at once
(the gateway term), the threshold it crossed, the gap that raised it (from the last reading to the next),
and the silent meter's learned gaps then (how many, median, 99th and 99.9th percentile, longest, and how far
its tail reaches at three rates: `ReportingCadence.tail_reach_s`, NaN for a meter without a tail).

`dead-gateways` is the measurement docs/detectors.md quotes for "dead gateways without a will": the
real-cadence family's first simulation of each seed with every incident a dead gateway (every household
gets one) and the gateway's status messages dropped (no last will, no "online"), as behind a network
server or an NB-IoT platform.  It prints how many were told and the median and p90 delay in hours, and
how many were told only after 12 h.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from datetime import UTC, timedelta

from carewatch.cli.evaluation.matching import EXPLAINED_BY, TruthIncident, nearest_rank, score
from carewatch.cli.evaluation.replay import LEARNED, detector_sets, replay
from carewatch.cli.evaluation.scenarios import FAMILIES, SuiteConfig, shard_config
from carewatch.domain import Transition
from detectors.silence import SilentMeterRule
from gateway_sim import IncidentKind, Simulation

REAL = next(f for f in FAMILIES if f.name == "real cadence")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}"


def unexplained(seed: int, shards: int, rules: tuple[tuple[str, float], ...] = ()) -> None:
    raised: dict[str, tuple[dict[str, float | str], dict[str, tuple[int, float, float, float, float]]]] = {}
    cleared: dict[str, float] = {}
    tick, heard = SilentMeterRule.tick, SilentMeterRule.heard

    def spying_tick(rule, histories, watch, conditions, at_s):  # type: ignore[no-untyped-def]
        found = tick(rule, histories, watch, conditions, at_s)
        for d in found:
            cadences = {}
            for meter_id in str(d.facts["meters"]).split(","):
                c = watch.meters.get(meter_id)
                if c is not None and c.learned:
                    longest = max(i for i, n in enumerate(c.counts) if n)
                    cadences[meter_id] = (
                        c.learned, c.quantile(0.5), c.quantile(0.99), c.quantile(0.999), c.quantile(1.0) if longest else 0.0
                    ) + tuple(_hours(c.tail_reach_s(r, 1.5)) for r in (1e-4, 3e-5, 1e-5))
            raised[d.alert_id] = (dict(d.facts), cadences)
        return found

    def spying_heard(rule, watch, conditions, meter_id, previous_s, at_s):  # type: ignore[no-untyped-def]
        found = heard(rule, watch, conditions, meter_id, previous_s, at_s)
        for d in found:
            if d.transition is Transition.CLEARED:
                cleared[d.alert_id] = at_s
        return found

    SilentMeterRule.tick, SilentMeterRule.heard = spying_tick, spying_heard  # type: ignore[method-assign]
    suite = SuiteConfig(seed=seed, shards=shards, families=(REAL.name,), rules=rules)
    print(f"seed {seed}, shards {shards}, rules {dict(rules)}")
    print("shard\talert\tmeters\tall at once\tthreshold h\tgap h\tlearned: n, median, p99, p99.9, longest h [tail reach at 1e-4, 3e-5, 1e-5]")
    total_days = 0.0
    count = scored = 0
    try:
        for shard in range(shards):
            simulation = Simulation(shard_config(REAL, shard, suite))
            result = replay(simulation, detector_sets(rules)[1:])
            config = simulation.config
            begin = config.start.astimezone(UTC) + timedelta(days=suite.warmup_days)
            end = config.end.astimezone(UTC)
            truth = [TruthIncident(i.household_id, str(i.kind), i.start, i.end) for i in simulation.incidents]
            card = score(truth, result.alerts["learned"], [h.household_id for h in simulation.households], (begin, end))
            total_days += card.household_days
            scored += card.technician_unexplained
            meters_of = {h.household_id: len(h.meters) for h in simulation.households}
            for alert in result.alerts["learned"]:
                if alert.alert_type.audience.value != "technician" or not begin <= alert.raised_at <= end:
                    continue
                explained = any(
                    i.household_id == alert.household_id and alert.alert_type in EXPLAINED_BY[i.kind]
                    and i.start <= alert.raised_at
                    for i in truth
                )
                if explained:
                    continue
                count += 1
                facts, cadences = raised.get(alert.alert_id, ({}, {}))
                meters = str(facts.get("meters", ""))
                since_s = alert.onset.timestamp()
                gap = _hours(cleared[alert.alert_id] - since_s) if alert.alert_id in cleared else "open"
                learned = "; ".join(
                    f"{m} {n}, {_hours(q50)}, {_hours(q99)}, {_hours(q999)}, {_hours(top)} {rest}"
                    for m, (n, q50, q99, q999, top, *rest) in cadences.items()
                )
                print(
                    f"{shard}\t{alert.alert_id}\t{meters}\t{len(meters.split(',')) == meters_of[alert.household_id]}"
                    f"\t{facts.get('silent_after_h')}\t{gap}\t{learned}"
                )
    finally:
        SilentMeterRule.tick, SilentMeterRule.heard = tick, heard  # type: ignore[method-assign]
    print(f"{count} unexplained ({scored} scored so) over {total_days:.0f} household-days: {100 * count / total_days:.2f} per 100")


def dead_gateways(seeds: list[int]) -> None:
    delays: list[float] = []
    told = incidents = 0
    for seed in seeds:
        suite = SuiteConfig(seed=seed, shards=1, families=(REAL.name,))
        config = replace(shard_config(REAL, 0, suite), incident_share=1.0, incident_kinds=(IncidentKind.GATEWAY_SILENT,))
        simulation = Simulation(config)
        every = simulation.messages
        simulation.messages = lambda every=every: (m for m in every() if m.kind != "status")  # type: ignore[method-assign]
        result = replay(simulation, (LEARNED,))
        begin = config.start.astimezone(UTC) + timedelta(days=suite.warmup_days)
        truth = [TruthIncident(i.household_id, str(i.kind), i.start, i.end) for i in simulation.incidents]
        card = score(truth, result.alerts["learned"], [h.household_id for h in simulation.households], (begin, config.end.astimezone(UTC)))
        kind = card.kinds["gateway_silent"]
        incidents += kind.incidents
        told += kind.detected
        delays += kind.delays_h
        print(f"seed {seed}: {kind.detected}/{kind.incidents} told, median {kind.median_h:.2f} h, p90 {kind.p90_h:.2f} h")
    print(
        f"all: {told}/{incidents} told, median {statistics.median(delays):.2f} h, p90 {nearest_rank(delays, 0.9):.2f} h,"
        f" after 12 h: {sum(d > 12 for d in delays)}, longest {max(delays):.1f} h"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("unexplained")
    listing.add_argument("--seed", type=int, default=1)
    listing.add_argument("--shards", type=int, default=1)
    listing.add_argument("--rule", action="append", default=[], help="NAME=VALUE: a RuleConfig setting, as for evaluate")
    dead = commands.add_parser("dead-gateways")
    dead.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    if args.command == "unexplained":
        rules = tuple((name, float(value)) for name, value in (rule.split("=", 1) for rule in args.rule))
        unexplained(args.seed, args.shards, rules)
    else:
        dead_gateways(args.seeds)


if __name__ == "__main__":
    main()
