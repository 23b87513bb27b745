"""Writing messages to the outbox inside the caller's transaction, and reading them back for people.

Writing is ``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING``: the ladder may run a
step twice (a replay, two escalators) and each message is still written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notify_tables import UNSENT, DeliveryAttempt, MessageStatus, OutboxMessage


@dataclass(frozen=True, slots=True)
class NewMessage:
    idempotency_key: str
    alert_id: str
    household_id: str
    purpose: str
    recipient_id: str
    recipient_name: str
    recipient_role: str
    channel: str
    address: str
    language: str
    subject: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)
    hold_until: datetime | None = None
    """Quiet hours: the ladder releases the message at this ladder-clock time."""


async def enqueue(session: AsyncSession, messages: Sequence[NewMessage], now: datetime) -> int:
    """Write the messages; returns how many were new."""
    written = 0
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    for message in messages:
        row = {
            **{name: getattr(message, name) for name in NewMessage.__slots__},
            "status": MessageStatus.HELD if message.hold_until is not None else MessageStatus.PENDING,
            "created_at": now,
            "attempts": 0,
            "last_error": "",
        }
        statement = insert(OutboxMessage).values(row).on_conflict_do_nothing(index_elements=["idempotency_key"])
        stored = await session.scalar(statement.returning(OutboxMessage.id))
        written += stored is not None
    return written


async def release_held(session: AsyncSession, now: datetime) -> int:
    """Quiet hours over: held messages become sendable."""
    released = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == MessageStatus.HELD, OutboxMessage.hold_until <= now)
        .values(status=MessageStatus.PENDING)
        .execution_options(synchronize_session=False)
    )
    return released.rowcount or 0  # type: ignore[attr-defined]


async def cancel_unsent(session: AsyncSession, alert_id: str, reason: str) -> int:
    """The alert was handled: messages not yet on their way are not sent (claimed ones may still go)."""
    cancelled = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.alert_id == alert_id, OutboxMessage.status.in_(UNSENT))
        .values(status=MessageStatus.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return cancelled.rowcount or 0  # type: ignore[attr-defined]


async def delivery_report(session: AsyncSession) -> dict[str, Any]:
    """Messages by channel and status, by purpose (ladder step, reminder, update) and status, and per alert its
    first message (ladder clock), count and how many were sent."""
    by_channel: dict[str, dict[str, int]] = {}
    by_purpose: dict[str, dict[str, int]] = {}
    for channel, purpose, status, count in await session.execute(
        select(OutboxMessage.channel, OutboxMessage.purpose, OutboxMessage.status, func.count())
        .group_by(OutboxMessage.channel, OutboxMessage.purpose, OutboxMessage.status)
    ):
        for table, key in ((by_channel, channel), (by_purpose, purpose)):
            counts = table.setdefault(key, {})
            counts[MessageStatus(status).value] = counts.get(MessageStatus(status).value, 0) + count
    per_alert = {
        alert_id: {"first_message_at": first.isoformat(), "messages": count, "sent": sent}
        for alert_id, first, count, sent in await session.execute(
            select(
                OutboxMessage.alert_id, func.min(OutboxMessage.created_at), func.count(),
                func.sum(case((OutboxMessage.status == MessageStatus.SENT, 1), else_=0)),
            ).group_by(OutboxMessage.alert_id).order_by(OutboxMessage.alert_id)
        )
    }
    return {
        "messages": sum(sum(c.values()) for c in by_channel.values()),
        "by_channel": by_channel,
        "by_purpose": dict(sorted(by_purpose.items())),
        "per_alert": per_alert,
    }


async def attempts_for(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, list[DeliveryAttempt]]:
    if not message_ids:
        return {}
    rows = (
        await session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.message_id.in_(message_ids)).order_by(DeliveryAttempt.id)
        )
    ).all()
    grouped: dict[int, list[DeliveryAttempt]] = {message_id: [] for message_id in message_ids}
    for attempt in rows:
        grouped[attempt.message_id].append(attempt)
    return grouped
