"""The notification tables: each alert's place on its ladder, the outbox, and every delivery attempt.

Two clocks meet here, on purpose kept in separate columns:
- the *ladder clock* (``Escalation.due_at``, ``OutboxMessage.hold_until``) says when a
  step or a quiet-hours hold is due; it is simulated time in the demo, the wall clock in production;
- the *dispatcher clock* (``next_attempt_at``, ``lease_until``, attempt times) is always
  the wall clock in production, because outages and retries happen in real time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from alerts.models import Alert
from carewatch.db import Base, UTCDateTime, text_enum


class LadderState(StrEnum):
    PENDING = "pending"  # written with the alert; the ladder has not chosen its steps yet
    RUNNING = "running"
    FINISHED = "finished"  # every step and reminder ran and nobody acknowledged
    STOPPED = "stopped"  # someone acknowledged, resolved, or the condition ended


class Escalation(Base):
    """Where an alert is on its ladder; one row per alert, written in the alert's own transaction."""

    __tablename__ = "escalations"

    alert_id: Mapped[str] = mapped_column(ForeignKey(Alert.id, ondelete="CASCADE"), primary_key=True)
    state: Mapped[LadderState] = mapped_column(text_enum(LadderState), index=True)
    ladder: Mapped[str] = mapped_column(String(64), default="")
    household_label: Mapped[str] = mapped_column(String(200), default="")
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Ladder clock when the next step is due; None: as soon as the escalator looks."""
    staff_paged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    help_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the elder or a family member answered "I need help": every step up to the duty staff is due at once."""
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    reminder_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    """Bumped by every change: two escalators racing on one alert cannot both run a step."""


class MessageStatus(StrEnum):
    HELD = "held"  # written, waiting for the recipient's quiet hours to end
    PENDING = "pending"  # to be sent (first try or a retry)
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    SENT = "sent"
    FAILED = "failed"  # refused for good (bad address) or retried past the give-up age
    CANCELLED = "cancelled"  # the alert was handled before it went out


UNSENT = (MessageStatus.HELD, MessageStatus.PENDING)


class OutboxMessage(Base):
    """One message to one recipient on one channel, rendered when it was written."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    """Sent with the message (header, Message-ID); also makes writing the same message twice a no-op."""
    alert_id: Mapped[str] = mapped_column(ForeignKey(Alert.id, ondelete="CASCADE"), index=True)
    household_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    recipient_id: Mapped[str] = mapped_column(String(96))
    recipient_name: Mapped[str] = mapped_column(String(128))
    recipient_role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[MessageStatus] = mapped_column(text_enum(MessageStatus))
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Ladder clock when the message was written."""
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Dispatcher clock; None: send as soon as possible."""
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


Index("ix_outbox_messages_status_next", OutboxMessage.status, OutboxMessage.next_attempt_at)


class AttemptResult(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # a transient failure: outage, timeout, 429, 5xx
    FAILED = "failed"  # a permanent refusal, or the last retry


class DeliveryAttempt(Base):
    """One try to send one outbox message, and what came of it."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    result: Mapped[AttemptResult] = mapped_column(text_enum(AttemptResult))
    detail: Mapped[str] = mapped_column(Text, default="")
