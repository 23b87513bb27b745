"""Ingest's reports on the scaled-out path: from Kafka into the tables the embedded runner fills.

The bridge and the workers put what they refused on the dead-letter topic and each
gateway's status on the gateway-status topic; `IngestReportConsumer` (run by `carewatch
alerts`) writes them into ingest's tables, so `/api/ingest/stats` and the console's
dead-letter and gateway panels show them.  A refused unknown meter is also listed for
provisioning, and counted as a rejected reading as the embedded runner does.
`ReadingUsageConsumer` books the readings topic into the households' hourly use (the
household page's chart) with the embedded runner's `record_usage`, and, with the archive on, puts
them in its outbox in the same transaction (`ingest.archive`).  `StoredOnce` is their
base, also for the workers' household summaries (`ingest.summaries`).

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

from carewatch.domain import Reading, RejectReason
from carewatch.kafka import BatchConsumer, until_stored
from carewatch.slices import Slices
from ingest.archive import directory_sites, queue_for_archive
from ingest.models import ConsumedOffset
from ingest.records import BatchRecord, DeadLetterEntry, ensure_counters, write_batch
from ingest.usage import record_usage
from ingest.wire import BadRecord, DeadLetterRecord, GatewayStatusRecord, decode_record

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
            positions = StoredPositions(session)
            batch = BatchRecord()
            new = 0
            for record, report in reports:
                if await positions.is_new(record) and report is not None:
                    _add(batch, report)
                    new += 1
            await write_batch(session, batch)
            await positions.save()
        return new


class StoredOnce(BatchConsumer):
    """A consumer of one topic whose batches go into the database exactly once: the records not
    stored before (`StoredPositions`) are handed to `store` in the transaction that moves their
    partitions' positions, retried until the database takes it."""

    what = "records"

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], topic: str, *, bootstrap_servers: str, group_id: str, max_batch: int = 2000
    ) -> None:
        super().__init__(topic, bootstrap_servers=bootstrap_servers, group_id=group_id, max_batch=max_batch)
        self.sessions = sessions
        self.stored = 0
        """What `store` reported stored, batch by batch (redeliveries not counted)."""
        self.slices = Slices()
        """The event loop's turn every `SLICE_S` of a batch's work: the alert service serves the console on the same loop."""

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        self.stored += await until_stored(lambda: self.write(records), f"{len(records)} {self.what}")

    async def write(self, records: Sequence[ConsumerRecord]) -> int:
        """Store the records not stored before, in one transaction; returns what `store` returned."""
        async with self.sessions.begin() as session:
            positions = StoredPositions(session)
            fresh = []
            for record in records:
                await self.slices.turn()
                if await positions.is_new(record):
                    fresh.append(record)
            stored = await self.store(session, fresh)
            await positions.save()
        return stored

    async def store(self, session: AsyncSession, records: Sequence[ConsumerRecord]) -> int:
        raise NotImplementedError


class ReadingUsageConsumer(StoredOnce):
    """The readings topic into ``hourly_usage``, once per record (its offsets stored with the use).

    Every reading on the topic passed the bridge's checks; `record_usage` leaves out what is
    not newer than the meter's last reading (duplicates, late arrivals) and books no use across
    a register that went back, so it books what the workers accept.  A record that does not
    decode is the workers' to dead-letter; it is passed here.
    """

    what = "readings' use"

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, bootstrap_servers: str, readings_topic: str, group_id: str,
        archive: bool = False,
    ) -> None:
        super().__init__(sessions, readings_topic, bootstrap_servers=bootstrap_servers, group_id=group_id)
        self.archive = archive
        """Also put the readings in the archive outbox (ingest.archive), in the same transaction as their offsets."""

    async def store(self, session: AsyncSession, records: Sequence[ConsumerRecord]) -> int:
        """Book the records' use (and queue them for the archive); returns how many readings were booked.

        In slices (`carewatch.slices`): the alert service serves the console on the same event loop, and a night
        bunch's batch (2,000 uploads of 24–48 readings) held it 660 ms in one go."""
        readings: list[Reading] = []
        slices = self.slices
        for record in records:
            await slices.turn()
            try:
                decoded = decode_record(record.value)  # an upload (v2) or one reading (v1)
            except BadRecord:
                continue
            readings += [reading for reading in decoded.readings if isinstance(reading, Reading)]
        if self.archive:  # before record_usage moves the cursors the use since the previous reading is counted from
            await queue_for_archive(session, readings, await directory_sites(session, readings), slices.turn)
        await record_usage(session, readings, slices.turn)
        return len(readings)


class StoredPositions:
    """Each partition's stored next offset, read once per transaction, and where the batch takes it:
    a record below it was stored before (a crash before the Kafka commit, a rebalance, a reset group)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.stored: dict[tuple[str, int], int | None] = {}
        self.next: dict[tuple[str, int], int] = {}

    async def is_new(self, record: ConsumerRecord) -> bool:
        """Whether the record was not stored before (and then it is, once the batch is saved)."""
        where = (record.topic, record.partition)
        if where not in self.next:
            row = await self.session.get(ConsumedOffset, where)
            self.stored[where] = row.next_offset if row is not None else None
            self.next[where] = self.stored[where] or 0
        if record.offset < self.next[where]:
            return False  # stored before: a redelivery
        self.next[where] = record.offset + 1
        return True

    async def save(self) -> None:
        for where, next_offset in self.next.items():
            await _move(self.session, where, self.stored[where], next_offset)


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
