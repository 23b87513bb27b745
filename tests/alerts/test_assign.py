"""Handing an alert to a colleague: stored, audited, only while the alert still needs someone (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from alerts.errors import AlertClosed, AlertNotFound, InvalidActor
from alerts.lifecycle import AlertStatus, AuditAction
from alerts.notify_tables import Escalation, LadderState


async def test_assigning_names_the_colleague_keeps_the_status_and_is_audited(store, clock, make_detection):
    raised = make_detection()
    await store.apply([raised])
    clock.advance(minutes=3)
    alert = await store.assign(raised.alert_id, "李明", "王强", 7, "she lives on his way home")

    assert (alert.assigned_to, alert.assigned_user_id, alert.assigned_at) == ("王强", 7, clock.now)
    assert alert.status is AlertStatus.OPEN and alert.updated_at == clock.now  # the live board sees it move
    entry = alert.events[-1]
    assert (entry.action, entry.actor, entry.from_status, entry.to_status) == (
        AuditAction.ASSIGNED, "李明", AlertStatus.OPEN, AlertStatus.OPEN,
    )
    assert entry.note == "assigned to 王强: she lives on his way home"


async def test_an_assignment_does_not_stop_the_ladder(store, sessions, make_detection):
    """Only an acknowledgement says someone is on it; until then the family and staff are still told."""
    raised = make_detection()
    await store.apply([raised])
    await store.assign(raised.alert_id, "李明", "王强", 7)
    async with sessions() as session:
        assert await session.scalar(select(Escalation.state).where(Escalation.alert_id == raised.alert_id)) is LadderState.PENDING


async def test_an_acknowledged_alert_may_be_handed_on_and_taken_back(store, make_detection):
    raised = make_detection()
    await store.apply([raised])
    await store.acknowledge(raised.alert_id, "李明")
    handed = await store.assign(raised.alert_id, "李明", "王强", 7)
    assert handed.status is AlertStatus.ACKNOWLEDGED and handed.assigned_to == "王强"
    back = await store.assign(raised.alert_id, "王强", None)
    assert (back.assigned_to, back.assigned_user_id, back.assigned_at) == (None, None, None)
    assert back.events[-1].note == "assignment withdrawn"


async def test_closed_and_unknown_alerts_are_not_assigned(store, make_detection):
    raised = make_detection()
    await store.apply([raised])
    await store.resolve(raised.alert_id, "李明")
    with pytest.raises(AlertClosed, match="is resolved; only open or acknowledged alerts are assigned"):
        await store.assign(raised.alert_id, "李明", "王强", 7)
    assert (await store.get(raised.alert_id)).assigned_to is None
    with pytest.raises(AlertNotFound):
        await store.assign("hh-404.no_gas_24h.20250301T000000Z", "李明", "王强", 7)


@pytest.mark.parametrize(("actor", "assignee"), [("", "王强"), ("李明", " "), ("李明", "x" * 200)])
async def test_both_people_must_be_named(store, make_detection, actor, assignee):
    raised = make_detection()
    await store.apply([raised])
    with pytest.raises(InvalidActor):
        await store.assign(raised.alert_id, actor, assignee, 7)


async def test_an_assignment_racing_a_resolution_never_lands_on_a_closed_alert(store, make_detection):
    raised = make_detection()
    await store.apply([raised])
    results = await asyncio.gather(
        store.assign(raised.alert_id, "李明", "王强", 7), store.resolve(raised.alert_id, "陈主任"), return_exceptions=True
    )
    final = await store.get(raised.alert_id)
    assert final.status is AlertStatus.RESOLVED
    assigned = [e for e in final.events if e.action is AuditAction.ASSIGNED]
    if isinstance(results[0], AlertClosed):
        assert assigned == [] and final.assigned_to is None
    else:  # the assignment came first, while the alert was still open
        assert assigned[0].to_status is AlertStatus.OPEN and assigned[0].id < final.events[-1].id
