"""Kafka records at the grain of an upload, on a real broker: an NB-IoT upload of 48 readings becomes one
record on the readings topic and one write of its household's state in the changelog; a malformed
reading is dead-lettered alone, at the bridge (MQTT contract) or at the worker (a record written past
the bridge); and records of the old one-reading format left in the topic are judged too (an upgrade)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from carewatch.cli.demo.faust import faust_system
from carewatch.domain import MeterKind, Reading, RejectReason
from carewatch.kafka import bootstrap_servers, changelog_topic
from carewatch.registry import Registry
from carewatch.runners.faust.readback import dead_letters, household_states, read_topic
from carewatch.runners.faust.system import wait_until_judged_and_stored
from ingest.subscriber import BrokerAddress
from ingest.wire import decode_record, encode_reading, encode_upload
from tests.services import mosquitto
from tests.stream.conftest import stream_settings
from tests.stream.test_dead_letters import publish

pytestmark = pytest.mark.service

REGISTRY = {"version": 1, "households": [
    {"household_id": "hh-1", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-1", "kind": "gas"}]},
    {"household_id": "hh-2", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-2", "kind": "gas"}]},
]}
SHANGHAI = timezone(timedelta(hours=8))
DAY = datetime(2026, 1, 5, tzinfo=SHANGHAI)


def day(meter: str, days: int = 0, values: int = 48) -> list[dict[str, object]]:
    """Half-hourly interval values of a meter over one day, cooking every 4 hours (the contract's items)."""
    first = DAY + timedelta(days=days)
    return [{"meter_id": meter, "at": (first + timedelta(minutes=30 * i)).isoformat(),
             "register_m3": round(100.0 + days + 0.05 * (i // 8), 3)} for i in range(values)]


def message(*items: dict[str, object]) -> bytes:
    return orjson.dumps({"v": 1, "readings": list(items)})


async def test_an_upload_is_one_record_and_one_state_write_and_a_malformed_reading_is_dead_lettered_alone(kafka_url, tmp_path):
    settings = stream_settings(kafka_url, tmp_path, REGISTRY)
    registry = Registry.from_document(REGISTRY)
    with mosquitto(tmp_path) as (host, port):
        async with faust_system(settings, registry, BrokerAddress(host, port), tmp_path, "uploads-bridge") as (bridge, worker, _):
            # One message of the gateway: hh-1's day (48 values) and hh-2's (24).
            await asyncio.to_thread(publish, host, port, [message(*day("gas-1"), *day("gas-2", values=24))])
            async with asyncio.timeout(30):
                while bridge.readings_seen < 72:
                    await asyncio.sleep(0.05)
            await wait_until_judged_and_stored(settings, [worker])
            writes = Counter(key for key, _ in await read_topic(settings, changelog_topic(settings)) if key and key[:1] != b"\x00")
            assert writes == {b"hh-1": 1, b"hh-2": 1}
            assert bridge.records_sent == 2

            # The next day's upload with one malformed value: the bridge refuses that value alone.
            second = day("gas-1", days=1)
            second[17] = {**second[17], "register_m3": "a lot"}
            await asyncio.to_thread(publish, host, port, [message(*second)])
            # Past the bridge: an upload with one reading that does not decode, and a one-reading
            # record of the format the bridge wrote before uploads.
            third = orjson.loads(encode_upload("hh-2", "gw-1", [
                Reading("hh-2", "gas-2", MeterKind.GAS, DAY + timedelta(days=1, minutes=30 * i), 101.0) for i in range(6)]))
            third["readings"][4]["at"] = "not a time"
            old = encode_reading(Reading("hh-2", "gas-2", MeterKind.GAS, DAY + timedelta(days=2), 101.5), "gw-1")
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(kafka_url), acks="all")
            await producer.start()
            try:
                await producer.send_and_wait(settings.kafka_topic_readings, orjson.dumps(third), key=b"hh-2")
                await producer.send_and_wait(settings.kafka_topic_readings, old, key=b"hh-2")
            finally:
                await producer.stop()
            async with asyncio.timeout(30):
                while bridge.readings_seen < 72 + 48:
                    await asyncio.sleep(0.05)
            await wait_until_judged_and_stored(settings, [worker])
            refused = await dead_letters(settings)
            states = await household_states(settings)
            records = [decode_record(value) for _, value in await read_topic(settings, settings.kafka_topic_readings)]

    assert sorted(len(record.readings) for record in records) == [1, 6, 24, 47, 48]
    assert sorted((letter.stage, letter.reason, letter.reading_index) for letter in refused) == [
        ("bridge", RejectReason.SCHEMA_VIOLATION, 17),
        ("worker", RejectReason.SCHEMA_VIOLATION, 4),
    ]
    at_worker = next(letter for letter in refused if letter.stage == "worker")
    assert orjson.loads(at_worker.payload)["at"] == "not a time"  # that reading, not the whole upload
    assert states["hh-1"].readings_accepted == 48 + 47
    assert states["hh-2"].readings_accepted == 24 + 5 + 1
