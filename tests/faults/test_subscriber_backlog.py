"""Start-up with a backlog waiting in the broker cannot hang: the subscriber comes up and drains it."""

from __future__ import annotations

import asyncio

import paho.mqtt.client as mqtt
import pytest

from ingest.subscriber import BrokerAddress, MqttSubscriber
from tests.services import mosquitto

pytestmark = [pytest.mark.service, pytest.mark.timeout(90)]

PREFIX = "carewatch/v1"
BACKLOG = 3000


def publish_backlog(host: str, port: int, count: int) -> None:
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="backlog-publisher")
    publisher.max_inflight_messages_set(100)
    publisher.max_queued_messages_set(0)
    publisher.connect(host, port)
    publisher.loop_start()
    infos = [publisher.publish(f"{PREFIX}/gateways/gw-1/readings", b"{}", qos=1) for _ in range(count)]
    for info in infos:
        info.wait_for_publish(30)
    publisher.disconnect()
    publisher.loop_stop()


@pytest.mark.parametrize("session_expiry_s", [None, 3600], ids=["mqtt311", "mqtt5"])
async def test_a_restart_with_a_backlog_larger_than_the_inbox_comes_up_and_drains_it(tmp_path, session_expiry_s):
    extra = "max_inflight_messages 0\n"  # the broker may send as many as it likes before our subscription is confirmed
    with mosquitto(tmp_path, extra) as (host, port):
        address = BrokerAddress(host, port)
        first = MqttSubscriber(address, "carewatch-ingest", PREFIX, queue_size=100, session_expiry_s=session_expiry_s)
        await first.start()
        await asyncio.wait_for(first.stop(), 10)  # the persistent session stays with the broker
        await asyncio.to_thread(publish_backlog, host, port, BACKLOG)

        restarted = MqttSubscriber(address, "carewatch-ingest", PREFIX, queue_size=100, session_expiry_s=session_expiry_s)
        await asyncio.wait_for(restarted.start(timeout=10), 20)
        received = 0
        while received < BACKLOG:
            batch = await asyncio.wait_for(restarted.next_batch(50), 20)
            for message in batch:
                restarted.ack(message)
            received += len(batch)
        assert received == BACKLOG
        await asyncio.wait_for(restarted.stop(), 10)
