"""The escalation ladder: who is contacted when, until someone acknowledges.

``start`` runs inside the transaction that raised the alert (the pipeline's batch), so
the first messages commit with the alert. ``tick`` (the escalator, every few seconds)
runs later steps and reminders as their waits pass on the ladder's clock, and releases
messages held for quiet hours. Each alert is advanced under a compare-and-set on its
escalation row's version, and every message has a fixed idempotency key, so two
escalators, a replay or a retry never send a step twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.escalation import SHORT_CHANNELS, message_key
from alerts.family_links import FamilyLinks, LinkClaim
from alerts.lifecycle import LADDER_ACTOR, AuditAction
from alerts.messages import render
from alerts.models import Alert, AlertEvent
from alerts.notify_tables import Escalation, LadderState, MessageStatus, OutboxMessage
from alerts.outbox import NewMessage, enqueue, release_held
from alerts.people import CareRole, HouseholdPeople, PeopleFile, Person, SiteTeam
from alerts.policy import STAFF_ACTIONS, Action, EscalationPolicy, Ladder
from alerts.rota import on_duty
from carewatch.catalogue import Language, language_of, text, words
from carewatch.clock import wall_clock

log = logging.getLogger(__name__)

LIVE = (LadderState.PENDING, LadderState.RUNNING)
"""A ladder still climbing: its steps and reminders are run as they fall due."""
HELP_UNANSWERED = and_(
    Escalation.help_requested_at.is_not(None),
    or_(Escalation.staff_paged_at.is_(None), Escalation.staff_paged_at < Escalation.help_requested_at),
)
"""Someone asked for help and the duty staff have not been paged since (whatever the ladder's state)."""

HouseholdLookup = Callable[[AsyncSession, str], Awaitable[HouseholdPeople | None]]
"""Whom to contact about a household: ``alerts.contacts.household_people`` reads the directory."""


@dataclass(frozen=True, slots=True)
class _Context:
    alert: Alert
    household: HouseholdPeople | None
    site: SiteTeam
    urgent: bool
    now: datetime
    rota: tuple[Person, ...] | None = None
    """On duty now by the database rota (alerts/rota.py); None: the site has none there, the people file's rota counts."""

    def on_duty(self) -> list[Person]:
        return list(self.rota) if self.rota is not None else self.site.on_duty(self.now)

    @property
    def label(self) -> str:
        return (self.household.name if self.household and self.household.name else "") or self.alert.household_id


def quiet_until(person: Person, at: datetime, zone: ZoneInfo) -> datetime | None:
    """When the person's quiet hours end, if ``at`` falls inside them; None otherwise."""
    if person.quiet_hours is None:
        return None
    start, end = person.quiet_hours
    local = at.astimezone(zone)
    now_t = local.time()
    inside = start <= now_t < end if start < end else (now_t >= start or now_t < end)
    if not inside:
        return None
    end_day = local.date() if now_t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


class AlertLadder:
    def __init__(
        self,
        directory: PeopleFile,
        policy: EscalationPolicy,
        clock: Callable[[], datetime],
        links: FamilyLinks | None = None,
        households: HouseholdLookup | None = None,
        audit_clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        """``directory`` gives the sites (staff, rota, robots); a household's elder and family come from
        ``households`` (the running service reads the database directory at every step), or, without it,
        from ``directory`` itself (a people file used on its own). ``clock`` says when steps are due (the
        event time of a replay); ``audit_clock`` stamps the audit trail, as the alert store does."""
        self.directory = directory
        self.policy = policy
        self.clock = clock
        self.audit_clock = audit_clock
        self.links = links
        self.households = households or self._from_file

    async def _from_file(self, _session: AsyncSession, household_id: str) -> HouseholdPeople | None:
        return self.directory.households.get(household_id)

    async def start(self, session: AsyncSession, alert_id: str) -> None:
        """Run the steps due at once (inside the caller's transaction)."""
        await self._advance(session, alert_id)

    async def tick(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Advance every alert whose next step or reminder is due; returns how many were advanced."""
        now = self.clock()
        async with sessions() as session:
            due = (await session.scalars(select(Escalation.alert_id).where(_due(now)))).all()
        for alert_id in due:
            async with sessions.begin() as session:
                await self._advance(session, alert_id)
        async with sessions.begin() as session:
            await release_held(session, now)
        return len(due)

    def anything_due(self) -> ColumnElement[bool]:
        """Whether ``tick`` would do anything now, as an expression (the headless demo asks between every two upload
        steps, in one query with what else it asks): a step, a reminder or a page for help due, or a message whose
        quiet hours are over."""
        now = self.clock()
        held_due = select(OutboxMessage.id).where(OutboxMessage.status == MessageStatus.HELD, OutboxMessage.hold_until <= now)
        return exists(select(Escalation.alert_id).where(_due(now))) | exists(held_due)

    async def _advance(self, session: AsyncSession, alert_id: str) -> None:
        now = self.clock()
        escalation = await session.get(Escalation, alert_id, populate_existing=True)
        alert = await session.get(Alert, alert_id, populate_existing=True)
        if escalation is None or alert is None or not alert.status.is_active:
            return  # a ladder is stopped in the same transaction that closes its alert; nothing to do
        live = escalation.state in LIVE
        if not live and not _help_unanswered(escalation):
            return
        claimed = await session.scalar(
            update(Escalation)
            .where(Escalation.alert_id == alert_id, Escalation.version == escalation.version)
            .values(version=escalation.version + 1)
            .returning(Escalation.alert_id)
            .execution_options(synchronize_session=False)
        )
        if claimed is None:
            return  # another escalator is advancing this alert
        await session.refresh(escalation)
        context = self._context(alert, await self.households(session, alert.household_id), now)
        rota = await on_duty(session, context.site, now)
        if rota is not None:
            context = dataclasses.replace(context, rota=tuple(rota))
        if escalation.help_requested_at is not None:  # someone asked for help: nobody's quiet hours hold it back
            context = dataclasses.replace(context, urgent=True)
        if _help_unanswered(escalation):
            await self._page_for_help(session, escalation, context)
        if not live:
            return
        ladder = self.policy.ladder_named(escalation.ladder) if escalation.ladder else None
        if escalation.state is LadderState.PENDING or ladder is None:
            ladder = self.policy.ladder_for(context.site.site, alert.alert_type, alert.severity)
            escalation.ladder = ladder.name
            escalation.state = LadderState.RUNNING
            escalation.started_at = now
            escalation.household_label = context.label
            escalation.due_at = now + self._wait(ladder, 0, alert)
        if escalation.due_at is None:  # hurried: the next step is due now
            escalation.due_at = now
        await self._run_due_steps(session, escalation, ladder, context)
        await self._remind(session, escalation, ladder, context)
        steps_done = escalation.next_step >= len(ladder.steps)
        reminders_done = ladder.reminders is None or escalation.reminders_sent >= ladder.reminders.max_count
        if steps_done and reminders_done:
            escalation.state = LadderState.FINISHED

    async def _page_for_help(self, session: AsyncSession, escalation: Escalation, context: _Context) -> None:
        """The elder or a family member asked for help: the duty staff hear of it now, once per call."""
        assert escalation.help_requested_at is not None  # checked by the caller
        call = int(escalation.help_requested_at.timestamp())
        await self._send(session, context, "help_requested", f"h{call}", self._recipients(Action.PAGE_DUTY, context), Action.PAGE_DUTY)
        # Not before the call: in the demo the ladder's clock is simulated time and the call's is the wall clock.
        escalation.staff_paged_at = max(context.now, escalation.help_requested_at)

    def _wait(self, ladder: Ladder, index: int, alert: Alert) -> timedelta:
        if self.policy.is_safety(alert.alert_type):
            return timedelta(0)
        if after_check_in(alert) and index <= _first_staff_step(ladder, 0):
            return timedelta(0)  # the elder was asked and did not answer: family and duty staff at once
        return ladder.steps[index].wait

    async def _run_due_steps(self, session: AsyncSession, escalation: Escalation, ladder: Ladder, context: _Context) -> None:
        # A call for help brings the steps before the duty staff (the family) forward; the staff were paged for it.
        summoned = _first_staff_step(ladder, escalation.next_step) - 1 if escalation.help_requested_at else -1
        while escalation.next_step < len(ladder.steps) and escalation.due_at is not None and (
            escalation.due_at <= context.now or escalation.next_step <= summoned
        ):
            index = escalation.next_step
            step = ladder.steps[index]
            recipients = self._recipients(step.action, context)
            await self._send(session, context, step.action.value, f"s{index}", recipients, step.action)
            if step.action in STAFF_ACTIONS and escalation.staff_paged_at is None:
                escalation.staff_paged_at = escalation.due_at
            escalation.next_step = index + 1
            if index <= summoned:  # brought forward by a call for help: the rest of the ladder counts from now
                escalation.due_at = max(escalation.due_at, context.now)
            if escalation.next_step < len(ladder.steps):
                # From when this step was due, not from now: a late tick must not stretch the ladder.
                escalation.due_at = escalation.due_at + self._wait(ladder, escalation.next_step, context.alert)

    async def _remind(self, session: AsyncSession, escalation: Escalation, ladder: Ladder, context: _Context) -> None:
        reminders = ladder.reminders
        if reminders is None or escalation.staff_paged_at is None or escalation.reminders_sent >= reminders.max_count:
            return
        if escalation.reminder_due_at is None:
            escalation.reminder_due_at = escalation.staff_paged_at + reminders.interval(0)
        if escalation.reminder_due_at > context.now:
            return
        number = escalation.reminders_sent + 1
        supervisors_reached = any(
            step.action is Action.ESCALATE_SUPERVISOR for step in ladder.steps[: escalation.next_step]
        )
        recipients = self._recipients(Action.PAGE_DUTY, context)
        if supervisors_reached:
            recipients += context.site.with_role(CareRole.SUPERVISOR)
        await self._send(session, context, "reminder", f"r{number}", recipients, None, reminder=number)
        escalation.reminders_sent = number
        # Several reminders overdue at once (the escalator was down) become one, and the next is counted from now.
        escalation.reminder_due_at = max(escalation.reminder_due_at, context.now) + reminders.interval(number)

    def _context(self, alert: Alert, household: HouseholdPeople | None, now: datetime) -> _Context:
        site = self.directory.sites.get(household.site) if household else None
        if site is None:
            site = next(iter(self.directory.sites.values()))
            log.error("household %s or its site is not in the people file; its alert goes to site %s", alert.household_id, site.site)
        ladder_urgent = self.policy.ladder_for(site.site, alert.alert_type, alert.severity).urgent
        urgent = ladder_urgent or self.policy.is_safety(alert.alert_type) or after_check_in(alert)
        return _Context(alert, household, site, urgent, now)

    def _recipients(self, action: Action, context: _Context) -> list[Person]:
        household, site = context.household, context.site
        if action is Action.CHECK_ELDER:
            return [household.elder] if household and household.elder else []
        if action is Action.NOTIFY_FAMILY:
            return [c for c in (household.contacts if household else ()) if c.receives(context.alert.alert_type)]
        if action is Action.PAGE_DUTY:
            duty = context.on_duty() or site.with_role(CareRole.SUPERVISOR)  # a rota gap must not mean nobody
            robots = [Person(f"{site.site}.group{i}", site.name, CareRole.GROUP, "zh-CN", (robot,)) for i, robot in enumerate(site.group_robots)]
            return duty + robots
        if action is Action.ESCALATE_SUPERVISOR:
            return site.with_role(CareRole.SUPERVISOR)
        return site.with_role(CareRole.VISITOR) or context.on_duty() or site.with_role(CareRole.SUPERVISOR)

    async def _send(
        self,
        session: AsyncSession,
        context: _Context,
        purpose: str,
        step_key: str,
        recipients: Iterable[Person],
        action: Action | None,
        reminder: int = 0,
    ) -> None:
        alert = context.alert
        messages: list[NewMessage] = []
        notes: list[str] = []
        for person in recipients:
            hold = None
            if person.role is CareRole.FAMILY and not context.urgent:
                zone = context.household.timezone if context.household else context.site.timezone
                hold = quiet_until(person, context.now, zone)
            link = self._link(alert.id, person)
            for index, address in enumerate(person.channels):
                text = render(purpose, person.language, self._words(context, person, link, reminder), short=address.kind in SHORT_CHANNELS)
                messages.append(
                    NewMessage(
                        idempotency_key=message_key(alert.id, step_key, person.id, f"{index}{address.kind.value}"),
                        alert_id=alert.id, household_id=alert.household_id, purpose=purpose,
                        recipient_id=person.id, recipient_name=person.label, recipient_role=person.role.value,
                        channel=address.kind.value, address=address.address, language=person.language,
                        subject=text.subject, body=text.body, hold_until=hold,
                        payload={
                            "alert_id": alert.id, "household_id": alert.household_id, "alert_type": alert.alert_type.value,
                            "severity": alert.severity.value, "step": purpose, "recipient_role": person.role.value,
                        },
                    )
                )
            channels = ",".join(a.kind.value for a in person.channels)
            notes.append(f"{person.label} [{channels}]" + (f" held until {hold:%Y-%m-%d %H:%M}Z (quiet hours)" if hold else ""))
        await enqueue(session, messages, context.now)
        note = f"{purpose}: " + ("; ".join(notes) if notes else "nobody to contact for this step")
        session.add(
            AlertEvent(
                alert_id=alert.id, at=self.audit_clock(), actor=LADDER_ACTOR, action=AuditAction.ESCALATED,
                from_status=alert.status, to_status=alert.status, note=note[:4000], event_time=context.now,
            )
        )
        if not notes and action in (Action.PAGE_DUTY, Action.ESCALATE_SUPERVISOR):
            log.error("alert %s: %s reached nobody (check the people file for site %s)", alert.id, purpose, context.site.site)

    def _link(self, alert_id: str, person: Person) -> str | None:
        if self.links is None or person.role not in (CareRole.FAMILY, CareRole.ELDER):
            return None
        return self.links.url(LinkClaim(alert_id, person.id, person.role.value))

    def _words(self, context: _Context, person: Person, link: str | None, reminder: int) -> dict[str, object]:
        alert, lang = context.alert, language_of(person.language)
        zone = context.household.timezone if context.household else context.site.timezone
        onset = alert.onset.astimezone(zone).strftime("%H:%M")
        waited = context.now - alert.raised_at if alert.raised_at <= context.now else timedelta(0)
        family_name, family_phone = context.household.first_family_phone(lang) if context.household else ("", "")
        return {
            "elder": (context.household.elder.name if context.household and context.household.elder else context.label),
            "recipient": person.label,
            "household": context.label,
            "address": context.household.address if context.household and context.household.address else alert.household_id,
            "type_label": words("alert_type", lang).get(alert.alert_type, alert.alert_type.value),  # a new type must not stop the ladder
            "severity": text(f"severity.{alert.severity}", lang),
            "explanation": alert.explanation(lang),
            "since": text("notice.part.since", lang, onset=onset),
            "alert_id": alert.id,
            "link": link,
            "reminder": reminder,
            "waited": "" if self.policy.is_safety(alert.alert_type) else _duration(waited, lang),
            # The numbers to call, so nobody has to look them up (issue 15): the community's line, the elder's, a family member's.
            "community_phone": context.household.community_phone if context.household else "",
            "elder_phone": context.household.elder_phone if context.household else "",
            "family_name": family_name,
            "family_phone": family_phone,
        }


def _due(now: datetime) -> ColumnElement[bool]:
    """Escalations with something to do at ``now``: a live ladder's next step or reminder, or a call for help."""
    return or_(
        and_(
            Escalation.state.in_(LIVE),
            or_(Escalation.due_at.is_(None), Escalation.due_at <= now, Escalation.reminder_due_at <= now),
        ),
        HELP_UNANSWERED,
    )


def after_check_in(alert: Alert) -> bool:
    """Raised because the elder did not answer a check-in (detectors.checkin): nobody waits any longer."""
    return (alert.facts or {}).get("check_in") == "unanswered"


def _help_unanswered(escalation: Escalation) -> bool:
    """Someone asked for help and the duty staff have not been paged since."""
    asked = escalation.help_requested_at
    return asked is not None and (escalation.staff_paged_at is None or escalation.staff_paged_at < asked)


def _first_staff_step(ladder: Ladder, start: int) -> int:
    """The index of the first step from ``start`` that reaches the duty staff; -1 when none is left."""
    return next((i for i in range(start, len(ladder.steps)) if ladder.steps[i].action in STAFF_ACTIONS), -1)


def _duration(span: timedelta, lang: Language) -> str:
    """``1小时5分钟`` / ``1 h 5 min``; empty under a minute (a safety alert reaches everyone at once)."""
    minutes = int(span.total_seconds() // 60)
    if minutes == 0:
        return ""
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return text("unit.minutes", lang, minutes=minutes)
    return text("unit.hours_minutes" if minutes else "unit.hours", lang, hours=hours, minutes=minutes)

