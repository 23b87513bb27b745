"""A dead letter can always be kept: whatever text a runner puts in it, the database and Kafka take it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from carewatch.db import make_engine, make_sessions
from carewatch.domain import RejectReason
from carewatch.schema import create_schema
from ingest.models import DeadLetter
from ingest.records import BatchRecord, DeadLetterEntry, ensure_counters, write_batch
from ingest.wire import DeadLetterRecord

RECEIVED = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
HOSTILE = "gas\x00\ud800-" + "x" * 300
"""NUL (PostgreSQL refuses it), a lone surrogate (no UTF-8 encoder takes it), longer than any id column."""


async def test_a_dead_letter_holding_text_no_database_accepts_is_stored_escaped(database_url):
    engine = make_engine(database_url)
    await create_schema(engine)
    sessions = make_sessions(engine)
    record = BatchRecord()
    record.reject(DeadLetterEntry(RECEIVED, f"carewatch/v1/gateways/{HOSTILE}/readings", HOSTILE,
                                  RejectReason.PROCESSING_ERROR, f"judging failed: {HOSTILE}", b"\x00\xff", HOSTILE, 0))
    try:
        async with sessions.begin() as session:
            await ensure_counters(session)
            await write_batch(session, record)
        async with sessions() as session:
            (stored,) = (await session.execute(select(DeadLetter))).scalars()
    finally:
        await engine.dispose()

    assert stored.detail.startswith("judging failed: gas\\x00\\ud800-xxx")
    assert stored.topic.startswith("carewatch/v1/gateways/gas\\x00\\ud800-") and len(stored.topic) <= 256
    assert stored.meter_id is not None and stored.meter_id.startswith("gas\\x00\\ud800-") and len(stored.meter_id) <= 64
    assert stored.gateway_id is not None and len(stored.gateway_id) <= 64
    assert stored.payload == b"\x00\xff", "the payload is kept verbatim"


def test_a_dead_letter_record_holding_text_no_json_encoder_accepts_goes_to_kafka_escaped():
    record = DeadLetterRecord(RECEIVED, "worker", f"readings/0/{HOSTILE}", RejectReason.PROCESSING_ERROR,
                              HOSTILE, b"\x00\xff", HOSTILE, HOSTILE, 3)
    decoded = DeadLetterRecord.decode(record.encode())
    assert decoded.detail.startswith("gas\\x00\\ud800-xxx")
    assert decoded.source.startswith("readings/0/gas\\x00\\ud800-")
    assert decoded.meter_id is not None and decoded.meter_id.startswith("gas\\x00\\ud800-")
    assert decoded.payload == b"\x00\xff" and decoded.reading_index == 3
