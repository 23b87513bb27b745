"""How soon could each inactivity incident be asked about? Onsets against the elder's sleep, and the learned column's first contact.

    python3 benchmarks/incident_onsets.py --seed 1

For each scenario family, the first simulation `carewatch evaluate --shards 1` runs (same seed), replayed
through the learned detectors as the evaluation does. Per inactivity incident in the scored period: its
onset in local time, whether the simulated elder was asleep then (her habits' bed and wake times, before
the day's wander), the hours from onset to her usual waking (nothing can be asked earlier: a sleeping
household uses nothing), and the first contact (a check-in, or the first inactivity alert) in hours.
Last, how many of them no detector could reach within 3 h (asleep for more than 3 h more, or a daily-batch
meter whose readings arrive after the upload) and how many the learned column reached within 3 h: the
bound under the issue's aim of a 3 h median first check-in.
"""

from __future__ import annotations

import argparse
from datetime import UTC, timedelta

from carewatch.cli.evaluation.matching import DETECTED_BY
from carewatch.cli.evaluation.replay import detector_sets, replay
from carewatch.cli.evaluation.scenarios import FAMILIES, SuiteConfig, shard_config
from carewatch.domain import AlertType
from gateway_sim import Simulation

AIM_H = 3.0
DAILY_BATCH = "daily batch"


def asleep_for_h(minute: int, bed_min: int, wake_min: int) -> float:
    """Hours from a local minute of the day until the usual waking, 0 if the elder is usually up then.

    >>> asleep_for_h(2 * 60, 22 * 60, 6 * 60), asleep_for_h(12 * 60, 22 * 60, 6 * 60)
    (4.0, 0.0)
    >>> asleep_for_h(30, 25 * 60, 10 * 60)  # a night owl: to bed at 01:00, still up at 00:30
    0.0
    """
    bed = bed_min % 1440
    asleep = (minute >= bed or minute < wake_min) if bed > wake_min else bed <= minute < wake_min
    return ((wake_min - minute) % 1440) / 60 if asleep else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    suite = SuiteConfig(seed=args.seed, shards=1)
    print("family\thousehold\tonset (local)\tasleep h\tfirst contact h\tby")
    unreachable = reached = total = 0
    for family in FAMILIES:
        simulation = Simulation(shard_config(family, 0, suite))
        result = replay(simulation, detector_sets(suite.rules, suite.river, suite.staff_outcomes))
        learned = sorted(result.alerts["learned"], key=lambda a: a.raised_at)
        begin = simulation.config.start.astimezone(UTC) + timedelta(days=suite.warmup_days)
        habits = {h.household_id: h.habits for h in simulation.households}
        for incident in simulation.incidents:
            if str(incident.kind) != "inactive" or incident.start < begin:
                continue
            local = incident.start.astimezone(simulation.config.zone)
            habit = habits[incident.household_id]
            asleep_h = asleep_for_h(local.hour * 60 + local.minute, habit.bed_min, habit.wake_min)
            contact = next(
                (a for a in learned if a.household_id == incident.household_id and a.raised_at >= incident.start
                 and (a.alert_type is AlertType.CHECK_IN or a.alert_type in DETECTED_BY["inactive"])),
                None,
            )
            delay = None if contact is None else (contact.raised_at - incident.start).total_seconds() / 3600
            total += 1
            unreachable += asleep_h > AIM_H or family.name == DAILY_BATCH
            reached += delay is not None and delay <= AIM_H
            print(f"{family.name}\t{incident.household_id}\t{local:%a %H:%M}\t{asleep_h:.1f}\t"
                  f"{'-' if delay is None else f'{delay:.1f}'}\t{contact.alert_type.value if contact else '-'}")
    print(f"{total} inactivity incidents; no detector can reach {unreachable} within {AIM_H:g} h "
          f"(asleep longer, or a daily batch); the learned column reached {reached} within {AIM_H:g} h; "
          f"a median within {AIM_H:g} h needs {total // 2 + 1}")


if __name__ == "__main__":
    main()
