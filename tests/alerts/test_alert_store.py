"""The alert store as the detectors and the duty officers use it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import AlertNotFound, IllegalTransition, InvalidActor
from alerts.lifecycle import AlertStatus, AuditAction
from alerts.models import Alert
from carewatch.domain import AlertType, Audience, Detection, Severity, Transition

MakeDetection = Callable[..., Detection]


async def count_alerts(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(Alert)) or 0


async def test_raise_creates_an_open_alert_with_a_raised_audit_entry(store, clock, make_detection: MakeDetection):
    raised = make_detection()

    changes = await store.apply([raised])

    assert [(c.alert_id, c.action, c.from_status, c.to_status) for c in changes] == [
        (raised.alert_id, AuditAction.RAISED, None, AlertStatus.OPEN)
    ]
    alert = await store.get(raised.alert_id)
    assert alert.status is AlertStatus.OPEN
    assert (alert.household_id, alert.alert_type, alert.severity, alert.audience) == (
        "hh-001",
        AlertType.NO_GAS_24H,
        Severity.CRITICAL,
        Audience.CARE,
    )
    assert alert.onset == raised.onset
    assert alert.raised_at == raised.at
    assert alert.created_at == alert.updated_at == clock.now
    assert (alert.explanation_zh, alert.explanation_en) == (raised.explanation.zh, raised.explanation.en)
    assert alert.meter_ids == ["gas-001"]
    assert alert.facts == {"used_m3": 0.0}
    [event] = alert.events
    assert (event.action, event.actor, event.from_status, event.to_status) == (
        AuditAction.RAISED,
        "detector",
        None,
        AlertStatus.OPEN,
    )
    assert event.note == raised.explanation.en
    assert event.at == clock.now
    assert event.event_time == raised.at


async def test_technician_alert_types_are_stored_for_technicians(store, make_detection: MakeDetection):
    silent = make_detection(alert_type=AlertType.METER_SILENT, severity=Severity.WARNING)
    await store.apply([silent])
    assert (await store.get(silent.alert_id)).audience is Audience.TECHNICIAN


async def test_repeated_raise_keeps_the_first_alert(store, sessions, make_detection: MakeDetection):
    first = make_detection()
    later_onset = make_detection(onset=first.onset + timedelta(hours=1))

    await store.apply([first])
    assert await store.apply([first]) == []
    assert await store.apply([later_onset]) == []

    assert await count_alerts(sessions) == 1
    assert len(await store.history(first.alert_id)) == 1


async def test_replay_of_a_resolved_alert_changes_nothing(store, sessions, make_detection: MakeDetection):
    raised = make_detection()
    await store.apply([raised])
    await store.resolve(raised.alert_id, "王芳", "family visited, all well")

    assert await store.apply([raised]) == []

    alert = await store.get(raised.alert_id)
    assert alert.status is AlertStatus.RESOLVED
    assert [e.action for e in alert.events] == [AuditAction.RAISED, AuditAction.RESOLVED]
    assert await count_alerts(sessions) == 1


async def test_a_new_onset_after_resolution_raises_a_new_alert(store, sessions, make_detection: MakeDetection):
    first = make_detection()
    await store.apply([first])
    await store.resolve(first.alert_id, "王芳", "")

    second = make_detection(onset=first.onset + timedelta(days=3))
    assert [c.alert_id for c in await store.apply([second])] == [second.alert_id]
    assert await count_alerts(sessions) == 2


async def test_cleared_auto_resolves_the_active_alert(store, clock, make_detection: MakeDetection):
    raised = make_detection()
    await store.apply([raised])
    clock.advance(hours=2)
    cleared = make_detection(transition=Transition.CLEARED, at=raised.at + timedelta(hours=2))

    changes = await store.apply([cleared])

    assert [(c.alert_id, c.action, c.from_status, c.to_status) for c in changes] == [
        (raised.alert_id, AuditAction.AUTO_RESOLVED, AlertStatus.OPEN, AlertStatus.AUTO_RESOLVED)
    ]
    alert = await store.get(raised.alert_id)
    assert alert.status is AlertStatus.AUTO_RESOLVED
    assert (alert.resolved_by, alert.resolved_at, alert.updated_at) == ("detector", clock.now, clock.now)
    event = alert.events[-1]
    assert (event.action, event.actor, event.note, event.event_time) == (
        AuditAction.AUTO_RESOLVED,
        "detector",
        cleared.explanation.en,
        cleared.at,
    )


async def test_cleared_also_closes_an_acknowledged_alert(store, make_detection: MakeDetection):
    raised = make_detection()
    await store.apply([raised])
    await store.acknowledge(raised.alert_id, "李明", "calling the daughter")

    [change] = await store.apply([make_detection(transition=Transition.CLEARED)])

    assert change.from_status is AlertStatus.ACKNOWLEDGED
    assert (await store.get(raised.alert_id)).status is AlertStatus.AUTO_RESOLVED


async def test_cleared_without_an_active_alert_changes_nothing(store, sessions, make_detection: MakeDetection):
    assert await store.apply([make_detection(transition=Transition.CLEARED)]) == []
    assert await count_alerts(sessions) == 0


async def test_raise_and_clear_in_one_batch_are_applied_in_order(store, make_detection: MakeDetection):
    raised = make_detection()
    changes = await store.apply([raised, make_detection(transition=Transition.CLEARED)])
    assert [c.action for c in changes] == [AuditAction.RAISED, AuditAction.AUTO_RESOLVED]


async def test_acknowledge_then_resolve_is_audited_with_actor_note_and_time(store, clock, make_detection: MakeDetection):
    raised = make_detection()
    await store.apply([raised])

    acknowledged_at = clock.advance(minutes=3)
    acknowledged = await store.acknowledge(raised.alert_id, "  李明  ", "calling the daughter")
    resolved_at = clock.advance(minutes=20)
    resolved = await store.resolve(raised.alert_id, "李明", "daughter visited; stove was broken")

    assert acknowledged.status is AlertStatus.ACKNOWLEDGED
    assert (acknowledged.acknowledged_by, acknowledged.acknowledged_at) == ("李明", acknowledged_at)
    assert resolved.status is AlertStatus.RESOLVED
    assert (resolved.resolved_by, resolved.resolved_at, resolved.updated_at) == ("李明", resolved_at, resolved_at)
    trail = [(e.action, e.actor, e.from_status, e.to_status, e.note, e.at, e.event_time) for e in resolved.events]
    assert trail[1:] == [
        (AuditAction.ACKNOWLEDGED, "李明", AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, "calling the daughter", acknowledged_at, None),
        (
            AuditAction.RESOLVED,
            "李明",
            AlertStatus.ACKNOWLEDGED,
            AlertStatus.RESOLVED,
            "daughter visited; stove was broken",
            resolved_at,
            None,
        ),
    ]


async def test_an_open_alert_may_be_resolved_without_acknowledging(store, make_detection: MakeDetection):
    raised = make_detection()
    await store.apply([raised])
    resolved = await store.resolve(raised.alert_id, "李明", "false alarm: on holiday")
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.acknowledged_by is None


@pytest.mark.parametrize(
    ("moves", "refused", "current"),
    [
        (["acknowledge"], "acknowledge", AlertStatus.ACKNOWLEDGED),
        (["resolve"], "acknowledge", AlertStatus.RESOLVED),
        (["resolve"], "resolve", AlertStatus.RESOLVED),
        (["cleared"], "acknowledge", AlertStatus.AUTO_RESOLVED),
        (["cleared"], "resolve", AlertStatus.AUTO_RESOLVED),
    ],
)
async def test_illegal_transitions_are_refused_naming_the_current_status(
    store, make_detection: MakeDetection, moves, refused, current
):
    raised = make_detection()
    await store.apply([raised])
    for move in moves:
        if move == "cleared":
            await store.apply([make_detection(transition=Transition.CLEARED)])
        else:
            await getattr(store, move)(raised.alert_id, "李明", "")

    with pytest.raises(IllegalTransition, match=f"is {current.value}") as refusal:
        await getattr(store, refused)(raised.alert_id, "李明", "")

    assert refusal.value.current is current
    assert len(await store.history(raised.alert_id)) == 1 + len(moves)


async def test_unknown_alert_is_reported_by_id(store):
    for attempt in (store.acknowledge("hh-404.no_gas_24h.x", "李明", ""), store.get("hh-404.no_gas_24h.x")):
        with pytest.raises(AlertNotFound, match="hh-404.no_gas_24h.x"):
            await attempt


@pytest.mark.parametrize("actor", ["", "   ", "x" * 129])
async def test_a_person_must_be_named(store, make_detection: MakeDetection, actor):
    raised = make_detection()
    await store.apply([raised])
    with pytest.raises(InvalidActor):
        await store.acknowledge(raised.alert_id, actor, "note")
    assert (await store.get(raised.alert_id)).status is AlertStatus.OPEN


async def test_the_database_refuses_a_second_active_alert_for_a_household_and_type(
    store, sessions, make_detection: MakeDetection
):
    first = make_detection()
    await store.apply([first])
    twin = await store.get(first.alert_id)

    async with sessions() as session:
        session.add(
            Alert(
                **{column: getattr(twin, column) for column in Alert.__table__.columns.keys()}
                | {"id": "hh-001.no_gas_24h.other", "status": AlertStatus.ACKNOWLEDGED}
            )
        )
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_concurrent_raises_store_one_active_alert(store, sessions, make_detection: MakeDetection):
    same = make_detection()
    other_onset = make_detection(onset=same.onset + timedelta(minutes=15))

    results = await asyncio.gather(
        store.apply([same]), store.apply([same]), store.apply([other_onset]), store.apply([other_onset])
    )

    assert sum(len(changes) for changes in results) == 1
    assert len(await store.list(status=AlertStatus.OPEN)) == 1
    assert await count_alerts(sessions) == 1


async def test_concurrent_clears_auto_resolve_once(store, make_detection: MakeDetection):
    raised = make_detection()
    await store.apply([raised])
    cleared = make_detection(transition=Transition.CLEARED)

    results = await asyncio.gather(*(store.apply([cleared]) for _ in range(4)))

    assert sum(len(changes) for changes in results) == 1
    assert [e.action for e in await store.history(raised.alert_id)] == [AuditAction.RAISED, AuditAction.AUTO_RESOLVED]


async def test_concurrent_acknowledgements_let_exactly_one_officer_win(store, make_detection: MakeDetection):
    raised = make_detection()
    await store.apply([raised])

    results = await asyncio.gather(
        *(store.acknowledge(raised.alert_id, officer, "") for officer in ("李明", "王芳", "张伟")),
        return_exceptions=True,
    )

    assert sum(isinstance(r, Alert) for r in results) == 1
    assert all(isinstance(r, (Alert, IllegalTransition)) for r in results)
    assert [e.action for e in await store.history(raised.alert_id)] == [AuditAction.RAISED, AuditAction.ACKNOWLEDGED]


async def test_apply_joins_the_callers_transaction(store, sessions, make_detection: MakeDetection):
    raised = make_detection()

    async with sessions() as session:
        changes = await store.apply([raised], session=session)
        assert len(changes) == 1
        await session.rollback()
    assert await count_alerts(sessions) == 0

    async with sessions() as session:
        await store.apply([raised], session=session)
        await session.commit()
    assert (await store.get(raised.alert_id)).status is AlertStatus.OPEN


async def test_list_orders_most_severe_first_then_newest(store, make_detection: MakeDetection):
    onset = make_detection().onset
    old_critical = make_detection("hh-001", at=onset + timedelta(hours=24))
    new_critical = make_detection("hh-002", at=onset + timedelta(hours=30))
    newest_warning = make_detection("hh-003", AlertType.GAS_CONTINUOUS, severity=Severity.WARNING, at=onset + timedelta(hours=40))
    info = make_detection("hh-004", AlertType.HIGH_WATER_USE, severity=Severity.INFO, at=onset + timedelta(hours=50))
    await store.apply([info, old_critical, newest_warning, new_critical])

    listed = await store.list()

    assert [a.id for a in listed] == [new_critical.alert_id, old_critical.alert_id, newest_warning.alert_id, info.alert_id]
    assert [a.id for a in await store.list(limit=2, offset=1)] == [old_critical.alert_id, newest_warning.alert_id]


async def test_list_filters_combine(store, make_detection: MakeDetection):
    gas = make_detection("hh-001")
    water = make_detection("hh-001", AlertType.NO_WATER_24H, severity=Severity.WARNING)
    silent = make_detection("hh-002", AlertType.METER_SILENT, severity=Severity.WARNING)
    resolved = make_detection("hh-003")
    await store.apply([gas, water, silent, resolved])
    await store.acknowledge(water.alert_id, "李明", "")
    await store.resolve(resolved.alert_id, "李明", "")

    async def ids(**filters) -> set[str]:
        return {a.id for a in await store.list(**filters)}

    assert await ids() == {gas.alert_id, water.alert_id, silent.alert_id, resolved.alert_id}
    assert await ids(status=AlertStatus.OPEN) == {gas.alert_id, silent.alert_id}
    assert await ids(status={AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED}) == {gas.alert_id, water.alert_id, silent.alert_id}
    assert await ids(household_id="hh-001") == {gas.alert_id, water.alert_id}
    assert await ids(alert_type=AlertType.NO_GAS_24H) == {gas.alert_id, resolved.alert_id}
    assert await ids(severity=Severity.WARNING) == {water.alert_id, silent.alert_id}
    assert await ids(audience=Audience.TECHNICIAN) == {silent.alert_id}
    assert await ids(audience=Audience.CARE, status="open") == {gas.alert_id}
