"""Where alerts are kept: detector transitions applied idempotently, and the duty officer's lifecycle.

Every status change is a compare-and-set (``UPDATE ... WHERE status = <what we read>``)
and every raise an ``INSERT ... ON CONFLICT DO NOTHING``, so concurrent writers on
SQLite or PostgreSQL never need row locks or SAVEPOINTs and never both win.
SAVEPOINTs are avoided on purpose: through the sqlite3/aiosqlite driver, releasing
one commits the caller's whole transaction, which would break the atomic hand-off
with ingest (see ``apply``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from sqlalchemy import Select, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.dml import ReturningInsert

from alerts.errors import AlertClosed, AlertNotFound, IllegalTransition, InvalidActor
from alerts.escalation import halt_escalation, open_escalation, stop_escalation
from alerts.lessons import lesson_note
from alerts.lifecycle import ACTIVE_STATUSES, DETECTOR_ACTOR, LEGAL_SOURCES, MAX_ACTOR_LENGTH, AlertStatus, AuditAction
from alerts.models import Alert, AlertEvent
from alerts.outcomes import Outcome, OutcomeKind
from alerts.silences import SilencesInForce
from carewatch.clock import wall_clock
from carewatch.domain import AlertType, Audience, Detection, Explanation, Severity, Transition, alert_id

if TYPE_CHECKING:
    from alerts.ladder import AlertLadder

SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}

_ACTION_FOR = {
    AlertStatus.ACKNOWLEDGED: AuditAction.ACKNOWLEDGED,
    AlertStatus.RESOLVED: AuditAction.RESOLVED,
    AlertStatus.AUTO_RESOLVED: AuditAction.AUTO_RESOLVED,
}


class AlertFilters(TypedDict, total=False):
    """Which alerts to list, besides their status: each given filter must match."""

    household_id: str | None
    alert_type: AlertType | None
    severity: Severity | None
    audience: Audience | None


def alerts_query(*, statuses: Collection[AlertStatus] | None = None, **filters: Unpack[AlertFilters]) -> Select[tuple[Alert]]:
    """Alerts matching every filter given (None: any), most severe first and newest first within a severity."""
    query = select(Alert)
    if statuses is not None:
        query = query.where(Alert.status.in_(sorted({AlertStatus(s) for s in statuses})))
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(Alert, name) == value)
    return query.order_by(case(SEVERITY_RANK, value=Alert.severity, else_=len(SEVERITY_RANK)), Alert.raised_at.desc(), Alert.id)


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """A change that ``apply`` made, for whatever reacts after storage (notifications, live console)."""

    alert_id: str
    action: AuditAction
    from_status: AlertStatus | None
    to_status: AlertStatus
    detection: Detection


def _person(actor: str) -> str:
    name = (actor or "").strip()
    if not name:
        raise InvalidActor("actor is required: name the person who acknowledges or resolves the alert")
    if len(name) > MAX_ACTOR_LENGTH:
        raise InvalidActor(f"actor must be at most {MAX_ACTOR_LENGTH} characters, got {len(name)}")
    return name


@cache
def _insert_unless_conflicting(dialect: str) -> ReturningInsert[tuple[str]]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the id when stored, nothing on a conflict.

    Conflicts are the two no-ops of a raise: an alert of this type is already active
    for the household (the partial unique index; the first one is kept), or this very
    alert was stored before in any status (the primary key; a replay).  Built once per
    dialect, the row given as its parameters: building one with ``.values(row)`` cost more
    than running it (a mass event raises thousands together).
    """
    if dialect == "postgresql":
        return postgresql.insert(Alert).on_conflict_do_nothing().returning(Alert.id)
    if dialect == "sqlite":
        return sqlite.insert(Alert).on_conflict_do_nothing().returning(Alert.id)
    raise NotImplementedError(f"the alert store supports SQLite and PostgreSQL, not {dialect}")



