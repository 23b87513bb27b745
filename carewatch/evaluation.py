"""Match the simulator's ground-truth incidents with the alerts that were raised."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from carewatch.domain import AlertType

EXPECTED: Mapping[str, AlertType] = {
    "inactive": AlertType.NO_ACTIVITY_24H,
    "gas_left_on": AlertType.GAS_CONTINUOUS,
    "water_left_on": AlertType.WATER_CONTINUOUS,
    "gateway_silent": AlertType.METER_SILENT,
}
"""The alert each incident kind must raise (both meters present)."""

EXPLAINED_BY: Mapping[str, frozenset[AlertType]] = {
    "inactive": frozenset({AlertType.NO_ACTIVITY_24H, AlertType.NO_GAS_24H, AlertType.NO_WATER_24H}),
    "gas_left_on": frozenset({AlertType.GAS_CONTINUOUS, AlertType.HIGH_GAS_USE}),
    "water_left_on": frozenset({AlertType.WATER_CONTINUOUS, AlertType.HIGH_WATER_USE}),
    "gateway_silent": frozenset({AlertType.METER_SILENT}),
}
"""Alerts that an incident of that kind legitimately causes besides the expected one."""


@dataclass(frozen=True, slots=True)
class TruthIncident:
    household_id: str
    kind: str
    start: datetime


@dataclass(frozen=True, slots=True)
class RaisedAlert:
    alert_id: str
    household_id: str
    alert_type: AlertType
    onset: datetime
    raised_at: datetime


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
