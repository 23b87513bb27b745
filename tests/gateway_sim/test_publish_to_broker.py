"""Publishing to a real Mosquitto: every message arrives, statuses are retained, a dead gateway's will fires."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest

from carewatch.loopback import free_port
from gateway_sim import BrokerUnavailable, Incident, IncidentKind, SimConfig, Simulation, StepPublished, publish_simulation

START = datetime(2026, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai"))


class Listener:
    """A plain paho subscriber to every gateway topic, collecting what the broker delivers."""

    def __init__(self, host: str, port: int, client_id: str):
        self.received: list[tuple[str, bytes, bool]] = []
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, *_: c.subscribe("carewatch/v1/gateways/#", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "the test subscriber could not subscribe"

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((message.topic, message.payload, bool(message.retain)))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, bytes, bool]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.02)
        with self._lock:
            return list(self.received)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.service
async def test_every_message_reaches_the_broker_and_a_silent_gateway_leaves_its_will(mosquitto_broker):
    host, port = mosquitto_broker
    silence = Incident("hh-0003", IncidentKind.GATEWAY_SILENT, START + timedelta(hours=30))
    inactivity = Incident("hh-0002", IncidentKind.INACTIVE, START + timedelta(hours=26))
    simulation = Simulation(
        SimConfig(households=5, days=2.0, seed=11, start=START, incidents=[silence, inactivity])
    )
    expected = list(simulation.messages())
    published = [m for m in expected if m.state != "offline"]
    listener = Listener(host, port, "test-listener")
    progress: list[tuple[datetime, int]] = []
    try:
        stats = await publish_simulation(simulation, host, port, on_progress=lambda at, n: progress.append((at, n)))
        received = listener.wait_for(len(expected))
    finally:
        listener.close()

    assert stats.messages == len(published)
    assert stats.readings == sum(m.reading_count for m in published)
    assert stats.dropped_connections == 1 and stats.sim_end == START + timedelta(days=2)
    # Every readings batch arrived, byte for byte (QoS 1 may duplicate; it did not lose any).
    sent = Counter((m.topic, m.payload) for m in expected if m.kind == "readings")
    got = Counter((topic, payload) for topic, payload, _ in received if topic.endswith("/readings"))
    assert set(got) == set(sent) and all(got[k] >= n for k, n in sent.items())
    # The silent gateway's offline status came from the broker (its last will), not from us.
    statuses = [(topic.split("/")[3], payload) for topic, payload, _ in received if topic.endswith("/status")]
    assert statuses.count(("gw-0003", b'{"state":"offline"}')) == 1
    assert sum(1 for _, payload in statuses if payload == b'{"state":"online"}') == 5
    assert progress and progress[-1][1] == stats.messages
    assert [n for _, n in progress] == sorted(n for _, n in progress)

    # After the run a newcomer (carewatch starting later) sees every gateway's last state, retained.
    latecomer = Listener(host, port, "test-latecomer")
    try:
        retained = {t.split("/")[3]: p for t, p, r in latecomer.wait_for(5) if r and t.endswith("/status")}
    finally:
        latecomer.close()
    assert retained == {
        "gw-0001": b'{"state":"online"}',
        "gw-0002": b'{"state":"online"}',
        "gw-0003": b'{"state":"offline"}',
        "gw-0004": b'{"state":"online"}',
        "gw-0005": b'{"state":"online"}',
    }


async def test_an_unreachable_broker_is_named_in_the_error():
    port = free_port()  # nothing listens here
    simulation = Simulation(SimConfig(households=2, days=1.0, seed=1, start=START))
    with pytest.raises(BrokerUnavailable, match=f"127.0.0.1:{port}"):
        await publish_simulation(simulation, "127.0.0.1", port)


@pytest.mark.service
async def test_publishing_does_not_block_the_event_loop(mosquitto_broker):
    host, port = mosquitto_broker
    simulation = Simulation(SimConfig(households=3, days=1.0, seed=2, start=START, incidents=[]))
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            beats += 1
            await asyncio.sleep(0.01)

    beating = asyncio.create_task(heartbeat())
    try:
        started = time.monotonic()
        await publish_simulation(simulation, host, port, speed=86400 / 1.0)  # one simulated day per second
        elapsed = time.monotonic() - started
    finally:
        beating.cancel()
    assert 0.9 <= elapsed < 5, "speed paces the run by simulated time"
    assert beats >= elapsed / 0.01 * 0.5


def test_a_failing_paho_callback_is_logged_and_does_not_escape(caplog):
    from gateway_sim.publisher import _guarded

    @_guarded
    def on_message(*args: object) -> None:
        raise ValueError("bad payload")

    on_message(None, None, None)  # paho would have let this end its network loop
    assert "bad payload" in caplog.text and "on_message" in caplog.text


def test_each_gateway_logs_in_as_itself_when_only_a_password_is_given():
    from gateway_sim.publisher import credentials_for

    assert credentials_for("gw-0007", None, None) is None
    assert credentials_for("gw-0007", None, "secret") == ("gw-0007", "secret")
    assert credentials_for("gw-0007", "site-{gateway_id}", "secret") == ("site-gw-0007", "secret")
    assert credentials_for("gw-0007", "shared", "secret") == ("shared", "secret")


@pytest.mark.service
async def test_after_step_holds_the_next_step_until_it_returns(mosquitto_broker):
    # The headless demo's lockstep: each step is acknowledged by the broker, then the caller acts on it (the
    # pipeline judges it, the ladder runs) before one message of the next step is published.
    host, port = mosquitto_broker
    simulation = Simulation(SimConfig(households=3, days=0.25, seed=2, start=START, incidents=[]))
    messages = [m for m in simulation.messages() if m.state != "offline"]
    listener = Listener(host, port, "test-lockstep")
    seen_at_step: list[tuple[StepPublished, int]] = []

    async def after_step(step: StepPublished) -> None:
        received = sum(1 for topic, _, _ in listener.wait_for(0, timeout=0) if topic.endswith("/readings"))
        seen_at_step.append((step, received))
        await asyncio.sleep(0.05)  # the next step must wait for this

    try:
        stats = await publish_simulation(simulation, host, port, after_step=after_step)
    finally:
        listener.close()
    steps = sorted({m.step for m in messages})
    assert len(seen_at_step) == len(steps)
    assert seen_at_step[-1][0].readings == stats.readings
    assert seen_at_step[-1][0].messages == stats.messages + stats.dropped_connections
    for (published, received), step in zip(seen_at_step, steps, strict=True):
        in_step_or_before = [m for m in messages if m.step <= step]
        assert published.at == max(m.sim_time for m in in_step_or_before if m.step == step)
        assert published.readings == sum(m.reading_count for m in in_step_or_before)
        assert published.messages == len(in_step_or_before), "no gateway dropped: every message was published"
        assert received <= sum(1 for m in in_step_or_before if m.kind == "readings"), "nothing of a later step went out"