class AlertStore:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = wall_clock,
        ladder: AlertLadder | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._ladder = ladder

    @property
    def clock(self) -> Callable[[], datetime]:
        """What this store stamps changes with: the wall clock, or the console demo's simulated time."""
        return self._clock

    def attach_ladder(self, ladder: AlertLadder | None) -> None:
        """With a ladder, a raise also writes its first messages in the raising transaction.

        Without one the alert's escalation row is still written, and the escalator starts
        the ladder on its next tick: no alert is left without notifications either way.
        """
        self._ladder = ladder

    async def apply(
        self, detections: Sequence[Detection], session: AsyncSession | None = None
    ) -> list[AppliedChange]:
        """Store what the detectors saw; replays and repeats change nothing.

        With ``session`` the changes join the caller's transaction and the caller
        commits (ingest commits its counters in the same transaction); without it
        they are committed here.
        """
        if session is not None:
            return await self._apply_in(session, detections)
        async with self._sessions.begin() as own:
            return await self._apply_in(own, detections)

    async def acknowledge(self, alert_id: str, actor: str, note: str = "", outcome: Outcome | None = None) -> Alert:
        """A duty officer takes the alert on (open -> acknowledged); the ladder stops.

        ``outcome`` is what the officer found; None (older clients) stores "not stated".
        """
        return await self._transition(alert_id, AlertStatus.ACKNOWLEDGED, actor, note, outcome)

    async def resolve(self, alert_id: str, actor: str, note: str = "", outcome: Outcome | None = None) -> Alert:
        """A person closes the alert (open or acknowledged -> resolved); the ladder stops."""
        return await self._transition(alert_id, AlertStatus.RESOLVED, actor, note, outcome)

    async def assign(
        self, alert_id: str, actor: str, assignee: str | None, assignee_id: int | None = None, note: str = ""
    ) -> Alert:
        """Hand an open or acknowledged alert to a colleague (``assignee`` None: to nobody); the status and the
        ladder are unchanged (only an acknowledgement says someone is on it), the audit trail records who did it."""
        actor = _person(actor)
        if assignee is not None:
            assignee = _person(assignee)
        async with self._sessions.begin() as session:
            now = self._clock()
            status = await session.scalar(
                update(Alert)
                .where(Alert.id == alert_id, Alert.status.in_(ACTIVE_STATUSES))
                .values(assigned_to=assignee, assigned_user_id=assignee_id if assignee else None,
                        assigned_at=now if assignee else None, updated_at=now)
                .returning(Alert.status)
                .execution_options(synchronize_session=False)
            )
            if status is None:
                current = await session.scalar(select(Alert.status).where(Alert.id == alert_id))
                if current is None:
                    raise AlertNotFound(alert_id)
                raise AlertClosed(alert_id, current)
            words = f"assigned to {assignee}" if assignee else "assignment withdrawn"
            session.add(
                AlertEvent(alert_id=alert_id, at=now, actor=actor, action=AuditAction.ASSIGNED, from_status=status,
                           to_status=status, note=f"{words}: {note}" if note else words)
            )
        return await self.get(alert_id)

    async def record_lessons(self, session: AsyncSession, lessons: Sequence[tuple[str, Explanation, datetime]]) -> int:
        """Write on each alert what its outcome taught the detectors (alert id, the words, the event time
        it was learned at), in the caller's transaction — the one that stores the taught model, so an
        alert is taught once (alerts.lessons skips alerts with this entry).  The status is unchanged.
        An alert that already has the entry gets no second one (the Faust path: a lesson redelivered)."""
        entries = [(taught_id, lesson_note(words), event_time) for taught_id, words, event_time in lessons]
        return await self._record_once(session, AuditAction.LEARNED, entries)

    async def learned(self, lessons: Sequence[tuple[str, Explanation, datetime]]) -> int:
        """`record_lessons` in a transaction of its own: the Faust path, where the workers' monitors learned
        (the alert service hears what from the detections topic, `alerts.wire.Learned`)."""
        async with self._sessions.begin() as session:
            return await self.record_lessons(session, lessons)

    async def heard(self, answers: Sequence[tuple[str, datetime]]) -> int:
        """Write on each check-in (its id, the event time its answer was told at) that a Faust worker's
        monitor heard the elder's answer (`alerts.wire.Heard`), once, as `learned` writes a lesson: the
        alert service then stops offering the answer (alerts.heard).  The status is unchanged."""
        async with self._sessions.begin() as session:
            return await self._record_once(session, AuditAction.HEARD, [(check_in, "", at) for check_in, at in answers])

    async def _record_once(self, session: AsyncSession, action: AuditAction, entries: Sequence[tuple[str, str, datetime]]) -> int:
        """An entry of ``action`` by the detector (alert id, note, event time) on each alert that has none
        yet (a receipt redelivered gets no second one); returns how many were written."""
        now, written = self._clock(), 0
        for entry_alert_id, note, event_time in entries:
            status = await session.scalar(select(Alert.status).where(Alert.id == entry_alert_id))
            if status is None or await session.scalar(
                select(AlertEvent.id).where(AlertEvent.alert_id == entry_alert_id, AlertEvent.action == action).limit(1)
            ) is not None:
                continue
            session.add(
                AlertEvent(alert_id=entry_alert_id, at=now, actor=DETECTOR_ACTOR, action=action, from_status=status,
                           to_status=status, note=note, event_time=event_time)
            )
            written += 1
        return written

    async def get(self, alert_id: str) -> Alert:
        """The alert with its audit trail (``alert.events``, oldest first)."""
        async with self._sessions() as session:
            alert = await session.get(Alert, alert_id, options=[selectinload(Alert.events)])
        if alert is None:
            raise AlertNotFound(alert_id)
        return alert

    async def history(self, alert_id: str) -> list[AlertEvent]:
        return (await self.get(alert_id)).events

    async def _apply_in(self, session: AsyncSession, detections: Sequence[Detection]) -> list[AppliedChange]:
        changes = []
        raised = [(d.household_id, d.at) for d in detections if d.transition is Transition.RAISED]
        silences = await SilencesInForce.read(session, raised)
        # The audit entries wait for one flush at the end, in the order they were made: nothing here reads them, and a
        # flush before every statement wrote them one at a time (a mass event raises thousands together).
        with session.no_autoflush:
            for detection in detections:
                if detection.transition is Transition.RAISED:
                    change = await self._raise(session, detection, silences)
                else:
                    change = await self._auto_resolve(session, detection)
                if change is not None:
                    changes.append(change)
        await session.flush()
        return changes

    async def _raise(self, session: AsyncSession, detection: Detection, silences: SilencesInForce) -> AppliedChange | None:
        now = self._clock()
        row = {
            "id": detection.alert_id,
            "household_id": detection.household_id,
            "alert_type": detection.alert_type,
            "severity": detection.severity,
            "audience": detection.alert_type.audience,
            "status": AlertStatus.OPEN,
            "onset": detection.onset,
            "raised_at": detection.at,
            "created_at": now,
            "updated_at": now,
            "explanation_zh": detection.explanation.zh,
            "explanation_en": detection.explanation.en,
            "meter_ids": list(detection.meter_ids),
            "facts": dict(detection.facts),
        }
        inserted = await session.scalar(_insert_unless_conflicting(session.get_bind().dialect.name), row)
        if inserted is None:
            return None
        await open_escalation(session, detection.alert_id)
        session.add(
            AlertEvent(
                alert_id=detection.alert_id,
                at=now,
                actor=DETECTOR_ACTOR,
                action=AuditAction.RAISED,
                from_status=None,
                to_status=AlertStatus.OPEN,
                note=detection.explanation.en,
                event_time=detection.at,
            )
        )
        # A planned event (a gas cut for repairs) must not page the whole district: the alert is kept,
        # its ladder is not run. The silence's window is in event time (detection.at), like the detectors'.
        silence = silences.covering(detection.household_id, detection.alert_type, detection.at)
        if silence is not None:
            await halt_escalation(session, detection.alert_id, f"silenced: {silence.describe()}")
            session.add(
                AlertEvent(alert_id=detection.alert_id, at=now, actor=DETECTOR_ACTOR, action=AuditAction.SILENCED,
                           from_status=AlertStatus.OPEN, to_status=AlertStatus.OPEN,
                           note=f"raised under {silence.describe()}, set by {silence.created_by}: nobody is notified",
                           event_time=detection.at)
            )
        elif await self._answered_before(session, detection):
            return AppliedChange(detection.alert_id, AuditAction.RAISED, None, AlertStatus.OPEN, detection)
        elif self._ladder is not None:
            await self._ladder.start(session, detection.alert_id)
        return AppliedChange(detection.alert_id, AuditAction.RAISED, None, AlertStatus.OPEN, detection)

    async def _answered_before(self, session: AsyncSession, detection: Detection) -> bool:
        """An alert raised because a check-in went unanswered, whose check-in the elder had in fact answered
        "I'm fine" (the detectors had not heard it yet: on either engine the answer may reach the monitor a
        moment after the escalation): resolved at once in her name, nobody is told."""
        if detection.facts.get("check_in") != "unanswered":
            return False
        check_in = await session.get(Alert, alert_id(detection.household_id, AlertType.CHECK_IN, detection.onset))
        if check_in is None or check_in.status is not AlertStatus.RESOLVED or check_in.outcome is not OutcomeKind.SAFE:
            return False
        actor = check_in.resolved_by or DETECTOR_ACTOR
        note = f"the elder had answered the check-in {check_in.id}: fine"
        await self._move(session, detection.alert_id, AlertStatus.OPEN, AlertStatus.RESOLVED, actor=actor, note=note,
                         outcome=Outcome(OutcomeKind.SAFE, detail=note))
        return True

    async def _auto_resolve(self, session: AsyncSession, detection: Detection) -> AppliedChange | None:
        # The condition's end in event time is kept whoever closed the alert (a replay keeps the first).
        await session.execute(
            update(Alert)
            .where(Alert.id == detection.alert_id, Alert.cleared_at.is_(None))
            .values(cleared_at=detection.at)
            .execution_options(synchronize_session=False)
        )
        ended = detection.facts.get("ended")
        if detection.alert_type is AlertType.CHECK_IN and ended is not None:
            # How a check-in ended (used, fine, unanswered, superseded): the household page says it in words.
            facts = await session.scalar(select(Alert.facts).where(Alert.id == detection.alert_id))
            if facts is not None and "ended" not in facts:
                await session.execute(
                    update(Alert).where(Alert.id == detection.alert_id).values(facts={**facts, "ended": ended})
                    .execution_options(synchronize_session=False)
                )
        # Statuses only move forward, so a lost compare-and-set means someone else
        # moved the alert on; reading again ends within two rounds.
        while True:
            active = (
                await session.execute(
                    select(Alert.id, Alert.status).where(
                        Alert.household_id == detection.household_id,
                        Alert.alert_type == detection.alert_type,
                        Alert.status.in_(ACTIVE_STATUSES),
                    )
                )
            ).one_or_none()
            if active is None:
                return None
            alert_id, current = active
            moved = await self._move(
                session,
                alert_id,
                current,
                AlertStatus.AUTO_RESOLVED,
                actor=DETECTOR_ACTOR,
                note=detection.explanation.en,
                event_time=detection.at,
            )
            if moved:
                return AppliedChange(alert_id, AuditAction.AUTO_RESOLVED, current, AlertStatus.AUTO_RESOLVED, detection)

    async def _transition(
        self, alert_id: str, target: AlertStatus, actor: str, note: str, outcome: Outcome | None
    ) -> Alert:
        actor = _person(actor)
        async with self._sessions.begin() as session:
            # See _auto_resolve for why this loop ends.
            while True:
                current = await session.scalar(select(Alert.status).where(Alert.id == alert_id))
                if current is None:
                    raise AlertNotFound(alert_id)
                if current not in LEGAL_SOURCES[target]:
                    raise IllegalTransition(alert_id, current, target)
                if await self._move(session, alert_id, current, target, actor=actor, note=note, outcome=outcome):
                    break
        return await self.get(alert_id)

    async def _move(
        self,
        session: AsyncSession,
        alert_id: str,
        source: AlertStatus,
        target: AlertStatus,
        *,
        actor: str,
        note: str,
        event_time: datetime | None = None,
        outcome: Outcome | None = None,
    ) -> bool:
        """Compare-and-set the status and write the audit entry; False if the alert was no longer ``source``."""
        now = self._clock()
        if target is AlertStatus.ACKNOWLEDGED:
            stamps = {"acknowledged_at": now, "acknowledged_by": actor}
        else:
            stamps = {"resolved_at": now, "resolved_by": actor}
        if target is AlertStatus.AUTO_RESOLVED:
            stamps["cleared_at"] = event_time
        if outcome is not None:
            stamps |= {"outcome": outcome.kind, "outcome_reason": outcome.reason, "outcome_detail": outcome.detail}
        moved = await session.scalar(
            update(Alert)
            .where(Alert.id == alert_id, Alert.status == source)
            .values(status=target, updated_at=now, **stamps)
            .returning(Alert.id)
            .execution_options(synchronize_session=False)
        )
        if moved is None:
            return False
        session.add(
            AlertEvent(
                alert_id=alert_id,
                at=now,
                actor=actor,
                action=_ACTION_FOR[target],
                from_status=source,
                to_status=target,
                note=note,
                event_time=event_time,
                outcome=outcome.kind if outcome else None,
                outcome_reason=outcome.reason if outcome else None,
            )
        )
        await stop_escalation(session, alert_id, closed_as=target.value, actor=actor, outcome=outcome, now=now)
        return True

    # Last in the class body so that the name does not shadow the builtin in the annotations above.
    async def list(
        self,
        *,
        status: AlertStatus | Collection[AlertStatus] | None = None,
        limit: int = 100,
        offset: int = 0,
        **filters: Unpack[AlertFilters],
    ) -> Sequence[Alert]:
        """Alerts matching every given filter, most severe first and newest first within a severity."""
        if limit < 1 or offset < 0:
            raise ValueError(f"limit must be >= 1 and offset >= 0, got limit={limit} offset={offset}")
        query = alerts_query(statuses=None if status is None else [status] if isinstance(status, str) else status, **filters)
        async with self._sessions() as session:
            return (await session.scalars(query.limit(limit).offset(offset))).all()
