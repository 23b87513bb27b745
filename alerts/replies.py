"""What a family member or the elder answers through a signed link, and how it moves the ladder.

- family "I have checked on her" -> the alert is acknowledged by that person, outcome safe; the ladder stops;
- family "I cannot reach her" -> an audit entry, and the ladder's next step is due at once;
- elder "I am fine" -> the alert is resolved as "elder confirmed safe"; the ladder stops;
- either "I need help" -> the alert becomes critical and every step of the ladder up to the duty staff runs at
  once (quiet hours or not); an alert already in hand keeps its officer, who sees the call in the audit trail;
- either "away until <date>" -> a planned absence until the end of that day, and the alert is resolved as a
  false alarm (away): a quiet home while nobody is in is expected, not alarming.

Each answer counts once per person and alert: a link opened again (a double tap, a forwarded message,
a replay) and given the same answer is told it was recorded, and adds nothing to the audit trail.
The person is told apart by the name the audit trail gives them (``who``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import AlertNotFound, IllegalTransition
from alerts.escalation import hurry, summon_staff
from alerts.family_links import LinkClaim
from alerts.lifecycle import MAX_ACTOR_LENGTH, AlertStatus, AuditAction
from alerts.models import Alert, AlertEvent
from alerts.notify_tables import OutboxMessage
from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from alerts.store import AlertStore
from carewatch.directory import DEFAULT_TIMEZONE, Absence, Household
from carewatch.domain import Severity

ELDER_CONFIRMED = "elder confirmed safe through the check-in link"


class Answer(StrEnum):
    CHECKED = "checked"  # family: I have checked on her, she is fine
    UNREACHABLE = "unreachable"  # family: I cannot reach her
    FINE = "fine"  # elder: I am fine
    NEED_HELP = "need_help"  # either: please come
    AWAY = "away"  # either: not at home until a date


class ReplyResult(StrEnum):
    RECORDED = "recorded"
    ALREADY_RECORDED = "already_recorded"  # this person gave this answer before: nothing new is recorded
    ALREADY_HANDLED = "already_handled"  # someone else acknowledged or resolved it first


ALLOWED = {
    "family": {Answer.CHECKED, Answer.UNREACHABLE, Answer.NEED_HELP, Answer.AWAY},
    "elder": {Answer.FINE, Answer.NEED_HELP, Answer.AWAY},
}
AWAY_AT_MOST = timedelta(days=90)
"""The furthest return date an answer may give: a longer absence is arranged with the community."""


class BadReturnDate(ValueError):
    """The return date of an "away" answer is missing, in the past or too far ahead; the message says which."""


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
    store: AlertStore, sessions: async_sessionmaker[AsyncSession], claim: LinkClaim, given: Answer,
    away_until: date | None = None,
) -> ReplyResult:
    if given not in ALLOWED[claim.role]:
        raise ValueError(f"a {claim.role} link cannot answer {given.value!r}")
    if given is Answer.NEED_HELP:
        async with sessions() as session:
            actor = await who(session, claim)
        return await _need_help(sessions, claim.alert_id, actor, store.clock())
    if given is Answer.AWAY:
        return await _away(store, sessions, claim, away_until)
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
            return await _unreachable(sessions, claim.alert_id, actor, store.clock())
    except IllegalTransition:
        return ReplyResult.ALREADY_HANDLED
    return ReplyResult.RECORDED


async def _need_help(sessions: async_sessionmaker[AsyncSession], alert_id: str, actor: str, now: datetime) -> ReplyResult:
    async with sessions.begin() as session:
        alert = await session.get(Alert, alert_id)
        if alert is None:
            raise AlertNotFound(alert_id)
        if not alert.status.is_active:
            return ReplyResult.ALREADY_HANDLED
        if await _said_before(session, alert_id, actor, AuditAction.HELP_REQUESTED):
            return ReplyResult.ALREADY_RECORDED
        await summon_staff(session, alert_id, now)
        note = "asked for help: the duty staff are paged at once"
        if alert.severity is not Severity.CRITICAL:
            note += f"; severity raised from {alert.severity.value} to critical"
            alert.severity = Severity.CRITICAL
        alert.updated_at = now
        session.add(
            AlertEvent(
                alert_id=alert_id, at=now, actor=actor, action=AuditAction.HELP_REQUESTED,
                from_status=alert.status, to_status=alert.status, note=note,
            )
        )
    return ReplyResult.RECORDED


async def _away(
    store: AlertStore, sessions: async_sessionmaker[AsyncSession], claim: LinkClaim, until: date | None
) -> ReplyResult:
    async with sessions.begin() as session:
        alert = await session.get(Alert, claim.alert_id)
        if alert is None:
            raise AlertNotFound(claim.alert_id)
        actor = await who(session, claim)
        household = await session.get(Household, alert.household_id)
        now = store.clock()
        zone, earliest, latest = await return_dates(session, alert.household_id, now)
        if until is None or not earliest <= until <= latest:
            raise BadReturnDate(f"the return date must be between {earliest} and {latest}, not {until}")
        ends = datetime.combine(until + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
        note = f"away until {until.isoformat()} (said through the {claim.role} link)"
        repeated = await session.scalar(
            select(Absence.id).where(Absence.household_id == alert.household_id, Absence.created_by == actor, Absence.ends_at == ends).limit(1)
        )
        if repeated is None and household is not None:
            session.add(Absence(household_id=alert.household_id, starts_at=now, ends_at=ends, note=note, created_by=actor, created_at=now))
    if not alert.status.is_active:
        return ReplyResult.ALREADY_RECORDED if repeated is not None else ReplyResult.ALREADY_HANDLED
    try:
        await store.resolve(claim.alert_id, actor, note, Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY, detail=note))
    except IllegalTransition:
        return ReplyResult.ALREADY_HANDLED
    return ReplyResult.RECORDED


async def return_dates(session: AsyncSession, household_id: str, now: datetime | None = None) -> tuple[ZoneInfo, date, date]:
    """The household's time zone, and the earliest and latest return date an "away" answer may give (its days),
    counted from ``now`` (the store's clock; the wall clock if not given)."""
    timezone = await session.scalar(select(Household.timezone).where(Household.id == household_id))
    zone = ZoneInfo(timezone or DEFAULT_TIMEZONE)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    return zone, today, today + AWAY_AT_MOST


async def _said_before(session: AsyncSession, alert_id: str, actor: str, action: AuditAction) -> bool:
    said = await session.scalar(
        select(AlertEvent.id).where(AlertEvent.alert_id == alert_id, AlertEvent.actor == actor, AlertEvent.action == action).limit(1)
    )
    return said is not None


async def _unreachable(sessions: async_sessionmaker[AsyncSession], alert_id: str, actor: str, now: datetime) -> ReplyResult:
    async with sessions.begin() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None, "checked by the caller"
        if not alert.status.is_active:
            return ReplyResult.ALREADY_HANDLED
        if await _said_before(session, alert_id, actor, AuditAction.FAMILY_UNREACHABLE):
            return ReplyResult.ALREADY_RECORDED
        # Someone already on it (acknowledged) still needs to know: the report joins the audit trail.
        hurried = alert.status is AlertStatus.OPEN and await hurry(session, alert_id)
        session.add(
            AlertEvent(
                alert_id=alert_id, at=now, actor=actor, action=AuditAction.FAMILY_UNREACHABLE,
                from_status=alert.status, to_status=alert.status,
                note="cannot reach the elder" + ("; next step of the ladder brought forward" if hurried else ""),
                outcome=OutcomeKind.UNREACHABLE,
            )
        )
    return ReplyResult.RECORDED if alert.status is AlertStatus.OPEN else ReplyResult.ALREADY_HANDLED
