"""Match ground-truth incidents with the alerts that were raised, and score a run.

Definitions (the same for every detector set, so two columns of the table compare):

- An incident is **detected** when an alert that detects its kind (`DETECTED_BY`) for
  its household is raised after its start and at most `GRACE` after its end (its end:
  when the elder was found, or the end of the run) — a daily batch may tell of a burner
  left on only the next night, and that still counts, late.
- The **delay** is from the incident's start to when duty staff could first see that
  alert (`RaisedAlert.raised_at`; in an in-process replay, when the message that
  revealed it arrived — a daily batch makes it late however early the reading was).
- The **median** is the middle delay (the mean of the two middle ones for an even
  count); the **90th percentile** is the nearest rank: the smallest delay that at
  least 90 % of detected incidents do not exceed.
- A **false alarm** is an alert for duty staff or family (`Audience.CARE`) that no
  incident explains: none of its household whose alerts (`EXPLAINED_BY`) include it
  started before it and ended less than `GRACE` before it.
- A **check-in** (`AlertType.CHECK_IN`, for the elder alone) is neither a false alarm nor a detection;
  it is counted per 100 household-days (the cost to the elder), and the **time to the first check-in**
  of an inactivity incident runs from its start to the first check-in or, where none was asked, the
  first alert for family and staff (the elder is asked in both) — "asked" is the share with a check-in.
- **Household-days** count the evaluated period of every household, minus the time
  it spent inside an incident (and its grace), when a false alarm was impossible.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from carewatch.domain import AlertType, Audience

EXPECTED: Mapping[str, AlertType] = {
    "inactive": AlertType.NO_ACTIVITY_24H,
    "gas_left_on": AlertType.GAS_CONTINUOUS,
    "water_left_on": AlertType.WATER_CONTINUOUS,
    "gateway_silent": AlertType.METER_SILENT,
}
"""The alert each incident kind must raise (both meters present)."""

EXPLAINED_BY: Mapping[str, frozenset[AlertType]] = {
    "inactive": frozenset(
        {
            AlertType.NO_ACTIVITY_24H,
            AlertType.NO_GAS_24H,
            AlertType.NO_WATER_24H,
            AlertType.MORNING_ACTIVITY_MISSING,
            AlertType.UNUSUAL_QUIET,
        }
    ),
    "gas_left_on": frozenset({AlertType.GAS_CONTINUOUS, AlertType.HIGH_GAS_USE, AlertType.UNUSUAL_SPIKE}),
    "water_left_on": frozenset({AlertType.WATER_CONTINUOUS, AlertType.HIGH_WATER_USE, AlertType.UNUSUAL_SPIKE}),
    "gateway_silent": frozenset({AlertType.METER_SILENT}),
    "night_restless": frozenset({AlertType.UNUSUAL_NIGHT_USE}),
    # Failing health shows in longer quiet spells too: those alerts are no false alarms.
    "decline": frozenset({AlertType.SUSTAINED_DECLINE, AlertType.UNUSUAL_QUIET, AlertType.MORNING_ACTIVITY_MISSING}),
}
"""Alerts that an incident of that kind legitimately causes."""

DETECTED_BY: Mapping[str, frozenset[AlertType]] = {
    **EXPLAINED_BY,
    "decline": frozenset({AlertType.SUSTAINED_DECLINE}),
}
"""Alerts that detect an incident of that kind: the first of them counts."""

GRACE = timedelta(hours=24)
"""How long after an incident ended an alert of its family is still its echo, not a false alarm."""


@dataclass(frozen=True, slots=True)
class TruthIncident:
    household_id: str
    kind: str
    start: datetime
    end: datetime | None = None
    """When it ended (the elder found, the burner turned off); None: not before the run's end."""


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    alert_id: str
    household_id: str
    alert_type: AlertType
    onset: datetime
    raised_at: datetime
    """When duty staff could first see it."""


@dataclass(frozen=True, slots=True)
class IncidentOutcome:
    incident: TruthIncident
    alert: RaisedAlert | None

    @property
    def delay_h(self) -> float | None:
        if self.alert is None:
            return None
        return (self.alert.raised_at - self.incident.start).total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class Evaluation:
    outcomes: tuple[IncidentOutcome, ...]
    unexplained: tuple[RaisedAlert, ...]
    """Alerts no incident accounts for: false alarms."""

    @property
    def missed(self) -> tuple[IncidentOutcome, ...]:
        return tuple(o for o in self.outcomes if o.alert is None)

    @property
    def false_inactivity(self) -> tuple[RaisedAlert, ...]:
        return tuple(a for a in self.unexplained if a.alert_type.is_inactivity)


