"""An elder's "I'm fine" and a "went out" outcome reach a Faust worker's monitor through the alert service
and the answers topic.

A real `carewatch worker` process, the alert service in this process, tansu, SQLite.  Readings are
produced straight onto the readings topic as the bridge writes them (uploads keyed by household):
twenty days of a routine, then a quiet night and morning until the worker's monitor asks the elder
(a check-in).  She answers through the answer link (the check-in resolved as safe in the store);
the alert service publishes the answer, the worker's monitor hears it: the check-in ends as "fine",
the worker's receipt is written on the check-in's audit trail (``heard``, once: the alert service stops
offering the answer), and when the readings go on (she is up late, at 10:40) no alert for family and
staff is raised.
Without the answer on the worker's side the check-in would end "unanswered" and the learned morning
alert be raised at 08:55 (`tests/runners/test_faust_answers.py` states both without a broker).
Staff who find a learned quiet alert a false alarm ("went out") teach the worker's monitor, and the
alert service writes what it learned on the alert's audit trail, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import groupby

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from alerts.lessons import lesson_words
from alerts.lifecycle import AuditAction
from alerts.models import Alert, AlertEvent
from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from alerts.replies import ELDER_CONFIRMED
from alerts.store import AlertStore
from carewatch.domain import AlertType, Reading
from carewatch.kafka import bootstrap_servers
from carewatch.runners.faust.readback import household_states
from carewatch.runners.faust.system import wait_until_judged_and_stored
from ingest.wire import encode_upload
from tests.detectors.conftest import HOUSEHOLD, at, routine
from tests.detectors.test_checkin import DAY, FROM_DAY_20_EVENING, quiet_from
from tests.detectors.test_outcomes import TUESDAY, outing
from tests.runners.test_faust_answers import DOCUMENT
from tests.stream.conftest import stream_settings
from tests.stream.workers import alert_service, worker

pytestmark = pytest.mark.service

UP_AT = 21 * DAY - 9  # 10:40 local on day 26 of the routine: she is up late
ASKED_BY = UP_AT - 2  # 08:40: the worker's watermark (minus 30 min of lateness) has passed the check-in (07:55)
READINGS_PER_UPLOAD = 64  # eight hours of two meters: a few dozen records, as a gateway uploading in bulk


async def produce(settings, readings: Sequence[Reading]) -> None:  # type: ignore[no-untyped-def]
    """The readings as the bridge writes them: uploads of one household, in order, keyed by household."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(settings.kafka_url), acks="all")
    await producer.start()
    try:
        for start in range(0, len(readings), READINGS_PER_UPLOAD):
            chunk = readings[start : start + READINGS_PER_UPLOAD]
            for household_id, of_household in groupby(chunk, key=lambda r: r.household_id):
                value = encode_upload(household_id, "gw-0007", list(of_household))
                await producer.send_and_wait(settings.kafka_topic_readings, value, key=household_id.encode())
    finally:
        await producer.stop()


async def check_ins(sessions) -> list[Alert]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return list((await session.scalars(select(Alert).where(Alert.alert_type == AlertType.CHECK_IN))).all())


async def entries(sessions, alert_id: str, action: AuditAction) -> list[AlertEvent]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        query = select(AlertEvent).where(AlertEvent.alert_id == alert_id, AlertEvent.action == action)
        return list((await session.scalars(query)).all())


async def until(condition, process, timeout: float, what: str):  # type: ignore[no-untyped-def]
    """Poll ``condition`` (an awaitable factory) until it returns something true; the worker must stay alive."""
    try:
        async with asyncio.timeout(timeout):
            while not (found := await condition()):
                process.check_alive()
                await asyncio.sleep(0.25)
    except TimeoutError:
        pytest.fail(f"{what} within {timeout:.0f} s; worker log:\n" + process.log_path.read_text(errors="replace")[-3000:])
    return found


