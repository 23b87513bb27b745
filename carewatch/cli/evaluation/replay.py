"""Replay a simulation through the detectors in-process: no broker, no database.

Each published message is validated by ingest's own parser (`parse_readings`) and its
readings go to one `HouseholdMonitor` per household and detector set, exactly as the
runners call them.  Time advances with the messages: before a message sent at T the
monitors get every tick due up to T minus the allowed lateness (what a live deployment
on the wall clock does), and an alert counts as seen when the message or tick that
produced it arrived.

Elders answer check-ins (`AlertType.CHECK_IN`) as people would: one who is fine answers "I'm
fine" `ANSWER_SHARE` of the time, `ANSWER_WITHIN` minutes after the check-in reached her (drawn
per check-in from its id, so a replay is repeatable); one inside an inactivity incident never does.
The answer reaches her monitor as an event (`HouseholdMonitor.answered`) at its time.

With staff outcomes (`STAFF_TAUGHT`, `carewatch evaluate --staff-outcomes`), duty staff close every
learned quiet alert that was a false alarm (the elder not inside an inactivity incident when it was
raised) as "went out", `STAFF_AFTER` after it cleared; the outcome reaches that column's monitor as
an event (`HouseholdMonitor.learn_outcome`) at its time.  The other columns hear nothing of it.

Each gateway's status (online at the start and after a silence, the broker's last will when it dies)
reaches the monitors of every household on it, in every column, as the runners tell it
(`HouseholdMonitor.gateway`), at the time it was sent or the newest reading's, if that is earlier: as the
runners time it on the event clock (`engine.gateway_heard`), so a replay expects the alert when they raise it.
"""

from __future__ import annotations

import heapq
import pickle
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from carewatch.domain import AlertType, CheckInAnswer, Detection, GatewayState, Lesson, OutcomeHeard, Tick, Transition
from carewatch.cli.evaluation.matching import RaisedAlert
from carewatch.registry import Registry
from carewatch.runners.engine import told_at
from detectors.config import AwayWindow, HouseholdProfile, RuleConfig
from detectors.base import QUIET_ALERTS
from detectors.household import HouseholdMonitor
from gateway_sim import Simulation
from ingest.payload import parse_readings, parse_topic

LATENESS = timedelta(minutes=30)
TICK_EVERY = timedelta(minutes=15)
ANSWER_SHARE = 0.9
"""How often an elder who is fine answers a check-in."""
ANSWER_WITHIN = (2.0, 20.0)
"""Minutes from the check-in reaching her to her answer (uniform)."""
STAFF_AFTER = timedelta(minutes=30)
"""From a false learned quiet alert's end to the staff's outcome "went out" (the simulated column)."""


@dataclass(frozen=True, slots=True)
class DetectorSet:
    """A way to configure every household's monitor, to compare against another."""

    name: str
    configure: Callable[[HouseholdProfile, tuple[AwayWindow, ...]], HouseholdProfile]
    staff_outcomes: bool = False
    """Duty staff state outcomes on false learned quiet alerts ("went out"), and the monitors learn from them."""


def _seed_rule_alone(profile: HouseholdProfile, away: tuple[AwayWindow, ...]) -> HouseholdProfile:
    # As before any learning: nothing learned, and no planned absence known to the rules.
    return replace(profile, rules=replace(profile.rules, learned=False), away=())


def _learned(profile: HouseholdProfile, away: tuple[AwayWindow, ...]) -> HouseholdProfile:
    return replace(profile, away=away)


SEED_RULE = DetectorSet("seed rule", _seed_rule_alone)
LEARNED = DetectorSet("learned", _learned)
DETECTOR_SETS = (SEED_RULE, LEARNED)
STAFF_TAUGHT = "learned + outcomes"


def _river(profile: HouseholdProfile, away: tuple[AwayWindow, ...]) -> HouseholdProfile:
    return replace(profile, away=away, rules=replace(profile.rules, river_quiet=True))


RIVER = DetectorSet("learned + river", _river)
"""The learned detectors with the river model's early warning switched on (detectors.anomaly)."""


