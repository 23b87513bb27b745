"""Start-up with a backlog waiting in the broker cannot hang: the subscriber comes up and drains it; an event loop
stalled with the inbox full (the network thread waiting for room) does not cost the connection."""

from __future__ import annotations

import asyncio
import logging
import time

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
    infos = [publisher.publish(f"{PREFIX}/gateways/gw-1/readings", f"{n}".encode(), qos=1) for n in range(count)]
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


def hold_the_interpreter(seconds: float) -> None:
    """The event loop stalled by synchronous work, as judging a day-long batch on the event clock does."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        sum(range(1000))


async def test_an_event_loop_stalled_for_several_keep_alives_with_the_inbox_full_keeps_the_connection(tmp_path, caplog):
    """MQTT 3.1.1, as the embedded runner speaks it, and a broker that sends more than the inbox holds (as mosquitto
    2.0.11 did, 1,000 + the messages sent while the acknowledgements came in, with an in-flight limit of 1,000 and
    even under MQTT 5's Receive Maximum): the network thread waits for room through the whole stall."""
    keepalive_s, burst = 2, 400
    with mosquitto(tmp_path, "max_inflight_messages 0\nlog_type all\n") as (host, port):
        subscriber = MqttSubscriber(BrokerAddress(host, port), "carewatch-ingest", PREFIX, queue_size=50, keepalive_s=keepalive_s)
        await subscriber.start()
        await asyncio.to_thread(publish_backlog, host, port, burst)
        payloads: list[bytes] = []
        with caplog.at_level(logging.WARNING, logger="ingest.subscriber"):
            while len(payloads) < burst:
                batch = await asyncio.wait_for(subscriber.next_batch(50), 20)
                if not payloads:
                    hold_the_interpreter(4 * keepalive_s)
                for message in batch:
                    subscriber.ack(message)
                payloads.extend(message.payload for message in batch)
        await asyncio.wait_for(subscriber.stop(), 10)
    broker_log = (tmp_path / "mosquitto.log").read_text()
    assert "exceeded timeout" not in broker_log
    assert not [record.getMessage() for record in caplog.records if "connection lost" in record.getMessage()]
    assert payloads == [f"{n}".encode() for n in range(burst)]  # each once, in order: nothing redelivered
