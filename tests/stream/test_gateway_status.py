"""A gateway's status on a real broker, the Faust path: the retained offline status (the broker's last will)
goes through the bridge to the readings topic once per household of the gateway, and the worker holding
each tells its monitor, whose stored state then holds when the gateway went offline.  What the monitor makes
of it (meter_silent after the grace) without a broker: `tests/runners/test_gateway_status.py`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import orjson
import paho.mqtt.client as mqtt
import pytest

from carewatch.cli.demo.faust import faust_system
from carewatch.registry import Registry
from carewatch.runners.faust.readback import dead_letters, household_states, read_topic
from carewatch.runners.faust.system import wait_until_judged_and_stored
from ingest.subscriber import BrokerAddress
from ingest.wire import decode_record
from tests.services import mosquitto
from tests.stream.conftest import stream_settings

pytestmark = pytest.mark.service

REGISTRY = {"version": 1, "households": [
    {"household_id": "hh-1", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-1", "kind": "gas"}]},
    {"household_id": "hh-2", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-2", "kind": "gas"}]},
    {"household_id": "hh-3", "gateway_id": "gw-2", "meters": [{"meter_id": "gas-3", "kind": "gas"}]},
]}
START = datetime(2026, 1, 5, 8, tzinfo=timezone(timedelta(hours=8)))


def as_gateway(host: str, port: int, gateway: str, readings: list[dict[str, object]], dies: bool) -> None:
    """Connect with a last will, say online, send the readings; then vanish (no DISCONNECT: the broker
    publishes the will) or leave cleanly."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=gateway)
    status = f"carewatch/v1/gateways/{gateway}/status"
    client.will_set(status, b'{"state":"offline"}', qos=1, retain=True)
    client.connect(host, port)
    client.loop_start()
    client.publish(status, b'{"state":"online"}', qos=1, retain=True).wait_for_publish(10)
    body = orjson.dumps({"v": 1, "readings": readings})
    client.publish(f"carewatch/v1/gateways/{gateway}/readings", body, qos=1).wait_for_publish(10)
    client.loop_stop()
    if dies:
        client.socket().close()  # type: ignore[union-attr]
    else:
        client.disconnect()


def quarter_hours(meter: str) -> list[dict[str, object]]:
    return [{"meter_id": meter, "at": (START + timedelta(minutes=15 * q)).isoformat(), "register_m3": 5.0} for q in range(9)]


async def test_a_gateways_last_will_reaches_the_monitor_of_every_household_on_it(kafka_url, tmp_path):
    settings = stream_settings(kafka_url, tmp_path, REGISTRY)
    registry = Registry.from_document(REGISTRY)
    with mosquitto(tmp_path) as (host, port):
        async with faust_system(settings, registry, BrokerAddress(host, port), tmp_path, "status-bridge") as (bridge, worker, _):
            await asyncio.to_thread(as_gateway, host, port, "gw-1", quarter_hours("gas-1") + quarter_hours("gas-2"), True)
            await asyncio.to_thread(as_gateway, host, port, "gw-2", quarter_hours("gas-3"), False)
            async with asyncio.timeout(30):  # online and readings of both, and gw-1's will
                while bridge.messages_forwarded < 5:
                    await asyncio.sleep(0.05)
            await wait_until_judged_and_stored(settings, [worker])
            states = await household_states(settings)
            refused = await dead_letters(settings)
            told = [decode_record(value) for _, value in await read_topic(settings, settings.kafka_topic_readings)]

    assert refused == []
    statuses = sorted((record.household_id, record.status.online) for record in told if record.status is not None)
    assert statuses == [("hh-1", False), ("hh-1", True), ("hh-2", False), ("hh-2", True), ("hh-3", True)]
    for household in ("hh-1", "hh-2"):
        assert states[household].monitor._silence.offline_s is not None, household
        assert states[household].readings_accepted == 9
    assert states["hh-3"].monitor._silence.offline_s is None and states["hh-3"].monitor._silence.online
