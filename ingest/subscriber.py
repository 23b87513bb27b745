"""The MQTT side of ingest: a paho 2.x subscriber that hands messages to asyncio.

Messages are acknowledged (PUBACK) only when the caller says their contents are
durably handed off, so a crash before that makes the broker deliver them again
(persistent session: fixed client id, clean session off; with a session expiry,
MQTT 5 with clean start off and that expiry, so the broker keeps the session
and its unacknowledged messages that long while we are away).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from carewatch import metrics
from carewatch.clock import Clock, wall_clock

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
ROOM_WAIT_S = 0.5
"""How often the network thread, waiting for room in the inbox, looks whether it stops and keeps the link alive."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"MQTT URL {url!r} must look like mqtt://[user:password@]host:port")
        return cls(parts.hostname, parts.port or 1883, parts.username, parts.password)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime


class MqttSubscriber:
    """Subscribes to every gateway's readings and status topics, and to ``extra_topics`` (the integrations')."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        topic_prefix: str,
        queue_size: int = 1_000,
        session_expiry_s: int | None = None,
        extra_topics: tuple[str, ...] = (),
        keepalive_s: int = 30,
        clock: Clock = wall_clock,
    ):
        """``clock`` stamps each message's ``received_at`` (a dead letter's time; the console demo's simulated time)."""
        self.address = address
        self.clock = clock
        self.topic_prefix = topic_prefix
        self.extra_topics = extra_topics
        self.capacity = queue_size
        """Messages handed off and not yet taken by `next_batch`, at most: the network thread waits for room."""
        self.inbox: asyncio.Queue[InboundMessage] = asyncio.Queue()
        """Bounded by ``capacity`` through ``_room`` (the network thread cannot wait on an asyncio queue)."""
        self._room = threading.Semaphore(queue_size)
        self._arrived: deque[InboundMessage] = deque()
        """Handed off by the network thread, not yet moved into the inbox by the event loop."""
        self._wake_pending = False
        """A call to `_move_arrived` is scheduled on the event loop and has not begun yet."""
        self.connected = asyncio.Event()
        self.sessions_lost = 0
        """Reconnects on which the broker no longer had our session: what it held for us was lost with it."""
        self._had_session = False
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._session_expiry_s = session_expiry_s
        self._keepalive_s = keepalive_s
        if session_expiry_s is None:  # MQTT 3.1.1: the broker keeps the session until it is cleaned
            self._client = mqtt.Client(
                mqtt.CallbackAPIVersion.VERSION2,
                client_id=client_id,
                clean_session=False,
                protocol=mqtt.MQTTv311,
                manual_ack=True,
            )
        else:
            self._client = mqtt.Client(
                mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
            )
        if address.username:
            self._client.username_pw_set(address.username, address.password)
        # Enough QoS 1 messages in flight to keep the pipeline busy while a batch is being committed.
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        # Back within 2 s of the broker's return: until then its queue for us fills, and a broker that lost our
        # session drops what the gateways publish before we subscribe again (issue 11, item 5).
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    async def start(self, timeout: float = 10.0) -> None:
        """Connect and subscribe; a ConnectionError naming the broker when that does not happen within ``timeout``
        (the network thread is stopped within STOP_TIMEOUT_S, so the process can exit and be restarted)."""
        try:
            await asyncio.wait_for(asyncio.to_thread(self._connect), timeout)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(
                f"cannot reach the MQTT broker at {self.address.host}:{self.address.port}: {exc!r}"
            ) from exc
        self._client.loop_start()
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
        except TimeoutError as exc:
            await self.stop()
            raise ConnectionError(
                f"the MQTT broker at {self.address.host}:{self.address.port} did not accept the connection and "
                f"subscription within {timeout:.0f} s"
            ) from exc

    def _connect(self) -> None:
        if self._session_expiry_s is None:
            self._client.connect(self.address.host, self.address.port, self._keepalive_s)
            return
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self._session_expiry_s
        # Flow control: the broker keeps at most this many unacknowledged messages in flight to us, and we
        # acknowledge only after the hand-off, so a backlog can never overflow the inbox.
        properties.ReceiveMaximum = self.capacity
        # paho keeps clean_start and the properties for its automatic reconnects.
        self._client.connect(self.address.host, self.address.port, self._keepalive_s, clean_start=False, properties=properties)

    async def stop(self) -> None:
        """Disconnect; unacknowledged messages stay with the broker.  Raises TimeoutError when the network
        thread does not end within STOP_TIMEOUT_S (the caller exits anyway; the broker redelivers)."""
        self._stopping = True  # a hand-off blocked on a full inbox gives up within half a second
        self._client.disconnect()
        await asyncio.wait_for(asyncio.to_thread(self._client.loop_stop), STOP_TIMEOUT_S)

    async def next_batch(self, max_messages: int, wait: float | None = None) -> list[InboundMessage]:
        """The messages waiting in the inbox, at most ``max_messages``, as soon as there is one;
        an empty list when none came within ``wait`` seconds (None: wait for one)."""
        try:
            first = await asyncio.wait_for(self.inbox.get(), wait)
        except TimeoutError:
            return []
        batch = [first]
        while len(batch) < max_messages and not self.inbox.empty():
            batch.append(self.inbox.get_nowait())
        self._room.release(len(batch))
        return batch

    def ack(self, message: InboundMessage) -> None:
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    # paho calls these on its network thread; an exception escaping them would stop the loop.
    def _on_connect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        try:
            if reason_code.is_failure:
                log.error("MQTT broker refused the connection: %s", reason_code)
                return
            if self._had_session:
                metrics.MQTT_RECONNECTS.inc()
            if self._had_session and not flags.session_present:
                self.sessions_lost += 1
                log.error(
                    "the MQTT broker at %s:%d no longer has carewatch's session: the messages it held for carewatch "
                    "(not yet acknowledged, or queued) are lost. Its persistence must save to a writable "
                    "persistence_location and the session must not expire (deploy/README.md, 'Broker restarts')",
                    self.address.host, self.address.port,
                )
            self._had_session = True
            # Subscribing here restores the subscriptions after every reconnect.
            client.subscribe(
                [(f"{self.topic_prefix}/gateways/+/readings", 1), (f"{self.topic_prefix}/gateways/+/status", 1)]
                + [(topic, 1) for topic in self.extra_topics]
            )
            if flags.session_present:
                # The broker kept our session and its subscriptions, and may now send its backlog ahead of the
                # SUBACK: waiting for the SUBACK behind a full inbox would deadlock the start.
                self._loop.call_soon_threadsafe(self.connected.set)
        except Exception:
            log.exception("error in MQTT on_connect")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):  # type: ignore[no-untyped-def]
        try:
            refused = [code for code in reason_codes if code.is_failure]
            if refused:
                log.error("MQTT broker refused the subscription: %s", refused)
                return
            # Connected means subscribed: a message published after start() returns is ours.
            self._loop.call_soon_threadsafe(self.connected.set)
        except Exception:
            log.exception("error in MQTT on_subscribe")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):  # type: ignore[no-untyped-def]
        try:
            self._loop.call_soon_threadsafe(self.connected.clear)
            if reason_code != 0:
                log.warning("MQTT connection lost (%s); reconnecting", reason_code)
        except Exception:
            log.exception("error in MQTT on_disconnect")

    def _on_message(self, client, userdata, message):  # type: ignore[no-untyped-def]
        """One message into the inbox, without waiting for the event loop while the inbox has room.

        The loop is woken once for however many messages arrive before it runs (`_move_arrived`), not
        once per message with a task and a future each: that hand-off cost more CPU than paho itself."""
        try:
            inbound = InboundMessage(message.topic, bytes(message.payload), message.mid, message.qos, self.clock())
            # Blocks this network thread when the pipeline falls behind: back-pressure onto the broker.
            if not self._wait_for_room():
                return  # shutting down: unacknowledged, so the broker delivers it again
            self._arrived.append(inbound)
            # Read after the append: a `_move_arrived` that has not yet begun takes this message too (it clears
            # the flag before it drains); otherwise we schedule one.
            if not self._wake_pending:
                self._wake_pending = True
                self._loop.call_soon_threadsafe(self._move_arrived)
        except Exception:
            log.exception("could not hand an MQTT message on %r to the pipeline", getattr(message, "topic", "?"))

    def _wait_for_room(self) -> bool:
        """(On the network thread.)  Wait for room in the inbox; False when the subscriber stops meanwhile.

        paho's loop neither reads nor writes while its thread waits here (through a stalled event loop: 26–32 s in
        a city's cold start), and a broker that hears nothing for 1.5 keep-alives closes the link ("Unspecified
        error" here): a PINGREQ is written every half keep-alive from here, with whatever else is queued.  Its
        answer is left to paho; it reads it once there is room (a PINGRESP it awaits is late only if nothing at all
        was read for a keep-alive, and the message just handed off was)."""
        client, pinged_at = self._client, -math.inf
        while not self._room.acquire(timeout=ROOM_WAIT_S):
            if self._stopping:
                return False
            now = time.monotonic()
            if now - pinged_at >= self._keepalive_s / 2:
                client._send_simple_command(mqtt.PINGREQ)  # not _send_pingreq: that would have paho await the answer
                pinged_at = now
            client.loop_write()  # on paho's own thread, between two packets it reads: nothing else writes
        return True

    def _move_arrived(self) -> None:
        """(On the event loop.)  Everything the network thread handed off, into the inbox in arrival order."""
        self._wake_pending = False
        arrived, inbox = self._arrived, self.inbox
        while arrived:
            inbox.put_nowait(arrived.popleft())
