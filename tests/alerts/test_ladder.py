"""The escalation ladder on a controllable clock: who is contacted when, stops, reminders, quiet hours, safety."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from alerts.family_links import FamilyLinks
from alerts.ladder import AlertLadder
from alerts.lifecycle import AlertStatus, AuditAction
from alerts.notify_tables import Escalation, LadderState, MessageStatus, OutboxMessage
from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from alerts.people import PeopleFile
from alerts.policy import EscalationPolicy
from alerts.replies import Answer, ReplyResult, answer
from alerts.store import AlertStore
from carewatch.domain import AlertType, Detection, Severity, Transition
from tests.notify.people import people

MakeDetection = Callable[..., Detection]
LINKS = FamilyLinks("test-secret", "http://127.0.0.1:8000")


@pytest.fixture
def ladder(clock) -> AlertLadder:  # type: ignore[no-untyped-def]
    return AlertLadder(PeopleFile.from_document(people()), EscalationPolicy.load(), clock, LINKS)


@pytest.fixture
def laddered(sessions, clock, ladder) -> AlertStore:  # type: ignore[no-untyped-def]
    return AlertStore(sessions, clock=clock, ladder=ladder)


async def outbox(sessions, status: MessageStatus | None = None) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if status is not None:
            query = query.where(OutboxMessage.status == status)
        return list((await session.scalars(query)).all())


def who(messages: list[OutboxMessage]) -> set[tuple[str, str, str]]:
    return {(m.purpose, m.recipient_id, m.channel) for m in messages}


async def advance_to(clock, ladder, sessions, minutes: float, start: datetime) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    """Move the clock to ``minutes`` after ``start``, tick, and return the messages written by this tick."""
    before = len(await outbox(sessions))
    clock.now = start + timedelta(minutes=minutes)
    await ladder.tick(sessions)
    return (await outbox(sessions))[before:]


async def mark_sent(sessions) -> None:  # type: ignore[no-untyped-def]
    """As if the dispatcher had delivered everything written so far."""
    async with sessions.begin() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.status == MessageStatus.PENDING).values(status=MessageStatus.SENT))


async def test_critical_alert_climbs_the_ladder_step_by_step(laddered, ladder, sessions, clock, make_detection: MakeDetection):
    t0 = clock.now  # 16:00 in Shanghai: the day shift is on duty
    raised = make_detection()

    await laddered.apply([raised])
    first = await outbox(sessions)
    assert who(first) == {("check_elder", "hh-001.elder", "voice")}, "the first message is written with the alert"
    assert "【社区关爱】张桂兰您好" in first[0].body

    assert await advance_to(clock, ladder, sessions, 14, t0) == []
    family = await advance_to(clock, ladder, sessions, 15, t0)
    assert who(family) == {
        ("notify_family", "hh-001.daughter", "sms"),
        ("notify_family", "hh-001.daughter", "email"),
        ("notify_family", "hh-001.son", "email"),
    }
    assert all("http://127.0.0.1:8000/f/" in m.body for m in family), "family messages carry their signed link"
    assert next(m for m in family if m.recipient_id == "hh-001.son").language == "en"
    assert who(await advance_to(clock, ladder, sessions, 30, t0)) == {
        ("page_duty", "duty-day", "sms"), ("page_duty", "donghu.group0", "wecom"),
    }
    assert who(await advance_to(clock, ladder, sessions, 60, t0)) == {
        ("escalate_supervisor", "boss", "sms"),
        ("reminder", "duty-day", "sms"), ("reminder", "donghu.group0", "wecom"), ("reminder", "boss", "sms"),
    }
    assert who(await advance_to(clock, ladder, sessions, 120, t0)) == {
        ("request_home_visit", "grid", "voice"),
        ("reminder", "duty-day", "sms"), ("reminder", "donghu.group0", "wecom"), ("reminder", "boss", "sms"),
    }

    history = await laddered.history(raised.alert_id)
    steps = [e.note.split(":")[0] for e in history if e.action is AuditAction.ESCALATED]
    assert steps == [
        "check_elder", "notify_family", "page_duty", "escalate_supervisor", "reminder", "request_home_visit", "reminder",
    ]


async def test_acknowledging_stops_the_ladder_and_tells_those_already_reached(
    laddered, ladder, sessions, clock, make_detection: MakeDetection
):
    t0 = clock.now
    raised = make_detection()
    await laddered.apply([raised])
    await advance_to(clock, ladder, sessions, 15, t0)
    await mark_sent(sessions)

    outcome = Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY, "visiting her son in Qingdao")
    alert = await laddered.acknowledge(raised.alert_id, "李明", "called the daughter", outcome)

    assert (alert.outcome, alert.outcome_reason, alert.outcome_detail) == (
        OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY, "visiting her son in Qingdao",
    )
    assert alert.events[-1].outcome is OutcomeKind.FALSE_ALARM
    updates = await outbox(sessions, MessageStatus.PENDING)
    assert who(updates) == {
        ("update", "hh-001.elder", "voice"), ("update", "hh-001.daughter", "sms"),
        ("update", "hh-001.daughter", "email"), ("update", "hh-001.son", "email"),
    }
    assert "值班人员已接手（李明），结果：误报（外出）" in next(m.body for m in updates if m.channel == "sms")
    assert await advance_to(clock, ladder, sessions, 24 * 60, t0) == [], "no step and no reminder after the acknowledgement"
    async with sessions() as session:
        escalation = await session.get(Escalation, raised.alert_id)
    assert escalation.state is LadderState.STOPPED and escalation.stop_reason == "acknowledged by 李明"


async def test_reminders_repeat_with_growing_intervals_up_to_the_cap(laddered, ladder, sessions, clock, make_detection):
    t0 = clock.now
    await laddered.apply([make_detection()])
    reminder_minutes = []
    for minute in range(0, 40 * 60, 10):
        written = await advance_to(clock, ladder, sessions, minute, t0)
        if any(m.purpose == "reminder" for m in written):
            reminder_minutes.append(minute)
    # Staff paged at 30 min; reminders 30 min, 1 h, 2 h, 4 h, 8 h, 8 h (capped) after, six at most.
    assert reminder_minutes == [60, 120, 240, 480, 960, 1440]
    async with sessions() as session:
        assert (await session.scalar(select(Escalation.state))) is LadderState.FINISHED


async def test_quiet_hours_hold_non_urgent_family_messages_until_morning(laddered, ladder, sessions, clock, make_detection):
    night = datetime(2025, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai: the daughter's quiet hours
    clock.now = night
    await laddered.apply([make_detection(severity=Severity.WARNING, at=night)])  # warning ladder: not urgent

    written = await advance_to(clock, ladder, sessions, 60, night)  # notify_family is due after 1 h
    held = [m for m in written if m.status is MessageStatus.HELD]
    assert who(held) == {("notify_family", "hh-001.daughter", "sms"), ("notify_family", "hh-001.daughter", "email")}
    assert {m.hold_until for m in held} == {datetime(2025, 3, 2, 23, 0, tzinfo=UTC)}, "07:00 in Shanghai"
    assert who([m for m in written if m.status is MessageStatus.PENDING]) == {("notify_family", "hh-001.son", "email")}

    await advance_to(clock, ladder, sessions, 7 * 60 + 29, night)  # 06:59
    assert {m.status for m in await outbox(sessions) if m.recipient_id == "hh-001.daughter"} == {MessageStatus.HELD}
    await advance_to(clock, ladder, sessions, 7 * 60 + 30, night)  # 07:00
    assert {m.status for m in await outbox(sessions) if m.recipient_id == "hh-001.daughter"} == {MessageStatus.PENDING}


async def test_urgent_alerts_reach_family_in_their_quiet_hours(laddered, ladder, sessions, clock, make_detection):
    night = datetime(2025, 3, 2, 15, 30, tzinfo=UTC)
    clock.now = night
    await laddered.apply([make_detection(at=night)])  # critical: the urgent ladder
    written = await advance_to(clock, ladder, sessions, 15, night)
    assert {m.status for m in written} == {MessageStatus.PENDING}
    assert ("notify_family", "hh-001.daughter", "sms") in who(written)


async def test_safety_alert_reaches_everyone_at_once_even_at_night(laddered, sessions, clock, make_detection):
    night = datetime(2025, 3, 2, 15, 30, tzinfo=UTC)
    clock.now = night
    await laddered.apply([make_detection(alert_type=AlertType.GAS_CONTINUOUS, at=night)])

    written = await outbox(sessions)
    assert {m.purpose for m in written} == {
        "check_elder", "notify_family", "page_duty", "escalate_supervisor", "request_home_visit",
    }
    assert {m.status for m in written} == {MessageStatus.PENDING}, "no quiet hours for gas left on"
    assert ("page_duty", "duty-night", "email") in who(written), "the night shift is paged at 23:30"
    assert "hh-001.son" not in {m.recipient_id for m in written}, "the son chose to receive only inactivity alerts"


async def test_device_faults_go_to_staff_never_to_the_family(laddered, sessions, make_detection):
    await laddered.apply([make_detection(alert_type=AlertType.METER_SILENT, severity=Severity.WARNING)])
    assert {m.recipient_role for m in await outbox(sessions)} == {"duty", "group"}


async def test_family_who_cannot_reach_the_elder_brings_the_next_step_forward(
    laddered, ladder, sessions, clock, make_detection
):
    t0 = clock.now
    raised = make_detection()
    await laddered.apply([raised])
    family = await advance_to(clock, ladder, sessions, 15, t0)
    claim = LINKS.read(next(m for m in family if m.recipient_id == "hh-001.daughter").body.rsplit("/f/", 1)[1].split()[0])

    assert await answer(laddered, sessions, claim, Answer.UNREACHABLE) is ReplyResult.RECORDED
    paged = await advance_to(clock, ladder, sessions, 16, t0)  # page_duty was due at 30 min

    assert ("page_duty", "duty-day", "sms") in who(paged)
    event = next(e for e in await laddered.history(raised.alert_id) if e.action is AuditAction.FAMILY_UNREACHABLE)
    assert event.actor == "family: 王芳（女儿）" and event.outcome is OutcomeKind.UNREACHABLE


async def test_family_who_checked_acknowledges_the_alert_as_safe(laddered, ladder, sessions, clock, make_detection):
    t0 = clock.now
    raised = make_detection()
    await laddered.apply([raised])
    family = await advance_to(clock, ladder, sessions, 15, t0)
    claim = LINKS.read(family[0].body.rsplit("/f/", 1)[1].split()[0])

    assert await answer(laddered, sessions, claim, Answer.CHECKED) is ReplyResult.RECORDED
    assert await answer(laddered, sessions, claim, Answer.CHECKED) is ReplyResult.ALREADY_RECORDED, "a replay is shown, not re-audited"

    alert = await laddered.get(raised.alert_id)
    assert (alert.status, alert.acknowledged_by, alert.outcome) == (AlertStatus.ACKNOWLEDGED, "family: 王芳（女儿）", OutcomeKind.SAFE)
    assert not any(m.purpose == "page_duty" for m in await advance_to(clock, ladder, sessions, 120, t0))


async def test_elder_who_is_fine_resolves_the_alert_as_confirmed_safe(laddered, sessions, make_detection):
    raised = make_detection()
    await laddered.apply([raised])
    [check] = await outbox(sessions)
    claim = LINKS.read(check.body.split("/f/", 1)[1].split()[0])

    await answer(laddered, sessions, claim, Answer.FINE)

    alert = await laddered.get(raised.alert_id)
    assert (alert.status, alert.outcome, alert.resolved_by) == (AlertStatus.RESOLVED, OutcomeKind.SAFE, "elder: 张桂兰")
    assert "elder confirmed safe" in alert.outcome_detail


async def test_auto_resolve_stops_the_ladder_and_cancels_held_messages(laddered, ladder, sessions, clock, make_detection):
    night = datetime(2025, 3, 2, 15, 30, tzinfo=UTC)
    clock.now = night
    raised = make_detection(severity=Severity.WARNING, at=night)
    await laddered.apply([raised])
    await advance_to(clock, ladder, sessions, 60, night)

    await laddered.apply([make_detection(transition=Transition.CLEARED, severity=Severity.WARNING, at=night + timedelta(hours=1))])

    assert {m.status for m in await outbox(sessions) if m.recipient_id == "hh-001.daughter"} == {MessageStatus.CANCELLED}
    assert await advance_to(clock, ladder, sessions, 20 * 60, night) == []


async def test_an_alert_raised_without_a_ladder_is_started_by_the_escalator(store, ladder, sessions, make_detection):
    await store.apply([make_detection()])  # e.g. raised while notifications were off
    assert await outbox(sessions) == []
    await ladder.tick(sessions)
    assert who(await outbox(sessions)) == {("check_elder", "hh-001.elder", "voice")}


async def test_two_escalators_ticking_at_once_write_each_message_once(laddered, ladder, sessions, clock, make_detection):
    t0 = clock.now
    await laddered.apply([make_detection(f"hh-{n:03d}") for n in range(1, 4)])
    clock.now = t0 + timedelta(hours=3)
    twin = AlertLadder(ladder.directory, ladder.policy, clock, LINKS)

    await asyncio.gather(ladder.tick(sessions), twin.tick(sessions))
    await asyncio.gather(ladder.tick(sessions), twin.tick(sessions))

    keys = [m.idempotency_key for m in await outbox(sessions)]
    assert len(keys) == len(set(keys))
    assert sum(m.purpose == "escalate_supervisor" for m in await outbox(sessions)) == 3
