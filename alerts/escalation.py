"""What every alert transition does to the ladder, inside the transition's own transaction.

These need no people file and no policy, so every AlertStore (the pipeline's, the
console's, the family link's) keeps the ladder consistent with the alert:
- a raise writes the alert's escalation row (the ladder starts it, now or on its next tick);
- acknowledging, resolving or an auto-resolve stops it, cancels messages not yet on
  their way, and tells everyone already reached that the alert was handled; a message
  that was on its way then is followed by the same update once it is sent
  (``tell_late_reached``, called by the dispatcher).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import AlertStatus
from alerts.messages import outcome_words, render
from alerts.models import Alert
from alerts.notify_tables import Escalation, LadderState, MessageStatus, OutboxMessage
from alerts.outbox import NewMessage, cancel_unsent, enqueue
from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from carewatch.catalogue import language_of, words
from carewatch.domain import Audience

SHORT_CHANNELS = frozenset({"sms", "voice", "wecom", "dingtalk", "feishu", "apprise"})
LIVE_STATES = (LadderState.PENDING, LadderState.RUNNING, LadderState.FINISHED)
MAX_KEY = 200


def message_key(alert_id: str, *parts: object) -> str:
    """Idempotency key of one message: the same step to the same address always gives the same key."""
    key = "|".join([alert_id, *(str(part) for part in parts)])
    if len(key) <= MAX_KEY:
        return key
    return f"{alert_id[:120]}|{hashlib.sha256(key.encode()).hexdigest()[:64]}"


async def open_escalation(session: AsyncSession, alert_id: str) -> None:
    row = {"alert_id": alert_id, "state": LadderState.PENDING, "next_step": 0, "reminders_sent": 0, "version": 0}
    await session.execute(_escalation_unless_open(session.get_bind().dialect.name), row)


@cache
def _escalation_unless_open(dialect: str) -> Insert:
    """Built once per dialect, the row given as its parameters (see `alerts.store._insert_unless_conflicting`)."""
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    return insert(Escalation).on_conflict_do_nothing(index_elements=["alert_id"])


async def halt_escalation(session: AsyncSession, alert_id: str, reason: str) -> None:
    """Stop the alert's ladder where it is, if it is live, and nothing else: all an alert raised under a site
    silence needs (nobody was reached, so there is nothing to cancel and nobody to tell); `stop_escalation`
    does it first.  The version bump makes a racing escalator's step fail."""
    await session.execute(
        update(Escalation)
        .where(Escalation.alert_id == alert_id, Escalation.state.in_(LIVE_STATES))
        .values(state=LadderState.STOPPED, stop_reason=reason, version=Escalation.version + 1)
        .execution_options(synchronize_session=False)
    )


async def stop_escalation(
    session: AsyncSession, alert_id: str, *, closed_as: str, actor: str, outcome: Outcome | None, now: datetime
) -> None:
    """Stop the ladder, cancel what was not yet sent, and send an update to everyone reached."""
    reason = f"{closed_as} by {actor}"
    await halt_escalation(session, alert_id, reason)
    await cancel_unsent(session, alert_id, f"not sent: the alert was {reason} first")
    if await session.scalar(select(Alert.audience).where(Alert.id == alert_id)) is Audience.ELDER:
        return  # a check-in that ended (answered, or use seen): the elder has nothing more to hear of it
    label = await session.scalar(select(Escalation.household_label).where(Escalation.alert_id == alert_id))
    await _tell_those_reached(session, alert_id, label, closed_as, actor, outcome, now)


async def hurry(session: AsyncSession, alert_id: str) -> bool:
    """Make the next step due now (a family member cannot reach the elder); False if no step is left."""
    moved = await session.scalar(
        update(Escalation)
        .where(Escalation.alert_id == alert_id, Escalation.state.in_((LadderState.PENDING, LadderState.RUNNING)))
        .values(due_at=None, version=Escalation.version + 1)
        .returning(Escalation.alert_id)
        .execution_options(synchronize_session=False)
    )
    return moved is not None


async def summon_staff(session: AsyncSession, alert_id: str, at: datetime) -> None:
    """Someone answered "I need help": the escalator pages the duty staff on its next look, whatever the ladder's
    state (one stopped by an acknowledgement or finished included), and a climbing ladder's steps before the staff
    (the family) are due now."""
    await session.execute(
        update(Escalation)
        .where(Escalation.alert_id == alert_id)
        .values(help_requested_at=at, version=Escalation.version + 1)
        .execution_options(synchronize_session=False)
    )
    await hurry(session, alert_id)


