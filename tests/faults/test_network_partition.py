"""A network partition between carewatch and its MQTT broker loses nothing: a real network, not loopback.

The broker and a gateway live in their own network namespace, joined to this host by a veth pair;
the partition takes the host's end of the link down while the gateway keeps publishing.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import running_system
from carewatch.settings import Settings
from ingest.stats import IngestStats, read_stats
from ingest.subscriber import BrokerAddress
from tests.services import missing_service

pytestmark = [pytest.mark.service, pytest.mark.timeout(240)]

MESSAGES = 400
KEEPALIVE_S = 4
PARTITION_S = 10
"""Longer than the MQTT keep-alive and a half: the broker drops the connection, the session stays."""
GATEWAY = """
import sys, time, orjson
import paho.mqtt.client as mqtt
host, count = sys.argv[1], int(sys.argv[2])
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw-1")
client.connect(host, 1883)
client.loop_start()
for i in range(count):
    at = f"2026-01-05T{i // 60:02d}:{i % 60:02d}:00+08:00"
    body = {"v": 1, "readings": [{"meter_id": "gas-1", "at": at, "register_m3": 10 + i / 1000}]}
    client.publish("carewatch/v1/gateways/gw-1/readings", orjson.dumps(body), qos=1).wait_for_publish(60)
    time.sleep(0.05)
client.disconnect()
client.loop_stop()
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextmanager
def broker_host(workdir: Path) -> Iterator[tuple[str, str, str]]:
    """A namespace with Mosquitto listening on 10.77.x.2:1883, reached from here through veth; yields (namespace, address, host-side link)."""
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if shutil.which("ip") is None or not Path(mosquitto).exists() or os.geteuid() != 0:
        missing_service("network namespaces (iproute2, root) and the mosquitto binary")
    tag = secrets.token_hex(3)
    namespace, host_link, ns_link = f"cw-{tag}", f"cwh{tag}", f"cwb{tag}"
    subnet = 64 + int(tag[:2], 16) % 128
    host_ip, broker_ip = f"10.77.{subnet}.1", f"10.77.{subnet}.2"
    ip("netns", "add", namespace)
    try:
        ip("link", "add", host_link, "type", "veth", "peer", "name", ns_link)
        ip("link", "set", ns_link, "netns", namespace)
        ip("addr", "add", f"{host_ip}/30", "dev", host_link)
        ip("link", "set", host_link, "up")
        ip("-n", namespace, "addr", "add", f"{broker_ip}/30", "dev", ns_link)
        ip("-n", namespace, "link", "set", ns_link, "up")
        ip("-n", namespace, "link", "set", "lo", "up")
        config = workdir / "mosquitto.conf"
        config.write_text(f"listener 1883 {broker_ip}\nallow_anonymous true\nmax_queued_messages 100000\n")
        log = (workdir / "mosquitto.log").open("wb")
        broker = subprocess.Popen(["ip", "netns", "exec", namespace, mosquitto, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(0.5)
            yield namespace, broker_ip, host_link
        finally:
            broker.terminate()
            broker.wait(10)
            log.close()
    finally:
        subprocess.run(["ip", "link", "del", host_link], capture_output=True)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


async def test_a_partition_from_the_broker_loses_no_reading(tmp_path, caplog):
    registry = Registry.from_document(
        {"version": 1, "households": [{"household_id": "hh-1", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-1", "kind": "gas"}]}]}
    )
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event", mqtt_keepalive=KEEPALIVE_S)  # type: ignore[call-arg]
    with broker_host(tmp_path) as (namespace, broker_ip, host_link):
        async with running_system(settings, registry, BrokerAddress(broker_ip, 1883), "carewatch-partition") as system:
            gateway = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c", GATEWAY, broker_ip, str(MESSAGES)])
            try:
                await system.drain(expected_readings=50, timeout=60)
                ip("link", "set", host_link, "down")  # the partition: the gateway goes on publishing behind it
                await asyncio.sleep(PARTITION_S)
                assert system.pipeline.readings_seen < MESSAGES, "the partition came before the gateway finished"
                assert "MQTT connection lost" in caplog.text, "the partition outlasted the keep-alive"
                ip("link", "set", host_link, "up")
                stats = await accepted(system, MESSAGES, timeout=150)
            finally:
                gateway.wait(120)
            assert gateway.returncode == 0
    # Messages in flight when the link went down come again (the broker never saw their acknowledgement): duplicates.
    assert stats.readings_accepted == MESSAGES, "every reading, once"


async def accepted(system, readings: int, timeout: float) -> IngestStats:  # type: ignore[no-untyped-def]
    """The ingest stats once ``readings`` distinct readings are stored (redeliveries are counted apart, as duplicates)."""
    deadline = time.monotonic() + timeout
    while True:
        await system.drain(expected_readings=0)  # nothing half-committed
        async with system.sessions() as session:
            stats = await read_stats(session)
        if stats.readings_accepted >= readings or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.5)
