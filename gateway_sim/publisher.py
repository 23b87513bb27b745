"""Publish a simulation to a real broker: one paho connection per gateway, a global lockstep clock.

Each gateway is its own MQTT 3.1.1 client (client id = gateway id) with a retained
``offline`` last will, exactly like a device in the field.  paho runs each client's
network loop in its own thread; the orchestration runs on asyncio and never blocks
it (connects and shutdowns go through ``asyncio.to_thread``, PUBACKs come back as
futures).  Messages go out in the order of :meth:`Simulation.messages`, one upload
step at a time, and a step is finished only when the broker has acknowledged every
message of it, so a fast simulation cannot flood the broker.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from gateway_sim.payloads import OFFLINE, ONLINE, status_topic

if TYPE_CHECKING:
    from gateway_sim.simulation import Simulation

log = logging.getLogger(__name__)

KEEPALIVE_S = 60
CONNECT_TIMEOUT_S = 10.0
ACK_TIMEOUT_S = 60.0
CONNECT_CONCURRENCY = 16

F = TypeVar("F", bound=Callable[..., None])


class BrokerUnavailable(ConnectionError):
    """The broker cannot be reached, or refused a gateway; the message names host:port."""


class PublishFailed(RuntimeError):
    """The broker stopped acknowledging messages."""


@dataclass(frozen=True, slots=True)
class PublishStats:
    messages: int
    """Messages the simulator published (readings batches and online statuses)."""
    readings: int
    """Meter readings inside the published batches."""
    sim_end: datetime
    """Where the simulated clock stopped (the end of the run)."""
    gateways: int
    dropped_connections: int
    """Gateways that fell silent by dropping their connection (the broker sent their last will)."""
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class StepPublished:
    """An upload step the broker has acknowledged all of (``publish_simulation``'s ``after_step``)."""

    at: datetime
    """The step's last simulated time."""
    readings: int
    """Readings published so far, this step's included."""
    messages: int
    """Messages a subscriber to every gateway's topics has been sent so far: those published, and the last will of
    each gateway dropped."""


def _guarded(callback: F) -> F:
    """paho lets a callback's exception end the network loop, silently; log it and go on instead."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            log.exception("gateway_sim: paho callback %s failed; the network loop goes on", callback.__name__)

    return wrapper  # type: ignore[return-value]


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


class GatewayLink:
    """One gateway's MQTT connection."""

    def __init__(
        self,
        gateway_id: str,
        host: str,
        port: int,
        *,
        topic_prefix: str,
        credentials: tuple[str, str | None] | None,
        loop: asyncio.AbstractEventLoop,
    ):
        self.gateway_id = gateway_id
        self.host = host
        self.port = port
        self._status_topic = status_topic(topic_prefix, gateway_id)
        self._loop = loop
        self._lock = threading.Lock()
        self._acked_early: set[int] = set()
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._connack: asyncio.Future[mqtt.ReasonCode] = loop.create_future()
        self._was_connected = False
        self._leaving = False

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=gateway_id, clean_session=True, protocol=mqtt.MQTTv311
        )
        if credentials is not None:
            client.username_pw_set(*credentials)
        client.will_set(self._status_topic, OFFLINE, qos=1, retain=True)
        client.max_queued_messages_set(0)  # unbounded: lockstep already limits what is outstanding
        client.on_connect = _guarded(self._on_connect)
        client.on_publish = _guarded(self._on_publish)
        client.on_disconnect = _guarded(self._on_disconnect)
        self._client = client

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def connect(self, timeout: float = CONNECT_TIMEOUT_S) -> None:
        try:
            await asyncio.to_thread(self._client.connect, self.host, self.port, KEEPALIVE_S)
        except OSError as exc:
            raise BrokerUnavailable(
                f"gateway {self.gateway_id} cannot connect to the MQTT broker at {self.address}: {exc} "
                "(is the broker running, and are host and port right?)"
            ) from exc
        self._client.loop_start()
        try:
            reason = await asyncio.wait_for(self._connack, timeout)
        except TimeoutError:
            await asyncio.to_thread(self._client.loop_stop)
            raise BrokerUnavailable(
                f"the MQTT broker at {self.address} did not answer gateway {self.gateway_id}'s CONNECT "
                f"within {timeout:.0f} s"
            ) from None
        if reason.is_failure:
            self._leaving = True
            await asyncio.to_thread(self._client.loop_stop)
            raise BrokerUnavailable(
                f"the MQTT broker at {self.address} refused gateway {self.gateway_id}: {reason} "
                "(check the user name / password and the broker's ACL)"
            )

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> asyncio.Future[None]:
        """Send with QoS 1; the future completes when the broker's PUBACK arrives."""
        acked: asyncio.Future[None] = self._loop.create_future()
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        # NO_CONN: paho queued it and sends it once its automatic reconnect succeeds.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise PublishFailed(f"gateway {self.gateway_id} could not publish to {topic}: {mqtt.error_string(info.rc)}")
        with self._lock:
            # The PUBACK may have come back before we got here.
            if info.mid in self._acked_early:
                self._acked_early.discard(info.mid)
                acked.set_result(None)
            else:
                self._waiting[info.mid] = acked
        return acked

    async def drop(self) -> None:
        """Vanish like a gateway losing power: no DISCONNECT, so the broker publishes the last will."""
        self._leaving = True
        await asyncio.to_thread(self._drop_now)

    async def close(self) -> None:
        """A clean DISCONNECT: the broker discards the last will and the retained status stays online."""
        self._leaving = True
        await asyncio.to_thread(self._close_now)

    # --- paho thread ------------------------------------------------------------------

    def _drop_now(self) -> None:
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _close_now(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: mqtt.ReasonCode, properties: Any
    ) -> None:
        if self._was_connected and not reason.is_failure:
            # paho reconnected by itself after a network problem; the broker has sent our will
            # meanwhile, so say we are back, as a real gateway does on every connect.
            log.warning("gateway %s reconnected to %s", self.gateway_id, self.address)
            self._loop.call_soon_threadsafe(self._announce_online_again)
            return
        self._was_connected = not reason.is_failure
        self._loop.call_soon_threadsafe(_settle, self._connack, reason)

    def _announce_online_again(self) -> None:
        if not self._leaving:
            self.publish(self._status_topic, ONLINE, retain=True)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        with self._lock:
            waiting = self._waiting.pop(mid, None)
            if waiting is None:
                self._acked_early.add(mid)
                return
        self._loop.call_soon_threadsafe(_settle, waiting, None)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not self._leaving:
            log.warning(
                "gateway %s lost its connection to %s (%s); paho reconnects", self.gateway_id, self.address, reason
            )


