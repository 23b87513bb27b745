"""Check-ins in the alerts room: the elder alone is asked, her answer is read back for the detectors,
and an alert raised for want of an answer she had in fact given tells nobody."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.answers import answered_check_ins
from alerts.notify_tables import Escalation, LadderState
from alerts.outcomes import Outcome, OutcomeKind
from alerts.policy import EscalationPolicy, PolicyError
from carewatch.domain import AlertType, Audience, Severity
from tests.alerts.conftest import ONSET, detection


def check_in():  # type: ignore[no-untyped-def]
    return dataclasses.replace(detection("hh-001", AlertType.CHECK_IN, severity=Severity.INFO), at=ONSET + timedelta(hours=10))


def unanswered():  # type: ignore[no-untyped-def]
    found = detection("hh-001", AlertType.MORNING_ACTIVITY_MISSING, severity=Severity.WARNING)
    return dataclasses.replace(found, at=ONSET + timedelta(hours=11), facts={"check_in": "unanswered"})


async def test_a_check_in_is_for_the_elder_and_its_answer_is_read_back(store, sessions):  # type: ignore[no-untyped-def]
    [raised] = await store.apply([check_in()])
    assert (await store.get(raised.alert_id)).audience is Audience.ELDER
    async with sessions() as session:
        assert await answered_check_ins(session, datetime(2000, 1, 1).astimezone()) == []

    await store.resolve(raised.alert_id, "elder: 张桂兰", "elder confirmed safe", Outcome(OutcomeKind.SAFE))

    async with sessions() as session:
        [answer] = await answered_check_ins(session, datetime(2000, 1, 1).astimezone())
    assert answer.alert_id == raised.alert_id and answer.household_id == "hh-001"


async def test_an_alert_raised_for_want_of_an_answer_she_had_given_is_resolved_at_once(store, sessions):  # type: ignore[no-untyped-def]
    [asked] = await store.apply([check_in()])
    await store.resolve(asked.alert_id, "elder: 张桂兰", "elder confirmed safe", Outcome(OutcomeKind.SAFE))

    [change] = await store.apply([unanswered()])

    alert = await store.get(change.alert_id)
    assert alert.status.value == "resolved" and alert.resolved_by == "elder: 张桂兰"
    async with sessions() as session:
        ladder = await session.scalar(select(Escalation).where(Escalation.alert_id == change.alert_id))
    assert ladder is not None and ladder.state is LadderState.STOPPED


async def test_without_her_answer_the_alert_stays_open(store):  # type: ignore[no-untyped-def]
    await store.apply([check_in()])

    [change] = await store.apply([unanswered()])

    assert (await store.get(change.alert_id)).status.value == "open"


def test_a_ladder_for_check_ins_may_only_ask_the_elder() -> None:
    ladders = [
        {"name": "care", "audiences": ["care", "technician"], "severities": ["critical", "warning", "info"], "steps": [{"action": "page_duty"}]},
        {"name": "ask", "audiences": ["elder"], "severities": ["info"], "steps": [{"action": "notify_family"}]},
    ]
    with pytest.raises(PolicyError, match="asks the elder alone"):
        EscalationPolicy.from_document({"ladders": ladders})


def test_a_policy_written_before_the_check_ins_gets_the_built_in_ladder() -> None:
    ladders = [{"name": "care", "audiences": ["care", "technician"], "severities": ["critical", "warning", "info"], "steps": [{"action": "page_duty"}]}]

    policy = EscalationPolicy.from_document({"ladders": ladders})

    ladder = policy.ladder_for("north", AlertType.CHECK_IN, Severity.INFO)
    assert [step.action.value for step in ladder.steps] == ["check_elder"] and ladder.reminders is None
