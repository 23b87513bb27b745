"""What the JSON API accepts and returns; split by purpose so clients cannot set what they should not."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerts.lifecycle import AlertStatus, AuditAction
from alerts.outcomes import MAX_OUTCOME_DETAIL, FalseAlarmReason, Outcome, OutcomeKind
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
    outcome: OutcomeKind | None = None
    outcome_reason: FalseAlarmReason | None = None


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
    resolved_at: datetime | None = Field(description="Wall clock when a person or the detector resolved it")
    resolved_by: str | None
    cleared_at: datetime | None = Field(
        default=None, description="Event time at which the detector saw the condition end; null while it lasts"
    )
    outcome: OutcomeKind | None = None
    outcome_reason: FalseAlarmReason | None = None
    outcome_detail: str = ""
    assigned_to: str | None = Field(default=None, description="The colleague who has it in hand (POST …/assign)")
    assigned_user_id: int | None = None
    assigned_at: datetime | None = None
    explanation_zh: str
    explanation_en: str
    meter_ids: list[str]
    facts: dict[str, Any]


class CalleePublic(BaseModel):
    """One number to call about an alert, as the console's card shows it (api/call_sheet.py)."""

    model_config = ConfigDict(from_attributes=True)

    role: Literal["elder", "family", "community"]
    name: str
    relation: str = Field(description="A family member's relation to the elder (\"\" for the elder and the community)")
    number: str = Field(description="As the directory writes it")
    tel: str = Field(description="The number as a tel: URI, without separators")


class AlertDetailPublic(AlertPublic):
    """One alert with its audit trail, oldest entry first, and the numbers to call."""

    events: list[AlertEventPublic]
    calls: list[CalleePublic] = Field(
        default=[], description="Whom to call, in the order an officer tries them: the elder, the first family contacts, the community's duty line",
    )


class HandoffNotePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: str
    since: datetime = Field(description="The start of the shift the note covers")
    written_at: datetime
    author: str
    note: str


class HandoffNoteCreate(BaseModel):
    """The outgoing officer's note to the incoming one about a community's shift."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    site_id: str | None = Field(default=None, max_length=64, description="Required when you look after more than one community")
    since: datetime | None = Field(default=None, description="The start of the shift the note covers (default: now); "
                                   "without an offset, the community's local time")
    note: str = Field(min_length=1, max_length=4000)


class HandoffPublic(BaseModel):
    """What happened in your communities since a time, and the newest handoff notes."""

    since: datetime
    site_id: str | None
    new: list[AlertPublic]
    acknowledged: list[AlertPublic]
    escalated: list[AlertPublic]
    resolved: list[AlertPublic]
    still_open: list[AlertPublic]
    notes: list[HandoffNotePublic] = Field(description="Newest first")


class _OutcomeFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    outcome: OutcomeKind | None = Field(default=None, description="What you found when you checked on the elder")
    reason: FalseAlarmReason | None = Field(default=None, description="Required for a false alarm, and only for one")
    detail: str = Field(default="", max_length=MAX_OUTCOME_DETAIL, description="Required for a false alarm for another reason")
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _coherent(self) -> _OutcomeFields:
        self.to_outcome()  # InvalidOutcome is a ValueError: pydantic reports it as a 422 with its message
        return self

    def to_outcome(self) -> Outcome | None:
        if self.outcome is None:
            if self.reason is not None or self.detail:
                raise ValueError("reason and detail describe an outcome: give the outcome too")
            return None
        return Outcome(self.outcome, self.reason, self.detail)


class AckRequest(_OutcomeFields):
    """A duty officer takes the alert on and says what they found: an outcome is required."""

    outcome: OutcomeKind = Field(description="What you found when you checked on the elder")


class ResolveRequest(_OutcomeFields):
    """A person closes the alert; the outcome (optional here) and note say what was found."""


class AssignRequest(BaseModel):
    """Hand the alert to a colleague who looks after its community (or to nobody)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: int | None = Field(description="The colleague's account id (GET /api/alerts/{id}/colleagues); null: to nobody")
    note: str = Field(default="", max_length=2000)


class ColleaguePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str
    role: str


class UnknownMeterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    meter_id: str
    gateway_id: str | None
    first_seen: datetime
    last_seen: datetime
    readings: int


class GatewayGapPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    gateway_id: str
    messages_missing: int = Field(description="Readings messages the gateway numbered (seq) that never arrived")
    resets: int = Field(description="Times the gateway's counter started again at 0 or 1 (a restart, not a loss)")
    duplicates: int
    last_seq: int
    updated_at: datetime


class IngestStatsPublic(BaseModel):
    messages: int
    readings_accepted: int
    readings_duplicate: int
    rejected: int
    rejected_by_reason: dict[str, int]
    unknown_meter_count: int
    gateways_offline: list[str]
    messages_missing: int = Field(description="Messages lost between the gateways and carewatch, counted from their seq")
    gateway_gaps: list[GatewayGapPublic]


class BulkAckRequest(_OutcomeFields):
    """Several alerts taken on at once with one outcome and note (a planned gas cut, an elder away); each gets its own audit entry."""

    alert_ids: list[str] = Field(min_length=1, max_length=500, description="Alerts of your sites; any other makes the whole request 404")
    outcome: OutcomeKind = Field(description="What you found when you checked on the elders")


class BulkAckResult(BaseModel):
    acknowledged: list[str] = Field(description="Taken on now, in the order asked")
    skipped: list[str] = Field(description="No longer open (someone else decided first): left as they are")
