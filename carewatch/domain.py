"""Domain types shared by every room of carewatch.

They are frozen and typed: a value of these types has already been validated at
the edge (ingest, registry loading), so the pure core can trust it.  Times are
always timezone-aware and normalised to UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Gateway, meter and household ids: safe in MQTT topics, URLs and alert ids."""


class MeterKind(StrEnum):
    GAS = "gas"
    WATER = "water"


@dataclass(frozen=True, slots=True)
class Reading:
    """One validated meter reading: the cumulative register at an instant."""

    household_id: str
    meter_id: str
    kind: MeterKind
    at: datetime
    register_m3: float
    battery_pct: float | None = None
    signal_dbm: float | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"reading time {self.at!r} has no UTC offset")


@dataclass(frozen=True, slots=True)
class Tick:
    """The passage of time, for detectors that judge the absence of events.

    ``at`` is a watermark: no more readings are expected before it (event time in
    simulations and replays, the wall clock minus allowed lateness in production).
    """

    at: datetime


class AlertType(StrEnum):
    NO_GAS_24H = "no_gas_24h"
    NO_WATER_24H = "no_water_24h"
    NO_ACTIVITY_24H = "no_activity_24h"
    GAS_CONTINUOUS = "gas_continuous"
    WATER_CONTINUOUS = "water_continuous"
    HIGH_GAS_USE = "high_gas_use"
    HIGH_WATER_USE = "high_water_use"
    METER_SILENT = "meter_silent"
    METER_REGISTER_FAULT = "meter_register_fault"
    METER_LOW_BATTERY = "meter_low_battery"
    """The meter's own battery reading is low (raised below one level, cleared above a higher one)."""
    METER_WEAK_SIGNAL = "meter_weak_signal"
    """The meter's radio signal has stayed weak for days (a median, not one bad reading)."""
    METER_TAMPER = "meter_tamper"
    METER_LEAK = "meter_leak"
    METER_VALVE_CLOSED = "meter_valve_closed"
    """Flags the meter itself reports in its status word (`MeterFlag`)."""
    MORNING_ACTIVITY_MISSING = "morning_activity_missing"
    """Learned: no use by the household's usual first use after the night, plus a margin."""
    UNUSUAL_QUIET = "unusual_quiet"
    """Learned: quiet for longer than this household ever is at this time of day."""
    SUSTAINED_DECLINE = "sustained_decline"
    """Learned: daily use well below the household's own baseline for days on end."""
    UNUSUAL_NIGHT_USE = "unusual_night_use"
    """Learned: far more use in the household's sleeping hours than on its usual nights."""
    UNUSUAL_SPIKE = "unusual_spike"
    """Learned: a day's use far above anything this household has used in a day lately."""
    CHECK_IN = "check_in"
    """The soft tier: the routine is first broken (longer than usual, not yet longer than ever);
    the elder alone is asked "are you all right?" — family and staff hear only if nobody answers."""

    @property
    def audience(self) -> Audience:
        if self in TECHNICIAN_TYPES:
            return Audience.TECHNICIAN
        if self is AlertType.CHECK_IN:
            return Audience.ELDER
        return Audience.CARE

    @property
    def is_inactivity(self) -> bool:
        return self in INACTIVITY_TYPES


TECHNICIAN_TYPES = frozenset(
    {
        AlertType.METER_SILENT,
        AlertType.METER_REGISTER_FAULT,
        AlertType.METER_LOW_BATTERY,
        AlertType.METER_WEAK_SIGNAL,
        AlertType.METER_TAMPER,
        AlertType.METER_LEAK,
        AlertType.METER_VALVE_CLOSED,
    }
)
"""A device needs attention: told to technicians, never to families or as care alerts."""

INACTIVITY_TYPES = frozenset(
    {
        AlertType.NO_GAS_24H,
        AlertType.NO_WATER_24H,
        AlertType.NO_ACTIVITY_24H,
        AlertType.MORNING_ACTIVITY_MISSING,
        AlertType.UNUSUAL_QUIET,
    }
)


class MeterFlag(StrEnum):
    """A condition a meter reports about itself in its status word (ingest.payload; docs/gateways.md)."""

    TAMPER = "tamper"
    LEAK = "leak"
    VALVE_CLOSED = "valve_closed"

    @property
    def alert_type(self) -> AlertType:
        return _FLAG_ALERTS[self]


_FLAG_ALERTS = {
    MeterFlag.TAMPER: AlertType.METER_TAMPER,
    MeterFlag.LEAK: AlertType.METER_LEAK,
    MeterFlag.VALVE_CLOSED: AlertType.METER_VALVE_CLOSED,
}


