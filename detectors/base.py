"""Shared contracts of the detectors: tolerances, event time, raised conditions.

Inside the detectors time is a float of epoch seconds (UTC) and volume a float of
cubic metres: a reading costs two floats of state, not two objects.  Datetimes
appear only at the edges, where a `Reading` comes in and a `Detection` goes out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from carewatch.domain import (
    AlertType,
    Detection,
    Explanation,
    MeterKind,
    Severity,
    Transition,
)
from detectors.config import HouseholdProfile

EPSILON_M3 = 1e-7
"""Registers are floats, so 100.0100 - 100.0000 is not exactly 0.01.  Meters
resolve 0.0001 m³ at best; amounts this close to a threshold count as equal to
it, which keeps the seed rule's boundary exact (0.0099 alerts, 0.0100 does not)."""


def below(amount_m3: float, threshold_m3: float) -> bool:
    """Strictly less than the threshold, beyond float noise.

    >>> below(100.0099 - 100.0, 0.01), below(100.0100 - 100.0, 0.01)
    (True, False)
    """
    return amount_m3 < threshold_m3 - EPSILON_M3


def above(amount_m3: float, threshold_m3: float) -> bool:
    """Strictly more than the threshold, beyond float noise.

    >>> above(6.0000000001, 6.0), above(6.001, 6.0)
    (False, True)
    """
    return amount_m3 > threshold_m3 + EPSILON_M3


def epoch(moment: datetime) -> float:
    """Event time as epoch seconds, the unit every detector computes in."""
    return moment.timestamp()


def instant(epoch_s: float) -> datetime:
    """Epoch seconds back to an aware UTC datetime, for what leaves the detectors.

    >>> instant(epoch(datetime(2024, 1, 5, 19, 40, tzinfo=UTC)))
    datetime.datetime(2024, 1, 5, 19, 40, tzinfo=datetime.timezone.utc)
    """
    return datetime.fromtimestamp(epoch_s, UTC)


QUIET_ALERTS = frozenset({AlertType.MORNING_ACTIVITY_MISSING, AlertType.UNUSUAL_QUIET})
"""The learned early warnings of inactivity (detectors.quiet)."""
LEARNED_ALERTS = QUIET_ALERTS | {
    AlertType.UNUSUAL_NIGHT_USE, AlertType.UNUSUAL_SPIKE, AlertType.SUSTAINED_DECLINE, AlertType.CHECK_IN,
}
"""Every alert of the learned detectors: they end when a household's learning is switched off."""
INACTIVITY_ALERTS = frozenset({AlertType.NO_GAS_24H, AlertType.NO_WATER_24H, AlertType.NO_ACTIVITY_24H})
"""The seed rule's alerts (detectors.inactivity): they fire whatever the learned detectors said."""


def severity_of(alert_type: AlertType, profile: HouseholdProfile) -> Severity:
    """How urgent an alert is for this household.

    No gas (or no water) is a warning while the other meter still shows life,
    but critical when that meter is the household's only evidence.

    >>> from detectors.config import MeterProfile
    >>> gas_only = HouseholdProfile("hh-1", (MeterProfile("gas-1", MeterKind.GAS),))
    >>> severity_of(AlertType.NO_GAS_24H, gas_only).value
    'critical'
    """
    if alert_type in (AlertType.NO_GAS_24H, AlertType.NO_WATER_24H):
        both = profile.meters_of(MeterKind.GAS) and profile.meters_of(MeterKind.WATER)
        return Severity.WARNING if both else Severity.CRITICAL
    return _SEVERITY[alert_type]


def speaking_for_quiet(profile: HouseholdProfile) -> frozenset[AlertType]:
    """The alerts that already speak for a quiet spell in this household, while one is open no learned
    verdict or question is raised: the learned quiet alerts and the seed rule's critical one
    (no_activity_24h, or the one kind's alert in a one-meter home).

    >>> from detectors.config import MeterProfile
    >>> both = HouseholdProfile("hh-1", (MeterProfile("gas-1", MeterKind.GAS), MeterProfile("wat-1", MeterKind.WATER)))
    >>> sorted(a.value for a in speaking_for_quiet(both) - QUIET_ALERTS)
    ['no_activity_24h']
    """
    return QUIET_ALERTS | {a for a in INACTIVITY_ALERTS if severity_of(a, profile) is Severity.CRITICAL}


