"""Ingest's reports from Kafka into ingest's tables: each record once, however often it is delivered.

Real SQLite; the records are aiokafka's own record type, as the consumer gets them
(the real-broker test is tests/stream/test_alert_service.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.loop_lag import stall_while
from carewatch.domain import MeterKind, Reading, RejectReason
from ingest.reports import IngestReportConsumer, ReadingUsageConsumer
from ingest.stats import read_stats
from ingest.usage import last_days
from ingest.wire import DeadLetterRecord, GatewayStatusRecord, encode_reading, encode_upload

DEAD = "t-dead-letters"
STATUS = "t-gateway-status"
READINGS = "t-readings"
AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def consumer(sessions: async_sessionmaker[AsyncSession]) -> IngestReportConsumer:
    return IngestReportConsumer(
        sessions, bootstrap_servers="127.0.0.1:9", dead_letter_topic=DEAD, gateway_status_topic=STATUS, group_id="g"
    )


def record(topic: str, offset: int, value: bytes, partition: int = 0) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"gw-1", value, None, 4, len(value), ())


def unknown_meter(n: int) -> bytes:
    return DeadLetterRecord(
        AT, "bridge", "carewatch/v1/gateways/gw-1/readings", RejectReason.UNKNOWN_METER,
        f"readings[{n}]: unknown meter", b"{}", "gw-1", "gas-9999", n,
    ).encode()


async def test_a_batch_delivered_again_is_stored_once(sessions):
    batch = [
        record(DEAD, 0, unknown_meter(0)),
        record(DEAD, 1, unknown_meter(1)),
        record(STATUS, 0, GatewayStatusRecord("gw-1", "offline", AT).encode()),
    ]
    assert await consumer(sessions).store(batch) == 3
    assert await consumer(sessions).store(batch) == 0  # another consumer after a lost commit: all seen already

    async with sessions() as session:
        stats = await read_stats(session)
    assert stats.rejected_by_reason == {"unknown_meter": 2}
    assert stats.gateways_offline == ["gw-1"]
    assert [(m.meter_id, m.readings) for m in stats.unknown_meters] == [("gas-9999", 2)]


async def test_an_overlapping_batch_stores_only_what_is_new_per_partition(sessions):
    reports = consumer(sessions)
    await reports.store([record(DEAD, 0, unknown_meter(0)), record(DEAD, 0, unknown_meter(0), partition=1)])
    overlapping = [record(DEAD, offset, unknown_meter(offset)) for offset in range(3)]
    assert await reports.store(overlapping + [record(DEAD, 0, unknown_meter(0), partition=1)]) == 2

    async with sessions() as session:
        assert (await read_stats(session)).rejected_by_reason == {"unknown_meter": 4}


async def test_two_consumers_storing_the_same_records_at_once_store_them_once(sessions):
    """A rebalance can hand a partition over while its old owner is still storing. (On SQLite the database's
    locks already serialise the two; the compare-and-set on the position is what holds on PostgreSQL.)"""
    batch = [record(DEAD, offset, unknown_meter(offset)) for offset in range(5)]
    first, second = consumer(sessions), consumer(sessions)
    await first.store([record(STATUS, 0, GatewayStatusRecord("gw-1", "online", AT).encode())])  # counters exist
    # handle: store, retried until the database takes it (the loser of the race reads the new position).
    await asyncio.wait_for(asyncio.gather(first.handle(batch), second.handle(batch)), 30)
    assert sorted([first.stored, second.stored]) == [0, 5]
    async with sessions() as session:
        assert (await read_stats(session)).rejected_by_reason == {"unknown_meter": 5}


async def test_a_record_that_does_not_decode_is_skipped_and_counted(sessions):
    reports = consumer(sessions)
    assert await reports.store([record(DEAD, 0, b"not json"), record(DEAD, 1, unknown_meter(1))]) == 1
    assert reports.undecodable == 1
    assert await reports.store([record(DEAD, 0, b"not json")]) == 0  # its position is past it all the same


async def test_readings_are_booked_into_hourly_use_once_however_often_they_are_delivered(sessions):
    usage = ReadingUsageConsumer(sessions, bootstrap_servers="127.0.0.1:9", readings_topic=READINGS, group_id="g")

    def reading(offset: int, minutes: int, register: float) -> ConsumerRecord:
        at = AT + timedelta(minutes=minutes)
        return record(READINGS, offset, encode_reading(Reading("hh-1", "gas-1", MeterKind.GAS, at, register), "gw-1"))

    first = [reading(0, 0, 10.0), reading(1, 30, 10.2), reading(2, 90, 10.5)]
    assert await usage.write(first) == 3
    assert await usage.write(first) == 0  # redelivered after a lost commit
    # Overlapping, with a record the workers dead-letter: only offsets 3 and 4 are new.
    assert await usage.write(first[1:] + [record(READINGS, 3, b"not a reading"), reading(4, 120, 10.6)]) == 1

    async with sessions() as session:
        hours, _ = await last_days(session, "hh-1", 7)
    assert [(h.hour.hour, round(h.used_m3, 6)) for h in hours] == [(8, 0.35), (9, 0.25)]


async def test_booking_a_night_bunch_of_uploads_never_stalls_the_event_loop_50_ms(sessions):
    # The alert service books the readings topic and serves the console on one event loop: a batch of 2,000 upload
    # records, each a household's day of hourly gas values (48,000 readings), decoded, queued for the archive and
    # booked hour by hour.
    usage = ReadingUsageConsumer(sessions, bootstrap_servers="127.0.0.1:9", readings_topic=READINGS, group_id="g", archive=True)

    def upload(offset: int, household: int, first: datetime, hours: int) -> ConsumerRecord:
        readings = [
            Reading(f"hh-{household:05d}", f"gas-{household:05d}", MeterKind.GAS, first + timedelta(hours=h), 10.0 + 0.01 * h)
            for h in range(hours)
        ]
        return record(READINGS, offset, encode_upload(f"hh-{household:05d}", "gw-1", readings), partition=household % 4)

    households = 2000
    assert await usage.write([upload(n, n, AT - timedelta(hours=1), 1) for n in range(households)]) == households
    night = [upload(households + n, n, AT, 24) for n in range(households)]
    booked = await stall_while(usage.write(night))

    assert booked.result == households * 24
    assert booked.cpu > 0.1, f"the batch took {booked.cpu:.3f} s: too few readings to show a stall"
    assert booked.longest_cpu < 0.05, f"the event loop stalled {booked.longest_cpu * 1000:.0f} ms while {households} uploads were booked"
