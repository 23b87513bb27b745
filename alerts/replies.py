"""What a family member or the elder answers through a signed link, and how it moves the ladder.

- family "I have checked on her" -> the alert is acknowledged by that person, outcome safe; the ladder stops;
- family "I cannot reach her" -> an audit entry, and the ladder's next step is due at once;
- elder "I am fine" -> the alert is resolved as "elder confirmed safe"; the ladder stops.

Each answer counts once per person and alert: a link opened again (a double tap, a forwarded message,
a replay) and given the same answer is told it was recorded, and adds nothing to the audit trail.
The person is told apart by the name the audit trail gives them (``who``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import AlertNotFound, IllegalTransition
from alerts.escalation import hurry
from alerts.family_links import LinkClaim
from alerts.lifecycle import MAX_ACTOR_LENGTH, AlertStatus, AuditAction
from alerts.models import Alert, AlertEvent
from alerts.notify_tables import OutboxMessage
from alerts.outcomes import Outcome, OutcomeKind
from alerts.store import AlertStore

ELDER_CONFIRMED = "elder confirmed safe through the check-in link"


class Answer(StrEnum):
    CHECKED = "checked"  # family: I have checked on her, she is fine
    UNREACHABLE = "unreachable"  # family: I cannot reach her
    FINE = "fine"  # elder: I am fine


class ReplyResult(StrEnum):
    RECORDED = "recorded"
    ALREADY_RECORDED = "already_recorded"  # this person gave this answer before: nothing new is recorded
    ALREADY_HANDLED = "already_handled"  # someone else acknowledged or resolved it first


ALLOWED = {"family": {Answer.CHECKED, Answer.UNREACHABLE}, "elder": {Answer.FINE}}


async def who(session: AsyncSession, claim: LinkClaim) -> str:
    """The person as the audit trail names them, from the message their link came in."""
    name = await session.scalar(
        select(OutboxMessage.recipient_name)
        .where(OutboxMessage.alert_id == claim.alert_id, OutboxMessage.recipient_id == claim.recipient_id)
        .limit(1)
    )
    label = "elder" if claim.role == "elder" else "family"
    return f"{label}: {name or claim.recipient_id}"[:MAX_ACTOR_LENGTH]


async def answer(
    store: AlertStore, sessions: async_sessionmaker[AsyncSession], claim: LinkClaim, given: Answer
) -> ReplyResult:
    if given not in ALLOWED[claim.role]:
        raise ValueError(f"a {claim.role} link cannot answer {given.value!r}")
    async with sessions() as session:
        alert = await session.get(Alert, claim.alert_id)
        if alert is None:
            raise AlertNotFound(claim.alert_id)
        actor = await who(session, claim)
    if (given is Answer.CHECKED and alert.acknowledged_by == actor) or (given is Answer.FINE and alert.resolved_by == actor):
        return ReplyResult.ALREADY_RECORDED
    try:
        if given is Answer.CHECKED:
            await store.acknowledge(claim.alert_id, actor, "checked on the elder (family link)", Outcome(OutcomeKind.SAFE))
        elif given is Answer.FINE:
            await store.resolve(claim.alert_id, actor, ELDER_CONFIRMED, Outcome(OutcomeKind.SAFE, detail=ELDER_CONFIRMED))
        else:
            return await _unreachable(sessions, claim.alert_id, actor)
    except IllegalTransition:
        return ReplyResult.ALREADY_HANDLED
    return ReplyResult.RECORDED


async def _unreachable(sessions: async_sessionmaker[AsyncSession], alert_id: str, actor: str) -> ReplyResult:
    async with sessions.begin() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None, "checked by the caller"
        if not alert.status.is_active:
            return ReplyResult.ALREADY_HANDLED
        said_before = await session.scalar(
            select(AlertEvent.id).where(
                AlertEvent.alert_id == alert_id, AlertEvent.actor == actor, AlertEvent.action == AuditAction.FAMILY_UNREACHABLE
            ).limit(1)
        )
        if said_before is not None:
            return ReplyResult.ALREADY_RECORDED
        # Someone already on it (acknowledged) still needs to know: the report joins the audit trail.
        hurried = alert.status is AlertStatus.OPEN and await hurry(session, alert_id)
        session.add(
            AlertEvent(
                alert_id=alert_id, at=datetime.now(UTC), actor=actor, action=AuditAction.FAMILY_UNREACHABLE,
                from_status=alert.status, to_status=alert.status,
                note="cannot reach the elder" + ("; next step of the ladder brought forward" if hurried else ""),
                outcome=OutcomeKind.UNREACHABLE,
            )
        )
    return ReplyResult.RECORDED if alert.status is AlertStatus.OPEN else ReplyResult.ALREADY_HANDLED
