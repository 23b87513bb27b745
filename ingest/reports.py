"""Ingest's reports on the scaled-out path: dead letters and gateway status from Kafka into ingest's tables.

The bridge and the workers put what they refused on the dead-letter topic and each
gateway's status on the gateway-status topic; this consumer (run by `carewatch alerts`)
writes them into the same tables the embedded runner fills, so `/api/ingest/stats` and
the console's dead-letter and gateway panels show them.  A refused unknown meter is also
listed for provisioning, and counted as a rejected reading as the embedded runner does.

Exactly once in the database: each partition's next offset is stored in the same
transaction as the rows (`ConsumedOffset`, compare-and-set), so a record delivered again
(a crash before the Kafka commit, a rebalance, a reset group) is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiokafka import ConsumerRecord
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carewatch.domain import RejectReason
from carewatch.kafka import BatchConsumer, until_stored
from ingest.models import ConsumedOffset
from ingest.records import BatchRecord, DeadLetterEntry, ensure_counters, write_batch
from ingest.wire import DeadLetterRecord, GatewayStatusRecord

log = logging.getLogger(__name__)

Report = tuple[ConsumerRecord, GatewayStatusRecord | DeadLetterRecord | None]
"""A record and what it holds (None: it did not decode; its offset is passed all the same)."""


class IngestReportConsumer(BatchConsumer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        bootstrap_servers: str,
        dead_letter_topic: str,
        gateway_status_topic: str,
        group_id: str,
        max_batch: int = 500,
    ) -> None:
        super().__init__(
            dead_letter_topic, gateway_status_topic, bootstrap_servers=bootstrap_servers, group_id=group_id, max_batch=max_batch
        )
        self.sessions = sessions
        self.dead_letter_topic = dead_letter_topic
        self.gateway_status_topic = gateway_status_topic
        self.stored = 0
        """Records written to the tables (redeliveries not counted)."""
        self.undecodable = 0

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        reports = self.decode(records)  # once: a retry of the write does not count a bad record again
        self.stored += await until_stored(lambda: self.write(reports), f"{len(records)} ingest reports")

    async def store(self, records: Sequence[ConsumerRecord]) -> int:
        """Decode and write once (no retry); returns how many records were new."""
        return await self.write(self.decode(records))

    def decode(self, records: Sequence[ConsumerRecord]) -> list[Report]:
        """Each record with what it holds, or None if it does not decode (logged, counted, its offset passed)."""
        reports: list[Report] = []
        for record in records:
            try:
                if record.topic == self.gateway_status_topic:
                    reports.append((record, GatewayStatusRecord.decode(record.value)))
                else:
                    reports.append((record, DeadLetterRecord.decode(record.value)))
            except (ValueError, KeyError, TypeError) as exc:
                # A bug of ours upstream; keep going, but loudly.
                self.undecodable += 1
                log.error("skipping %s[%d]@%d: %r", record.topic, record.partition, record.offset, exc)
                reports.append((record, None))
        return reports

    async def write(self, reports: Sequence[Report]) -> int:
        """Write the reports not stored before, in one transaction; returns how many were new."""
        async with self.sessions.begin() as session:
            await ensure_counters(session)
            stored: dict[tuple[str, int], int | None] = {}
            positions: dict[tuple[str, int], int] = {}
            batch = BatchRecord()
            new = 0
            for record, report in reports:
                where = (record.topic, record.partition)
                if where not in positions:
                    row = await session.get(ConsumedOffset, where)
                    stored[where] = row.next_offset if row is not None else None
                    positions[where] = stored[where] or 0
                if record.offset < positions[where]:
                    continue  # stored before: a redelivery
                positions[where] = record.offset + 1
                if report is not None:
                    _add(batch, report)
                    new += 1
            await write_batch(session, batch)
            for where, next_offset in positions.items():
                await _move(session, where, stored[where], next_offset)
        return new


def _add(batch: BatchRecord, report: GatewayStatusRecord | DeadLetterRecord) -> None:
    if isinstance(report, GatewayStatusRecord):
        batch.gateway_states[report.gateway_id] = (report.state, report.at)
        return
    batch.reject(
        DeadLetterEntry(
            report.received_at, report.source, report.gateway_id, report.reason, report.detail,
            report.payload, report.meter_id, report.reading_index,
        )
    )
    if report.reason is RejectReason.UNKNOWN_METER and report.meter_id:
        batch.unknown_meters.append((report.meter_id, report.gateway_id, report.received_at))


class OffsetMoved(RuntimeError):
    """Another consumer stored records of this partition meanwhile (a rebalance); the batch is rolled back and retried."""


async def _move(session: AsyncSession, where: tuple[str, int], old: int | None, new: int) -> None:
    """Compare-and-set the partition's stored position, so two consumers never store the same records."""
    if old == new:
        return
    topic, partition = where
    if old is None:
        session.add(ConsumedOffset(topic=topic, partition=partition, next_offset=new))
        await session.flush()  # a concurrent first insert fails here on the primary key
        return
    moved = await session.execute(
        update(ConsumedOffset)
        .where(ConsumedOffset.topic == topic, ConsumedOffset.partition == partition, ConsumedOffset.next_offset == old)
        .values(next_offset=new)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise OffsetMoved(f"{topic}[{partition}] moved past {old} meanwhile")
