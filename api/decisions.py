"""What people decided about an alert: its acknowledgement and resolution, each with outcome, note,
who and when, so the card and the history show them without opening the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import DETECTOR_ACTOR, LADDER_ACTOR, AuditAction
from alerts.models import AlertEvent
from alerts.outcomes import FalseAlarmReason, OutcomeKind
from carewatch.db import in_lists

DECISIONS = (AuditAction.ACKNOWLEDGED, AuditAction.RESOLVED)
SYSTEM_ACTORS = (DETECTOR_ACTOR, LADDER_ACTOR)


@dataclass(frozen=True, slots=True)
class Decision:
    action: AuditAction
    actor: str
    at: datetime
    outcome: OutcomeKind | None
    outcome_reason: FalseAlarmReason | None
    note: str


async def decisions_of(session: AsyncSession, alert_ids: Sequence[str]) -> dict[str, tuple[Decision, ...]]:
    """Each alert's decisions by people (acknowledged, resolved), oldest first; alerts without one are absent."""
    found: dict[str, list[Decision]] = {}
    wanted = sorted(set(alert_ids))
    for keys in in_lists(wanted):
        events = await session.scalars(
            select(AlertEvent)
            .where(AlertEvent.alert_id.in_(keys), AlertEvent.action.in_(DECISIONS),
                   AlertEvent.actor.not_in(SYSTEM_ACTORS))
            .order_by(AlertEvent.id)
        )
        for event in events:
            found.setdefault(event.alert_id, []).append(
                Decision(event.action, event.actor, event.at, event.outcome, event.outcome_reason, event.note)
            )
    return {alert_id: tuple(made) for alert_id, made in found.items()}
