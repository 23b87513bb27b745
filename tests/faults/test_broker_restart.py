"""A broker restart mid-stream, with a second subscriber on the same broker as the witness (issue 11, item 5).

carewatch acknowledges a message only after committing it, so at any moment the broker holds a backlog for
carewatch that exists nowhere else; a witness that acknowledges at once holds none.  With persistence that
really saves, the restart loses nothing; when the broker comes back without carewatch's session, the backlog is
gone, and carewatch says so (the lost session is logged and counted; the gateway's seq counts what is missing).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from carewatch.runners.embedded.pipeline import RunningSystem, running_system
from carewatch.settings import Settings
from ingest.models import GatewaySequence
from ingest.stats import read_stats
from ingest.subscriber import BrokerAddress
from tests.faults.burst import GATEWAY, READINGS_PER_MESSAGE, TOPIC, message, registry
from tests.services import mosquitto

pytestmark = [pytest.mark.service, pytest.mark.timeout(240)]

MESSAGES = 6_000
RATE = 600
"""Messages per second the gateway publishes: carewatch, which judges 10 readings a message, falls behind."""
DOWN_S = 5.0
BACKLOG_IN_THE_BROKER = "max_inflight_messages 20\nmax_queued_messages 1000000\n"
"""Mosquitto's default window of 20 unacknowledged messages: what carewatch has not yet taken waits in the broker."""


class Witness:
    """A second subscriber with a persistent session that acknowledges at once; it records every seq it gets."""

    def __init__(self, host: str, port: int):
        self.seqs: set[bytes] = set()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="witness", clean_session=False)
        self._client.reconnect_delay_set(1, 2)
        self._client.on_connect = lambda client, userdata, flags, code, properties: client.subscribe(TOPIC, 1)
        self._client.on_message = lambda client, userdata, received: self.seqs.add(received.payload)
        self._client.connect(host, port)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class Gateway(threading.Thread):
    """Publishes messages 1..MESSAGES at RATE, riding out the broker's restart (paho queues and resends)."""

    def __init__(self, host: str, port: int):
        super().__init__(daemon=True)
        self.acknowledged = 0
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=GATEWAY, clean_session=False)
        self._client.reconnect_delay_set(1, 2)
        self._client.max_inflight_messages_set(100)
        self._client.max_queued_messages_set(0)
        self._client.on_publish = self._on_publish
        self._client.connect(host, port)
        self._client.loop_start()

    def _on_publish(self, client, userdata, mid, reason_code, properties):  # type: ignore[no-untyped-def]
        self.acknowledged += 1

    def run(self) -> None:
        for seq in range(1, MESSAGES + 1):
            self._client.publish(TOPIC, message(seq), qos=1)
            time.sleep(1 / RATE)

    def send(self, seq: int) -> None:
        self._client.publish(TOPIC, message(seq), qos=1)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@contextmanager
def persistence_directory() -> Iterator[Path]:
    """A directory the broker can save to: run as root, Mosquitto drops to the "mosquitto" user, which cannot
    write into pytest's private tmp_path, and then saves nothing (it only logs "Error saving in-memory database")."""
    path = Path(tempfile.mkdtemp(prefix="carewatch-mosquitto-"))
    os.chmod(path, 0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def until(check: Callable[[], bool | Awaitable[bool]], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = check()
        if done if isinstance(done, bool) else await done:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def committed(system: RunningSystem, seq: int) -> bool:
    """Whether the gateway's message ``seq`` is committed."""
    async with system.sessions() as session:
        row = await session.get(GatewaySequence, GATEWAY)
    return row is not None and row.highest_seq == seq and not system.pipeline.busy


@pytest.mark.parametrize("persistence", ["saved", "lost"])
async def test_a_broker_restart_mid_stream(tmp_path, persistence):
    saved = persistence == "saved"
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event")  # type: ignore[call-arg]
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    with persistence_directory() as saves, ExitStack() as broker:
        config = BACKLOG_IN_THE_BROKER + (f"persistence true\npersistence_location {saves}/\n" if saved else "")
        host, port = broker.enter_context(mosquitto(tmp_path / "before", config))
        witness = Witness(host, port)
        gateway = Gateway(host, port)
        try:
            async with running_system(settings, registry(), BrokerAddress(host, port), "carewatch-ingest") as system:
                gateway.start()
                await asyncio.sleep(MESSAGES / RATE / 3)
                broker.close()  # SIGTERM: the broker saves its database (when persistence is on) and stops
                behind = system.pipeline.messages_seen
                await asyncio.sleep(DOWN_S)
                broker.enter_context(mosquitto(tmp_path / "after", config, port=port))
                await asyncio.to_thread(gateway.join)
                await until(lambda: gateway.acknowledged == MESSAGES, "the gateway's 6,000 PUBACKs", 60)
                if saved:
                    await until(lambda: len(witness.seqs) == MESSAGES, "the witness's 6,000", 60)
                witnessed = len(witness.seqs)
                gateway.send(MESSAGES + 1)  # a gap shows when the next number arrives
                await until(lambda: committed(system, MESSAGES + 1), "carewatch's catching up", 120)
                async with system.sessions() as session:
                    stats = await read_stats(session)
                received = stats.readings_accepted // READINGS_PER_MESSAGE
                sessions_lost = system.subscriber.sessions_lost
        finally:
            gateway.stop()
            witness.stop()
        database_saved = (saves / "mosquitto.db").exists()

    print(f"persistence {persistence}: carewatch had {behind} messages when the broker stopped; "
          f"witness {witnessed}, carewatch {received} of {MESSAGES + 1}, missing {stats.messages_missing}")
    if saved:
        assert database_saved, "the broker must really have saved its database, or this tests nothing"
        assert witnessed == MESSAGES
        assert (received, stats.messages_missing, sessions_lost) == (MESSAGES + 1, 0, 0)
    else:
        assert sessions_lost == 1, "carewatch noticed that the broker came back without its session"
        assert stats.messages_missing == MESSAGES + 1 - received, "whatever was lost is counted, not silent"