class Audience(StrEnum):
    CARE = "care"  # duty staff and family: the elder may need help
    TECHNICIAN = "technician"  # a device needs attention, not the elder
    ELDER = "elder"  # the elder alone is asked first (a check-in): nobody else is told unless it goes unanswered


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Transition(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class Explanation:
    """The same sentence for a duty officer in Chinese and in English."""

    zh: str
    en: str


def alert_id(household_id: str, alert_type: AlertType, onset: datetime) -> str:
    """A readable id that a replay of the same readings reproduces exactly."""
    stamp = onset.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{household_id}.{alert_type.value}.{stamp}"


@dataclass(frozen=True, slots=True)
class Detection:
    """A detector's verdict that a condition began (raised) or ended (cleared).

    ``onset`` is when the condition began (e.g. the last observed gas use); it is
    the same in both transitions and with ``household_id`` and ``alert_type``
    names the alert.  ``at`` is the event time at which the transition was seen.
    """

    household_id: str
    alert_type: AlertType
    transition: Transition
    onset: datetime
    at: datetime
    severity: Severity
    explanation: Explanation
    meter_ids: tuple[str, ...] = ()
    facts: Mapping[str, float | str] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        return alert_id(self.household_id, self.alert_type, self.onset)


class CheckInReply(StrEnum):
    FINE = "fine"
    """The elder answered "I'm fine" (the answer link, an SMS reply code, "press 1" on a call)."""


@dataclass(frozen=True, slots=True)
class CheckInAnswer:
    """The elder's answer to a check-in, as an event for the detectors (like a reading, it carries its time).

    ``alert_id`` names the check-in answered; ``at`` is when the answer was given.
    """

    household_id: str
    alert_id: str
    at: datetime
    reply: CheckInReply = CheckInReply.FINE

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"answer time {self.at!r} has no UTC offset")


@dataclass(frozen=True, slots=True)
class GatewayState:
    """A gateway's retained status (docs/mqtt-contract.md), as an event for the detectors of every household
    registered to it: online on connect, offline by its MQTT last will (the broker's word that it is gone).

    The message carries no time: ``at`` is when the runner heard it, on its own clock (`carewatch.runners.engine`).
    """

    gateway_id: str
    online: bool
    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"gateway status time {self.at!r} has no UTC offset")

    @property
    def state(self) -> str:
        """As the gateway's status message says it (docs/mqtt-contract.md): "online" or "offline"."""
        return "online" if self.online else "offline"


class Lesson(StrEnum):
    """What a person's outcome on an alert may teach the household's model (alerts.answers maps the outcome)."""

    WENT_OUT = "went_out"
    """A learned quiet alert was a false alarm: the elder was out (an outing, visiting family)."""
    METER_FAULT = "meter_fault"
    """A meter_silent ticket was the meter's own gap (no dead gateway): the meter is gappy."""


@dataclass(frozen=True, slots=True)
class OutcomeHeard:
    """A person's outcome on an alert that may teach the detectors, as an event carrying its time.

    ``onset`` is the alert's onset (the quiet spell's start, the silent meter's last reading);
    ``ended`` when the condition ended in event time (the alert's ``cleared_at``), None if it
    had not ended when the outcome was given; ``at`` is when the outcome was given.  Outcomes
    that teach nothing (elder unwell, hospitalised, unreachable, another false alarm) are never sent.
    """

    household_id: str
    alert_id: str
    alert_type: AlertType
    lesson: Lesson
    onset: datetime
    ended: datetime | None
    at: datetime
    meter_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for when in (self.onset, self.ended, self.at):
            if when is not None and when.tzinfo is None:
                raise ValueError(f"outcome time {when!r} has no UTC offset")


class RejectReason(StrEnum):
    """Why a payload or a reading went to the dead-letter record."""

    OVERSIZED_PAYLOAD = "oversized_payload"
    MALFORMED_JSON = "malformed_json"
    BAD_TOPIC = "bad_topic"
    SCHEMA_VIOLATION = "schema_violation"  # missing or wrong-typed fields
    UNSUPPORTED_VERSION = "unsupported_version"
    TOO_MANY_READINGS = "too_many_readings"
    INVALID_VALUE = "invalid_value"  # negative, NaN, infinite or absurd
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_IMPLAUSIBLE = "timestamp_implausible"
    UNKNOWN_METER = "unknown_meter"
    METER_ON_WRONG_GATEWAY = "meter_on_wrong_gateway"
    REGISTER_WENT_BACKWARDS = "register_went_backwards"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # same instant, other value
    PROCESSING_ERROR = "processing_error"  # a bug of ours: kept, never dropped


def utc(moment: datetime) -> datetime:
    """Normalise an aware datetime to UTC; refuse naive ones."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no UTC offset")
    return moment.astimezone(UTC)
