"""What the board shows of each alert's escalation ladder: the step reached and who was contacted, on which channel, with what result.

Read from the notification tables (escalations, outbox): the console needs neither the
people file nor the policy for it, and shows exactly what was written and sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notify_tables import Escalation, LadderState, MessageStatus, OutboxMessage
from alerts.policy import Action
from carewatch.db import in_lists
from carewatch.catalogue import Language, text, words

_STEPS = frozenset(action.value for action in Action)


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    channel_words: str
    status: MessageStatus
    status_words: str


@dataclass(frozen=True, slots=True)
class Contacted:
    name: str
    role_words: str
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True, slots=True)
class LadderView:
    state: LadderState
    state_words: str
    step_words: str | None
    """The furthest step written so far (None: nobody contacted yet)."""
    reminders: int
    contacted: tuple[Contacted, ...]
    signature: str
    """Changes whenever the ladder moves or a message's status changes: the live board re-sends its rows then."""


async def ladder_views(session: AsyncSession, alert_ids: Sequence[str], lang: Language) -> dict[str, LadderView]:
    """Each alert's ladder as the board shows it; alerts without an escalation row are left out."""
    wanted = sorted(set(alert_ids))
    escalations: dict[str, Escalation] = {}
    messages: dict[str, list[OutboxMessage]] = {}
    for chunk in in_lists(wanted):
        escalations.update((e.alert_id, e) for e in await session.scalars(select(Escalation).where(Escalation.alert_id.in_(chunk))))
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.alert_id.in_(chunk), OutboxMessage.purpose != "update").order_by(OutboxMessage.id)
        )
        for message in rows:
            messages.setdefault(message.alert_id, []).append(message)
    return {alert_id: _view(escalation, messages.get(alert_id, []), lang) for alert_id, escalation in escalations.items()}


def _view(escalation: Escalation, messages: list[OutboxMessage], lang: Language) -> LadderView:
    steps = [m.purpose for m in messages if m.purpose in _STEPS]
    by_person: dict[str, list[OutboxMessage]] = {}
    for message in messages:
        by_person.setdefault(message.recipient_id, []).append(message)
    contacted = tuple(
        Contacted(
            name=sent[0].recipient_name,
            role_words=words("recipient_role", lang).get(sent[0].recipient_role, sent[0].recipient_role),
            deliveries=tuple(_deliveries(sent, lang)),
        )
        for sent in by_person.values()
    )
    signature = f"{escalation.state}|{len(steps)}|{escalation.reminders_sent}|" + ",".join(f"{m.id}:{m.status}" for m in messages)
    return LadderView(
        state=escalation.state,
        state_words=text(f"ladder_state.{escalation.state}", lang),
        step_words=text(f"ladder_step.{steps[-1]}", lang) if steps else None,
        reminders=escalation.reminders_sent,
        contacted=contacted,
        signature=signature,
    )


def _deliveries(messages: list[OutboxMessage], lang: Language) -> list[Delivery]:
    """One per channel and address, with the latest message's status (a reminder sent after a step's message)."""
    latest: dict[tuple[str, str], OutboxMessage] = {}
    for message in messages:
        latest[(message.channel, message.address)] = message
    return [
        Delivery(m.channel, words("channel", lang).get(m.channel, m.channel), m.status, text(f"message_status.{m.status}", lang))
        for m in latest.values()
    ]
