"""Poison on both sides of Kafka: what cannot be judged lands on the dead-letter topic with its reason,
and the stream goes on (Faust would otherwise ack a crashed event silently)."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from carewatch.domain import RejectReason
from carewatch.kafka import bootstrap_servers
from carewatch.registry import Registry
from carewatch.cli.demo.faust import faust_system
from carewatch.runners.faust.readback import dead_letters, household_states
from carewatch.runners.faust.system import wait_until_judged_and_stored
from ingest.subscriber import BrokerAddress
from tests.services import mosquitto
from tests.stream.conftest import stream_settings

pytestmark = pytest.mark.service

REGISTRY = {"version": 1, "households": [{"household_id": "hh-1", "gateway_id": "gw-1",
                                           "meters": [{"meter_id": "gas-1", "kind": "gas"}]}]}


def reading(hour: int, register: float) -> bytes:
    return orjson.dumps({"v": 1, "readings": [{"meter_id": "gas-1", "at": f"2026-01-05T{hour:02d}:00:00+08:00",
                                                 "register_m3": register}]})


def publish(host: str, port: int, payloads: list[bytes]) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw-1")
    client.connect(host, port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish("carewatch/v1/gateways/gw-1/readings", payload, qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


async def test_poison_messages_land_on_the_dead_letter_topic_with_their_reason_and_the_stream_goes_on(kafka_url, tmp_path):
    settings = stream_settings(kafka_url, tmp_path, REGISTRY)
    registry = Registry.from_document(REGISTRY)
    with mosquitto(tmp_path) as (host, port):
        async with faust_system(settings, registry, BrokerAddress(host, port), tmp_path, "poison-bridge") as (bridge, worker, _):
            await asyncio.to_thread(publish, host, port, [reading(1, 10.0), b"{oops", reading(2, 10.5)])
            # Poison written straight to Kafka, past the bridge: not a reading, and a household no worker knows.
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(kafka_url), acks="all")
            await producer.start()
            try:
                await producer.send_and_wait(settings.kafka_topic_readings, b"\x00not json", key=b"hh-1")
                stranger = orjson.dumps({"v": 1, "household_id": "hh-404", "meter_id": "gas-404", "kind": "gas",
                                         "at": "2026-01-05T03:00:00+08:00", "register_m3": 1.0})
                await producer.send_and_wait(settings.kafka_topic_readings, stranger, key=b"hh-404")
            finally:
                await producer.stop()
            await asyncio.to_thread(publish, host, port, [reading(3, 11.0), reading(4, 11.5)])
            async with asyncio.timeout(30):
                while bridge.readings_seen < 4:
                    await asyncio.sleep(0.05)
            await wait_until_judged_and_stored(settings, [worker])
            refused = await dead_letters(settings)
            states = await household_states(settings)

    by_stage = sorted((letter.stage, letter.reason) for letter in refused)
    assert by_stage == [
        ("bridge", RejectReason.MALFORMED_JSON),
        ("worker", RejectReason.SCHEMA_VIOLATION),
        ("worker", RejectReason.UNKNOWN_METER),
    ]
    poison = next(letter for letter in refused if letter.reason is RejectReason.SCHEMA_VIOLATION)
    assert poison.payload == b"\x00not json" and "not JSON" in poison.detail
    assert next(letter for letter in refused if letter.stage == "bridge").payload == b"{oops"
    assert states["hh-1"].readings_accepted == 4  # the readings after the poison were judged