def credentials_for(
    gateway_id: str, username: str | None, password: str | None
) -> tuple[str, str | None] | None:
    """Broker credentials of one gateway.

    With a password but no user name, each gateway logs in as its own id, which
    lets a broker ACL pin it to its own topics (``pattern write carewatch/v1/gateways/%u/#``).
    A user name may contain ``{gateway_id}``; a plain one is shared by every gateway.
    """
    if username is None and password is None:
        return None
    if username is None:
        return gateway_id, password
    return username.replace("{gateway_id}", gateway_id), password


async def publish_simulation(
    simulation: Simulation,
    host: str,
    port: int,
    *,
    speed: float | None = None,
    username: str | None = None,
    password: str | None = None,
    on_progress: Callable[[datetime, int], None] | None = None,
    wait_until: Callable[[datetime], Awaitable[None]] | None = None,
    after_step: Callable[[StepPublished], Awaitable[None]] | None = None,
) -> PublishStats:
    """Publish every message of ``simulation`` in order; see the module docstring.

    ``speed`` keeps one pace for the whole run; ``wait_until`` (instead of ``speed``) is awaited before each
    message with its simulated time and returns when the caller's clock has reached it: a pace that changes
    while the run goes on (the console demo: fast, then slow near an incident). ``after_step`` is awaited after
    each upload step, once the broker has acknowledged all of it (`StepPublished`): the next step waits for the
    caller (the headless demo judges the step and lets the ladder act on it first, so what the ladder does depends
    on the simulated time, not on the machine's speed).
    """
    if speed is not None and not speed > 0:
        raise ValueError(f"speed must be positive (simulated seconds per real second), got {speed}")
    if speed is not None and wait_until is not None:
        raise ValueError("give speed or wait_until, not both")
    loop = asyncio.get_running_loop()
    config = simulation.config
    started = time.monotonic()
    # Living every household's days is the slow part: do it off the event loop.
    await asyncio.to_thread(simulation.meter_series)

    links: dict[str, GatewayLink] = {}

    def new_link(gateway_id: str) -> GatewayLink:
        credentials = credentials_for(gateway_id, username, password)
        return GatewayLink(gateway_id, host, port, topic_prefix=config.topic_prefix, credentials=credentials, loop=loop)

    messages = readings = dropped = 0
    try:
        # Every gateway comes online at the start of the run: connect them all at once.
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def connect(gateway_id: str) -> None:
            async with gate:
                link = links[gateway_id] = new_link(gateway_id)  # listed first, so `finally` closes it
                await link.connect()

        try:
            async with asyncio.TaskGroup() as connecting:
                for household in simulation.households:
                    connecting.create_task(connect(household.gateway_id))
        except BaseExceptionGroup as group:
            # Report the first failure (they all name the same broker) rather than a group of 50.
            raise _first_leaf(group) from None

        start_utc = config.start.astimezone(UTC)
        wall_start = loop.time()
        unacked: list[asyncio.Future[None]] = []
        step: int | None = None
        last_time = config.local_start
        for message in simulation.messages():
            if message.step != step:
                await _all_acked(unacked, links)
                if step is not None and on_progress is not None:
                    on_progress(last_time, messages)
                if step is not None and after_step is not None:
                    await after_step(StepPublished(last_time, readings, messages + dropped))
                step = message.step
            if wait_until is not None:
                await wait_until(message.sim_time)
            elif speed is not None:
                due = wall_start + (message.sim_time.astimezone(UTC) - start_utc).total_seconds() / speed
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
            last_time = message.sim_time
            if message.state == "offline":
                # Not published by us: the gateway drops dead and the broker sends its last will.
                await _all_acked(unacked, links)
                link = links.pop(message.gateway_id, None)
                if link is not None:
                    await link.drop()
                    dropped += 1
                continue
            link = links.get(message.gateway_id)
            if link is None:  # back from a silence: a fresh connection, as after a power cycle
                link = links[message.gateway_id] = new_link(message.gateway_id)
                await link.connect()
            unacked.append(link.publish(message.topic, message.payload, retain=message.retain))
            messages += 1
            readings += message.reading_count
        await _all_acked(unacked, links)
        if on_progress is not None:
            on_progress(last_time, messages)
        if after_step is not None:
            await after_step(StepPublished(last_time, readings, messages + dropped))
    finally:
        closing = await asyncio.gather(*(link.close() for link in links.values()), return_exceptions=True)
        for failure in (c for c in closing if isinstance(c, BaseException)):
            log.warning("gateway_sim: closing a gateway connection failed: %s", failure)
    return PublishStats(
        messages=messages,
        readings=readings,
        sim_end=config.end,
        gateways=len(simulation.households),
        dropped_connections=dropped,
        elapsed_s=round(time.monotonic() - started, 3),
    )


async def _all_acked(unacked: list[asyncio.Future[None]], links: dict[str, GatewayLink]) -> None:
    if not unacked:
        return
    # asyncio.wait, not gather: cancelled here (Ctrl-C in the demo), a gather's future would be left behind with
    # its CancelledError unread, and asyncio logs that as an error after "stopped".
    done, pending = await asyncio.wait(unacked, timeout=ACK_TIMEOUT_S)
    if pending:
        address = next(iter(links.values())).address if links else "the broker"
        raise PublishFailed(
            f"the MQTT broker at {address} did not acknowledge {len(pending)} messages within {ACK_TIMEOUT_S:.0f} s"
        )
    for acknowledged in done:
        acknowledged.result()  # a publish that failed raises here
    unacked.clear()


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
