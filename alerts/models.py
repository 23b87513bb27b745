"""The stored alert and its audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, Integer, String, Text, and_, exists
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from alerts.lifecycle import ACTIVE_STATUSES, MAX_ACTOR_LENGTH, AlertStatus, AuditAction
from alerts.outcomes import FalseAlarmReason, OutcomeKind
from carewatch.db import Base, UTCDateTime, text_enum
from carewatch.domain import AlertType, Audience, Severity



class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    """carewatch.domain.alert_id: a replay of the same readings reproduces it."""
    household_id: Mapped[str] = mapped_column(String(64), index=True)
    alert_type: Mapped[AlertType] = mapped_column(text_enum(AlertType))
    severity: Mapped[Severity] = mapped_column(text_enum(Severity))
    audience: Mapped[Audience] = mapped_column(text_enum(Audience))
    status: Mapped[AlertStatus] = mapped_column(text_enum(AlertStatus), index=True)
    onset: Mapped[datetime] = mapped_column(UTCDateTime)
    """When the condition began (event time), e.g. the last observed gas use."""
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Event time at which the detector saw the condition."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Wall clock when the alert was stored."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR_LENGTH))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Wall clock when it was resolved (by a person or the detector)."""
    resolved_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR_LENGTH))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Event time at which the detector saw the condition end (its CLEARED detection), also when a
    person had resolved the alert before; None while the condition lasts."""
    outcome: Mapped[OutcomeKind | None] = mapped_column(text_enum(OutcomeKind))
    """What the person who acknowledged or resolved it found (latest wins); None: not stated."""
    outcome_reason: Mapped[FalseAlarmReason | None] = mapped_column(text_enum(FalseAlarmReason))
    outcome_detail: Mapped[str] = mapped_column(Text, default="")
    assigned_to: Mapped[str | None] = mapped_column(String(MAX_ACTOR_LENGTH), default=None)
    """The colleague who has the alert in hand, by name (as the audit trail names people); None: nobody yet."""
    assigned_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    """Their console account (api.models.User.id), for "my alerts"; the alerts room does not know accounts."""
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    explanation_zh: Mapped[str] = mapped_column(Text)
    explanation_en: Mapped[str] = mapped_column(Text)
    meter_ids: Mapped[list[str]] = mapped_column(JSON)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)

    # Loaded only on request (AlertStore.get): a lazy load would fail under asyncio anyway.
    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id", lazy="raise_on_sql"
    )

    def explanation(self, lang: str) -> str:
        return self.explanation_en if lang.lower().startswith("en") else self.explanation_zh


# One active alert per household and type, enforced by the database so that two
# ingest workers racing on the same condition cannot both raise it.
Index(
    "uq_alerts_one_active_per_household_type",
    Alert.household_id,
    Alert.alert_type,
    unique=True,
    sqlite_where=Alert.status.in_(sorted(ACTIVE_STATUSES)),
    postgresql_where=Alert.status.in_(sorted(ACTIVE_STATUSES)),
)


class AlertEvent(Base):
    """One entry of an alert's audit trail: who moved it, when, from what to what, and why."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Wall clock of the change."""
    actor: Mapped[str] = mapped_column(String(MAX_ACTOR_LENGTH))
    action: Mapped[AuditAction] = mapped_column(text_enum(AuditAction))
    from_status: Mapped[AlertStatus | None] = mapped_column(text_enum(AlertStatus))
    to_status: Mapped[AlertStatus] = mapped_column(text_enum(AlertStatus))
    note: Mapped[str] = mapped_column(Text, default="")
    event_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """The detection's event time when a detector made the change; None for people."""
    outcome: Mapped[OutcomeKind | None] = mapped_column(text_enum(OutcomeKind))
    outcome_reason: Mapped[FalseAlarmReason | None] = mapped_column(text_enum(FalseAlarmReason))

    alert: Mapped[Alert] = relationship(back_populates="events", lazy="raise_on_sql")


def without_entry(action: AuditAction) -> ColumnElement[bool]:
    """The alert of the query (`Alert.id`) has no audit entry of ``action`` (one of the receipts the
    runners write once: ``learned``, ``heard``)."""
    entry = aliased(AlertEvent)
    return ~exists().where(and_(entry.alert_id == Alert.id, entry.action == action))