def evaluate(incidents: Iterable[TruthIncident], alerts: Iterable[RaisedAlert]) -> Evaluation:
    """The demo's strict verdict: each incident must raise exactly its `EXPECTED` alert."""
    incidents = list(incidents)
    alerts = sorted(alerts, key=lambda a: a.raised_at)
    outcomes = []
    for incident in incidents:
        expected = EXPECTED[incident.kind]
        match = next(
            (
                a
                for a in alerts
                if a.household_id == incident.household_id
                and a.alert_type is expected
                and a.raised_at >= incident.start
            ),
            None,
        )
        outcomes.append(IncidentOutcome(incident, match))

    def explained(alert: RaisedAlert) -> bool:
        return any(
            i.household_id == alert.household_id and alert.alert_type in EXPLAINED_BY[i.kind] and alert.raised_at >= i.start
            for i in incidents
        )

    return Evaluation(tuple(outcomes), tuple(a for a in alerts if not explained(a)))


@dataclass(frozen=True, slots=True)
class KindScore:
    """How the incidents of one kind were caught.

    >>> score = KindScore("inactive", incidents=4, delays_h=(2.0, 3.0, 10.0))
    >>> score.recall, score.median_h, score.p90_h
    (0.75, 3.0, 10.0)
    """

    kind: str
    incidents: int
    delays_h: tuple[float, ...]
    """One per detected incident."""

    @property
    def detected(self) -> int:
        return len(self.delays_h)

    @property
    def recall(self) -> float:
        return self.detected / self.incidents if self.incidents else math.nan

    @property
    def median_h(self) -> float:
        return statistics.median(self.delays_h) if self.delays_h else math.nan

    @property
    def p90_h(self) -> float:
        return nearest_rank(self.delays_h, 0.9)

    def merged(self, other: KindScore) -> KindScore:
        return KindScore(self.kind, self.incidents + other.incidents, self.delays_h + other.delays_h)


def nearest_rank(values: Iterable[float], share: float) -> float:
    """The smallest value that at least `share` of the values do not exceed.

    >>> nearest_rank([5.0, 1.0, 4.0, 2.0, 3.0], 0.9), nearest_rank([], 0.9)
    (5.0, nan)
    """
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(share * len(ordered) - 1e-9)) - 1]


@dataclass(frozen=True, slots=True)
class Scorecard:
    """One detector set's result over one or more runs."""

    kinds: Mapping[str, KindScore]
    false_alarms: tuple[RaisedAlert, ...]
    household_days: float
    technician_alerts: int = 0
    """Alerts for a technician (silent meters, register faults): never false alarms to a family."""
    care_alerts: int = 0
    """Every alert for duty staff or family raised in the evaluated period."""
    by_type: Mapping[str, int] = field(default_factory=dict)
    """False alarms per alert type."""
    technician_unexplained: int = 0
    """Technician alerts no incident explains (a silent meter without a dead gateway: an ordinary gap told)."""
    check_ins: int = 0
    """Check-ins asked of the elder in the evaluated period (every one: an incident's included)."""
    check_ins_unexplained: int = 0
    """Check-ins no inactivity incident explains: the elder was fine (asked for nothing)."""
    first_contact: KindScore = KindScore("inactive", 0, ())
    """Inactivity incidents: the time to the first check-in (or, without one, the first care alert)."""
    asked: int = 0
    """Inactivity incidents in which a check-in was asked before any care alert."""

    @property
    def false_alarms_per_100_days(self) -> float:
        return 100 * len(self.false_alarms) / self.household_days if self.household_days else math.nan

    @property
    def technician_alerts_per_100_days(self) -> float:
        """Every technician alert raised in the period (a dead gateway's included) per 100 household-days."""
        return 100 * self.technician_alerts / self.household_days if self.household_days else math.nan

    @property
    def check_ins_per_100_days(self) -> float:
        return 100 * self.check_ins / self.household_days if self.household_days else math.nan

    @property
    def technician_unexplained_per_100_days(self) -> float:
        return 100 * self.technician_unexplained / self.household_days if self.household_days else math.nan

    def merged(self, other: Scorecard) -> Scorecard:
        kinds = dict(self.kinds)
        for kind, score in other.kinds.items():
            kinds[kind] = kinds[kind].merged(score) if kind in kinds else score
        by_type = dict(self.by_type)
        for name, count in other.by_type.items():
            by_type[name] = by_type.get(name, 0) + count
        return Scorecard(
            kinds,
            self.false_alarms + other.false_alarms,
            self.household_days + other.household_days,
            self.technician_alerts + other.technician_alerts,
            self.care_alerts + other.care_alerts,
            by_type,
            self.technician_unexplained + other.technician_unexplained,
            self.check_ins + other.check_ins,
            self.check_ins_unexplained + other.check_ins_unexplained,
            self.first_contact.merged(other.first_contact),
            self.asked + other.asked,
        )


