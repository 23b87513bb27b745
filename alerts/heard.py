"""What people said that the Faust workers' monitors must hear: the answers topic, and its publisher.

On the embedded engine the pipeline reads the elders' answers to check-ins (`alerts.answers`) and the
outcomes that teach (`alerts.lessons`) from the alert store itself.  On the scaled-out path the
alert service owns the store, so it publishes each one, once it is committed there, as a small
versioned record (`HeardRecord`) on the answers topic (`carewatch.kafka.answers_topic`), keyed by
household: co-partitioned with the readings, so the worker that holds the household's state
consumes it (`carewatch.runners.faust`).

A record's id names what was said (``answer/<check-in id>``, ``outcome/<alert id>``: one answer per
check-in, one teaching outcome per alert), so publishing it again is harmless: the worker keeps the
ids its monitor heard in the household's state and does not tell it a repeat.  Each has a receipt:
the worker, once the monitor's effects were acknowledged and before its state is saved, sends back
on the detections topic what an outcome taught (`alerts.wire.Learned`) or that the monitor heard an
answer (`alerts.wire.Heard`; for a repeat answer too, the monitor untold); the alert service writes
it on the alert's audit trail (``learned``, ``heard``: `alerts.consumer`).  Both are offered until
their receipt is there: the publisher remembers what it published, and publishes a record again if
no receipt came back within `OFFER_AGAIN_S` (one the stream dropped in a rebalance), as long as it
is in the look-back (`LOOK_BACK`); after a restart it publishes again what the look-back holds
without a receipt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.answers import LOOK_BACK, LOOK_EVERY_S, answered_check_ins
from alerts.lessons import taught_outcomes
from carewatch.clock import wall_clock
from carewatch.domain import AlertType, CheckInAnswer, CheckInReply, Lesson, OutcomeHeard

log = logging.getLogger(__name__)

HEARD_VERSION = 1

OFFER_AGAIN_S = 60.0
"""An answer or outcome whose receipt has not come back this long after it was published is published again."""

Told = CheckInAnswer | OutcomeHeard


class BadHeard(ValueError):
    """A record on the answers topic that is not a heard record v1."""


def record_id(told: Told) -> str:
    """What was said, named once: the check-in answered, or the alert whose outcome teaches.

    >>> from datetime import UTC
    >>> record_id(CheckInAnswer("hh-1", "hh-1.check_in.2026-01-06T00:00:00+00:00", datetime(2026, 1, 6, tzinfo=UTC)))
    'answer/hh-1.check_in.2026-01-06T00:00:00+00:00'
    """
    return f"{'answer' if isinstance(told, CheckInAnswer) else 'outcome'}/{told.alert_id}"


@dataclass(frozen=True, slots=True)
class HeardRecord:
    """One answer or teaching outcome on the answers topic, with its id."""

    record_id: str
    told: Told

    @classmethod
    def of(cls, told: Told) -> HeardRecord:
        return cls(record_id(told), told)

    @property
    def household_id(self) -> str:
        return self.told.household_id

    def encode(self) -> bytes:
        """>>> from datetime import UTC
        >>> at = datetime(2026, 1, 6, 3, tzinfo=UTC)
        >>> answer = HeardRecord.of(CheckInAnswer("hh-1", "c-1", at))
        >>> outcome = HeardRecord.of(OutcomeHeard("hh-1", "a-1", AlertType.METER_SILENT, Lesson.METER_FAULT, at, None, at, ("g-1",)))
        >>> [HeardRecord.decode(r.encode()) == r for r in (answer, outcome)]
        [True, True]
        """
        told = self.told
        document: dict[str, object] = {
            "v": HEARD_VERSION, "id": self.record_id, "household_id": told.household_id, "alert_id": told.alert_id,
            "at": told.at.isoformat(),
        }
        if isinstance(told, CheckInAnswer):
            document |= {"kind": "answer", "reply": told.reply.value}
        else:
            document |= {
                "kind": "outcome", "alert_type": told.alert_type.value, "lesson": told.lesson.value,
                "onset": told.onset.isoformat(), "ended": told.ended.isoformat() if told.ended else None,
                "meter_ids": list(told.meter_ids),
            }
        return orjson.dumps(document)

    @classmethod
    def decode(cls, value: bytes | None) -> HeardRecord:
        try:
            document = orjson.loads(value or b"")
            if not isinstance(document, dict) or document.get("v") != HEARD_VERSION:
                raise BadHeard(f"heard record must have v={HEARD_VERSION}: {str(value)[:120]}")
            household_id, alert_id, at = document["household_id"], document["alert_id"], datetime.fromisoformat(document["at"])
            told: Told
            if document["kind"] == "answer":
                told = CheckInAnswer(household_id, alert_id, at, CheckInReply(document["reply"]))
            elif document["kind"] == "outcome":
                ended = document["ended"]
                told = OutcomeHeard(
                    household_id, alert_id, AlertType(document["alert_type"]), Lesson(document["lesson"]),
                    datetime.fromisoformat(document["onset"]), datetime.fromisoformat(ended) if ended else None, at,
                    tuple(document["meter_ids"]),
                )
            else:
                raise BadHeard(f"heard record of unknown kind {document['kind']!r}")
            return cls(str(document["id"]), told)
        except BadHeard:
            raise
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
            raise BadHeard(f"not a heard record: {exc!r}: {str(value)[:120]}") from None


class AnswerPublisher:
    """Reads the answers and the outcomes that teach from the alert store every `LOOK_EVERY_S` (those
    without a receipt), and publishes those it has not published yet, or not for `OFFER_AGAIN_S`, on the
    answers topic, waiting for Kafka's acknowledgement."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        bootstrap_servers: str,
        topic: str,
        producer_batch_bytes: int = 16384,
        clock: Callable[[], datetime] = wall_clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.producer_batch_bytes = producer_batch_bytes
        self.clock = clock
        self.monotonic = monotonic
        self.since = clock() - LOOK_BACK  # answers and outcomes are stamped on this clock
        self.published: dict[str, float] = {}
        """Record id → when (monotonic) it was published, for what the store still offers."""
        self.records_published = 0

    async def due(self) -> list[HeardRecord]:
        """What the store offers that is to be published now (never published, or its receipt not back in time)."""
        async with self.sessions() as session:
            told: list[Told] = [
                *await answered_check_ins(session, self.since, unheard=True), *await taught_outcomes(session, self.since)
            ]
        self.since = max(self.since, self.clock() - LOOK_BACK)
        offered = [HeardRecord.of(t) for t in told]
        # Forget what the store no longer offers (its receipt written, or older than the look-back): bounded by the look-back.
        self.published = {r.record_id: self.published[r.record_id] for r in offered if r.record_id in self.published}
        now = self.monotonic()
        return [r for r in offered if r.record_id not in self.published or now - self.published[r.record_id] >= OFFER_AGAIN_S]

    async def publish(self, producer: AIOKafkaProducer) -> int:
        """Publish what is due, keyed by household; returns how many, once Kafka acknowledged them all."""
        due = await self.due()
        if not due:
            return 0
        pending = [await producer.send(self.topic, r.encode(), key=r.household_id.encode()) for r in due]
        await asyncio.gather(*pending)
        now = self.monotonic()
        for r in due:
            self.published[r.record_id] = now
        self.records_published += len(due)
        return len(due)

    async def run(self) -> None:
        """Publish until cancelled; a failure (database or Kafka) waits for the next look."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, acks="all", max_batch_size=self.producer_batch_bytes
        )
        try:
            await producer.start()
            while True:
                try:
                    await self.publish(producer)
                except Exception:
                    log.exception("could not publish the elders' answers and outcomes; trying again in %.0f s", LOOK_EVERY_S)
                await asyncio.sleep(LOOK_EVERY_S)
        finally:
            await producer.stop()
