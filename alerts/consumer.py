"""The alert service's Kafka side: detections from the workers become stored alerts.

At-least-once: offsets are committed only after `AlertStore.apply` committed the
batch.  A redelivered batch (crash, rebalance, a worker that redid work) changes
nothing, because alert ids come from household, type and onset and `apply` is
idempotent.  Detections of one household share a partition, so they arrive in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer

from alerts.store import AlertStore, AppliedChange
from alerts.wire import BadDetection, decode_detection
from carewatch.domain import Detection

log = logging.getLogger(__name__)

OnApplied = Callable[[Sequence[AppliedChange]], Awaitable[None]]


class DetectionConsumer:
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
        self.store = store
        self.topic = topic
        self.on_applied = on_applied
        self.max_batch = max_batch
        self.detections_seen = 0
        self.undecodable = 0
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    async def run(self) -> None:
        """Consume until cancelled."""
        await self._consumer.start()
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=self.max_batch)
                records = [record for partition in batches.values() for record in partition]
                if not records:
                    continue
                detections = []
                for record in records:
                    try:
                        detections.append(decode_detection(record.value))
                    except BadDetection as exc:
                        # A bug of ours upstream; keep going, but loudly.
                        self.undecodable += 1
                        log.error("skipping %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc)
                changes = await self._apply(detections)
                await self._consumer.commit()
                self.detections_seen += len(detections)
                if self.on_applied and changes:
                    await self.on_applied(changes)
        finally:
            await self._consumer.stop()

    async def _apply(self, detections: Sequence[Detection]) -> list[AppliedChange]:
        delay = 0.5
        while True:
            try:
                return await self.store.apply(detections)
            except Exception:
                # The database is down: hold the offsets (Kafka keeps the rest) and retry.
                log.exception("could not store %d detections; retrying in %.1f s", len(detections), delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
