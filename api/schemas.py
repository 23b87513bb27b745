"""What the JSON API accepts and returns; split by purpose so clients cannot set what they should not."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.lifecycle import MAX_ACTOR_LENGTH, AlertStatus, AuditAction
from carewatch.domain import AlertType, Audience, Severity


class AlertEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: AuditAction
    from_status: AlertStatus | None
    to_status: AlertStatus
    note: str
    event_time: datetime | None


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    household_id: str
    alert_type: AlertType
    severity: Severity
    audience: Audience
    status: AlertStatus
    onset: datetime
    raised_at: datetime
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    explanation_zh: str
    explanation_en: str
    meter_ids: list[str]
    facts: dict[str, Any]


class AlertDetailPublic(AlertPublic):
    """One alert with its audit trail, oldest entry first."""

    events: list[AlertEventPublic]


class _PersonalMove(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    actor: str = Field(min_length=1, max_length=MAX_ACTOR_LENGTH, description="The duty officer's name, for the audit trail")
    note: str = Field(default="", max_length=2000)


class AckRequest(_PersonalMove):
    """A duty officer takes the alert on."""


class ResolveRequest(_PersonalMove):
    """A person closes the alert; the note says what was found."""


class UnknownMeterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    meter_id: str
    gateway_id: str | None
    first_seen: datetime
    last_seen: datetime
    readings: int


class IngestStatsPublic(BaseModel):
    messages: int
    readings_accepted: int
    readings_duplicate: int
    rejected: int
    rejected_by_reason: dict[str, int]
    unknown_meter_count: int
    gateways_offline: list[str]