_SEVERITY = {
    AlertType.NO_ACTIVITY_24H: Severity.CRITICAL,
    AlertType.GAS_CONTINUOUS: Severity.CRITICAL,
    AlertType.WATER_CONTINUOUS: Severity.CRITICAL,
    AlertType.HIGH_GAS_USE: Severity.WARNING,
    AlertType.HIGH_WATER_USE: Severity.WARNING,
    AlertType.METER_SILENT: Severity.WARNING,
    AlertType.METER_REGISTER_FAULT: Severity.WARNING,
    AlertType.METER_LOW_BATTERY: Severity.WARNING,
    AlertType.METER_WEAK_SIGNAL: Severity.WARNING,
    AlertType.METER_TAMPER: Severity.WARNING,
    AlertType.METER_LEAK: Severity.WARNING,
    AlertType.METER_VALVE_CLOSED: Severity.WARNING,
    # Learned verdicts are early and less certain than the 24 h rule, which escalates to critical.
    AlertType.MORNING_ACTIVITY_MISSING: Severity.WARNING,
    AlertType.UNUSUAL_QUIET: Severity.WARNING,
    AlertType.SUSTAINED_DECLINE: Severity.WARNING,
    AlertType.UNUSUAL_NIGHT_USE: Severity.WARNING,
    AlertType.UNUSUAL_SPIKE: Severity.WARNING,
    # A question to the elder, not an alert to anyone else (detectors.checkin).
    AlertType.CHECK_IN: Severity.INFO,
}


class Raised(NamedTuple):
    """A condition that is currently raised: when it began and on which meters.

    >>> Raised(onset_s=0.0, meter_ids=("gas-1",)).meter_ids
    ('gas-1',)
    """

    onset_s: float
    meter_ids: tuple[str, ...]


class RaisedConditions:
    """The conditions raised for one household, so rules emit transitions, not levels.

    A rule asks `open` when its condition holds and `close` when it ends; only a
    change of state becomes a `Detection`.  An alert is named by its type and
    onset, so once closed the same (type, onset) is never opened again: a
    consumer sees RAISED once and CLEARED once per alert id, even when a
    condition comes back with the same onset (e.g. no gas after no_activity
    was cleared by water use: the no_gas incident already had its alert).

    >>> raised = RaisedConditions()
    >>> raised.open(AlertType.NO_GAS_24H, 100.0, ("gas-1",))
    True
    >>> raised.open(AlertType.NO_GAS_24H, 100.0, ("gas-1",))  # already raised
    False
    >>> raised.close(AlertType.NO_GAS_24H)
    Raised(onset_s=100.0, meter_ids=('gas-1',))
    >>> raised.open(AlertType.NO_GAS_24H, 100.0, ("gas-1",))  # that alert is over
    False
    >>> AlertType.NO_GAS_24H in raised
    False
    """

    __slots__ = ("_open", "_closed")

    def __init__(self) -> None:
        # Keyed by the alert type's string value: smaller to pickle than the enum.
        self._open: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._closed: dict[str, float] = {}

    def __contains__(self, alert_type: AlertType) -> bool:
        # An AlertType is a str equal to its value: it finds the plain-string key as it is.
        return alert_type in self._open

    def get(self, alert_type: AlertType) -> Raised | None:
        entry = self._open.get(alert_type)
        return None if entry is None else Raised(*entry)

    def any_of(self, alert_types: frozenset[AlertType]) -> bool:
        """Is any of these raised?"""
        return not alert_types.isdisjoint(self._open)

    def open(self, alert_type: AlertType, onset_s: float, meter_ids: tuple[str, ...]) -> bool:
        """Raise the condition; False if it is raised already or that alert ended."""
        key = alert_type.value
        if key in self._open or self._closed.get(key) == onset_s:
            return False
        self._open[key] = (onset_s, meter_ids)
        return True

    def widen(self, alert_type: AlertType, meter_ids: tuple[str, ...]) -> None:
        """Add meters to a raised condition without a new transition."""
        onset_s, known = self._open[alert_type.value]
        merged = known + tuple(m for m in meter_ids if m not in known)
        self._open[alert_type.value] = (onset_s, merged)

    def close(self, alert_type: AlertType) -> Raised:
        onset_s, meter_ids = self._open.pop(alert_type.value)
        self._closed[alert_type.value] = onset_s
        return Raised(onset_s, meter_ids)

    def told(self, alert_type: AlertType) -> float | None:
        """Onset of the last alert of this type that ended (or was settled), if any."""
        return self._closed.get(alert_type)

    def settle(self, alert_type: AlertType, onset_s: float) -> None:
        """Treat (type, onset) as already told, without raising it: another
        alert's words covered this condition."""
        if alert_type.value not in self._open:
            self._closed[alert_type.value] = onset_s

    def items(self) -> Iterator[tuple[AlertType, Raised]]:
        for key, (onset_s, meter_ids) in self._open.items():
            yield AlertType(key), Raised(onset_s, meter_ids)

    def __repr__(self) -> str:
        return f"RaisedConditions({sorted(self._open)})"


def detection(
    profile: HouseholdProfile,
    alert_type: AlertType,
    transition: Transition,
    raised: Raised,
    at_s: float,
    explanation: Explanation,
    facts: Mapping[str, float | str],
) -> Detection:
    """Build the `Detection` that leaves the detectors, converting event times."""
    return Detection(
        household_id=profile.household_id,
        alert_type=alert_type,
        transition=transition,
        onset=instant(raised.onset_s),
        at=instant(at_s),
        severity=severity_of(alert_type, profile),
        explanation=explanation,
        meter_ids=raised.meter_ids,
        facts=dict(facts),
    )
