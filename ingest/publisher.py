"""Hands what the HTTP push endpoint received to the broker, so both engines take it like any MQTT message.

``publish`` returns once the broker has acknowledged the message (QoS 1 PUBACK): from then on the broker
holds it for the ingest subscriber's persistent session, and the platform may be told 200.
"""

from __future__ import annotations

import asyncio

import paho.mqtt.client as mqtt

from ingest.subscriber import BrokerAddress

PUBLISH_TIMEOUT_S = 5.0


class MqttPublisher:
    def __init__(self, address: BrokerAddress, client_id: str):
        self.address = address
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if address.username:
            self._client.username_pw_set(address.username, address.password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self._client.connect, self.address.host, self.address.port, 30)
        except OSError as exc:
            raise ConnectionError(f"cannot reach the MQTT broker at {self.address.host}:{self.address.port}: {exc!r}") from exc
        self._client.loop_start()

    async def stop(self) -> None:
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the broker's acknowledgement; raises ConnectionError when it does not come."""
        info = self._client.publish(topic, payload, qos=1)
        try:
            await asyncio.to_thread(info.wait_for_publish, PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:
            raise ConnectionError(f"the MQTT broker did not take a message on {topic!r}: {exc}") from exc
        if not info.is_published():
            raise ConnectionError(f"the MQTT broker did not acknowledge a message on {topic!r} within {PUBLISH_TIMEOUT_S:.0f} s")
