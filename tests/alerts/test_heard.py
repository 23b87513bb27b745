"""The scaled-out path's side of the alert store: each answer and teaching outcome is published for the
workers once it is committed, and again every `OFFER_AGAIN_S` until its receipt is on the alert (what an
outcome taught a worker's monitor, that it heard an answer), written there once."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from aiokafka import ConsumerRecord

from alerts.answers import answered_check_ins
from alerts.consumer import DetectionConsumer
from alerts.heard import OFFER_AGAIN_S, AnswerPublisher, HeardRecord
from alerts.lessons import lesson_words
from alerts.lifecycle import AuditAction
from alerts.outcomes import FalseAlarmReason, Outcome, OutcomeKind
from alerts.wire import Heard, Learned
from carewatch.domain import AlertType, CheckInAnswer, Explanation, OutcomeHeard, Severity
from tests.alerts.conftest import ONSET, detection


class KeptProducer:
    """aiokafka's producer as the publisher uses it: ``send`` returns a future of Kafka's acknowledgement."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, HeardRecord]] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        self.sent.append((topic, key, HeardRecord.decode(value)))
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged


async def answered_and_told(store):  # type: ignore[no-untyped-def]
    """A check-in she answered "I'm fine", and a learned quiet alert staff found a false alarm: she went out."""
    asked = dataclasses.replace(detection("hh-001", AlertType.CHECK_IN, severity=Severity.INFO), at=ONSET + timedelta(hours=10))
    quiet = dataclasses.replace(detection("hh-002", AlertType.UNUSUAL_QUIET, severity=Severity.WARNING), at=ONSET + timedelta(hours=9))
    [check_in, outing] = await store.apply([asked, quiet])
    await store.resolve(check_in.alert_id, "elder: 张桂兰", "elder confirmed safe", Outcome(OutcomeKind.SAFE))
    await store.acknowledge(outing.alert_id, "duty: 李娜", "at her daughter's", Outcome(OutcomeKind.FALSE_ALARM, FalseAlarmReason.AWAY))
    return check_in.alert_id, outing.alert_id


def on_detections(household_id: str, value: bytes) -> ConsumerRecord:
    """A record of the detections topic as the alert service's consumer is handed it."""
    return ConsumerRecord("detections", 0, 5, 0, 0, household_id.encode(), value, None, 4, len(value), ())


async def test_an_answer_is_published_again_until_the_workers_monitor_heard_it(store, sessions, clock):  # type: ignore[no-untyped-def]
    """A stream that drops the answer in a rebalance: no receipt comes back, so it is offered again."""
    check_in, outing = await answered_and_told(store)
    wall = [0.0]
    publisher = AnswerPublisher(sessions, bootstrap_servers="127.0.0.1:9", topic="answers", clock=clock, monotonic=lambda: wall[0])
    producer = KeptProducer()
    await publisher.publish(producer)  # type: ignore[arg-type]
    [answer] = [r for _, _, r in producer.sent if isinstance(r.told, CheckInAnswer)]
    producer.sent.clear()

    wall[0] += OFFER_AGAIN_S - 1
    assert await publisher.publish(producer) == 0  # type: ignore[arg-type]  (not yet)
    wall[0] += 1
    assert await publisher.publish(producer) == 2  # type: ignore[arg-type]  (no receipt for either: both again)
    assert answer in [r for _, _, r in producer.sent]

    # The worker's monitor heard it: its receipt on the detections topic, written on the check-in once.
    consumer = DetectionConsumer(store, bootstrap_servers="127.0.0.1:9", topic="detections", group_id="g")
    receipt = Heard("hh-001", check_in, ONSET + timedelta(hours=10)).encode()
    await consumer.handle([on_detections("hh-001", receipt)])
    await consumer.handle([on_detections("hh-001", receipt)])  # redelivered

    [heard] = [e for e in (await store.get(check_in)).events if e.action is AuditAction.HEARD]
    assert heard.actor == "detector" and heard.event_time == ONSET + timedelta(hours=10)
    assert consumer.answers_heard == 1 and consumer.detections_seen == 0
    producer.sent.clear()
    wall[0] += OFFER_AGAIN_S
    assert await publisher.publish(producer) == 1  # type: ignore[arg-type]  (the outcome alone: its lesson has not come)
    assert [r.record_id for _, _, r in producer.sent] == [f"outcome/{outing}"]
    # Nor after a restart: the store says it was heard.
    restarted = AnswerPublisher(sessions, bootstrap_servers="127.0.0.1:9", topic="answers", clock=clock)
    assert [r.record_id for r in await restarted.due()] == [f"outcome/{outing}"]