def score(
    incidents: Iterable[TruthIncident],
    alerts: Iterable[RaisedAlert],
    households: Iterable[str],
    period: tuple[datetime, datetime],
    explained_by: Mapping[str, frozenset[AlertType]] = EXPLAINED_BY,
    detected_by: Mapping[str, frozenset[AlertType]] = DETECTED_BY,
) -> Scorecard:
    """Score the alerts of one run against its incidents over the evaluated `period`
    (incidents starting in it; alerts raised in it)."""
    begin, end = period
    every = list(incidents)  # one that began before the period still explains its alerts
    incidents = [i for i in every if begin <= i.start < end]
    alerts = sorted((a for a in alerts if begin <= a.raised_at <= end), key=lambda a: (a.raised_at, a.alert_id))
    by_household: dict[str, list[RaisedAlert]] = {}
    for alert in alerts:
        by_household.setdefault(alert.household_id, []).append(alert)

    kinds: dict[str, KindScore] = {}
    first_contact, asked = KindScore("inactive", 0, ()), 0
    for incident in incidents:
        until = (incident.end or end) + GRACE
        first = next(
            (
                a
                for a in by_household.get(incident.household_id, [])
                if a.alert_type in detected_by[incident.kind] and incident.start <= a.raised_at <= until
            ),
            None,
        )
        delays = () if first is None else ((first.raised_at - incident.start).total_seconds() / 3600,)
        found = KindScore(incident.kind, 1, delays)
        kinds[incident.kind] = kinds[incident.kind].merged(found) if incident.kind in kinds else found
        if incident.kind == "inactive":
            contact = next(
                (
                    a
                    for a in by_household.get(incident.household_id, [])
                    if (a.alert_type is AlertType.CHECK_IN or a.alert_type in detected_by[incident.kind])
                    and incident.start <= a.raised_at <= until
                ),
                None,
            )
            asked += contact is not None and contact.alert_type is AlertType.CHECK_IN
            reached = () if contact is None else ((contact.raised_at - incident.start).total_seconds() / 3600,)
            first_contact = first_contact.merged(KindScore("inactive", 1, reached))

    def explained(alert: RaisedAlert) -> bool:
        return any(
            i.household_id == alert.household_id
            and alert.alert_type in explained_by[i.kind]
            and i.start <= alert.raised_at <= (i.end or end) + GRACE
            for i in every
        )

    care = [a for a in alerts if a.alert_type.audience is Audience.CARE]
    false = tuple(a for a in care if not explained(a))
    technician = [a for a in alerts if a.alert_type.audience is Audience.TECHNICIAN]
    technician_unexplained = sum(1 for a in technician if not explained(a))
    check_ins = [a for a in alerts if a.alert_type is AlertType.CHECK_IN]

    def explained_check_in(alert: RaisedAlert) -> bool:
        return any(
            i.household_id == alert.household_id and i.kind in ("inactive", "decline")
            and i.start <= alert.raised_at <= (i.end or end) + GRACE
            for i in every
        )
    by_type: dict[str, int] = {}
    for alert in false:
        by_type[alert.alert_type.value] = by_type.get(alert.alert_type.value, 0) + 1
    return Scorecard(
        kinds,
        false,
        _days_at_risk(households, every, begin, end),
        technician_alerts=len(technician),
        care_alerts=len(care),
        by_type=by_type,
        technician_unexplained=technician_unexplained,
        check_ins=len(check_ins),
        check_ins_unexplained=sum(1 for a in check_ins if not explained_check_in(a)),
        first_contact=first_contact,
        asked=asked,
    )


def _days_at_risk(
    households: Iterable[str], incidents: list[TruthIncident], begin: datetime, end: datetime
) -> float:
    """Household-days of the period outside incidents (and their grace)."""
    total_s = 0.0
    for household_id in households:
        spans = sorted(
            (max(i.start, begin), min((i.end or end) + GRACE, end))
            for i in incidents
            if i.household_id == household_id and i.start < end
        )
        covered_s, reach = 0.0, begin
        for start, stop in spans:
            start = max(start, reach)
            if stop > start:
                covered_s += (stop - start).total_seconds()
                reach = stop
        total_s += (end - begin).total_seconds() - covered_s
    return total_s / 86400