def detector_sets(
    rules: tuple[tuple[str, float], ...] = (), river: bool = False, staff_outcomes: bool = False
) -> tuple[DetectorSet, ...]:
    """The seed rule alone, and the learned detectors with these RuleConfig settings; with `river`,
    the learned detectors plus the river model; with `staff_outcomes`, the learned ones again, taught
    by staff outcomes."""
    if river or staff_outcomes:
        seed_rule, learned = detector_sets(rules)
        extra = (RIVER,) if river else ()
        if staff_outcomes:
            extra += (DetectorSet(STAFF_TAUGHT, learned.configure, staff_outcomes=True),)
        return (seed_rule, learned, *extra)
    if not rules:
        return DETECTOR_SETS
    unknown = {name for name, _ in rules} - set(RuleConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown rule settings {sorted(unknown)} (see detectors.config.RuleConfig)")

    def configure(profile: HouseholdProfile, away: tuple[AwayWindow, ...]) -> HouseholdProfile:
        return replace(profile, away=away, rules=replace(profile.rules, **dict(rules)))

    return (SEED_RULE, DetectorSet("learned", configure))


@dataclass(frozen=True, slots=True)
class ReplayResult:
    alerts: Mapping[str, tuple[RaisedAlert, ...]]
    """Raised alerts per detector set."""
    readings: int
    rejected: int
    """Readings refused by ingest or by a monitor (0 for a well-behaved simulation)."""
    state_bytes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Per detector set, each household's pickled monitor at the end of the run, in bytes."""


class ReplayStopped(Exception):
    """``stop`` said so before the replay was through."""


def replay(
    simulation: Simulation, detector_sets: Sequence[DetectorSet] = DETECTOR_SETS, stop: Callable[[], bool] | None = None
) -> ReplayResult:
    """``stop`` is asked before each message (a replay in a thread, whose caller went away, ends: ReplayStopped)."""
    registry = Registry.from_document(simulation.registry_document())
    away: dict[str, list[AwayWindow]] = {}
    for absence in simulation.absences:
        away.setdefault(absence.household_id, []).append(AwayWindow(absence.start, absence.end))
    monitors = {
        chosen.name: {
            household_id: HouseholdMonitor(chosen.configure(household.profile, tuple(away.get(household_id, ()))))
            for household_id, household in registry.households.items()
        }
        for chosen in detector_sets
    }
    alerts: dict[str, list[RaisedAlert]] = {chosen.name: [] for chosen in detector_sets}
    troubles: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for incident in simulation.incidents:
        if str(incident.kind) == "inactive":
            troubles.setdefault(incident.household_id, []).append((incident.start, incident.end))
    taught = {chosen.name for chosen in detector_sets if chosen.staff_outcomes}
    answers: list[tuple[datetime, str, str, str]] = []
    """(answered at, detector set, household, check-in alert id): a heap, delivered in time order."""

    def in_trouble(household_id: str, at: datetime) -> bool:
        return any(start <= at and (end is None or at < end) for start, end in troubles.get(household_id, ()))

    outcomes: list[tuple[datetime, str, str, str, AlertType, datetime, datetime]] = []
    """(stated at, detector set, household, alert id, alert type, onset, ended): staff outcomes, a heap in time order."""
    false_quiet: set[str] = set()
    """Learned quiet alerts raised while their elder was not in trouble (in a taught column)."""

    def seen(name: str, detections: Sequence[Detection], at: datetime) -> None:
        for d in detections:
            if name in taught and d.alert_type in QUIET_ALERTS:
                if d.transition is Transition.RAISED and not in_trouble(d.household_id, d.at):
                    false_quiet.add(d.alert_id)
                elif d.transition is Transition.CLEARED and d.alert_id in false_quiet and "escalated_into" not in d.facts:
                    false_quiet.discard(d.alert_id)
                    heapq.heappush(outcomes, (at + STAFF_AFTER, name, d.household_id, d.alert_id, d.alert_type, d.onset, d.at))
            if d.transition is not Transition.RAISED:
                continue
            alerts[name].append(RaisedAlert(d.alert_id, d.household_id, d.alert_type, d.onset, at))
            if d.alert_type is AlertType.CHECK_IN and not in_trouble(d.household_id, at):
                rng = random.Random(f"{config.seed}|{d.alert_id}")
                if rng.random() < ANSWER_SHARE:
                    answered = at + timedelta(minutes=rng.uniform(*ANSWER_WITHIN))
                    heapq.heappush(answers, (answered, name, d.household_id, d.alert_id))

    def answer_until(moment: datetime) -> None:
        while outcomes and outcomes[0][0] <= moment:
            stated, name, household_id, alert_id, alert_type, onset, ended = heapq.heappop(outcomes)
            heard = OutcomeHeard(household_id, alert_id, alert_type, Lesson.WENT_OUT, onset, ended, stated)
            monitors[name][household_id].learn_outcome(heard)
        while answers and answers[0][0] <= moment:
            answered, name, household_id, check_in = heapq.heappop(answers)
            detections = monitors[name][household_id].answered(CheckInAnswer(household_id, check_in, answered))
            if detections:
                seen(name, detections, answered)

    config = simulation.config
    next_tick = config.start.astimezone(UTC)
    end = config.end.astimezone(UTC)

    def tick_until(watermark: datetime) -> None:
        nonlocal next_tick
        while next_tick <= watermark:
            answer_until(next_tick + LATENESS)  # what the elders said before this tick was seen
            tick = Tick(next_tick)
            for name, by_household in monitors.items():
                for monitor in by_household.values():
                    detections = monitor.tick(tick)
                    if detections:
                        seen(name, detections, next_tick + LATENESS)
            next_tick += TICK_EVERY

    readings = rejected = 0
    newest: datetime | None = None
    """The newest reading replayed: the runners' event time, which a status (it carries no time) is told at, at most."""
    for message in simulation.messages():
        if stop is not None and stop():
            raise ReplayStopped
        arrived = message.sim_time.astimezone(UTC)
        tick_until(arrived - LATENESS)
        answer_until(arrived)
        if message.kind == "status" and message.state is not None:
            # The gateway's online status, or the broker's last will when it died: to each household on it.
            status = GatewayState(message.gateway_id, message.state == "online", told_at(arrived, newest or arrived))
            for household_id in registry.households_on(message.gateway_id):
                for by_household in monitors.values():
                    by_household[household_id].gateway(status)
            continue
        if message.kind != "readings":
            continue
        topic = parse_topic(message.topic, config.topic_prefix)
        parsed = parse_readings(topic.gateway_id if topic else None, message.payload, registry, arrived)
        rejected += len(parsed.rejections)
        for _, reading in parsed.readings:
            readings += 1
            newest = reading.at if newest is None or reading.at > newest else newest
            for name, by_household in monitors.items():
                observation = by_household[reading.household_id].observe(reading)
                rejected += observation.rejection is not None
                if observation.detections:
                    seen(name, observation.detections, arrived)
    tick_until(end)
    sizes = {name: tuple(len(pickle.dumps(m)) for m in by_household.values()) for name, by_household in monitors.items()}
    return ReplayResult({name: tuple(found) for name, found in alerts.items()}, readings, rejected, sizes)
