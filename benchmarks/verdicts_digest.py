"""One digest of every answer the detectors give on eight simulations: run it on two commits to show
a speed-up changed no verdict.

    PYTHONPATH=. python benchmarks/verdicts_digest.py [--print]

Eight seeded simulations of 21 days (8 in the seed-rule-only one), every incident kind after the
learned detectors' warm-up: live meters with varied routines, daily batches, real meter cadence,
reading loss with planned absences and a draining battery, Berlin and Adelaide across their changes
of clocks, Kathmandu's +5:45 with the seed rule alone, and the river model switched on.  Every
reading is observed and every household ticked each quarter-hour; a check-in is answered now and
then, a cleared learned quiet alert taught "went out", a cleared silent-meter alert "meter fault".
Printed: every `observe`, `tick`, `answered` and `learn_outcome` answer (its repr) and, every 40
messages and at the end, a hash of each household's pickled state; the last line is the count and
SHA-256 of all of them.  Same digest on two commits: same verdicts, same state.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from carewatch.domain import AlertType, CheckInAnswer, Detection, Lesson, OutcomeHeard, Tick, Transition
from carewatch.registry import Registry
from detectors.household import HouseholdMonitor
from gateway_sim import IncidentKind, SimConfig, Simulation
from ingest.payload import parse_readings, parse_topic

START = datetime(2026, 3, 20, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


def simulation(**changes: Any) -> SimConfig:
    settings: dict[str, Any] = {
        "days": 21, "start": START, "incident_lead_days": 15, "incident_share": 0.6,
        "incident_kinds": tuple(IncidentKind), "varied_routines": True, "inactive_hours": 30,
    }
    return SimConfig(**(settings | changes))


CASES: list[tuple[str, SimConfig, dict[str, Any]]] = [
    ("live", simulation(households=8, seed=3), {}),
    ("batch", simulation(households=6, seed=4, batch_share=0.5), {}),
    ("cadence", simulation(households=6, seed=5, real_cadence=True), {}),
    ("lossy-away", simulation(households=7, seed=6, reading_loss=0.05, away_share=0.5, incident_share=0.3,
                              draining_batteries=("hh-0002",)), {}),
    ("berlin", simulation(households=5, seed=7, timezone="Europe/Berlin", start=datetime(2026, 3, 12, tzinfo=UTC)), {}),
    ("adelaide", simulation(households=5, seed=8, timezone="Australia/Adelaide", start=START), {}),
    ("kathmandu-seed", simulation(households=5, seed=9, days=8, incident_lead_days=2, timezone="Asia/Kathmandu"),
     {"learned": False}),
    ("river", simulation(households=5, seed=10), {"river_quiet": True}),
]


class Digest:
    def __init__(self, echo: bool) -> None:
        self.sha, self.lines, self.echo = hashlib.sha256(), 0, echo

    def add(self, *parts: object) -> None:
        line = "|".join(str(p) for p in parts)
        self.sha.update(line.encode() + b"\n")
        self.lines += 1
        if self.echo:
            print(line)


def state_hash(monitor: HouseholdMonitor) -> str:
    return hashlib.sha256(pickle.dumps(monitor)).hexdigest()


def teach(digest: Digest, name: str, monitor: HouseholdMonitor, d: Detection, nth: int) -> None:
    """What people would say: every other check-in answered, a cleared quiet alert or silent meter taught."""
    hid = d.household_id
    if d.alert_type is AlertType.CHECK_IN and d.transition is Transition.RAISED and nth % 2 == 0:
        digest.add(name, "answered", hid, repr(monitor.answered(CheckInAnswer(hid, d.alert_id, d.at + 20 * timedelta(minutes=1)))))
    if d.transition is not Transition.CLEARED:
        return
    if d.alert_type in (AlertType.UNUSUAL_QUIET, AlertType.MORNING_ACTIVITY_MISSING):
        heard = OutcomeHeard(hid, d.alert_id, d.alert_type, Lesson.WENT_OUT, d.onset, d.at, d.at)
        digest.add(name, "learned", hid, repr(monitor.learn_outcome(heard)))
    if d.alert_type is AlertType.METER_SILENT:
        heard = OutcomeHeard(hid, d.alert_id, d.alert_type, Lesson.METER_FAULT, d.onset, d.at, d.at, d.meter_ids)
        digest.add(name, "learned", hid, repr(monitor.learn_outcome(heard)))


def replay(digest: Digest, name: str, config: SimConfig, rules: dict[str, Any]) -> None:
    sim = Simulation(config)
    registry = Registry.from_document(sim.registry_document())
    monitors = {}
    for household_id, household in registry.households.items():
        profile = household.profile
        monitors[household_id] = HouseholdMonitor(dataclasses.replace(profile, rules=dataclasses.replace(profile.rules, **rules)))
    ticked: datetime | None = None
    taught = messages = 0
    for message in sim.messages():
        if message.kind != "readings":
            continue
        topic = parse_topic(message.topic, sim.config.topic_prefix)
        found: list[Detection] = []
        for _, reading in parse_readings(topic.gateway_id, message.payload, registry, message.sim_time).readings:
            observation = monitors[reading.household_id].observe(reading)
            digest.add(name, "observe", reading.meter_id, reading.at.isoformat(), repr(observation))
            found += observation.detections
        now = message.sim_time.replace(minute=message.sim_time.minute // 15 * 15, second=0, microsecond=0)
        at = now if ticked is None else ticked + QUARTER
        while at <= now:
            for household_id, monitor in monitors.items():
                detections = monitor.tick(Tick(at))
                digest.add(name, "tick", household_id, at.isoformat(), repr(detections))
                found += detections
            ticked, at = at, at + QUARTER
        for d in found:
            teach(digest, name, monitors[d.household_id], d, taught)
            taught += 1
        messages += 1
        if messages % 40 == 0:
            for household_id, monitor in monitors.items():
                digest.add(name, "state", household_id, state_hash(monitor))
    for household_id, monitor in monitors.items():
        digest.add(name, "final", household_id, state_hash(monitor), repr(monitor.raised()))


def main() -> None:
    digest = Digest(echo="--print" in sys.argv)
    for name, config, rules in CASES:
        replay(digest, name, config, rules)
    print(digest.lines, digest.sha.hexdigest())


if __name__ == "__main__":
    main()
