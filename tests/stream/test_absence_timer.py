"""Absence is judged by the clock: a meter that stops reporting raises meter_silent although no
later event ever arrives (Faust windows would never fire). Wall clock, RocksDB store."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import orjson
import paho.mqtt.client as mqtt
import pytest

from alerts.store import AlertStore
from carewatch.domain import AlertType
from carewatch.registry import Registry
from carewatch.cli.demo.faust import faust_system
from carewatch.runners.faust.readback import household_states
from carewatch.runners.faust.system import WorkerProcess
from ingest.subscriber import BrokerAddress
from tests.services import mosquitto
from tests.stream.diagnose import count_mismatches
from tests.stream.conftest import stream_settings
from tests.stream.test_dead_letters import publish
from tests.stream.workers import wait_for_silent_meters

pytestmark = pytest.mark.service

REGISTRY = {"version": 1, "households": [{"household_id": "hh-1", "gateway_id": "gw-1",
                                           "meters": [{"meter_id": "gas-1", "kind": "gas", "interval_s": 1.0}]}]}


async def test_a_meter_that_stops_reporting_is_alerted_by_the_sweep_timer_without_any_later_event(kafka_url, tmp_path):
    settings = stream_settings(
        kafka_url, tmp_path, REGISTRY,
        clock="wall", watermark_lateness="PT1S", tick_every="PT1S", stream_store="rocksdb://",
    )
    registry = Registry.from_document(REGISTRY)
    with mosquitto(tmp_path) as (host, port):
        async with faust_system(settings, registry, BrokerAddress(host, port), tmp_path, "absence-bridge") as (bridge, worker, sessions):
            now = datetime.now(UTC).replace(microsecond=0)
            last = now - timedelta(seconds=1)
            payloads = [
                orjson.dumps({"v": 1, "readings": [{"meter_id": "gas-1", "at": at.isoformat(), "register_m3": 5.0 + i}]})
                for i, at in enumerate((now - timedelta(seconds=3), now - timedelta(seconds=2), last))
            ]
            await asyncio.to_thread(publish, host, port, payloads)
            silent = await wait_for_silent_meters(sessions, worker)
    assert [(a.household_id, a.onset) for a in silent] == [("hh-1", last)]
    assert bridge.readings_seen == 3


async def test_a_restarted_worker_judges_its_backlog_before_it_judges_silence(kafka_url, tmp_path):
    """Readings queued in Kafka while the worker was down are not a silence: no meter_silent after the restart."""
    # 150 meters, silent after 4 × 2 s; the worker is away for much longer than that, and the
    # backlog it finds is large enough to take several sweeps to read.
    households = 150
    document = {"version": 1, "households": [
        {"household_id": f"hh-{i:03d}", "meters": [{"meter_id": f"gas-{i:03d}", "kind": "gas", "interval_s": 2.0}]}
        for i in range(households)
    ]}
    settings = stream_settings(
        kafka_url, tmp_path, document,
        clock="wall", watermark_lateness="PT2S", tick_every="PT1S", stream_session_timeout="PT6S",
    )
    registry = Registry.from_document(document)
    sent = [0]

    def gateway(host: str, port: int, seconds: int) -> None:
        """A gateway uploading every meter's reading once a second, stamped when it is sent."""
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw-1")
        client.connect(host, port)
        client.loop_start()
        try:
            for _ in range(seconds):
                sent[0] += 1
                at = datetime.now(UTC).isoformat()
                readings = [{"meter_id": f"gas-{i:03d}", "at": at, "register_m3": 5.0 + 0.01 * sent[0]} for i in range(households)]
                client.publish("carewatch/v1/gateways/gw-1/readings", orjson.dumps({"v": 1, "readings": readings}),
                               qos=1).wait_for_publish(10)
                time.sleep(1.0)
        finally:
            client.loop_stop()
            client.disconnect()

    with mosquitto(tmp_path) as (host, port):
        async with faust_system(settings, registry, BrokerAddress(host, port), tmp_path, "backlog-bridge") as (bridge, worker, sessions):
            await asyncio.to_thread(gateway, host, port, 4)
            worker.kill()
            await asyncio.to_thread(gateway, host, port, 15)  # queued in Kafka: the worker is down
            restarted = WorkerProcess(worker.settings, tmp_path / "restarted.log").start()
            try:
                await asyncio.to_thread(gateway, host, port, 20)  # start-up, recovery, the backlog, then live again
                deadline = time.monotonic() + 60
                while (judged := sum(s.readings_accepted for s in (await household_states(settings)).values())) < bridge.readings_seen:
                    restarted.check_alive()
                    if time.monotonic() > deadline:
                        counted = {h: s.readings_accepted for h, s in (await household_states(settings)).items()}
                        expected = {f"hh-{i:03d}": bridge.readings_seen // households for i in range(households)}
                        raise AssertionError(f"{judged} of {bridge.readings_seen} readings judged after 60 s\n"
                                             + await count_mismatches(settings, counted, expected))
                    await asyncio.sleep(0.5)
                silent = await AlertStore(sessions).list(alert_type=AlertType.METER_SILENT, limit=1000)
            finally:
                restarted.stop()
    assert bridge.readings_seen == households * 39
    assert not silent, [(a.household_id, a.onset.time().isoformat(), a.raised_at.time().isoformat()) for a in silent[:5]]