async def _tell_those_reached(
    session: AsyncSession,
    alert_id: str,
    household_label: str | None,
    closed_as: str,
    actor: str,
    outcome: Outcome | None,
    now: datetime,
) -> None:
    # Locked with the ones on their way (PostgreSQL; SQLite has one writer at a time): a dispatcher recording one of
    # them as sent either waits for this transaction and then finds the alert handled (`tell_late_reached`), or is
    # waited for and counted here. Never neither: a message on its way when the alert was handled was delivered,
    # and its recipient was never told the outcome (the demo showed it in every run).
    on_their_way = (
        await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.alert_id == alert_id,
                OutboxMessage.status.in_((MessageStatus.SENT, MessageStatus.SENDING)),
                OutboxMessage.purpose != "update",
            )
            .order_by(OutboxMessage.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    reached = [message for message in on_their_way if message.status is MessageStatus.SENT]
    kind, reason = (outcome.kind, outcome.reason) if outcome else (None, None)
    await enqueue(session, [_update(m, household_label, closed_as, actor, kind, reason) for m in reached], now)


NOT_FOLLOWED = ("update", "help_requested")
"""Messages sent late that no update follows: the update itself, and a page for help (sent whatever the alert's
state, on purpose: one sent after the acknowledgement is news, and "acknowledged" after it would be stale)."""


async def tell_late_reached(session: AsyncSession, message_id: int, now: datetime) -> bool:
    """The dispatcher has just recorded ``message_id`` as sent: if its alert was handled meanwhile (it was on its
    way when someone acknowledged or closed the alert, or the detectors did), its recipient is told the outcome now,
    like everyone reached before. The update's key is the one the closing transaction would have written: written
    once whichever side writes it. True if an update was written."""
    message = await session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None or message.status is not MessageStatus.SENT or message.purpose in NOT_FOLLOWED:
        return False
    alert = await session.get(Alert, message.alert_id, populate_existing=True)
    if alert is None or alert.status is AlertStatus.OPEN or alert.audience is Audience.ELDER:
        return False  # not handled (or a check-in: the elder hears nothing more of it)
    label = await session.scalar(select(Escalation.household_label).where(Escalation.alert_id == alert.id))
    update_ = _update(message, label, alert.status.value, _handled_by(alert), alert.outcome, alert.outcome_reason)
    return await enqueue(session, [update_], now) > 0


async def handled_first(session: AsyncSession, message: OutboxMessage) -> str | None:
    """Why ``message``, which has just failed for now, is not to be tried again: its alert was handled while it was
    on its way (the closing transaction cancelled only the unsent ones); None if it is to be retried. A retry would
    tell of a danger already handled, and no update would follow it. The update itself and a page for help go out
    whatever the alert's state."""
    if message.purpose in NOT_FOLLOWED:
        return None
    alert = await session.get(Alert, message.alert_id, populate_existing=True)
    if alert is None or alert.status is AlertStatus.OPEN:
        return None
    return f"not sent: the alert was {alert.status.value} by {_handled_by(alert)} first"


def _handled_by(alert: Alert) -> str:
    return (alert.acknowledged_by if alert.status is AlertStatus.ACKNOWLEDGED else alert.resolved_by) or ""


def _update(
    message: OutboxMessage,
    household_label: str | None,
    closed_as: str,
    actor: str,
    kind: OutcomeKind | None,
    reason: FalseAlarmReason | None,
) -> NewMessage:
    """The update "the alert was handled" to whoever ``message`` reached, on the same channel and address."""
    language = language_of(message.language)
    text = render(
        "update",
        language,
        {
            "household": household_label or message.household_id,
            "closed": words("closed", language).get(closed_as, closed_as),
            "actor": actor if closed_as != "auto_resolved" else "",
            "outcome": outcome_words(language, kind, reason),
        },
        short=message.channel in SHORT_CHANNELS,
    )
    return NewMessage(
        idempotency_key=message_key(message.alert_id, "update", closed_as, message.recipient_id, message.channel, message.address),
        alert_id=message.alert_id, household_id=message.household_id, purpose="update",
        recipient_id=message.recipient_id, recipient_name=message.recipient_name, recipient_role=message.recipient_role,
        channel=message.channel, address=message.address, language=message.language,
        subject=text.subject, body=text.body, payload={"alert_id": message.alert_id, "event": closed_as},
    )