async def test_the_elders_i_am_fine_reaches_the_workers_monitor_and_ends_the_check_in_quietly(kafka_url, tmp_path):
    settings = stream_settings(kafka_url, tmp_path, DOCUMENT)
    readings = routine(22, quiet=quiet_from(FROM_DAY_20_EVENING, UP_AT))
    asked_by, until_up = at(ASKED_BY), at(UP_AT + 2)
    process = worker(settings, tmp_path, "worker")
    async with alert_service(settings) as sessions:
        process.start()
        try:
            await produce(settings, [r for r in readings if r.at <= asked_by])
            [asked] = await until(lambda: check_ins(sessions), process, 60, "no check-in was raised")
            assert asked.household_id == HOUSEHOLD and (asked.facts or {}).get("ended") is None

            # The elder's "I'm fine" through the answer link (alerts.replies): the check-in resolved as safe.
            await AlertStore(sessions).resolve(asked.id, "elder", ELDER_CONFIRMED, Outcome(OutcomeKind.SAFE, detail=ELDER_CONFIRMED))

            async def ended_fine() -> bool:
                return any((c.facts or {}).get("ended") == "fine" for c in await check_ins(sessions))

            await until(ended_fine, process, 30, "the worker's monitor did not end the check-in as fine")
            [receipt] = await until(lambda: entries(sessions, asked.id, AuditAction.HEARD), process, 30,
                                    "no heard entry was written on the check-in")

            await produce(settings, [r for r in readings if asked_by < r.at <= until_up])
            await wait_until_judged_and_stored(settings, [process], timeout=60)
            async with sessions() as session:
                raised = set((await session.scalars(select(Alert.alert_type))).all())
            heard = await entries(sessions, asked.id, AuditAction.HEARD)
        finally:
            await asyncio.to_thread(process.stop)

    # Nothing for family and staff: the learned quiet counted from her answer, and she was up at 10:40.
    assert raised == {AlertType.CHECK_IN}
    assert [e.id for e in heard] == [receipt.id] and receipt.actor == "detector" and receipt.event_time is not None


async def test_went_out_teaches_the_workers_monitor_and_the_alert_says_what_it_learned_once(kafka_url, tmp_path):
    settings = stream_settings(kafka_url, tmp_path, DOCUMENT)
    readings = routine(18, quiet=outing(TUESDAY))  # out from 09:00 on Tuesday the 23rd: unusual_quiet at 13:40
    raised_by = at(TUESDAY + 5.5)  # 14:30: the watermark has passed 13:40
    process = worker(settings, tmp_path, "worker")
    async with alert_service(settings) as sessions:
        process.start()
        try:
            await produce(settings, [r for r in readings if r.at <= raised_by])

            async def quiet_alerts() -> list[Alert]:
                async with sessions() as session:
                    return list((await session.scalars(select(Alert).where(Alert.alert_type == AlertType.UNUSUAL_QUIET))).all())

            [alert] = await until(quiet_alerts, process, 60, "no unusual_quiet was raised")
            away = Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY, "at her daughter's")
            await AlertStore(sessions).acknowledge(alert.id, "duty: 李娜", "she was out", away)

            [entry] = await until(lambda: entries(sessions, alert.id, AuditAction.LEARNED), process, 30,
                                  "no learned entry was written on the alert")
            await wait_until_judged_and_stored(settings, [process], timeout=60)
            learned = await entries(sessions, alert.id, AuditAction.LEARNED)
            states = await household_states(settings)
        finally:
            await asyncio.to_thread(process.stop)

    assert [e.id for e in learned] == [entry.id] and entry.actor == "detector"
    # Taught while the alert was open: the spell from its onset to the outcome (the newest reading judged).
    assert lesson_words(entry.note, "en").startswith("Learned: the elder was out. No gas or water from about 08:40 to 14:")
    assert states[HOUSEHOLD].monitor.learners["quiet"].outings_learned == 1
    assert states[HOUSEHOLD].heard == (f"outcome/{alert.id}",)
