"""Site silences: an alert raised under one is kept but nobody is told; safety alerts only when the silence says so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.ladder import AlertLadder
from alerts.lifecycle import AlertStatus, AuditAction
from alerts.notify_tables import Escalation, LadderState, OutboxMessage
from alerts.people import PeopleFile
from alerts.policy import EscalationPolicy
from alerts.silences import MAX_SILENCE, SiteSilence, silence_problems
from alerts.store import AlertStore
from carewatch.directory import Household, Site
from carewatch.domain import AlertType, Detection
from tests.alerts.test_ladder import LINKS
from tests.notify.people import people

MakeDetection = Callable[..., Detection]
ONSET = datetime(2025, 3, 1, 7, 30, tzinfo=UTC)
RAISED_AT = ONSET + timedelta(hours=24)  # the default detection's event time


@pytest.fixture
def laddered(sessions, clock) -> AlertStore:  # type: ignore[no-untyped-def]
    ladder = AlertLadder(PeopleFile.from_document(people()), EscalationPolicy.load(), clock, LINKS)
    return AlertStore(sessions, clock=clock, ladder=ladder)


@pytest.fixture
async def district(sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions.begin() as session:
        session.add_all([Site(id="donghu", name="东湖社区"), Site(id="xihu", name="西湖社区")])
        await session.flush()
        session.add_all([Household(id="hh-001", site_id="donghu"), Household(id="hh-002", site_id="donghu"),
                         Household(id="hh-009", site_id="xihu")])


async def silence(sessions, **fields: object) -> None:  # type: ignore[no-untyped-def]
    row = {"site_id": "donghu", "household_ids": None, "alert_types": ["no_gas_24h"], "include_safety": False,
           "starts_at": RAISED_AT - timedelta(hours=6), "ends_at": RAISED_AT + timedelta(hours=6), "reason": "燃气管道维修停气",
           "created_by": "陈主任", "created_at": RAISED_AT - timedelta(days=1)} | fields
    async with sessions.begin() as session:
        session.add(SiteSilence(**row))


async def ladder_of(sessions, alert_id: str) -> tuple[Escalation, int, list[AuditAction]]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        escalation = await session.get(Escalation, alert_id)
        messages = len((await session.scalars(select(OutboxMessage).where(OutboxMessage.alert_id == alert_id))).all())
    store_alert = await AlertStore(sessions).get(alert_id)
    return escalation, messages, [e.action for e in store_alert.events]


async def test_alert_raised_under_a_silence_is_kept_but_its_ladder_never_runs(laddered, sessions, district, make_detection: MakeDetection):
    await silence(sessions)
    detection = make_detection("hh-001")
    await laddered.apply([detection])
    alert = await laddered.get(detection.alert_id)
    escalation, messages, actions = await ladder_of(sessions, detection.alert_id)
    assert alert.status is AlertStatus.OPEN  # nothing is lost: the alert is on the board and in the history
    assert escalation.state is LadderState.STOPPED and escalation.stop_reason.startswith("silenced: silence #1 (燃气管道维修停气)")
    assert messages == 0
    assert actions == [AuditAction.RAISED, AuditAction.SILENCED]
    assert "陈主任" in alert.events[1].note and alert.events[1].event_time == detection.at


async def test_the_escalator_does_not_pick_up_a_silenced_alert_later(laddered, sessions, clock, district, make_detection):
    await silence(sessions)
    detection = make_detection("hh-001")
    await laddered.apply([detection])
    clock.advance(hours=5)
    await laddered._ladder.tick(sessions)  # type: ignore[union-attr]
    assert (await ladder_of(sessions, detection.alert_id))[1] == 0


async def test_an_alert_outside_the_silence_climbs_the_ladder_as_usual(laddered, sessions, district, make_detection):
    await silence(sessions, alert_types=["no_water_24h"])  # another type
    await silence(sessions, site_id="xihu")  # another site
    await silence(sessions, starts_at=RAISED_AT + timedelta(minutes=1))  # not begun at the event time
    detection = make_detection("hh-001")
    await laddered.apply([detection])
    escalation, messages, actions = await ladder_of(sessions, detection.alert_id)
    assert escalation.state is LadderState.RUNNING and messages > 0 and AuditAction.SILENCED not in actions


async def test_an_expired_silence_has_no_effect(laddered, sessions, district, make_detection):
    await silence(sessions, starts_at=RAISED_AT - timedelta(days=2), ends_at=RAISED_AT)  # ends exactly when detected
    detection = make_detection("hh-001")
    await laddered.apply([detection])
    assert (await ladder_of(sessions, detection.alert_id))[0].state is LadderState.RUNNING


async def test_a_silence_ended_early_covers_nothing_after_it_was_ended(laddered, sessions, district, make_detection):
    await silence(sessions, ended_at=RAISED_AT - timedelta(minutes=1), ended_by="陈主任")
    detection = make_detection("hh-001")
    await laddered.apply([detection])
    assert (await ladder_of(sessions, detection.alert_id))[0].state is LadderState.RUNNING


async def test_a_silence_with_a_household_list_covers_only_those_households(laddered, sessions, district, make_detection):
    await silence(sessions, household_ids=["hh-002"])
    listed, other = make_detection("hh-002"), make_detection("hh-001")
    await laddered.apply([listed, other])
    assert (await ladder_of(sessions, listed.alert_id))[0].state is LadderState.STOPPED
    assert (await ladder_of(sessions, other.alert_id))[0].state is LadderState.RUNNING


async def test_a_silence_never_hides_gas_left_on_unless_it_includes_safety_alerts(laddered, sessions, district, make_detection):
    # Even a row that names the type without include_safety (written around the API's check) does not hide it.
    await silence(sessions, alert_types=["gas_continuous", "water_continuous", "no_gas_24h"])
    gas_on = make_detection("hh-001", AlertType.GAS_CONTINUOUS)
    await laddered.apply([gas_on])
    escalation, messages, actions = await ladder_of(sessions, gas_on.alert_id)
    assert escalation.state is LadderState.RUNNING and messages > 0 and AuditAction.SILENCED not in actions


async def test_a_silence_that_includes_safety_alerts_silences_water_left_on(laddered, sessions, district, make_detection):
    await silence(sessions, alert_types=["water_continuous"], include_safety=True, reason="整栋楼水管冲洗")
    water_on = make_detection("hh-002", AlertType.WATER_CONTINUOUS)
    await laddered.apply([water_on])
    assert (await ladder_of(sessions, water_on.alert_id))[0].state is LadderState.STOPPED


async def test_a_household_outside_the_directory_is_never_silenced(laddered, sessions, district, make_detection):
    await silence(sessions)
    stray = make_detection("hh-unknown")
    await laddered.apply([stray])
    assert (await ladder_of(sessions, stray.alert_id))[0].state is not LadderState.STOPPED


def test_problems_of_a_silence_name_the_field():
    start = RAISED_AT
    assert silence_problems([AlertType.NO_GAS_24H], False, start, start + timedelta(hours=1), "停气") == []
    assert [f for f, _ in silence_problems([], False, start, start + timedelta(hours=1), "停气")] == ["alert_types"]
    safety = silence_problems([AlertType.GAS_CONTINUOUS], False, start, start + timedelta(hours=1), "停气")
    assert safety[0][0] == "include_safety" and "gas_continuous" in safety[0][1]
    assert silence_problems([AlertType.GAS_CONTINUOUS], True, start, start + timedelta(hours=1), "停气") == []
    assert [f for f, _ in silence_problems([AlertType.NO_GAS_24H], False, start, start, "停气")] == ["ends_at"]
    too_long = silence_problems([AlertType.NO_GAS_24H], False, start, start + MAX_SILENCE + timedelta(seconds=1), "停气")
    assert [f for f, _ in too_long] == ["ends_at"]
    assert [f for f, _ in silence_problems([AlertType.NO_GAS_24H], False, start, start + timedelta(hours=1), "  ")] == ["reason"]


async def test_a_batch_of_alerts_reads_the_silences_once_and_each_alert_is_judged_as_if_alone(
    laddered, sessions, district, make_detection
):  # type: ignore[no-untyped-def]
    """A mass event (a district's gas goes off: thousands of alerts in one batch) read the directory and the silences
    twice per alert; now once per batch, with the same verdict for each alert as when it comes alone."""
    from sqlalchemy import event

    await silence(sessions)  # donghu, no_gas_24h, RAISED_AT ± 6 h
    await silence(sessions, site_id="xihu", starts_at=RAISED_AT + timedelta(hours=1), ends_at=RAISED_AT + timedelta(hours=2))
    await silence(sessions, household_ids=["hh-002"], alert_types=["meter_silent"], reason="换表")
    batch = [
        make_detection("hh-001"),  # under donghu's
        make_detection("hh-002", AlertType.METER_SILENT, onset=ONSET + timedelta(hours=1)),  # under the meter change
        make_detection("hh-009"),  # xihu's starts an hour after it
        make_detection("hh-009", AlertType.METER_SILENT, onset=ONSET + timedelta(hours=2), at=RAISED_AT + timedelta(hours=1, minutes=30)),
        make_detection("hh-001", AlertType.GAS_CONTINUOUS),  # safety: never silenced by these
        make_detection("hh-unknown"),  # outside the directory
        make_detection("hh-002", onset=ONSET + timedelta(hours=3), at=RAISED_AT + timedelta(hours=7)),  # after donghu's
    ]
    statements: list[str] = []
    engine = sessions.kw["bind"].sync_engine

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        await laddered.apply(batch)
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert sum("FROM site_silences" in s for s in statements) == 1, "the silences are read once for the batch"
    stopped = [(await ladder_of(sessions, d.alert_id))[0].state is LadderState.STOPPED for d in batch]
    assert stopped == [True, True, False, False, False, False, False]