async def test_the_embedded_engine_still_reads_an_answer_the_workers_heard(store, sessions, clock):  # type: ignore[no-untyped-def]
    """Receipts are the scaled-out path's: the embedded pipeline reads every answer in its look-back, as before."""
    check_in, _ = await answered_and_told(store)
    await store.heard([(check_in, ONSET + timedelta(hours=10))])

    async with sessions() as session:
        assert [a.alert_id for a in await answered_check_ins(session, clock() - timedelta(days=2))] == [check_in]


async def test_an_outcome_is_published_again_until_its_lesson_is_written(store, sessions, clock):  # type: ignore[no-untyped-def]
    check_in, outing = await answered_and_told(store)
    wall = [0.0]
    publisher = AnswerPublisher(sessions, bootstrap_servers="127.0.0.1:9", topic="answers", clock=clock, monotonic=lambda: wall[0])
    producer = KeptProducer()

    assert await publisher.publish(producer) == 2  # type: ignore[arg-type]
    [(_, answer_key, answer), (_, outcome_key, outcome)] = producer.sent
    assert (answer_key, answer.record_id) == (b"hh-001", f"answer/{check_in}")
    assert isinstance(answer.told, CheckInAnswer) and answer.told.at == clock.now
    assert (outcome_key, outcome.record_id) == (b"hh-002", f"outcome/{outing}")
    assert isinstance(outcome.told, OutcomeHeard) and outcome.told.onset == ONSET

    assert await publisher.publish(producer) == 0  # type: ignore[arg-type]  (published: not again)
    await store.heard([(check_in, clock())])  # the answer's receipt came back
    wall[0] += OFFER_AGAIN_S
    assert await publisher.publish(producer) == 1  # type: ignore[arg-type]  (no lesson came back: the outcome again)
    assert producer.sent[-1][2] == outcome

    # The worker's monitor learned: the detections topic says what, the alert service writes it once.
    consumer = DetectionConsumer(store, bootstrap_servers="127.0.0.1:9", topic="detections", group_id="g")
    words = Explanation("已学习：老人外出。", "Learned: the elder was out.")
    record = on_detections("hh-002", Learned("hh-002", outing, words, ONSET + timedelta(hours=12)).encode())
    await consumer.handle([record])
    await consumer.handle([record])  # redelivered

    [learned] = [e for e in (await store.get(outing)).events if e.action is AuditAction.LEARNED]
    assert lesson_words(learned.note, "en") == words.en and learned.event_time == ONSET + timedelta(hours=12)
    assert consumer.lessons_written == 1 and consumer.detections_seen == 0
    wall[0] += OFFER_AGAIN_S
    assert await publisher.publish(producer) == 0  # type: ignore[arg-type]  (taught: no longer offered)


async def test_after_a_restart_what_is_in_the_look_back_is_published_again(store, sessions, clock):  # type: ignore[no-untyped-def]
    """The workers pass over what they heard before (`HouseholdState.heard`): a restart may publish again."""
    await answered_and_told(store)
    first, second = KeptProducer(), KeptProducer()
    await AnswerPublisher(sessions, bootstrap_servers="127.0.0.1:9", topic="answers", clock=clock).publish(first)  # type: ignore[arg-type]

    await AnswerPublisher(sessions, bootstrap_servers="127.0.0.1:9", topic="answers", clock=clock).publish(second)  # type: ignore[arg-type]

    assert [r.record_id for _, _, r in second.sent] == [r.record_id for _, _, r in first.sent]


async def test_a_receipt_that_is_not_v1_is_refused_by_name_and_the_batch_goes_on(store, caplog):  # type: ignore[no-untyped-def]
    check_in, _ = await answered_and_told(store)
    consumer = DetectionConsumer(store, bootstrap_servers="127.0.0.1:9", topic="detections", group_id="g")
    newer = b'{"v": 2, "heard": "%s", "household_id": "hh-001", "at": "2025-03-01T17:30:00+00:00"}' % check_in.encode()
    truncated = b'{"v": 1, "heard": "%s", "household_id": "hh-001"}' % check_in.encode()
    good = Heard("hh-001", check_in, ONSET).encode()

    await consumer.handle([on_detections("hh-001", newer), on_detections("hh-001", truncated), on_detections("hh-001", good)])

    assert consumer.undecodable == 2 and consumer.answers_heard == 1
    assert "not a heard record v1: ValueError('v=2')" in caplog.text and "not a heard record v1: KeyError('at')" in caplog.text
