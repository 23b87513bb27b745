"""The alert service's Kafka side: detections from the workers become stored alerts.

At-least-once: offsets are committed only after `AlertStore.apply` committed the
batch.  A redelivered batch (crash, rebalance, a worker that redid work) changes
nothing, because alert ids come from household, type and onset and `apply` is
idempotent.  Detections of one household share a partition, so they arrive in order.
The workers' receipts, on the same topic, are written on each alert's audit trail once, after the
batch's detections: what an outcome taught a monitor (`alerts.wire.Learned`, `AlertStore.learned`),
that a monitor heard an elder's answer (`alerts.wire.Heard`, `AlertStore.heard`).  An alert that has
the entry already is passed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from aiokafka import ConsumerRecord

from alerts.store import AlertStore, AppliedChange
from alerts.wire import BadDetection, Heard, Learned, decode_detections_record
from carewatch.domain import Detection
from carewatch.kafka import BatchConsumer, until_stored

log = logging.getLogger(__name__)

OnApplied = Callable[[Sequence[AppliedChange]], Awaitable[None]]


class DetectionConsumer(BatchConsumer):
    def __init__(
        self,
        store: AlertStore,
        *,
        bootstrap_servers: str,
        topic: str,
        group_id: str,
        on_applied: OnApplied | None = None,
        max_batch: int = 500,
    ) -> None:
        super().__init__(topic, bootstrap_servers=bootstrap_servers, group_id=group_id, max_batch=max_batch)
        self.store = store
        self.topic = topic
        self.on_applied = on_applied
        self.detections_seen = 0
        self.lessons_written = 0
        self.answers_heard = 0
        """Receipts of answers written on their check-ins (`alerts.wire.Heard`)."""
        self.undecodable = 0
        self.newest_event: datetime | None = None
        """The latest event time of a stored detection: the ladder's clock on the event clock (replays, the demo)."""

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        detections: list[Detection] = []
        lessons: list[Learned] = []
        answers: list[Heard] = []
        for record in records:
            try:
                decoded = decode_detections_record(record.value)
            except BadDetection as exc:
                # A bug of ours upstream; keep going, but loudly.
                self.undecodable += 1
                log.error("skipping %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc)
                continue
            if isinstance(decoded, Learned):
                lessons.append(decoded)
            elif isinstance(decoded, Heard):
                answers.append(decoded)
            else:
                detections.append(decoded)
        # The ladder starts inside `apply`: its clock (on event time) must already include this batch.
        newest = max((d.at for d in detections), default=None)
        if newest is not None and (self.newest_event is None or newest > self.newest_event):
            self.newest_event = newest
        changes = await until_stored(lambda: self.store.apply(detections), f"{len(detections)} detections")
        self.detections_seen += len(detections)
        if lessons:
            taught = [(lesson.alert_id, lesson.words, lesson.at) for lesson in lessons]
            self.lessons_written += await until_stored(lambda: self.store.learned(taught), f"{len(taught)} lessons")
        if answers:
            heard = [(answer.alert_id, answer.at) for answer in answers]
            self.answers_heard += await until_stored(lambda: self.store.heard(heard), f"{len(heard)} answers heard")
        if self.on_applied and changes:
            await self.on_applied(changes)
