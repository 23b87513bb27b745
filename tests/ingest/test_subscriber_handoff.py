"""The network thread's hand-off into the inbox (`MqttSubscriber._on_message`), without a broker: messages keep
their order, the thread waits while the inbox is full (back-pressure onto the broker: nothing is acknowledged
that is not taken), and a stop frees a waiting thread without handing its message on."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest

from ingest.subscriber import BrokerAddress, MqttSubscriber

pytestmark = pytest.mark.timeout(30)

TOPIC = "carewatch/v1/gateways/gw-1/readings"


def delivered(mid: int) -> SimpleNamespace:
    """What paho hands ``on_message``: the fields the subscriber reads."""
    return SimpleNamespace(topic=TOPIC, payload=f"{mid}".encode(), mid=mid, qos=1)


def deliver_from_a_thread(subscriber: MqttSubscriber, mids: range) -> threading.Thread:
    thread = threading.Thread(target=lambda: [subscriber._on_message(None, None, delivered(m)) for m in mids], daemon=True)
    thread.start()
    return thread


async def test_messages_arrive_in_order_and_the_network_thread_waits_for_room() -> None:
    subscriber = MqttSubscriber(BrokerAddress("127.0.0.1", 1), "test", "carewatch/v1", queue_size=3)  # never connected
    network = deliver_from_a_thread(subscriber, range(1, 8))
    await asyncio.sleep(0.3)
    assert network.is_alive()  # three handed off, the fourth waits for room
    assert subscriber.inbox.qsize() + len(subscriber._arrived) == 3
    taken = []
    while len(taken) < 7:
        batch = await asyncio.wait_for(subscriber.next_batch(2), 5)
        assert len(batch) <= 2
        taken.extend(message.mid for message in batch)
    assert taken == list(range(1, 8))
    network.join(5)
    assert not network.is_alive()


async def test_a_stop_frees_a_network_thread_waiting_for_room() -> None:
    subscriber = MqttSubscriber(BrokerAddress("127.0.0.1", 1), "test", "carewatch/v1", queue_size=1)
    network = deliver_from_a_thread(subscriber, range(1, 3))
    await asyncio.sleep(0.2)
    subscriber._stopping = True  # what stop() sets before it disconnects
    await asyncio.to_thread(network.join, 2)
    assert not network.is_alive()
    await asyncio.sleep(0)
    assert [m.mid for m in await subscriber.next_batch(10, 0.1)] == [1]  # the second was not handed on: redelivered later
