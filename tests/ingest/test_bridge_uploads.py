"""The bridge writes Kafka records at the grain of an upload: one record per household per MQTT message.

An NB-IoT meter uploads 24–48 interval values at once; one record per reading made the workers pay
Faust's per-record cost and a state write for every one of them.  The same on a real broker,
through the worker: `tests/stream/test_uploads.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from carewatch.domain import RejectReason
from carewatch.registry import Registry
from carewatch.settings import Settings
from ingest.bridge import KafkaBridge
from ingest.subscriber import InboundMessage
from ingest.wire import DeadLetterRecord, decode_record

DOCUMENT = {"version": 1, "households": [
    {"household_id": "hh-1", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-1", "kind": "gas"},
                                                              {"meter_id": "water-1", "kind": "water"}]},
    {"household_id": "hh-2", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-2", "kind": "gas"}]},
]}
RECEIVED = datetime(2026, 1, 6, 2, tzinfo=UTC)


def upload(*items: dict[str, object]) -> InboundMessage:
    body = {"v": 1, "readings": list(items)}
    return InboundMessage("carewatch/v1/gateways/gw-1/readings", orjson.dumps(body), 1, 1, RECEIVED)


def day(meter: str, values: int = 48, start: float = 100.0) -> list[dict[str, object]]:
    """A day of half-hourly interval values of one meter, as an NB-IoT meter uploads them once a day."""
    first = datetime(2026, 1, 5, tzinfo=UTC)
    return [{"meter_id": meter, "at": (first + timedelta(minutes=30 * i)).isoformat(), "register_m3": start + 0.01 * i}
            for i in range(values)]


def bridge() -> tuple[KafkaBridge, Settings]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return KafkaBridge(settings=settings, registry=Registry.from_document(DOCUMENT), producer=None,  # type: ignore[arg-type]
                       clock=lambda: RECEIVED), settings


def test_a_48_reading_upload_becomes_one_record_keyed_by_its_household():
    forwarding, settings = bridge()

    [record] = forwarding.translate(upload(*day("gas-1")))

    assert (record.topic, record.key, record.readings) == (settings.kafka_topic_readings, b"hh-1", 48)
    decoded = decode_record(record.value)
    assert decoded.household_id == "hh-1" and decoded.upload
    assert [reading.register_m3 for reading in decoded.readings] == [item["register_m3"] for item in day("gas-1")]  # type: ignore[union-attr]
    assert record.counted_as == ("forwarded", "", "contract")


def test_a_message_for_two_households_becomes_one_record_each_with_their_meters_in_the_message_order():
    forwarding, _ = bridge()
    gas, water, other = day("gas-1", 3), day("water-1", 3, 5.0), day("gas-2", 2, 7.0)

    records = forwarding.translate(upload(gas[0], other[0], water[0], gas[1], other[1], water[1], gas[2], water[2]))

    assert [(r.key, r.readings) for r in records] == [(b"hh-1", 6), (b"hh-2", 2)]
    hh1 = decode_record(records[0].value).readings
    assert [(r.meter_id, r.register_m3) for r in hh1] == [  # type: ignore[union-attr]
        ("gas-1", 100.0), ("water-1", 5.0), ("gas-1", 100.01), ("water-1", 5.01), ("gas-1", 100.02), ("water-1", 5.02)]


def test_a_malformed_reading_in_an_upload_is_dead_lettered_alone_and_the_other_47_go_in_one_record():
    forwarding, settings = bridge()
    items = day("gas-1")
    items[17] = {**items[17], "register_m3": "a lot"}

    records = forwarding.translate(upload(*items))

    [letter_record] = [r for r in records if r.topic == settings.kafka_topic_dead_letters]
    [readings_record] = [r for r in records if r.topic == settings.kafka_topic_readings]
    letter = DeadLetterRecord.decode(letter_record.value)
    assert (letter.stage, letter.reading_index, letter.meter_id) == ("bridge", 17, "gas-1")
    assert letter.reason is RejectReason.SCHEMA_VIOLATION
    assert readings_record.readings == 47 and len(decode_record(readings_record.value).readings) == 47
    assert letter_record.counted_as == ("rejected", "schema_violation", "contract")
