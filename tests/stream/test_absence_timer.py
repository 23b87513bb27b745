"""Absence is judged by the clock: a meter that stops reporting raises meter_silent although no
later event ever arrives (Faust windows would never fire). Wall clock, RocksDB store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from alerts.store import AlertStore
from carewatch.domain import AlertType
from carewatch.registry import Registry
from carewatch.stream.demo import faust_system
from ingest.subscriber import BrokerAddress
from tests.services import mosquitto
from tests.stream.conftest import stream_settings
from tests.stream.test_dead_letters import publish

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
            silent = []
            async with asyncio.timeout(60):
                while not silent:
                    worker.check_alive()
                    silent = await AlertStore(sessions).list(alert_type=AlertType.METER_SILENT)
                    await asyncio.sleep(0.25)
    assert [(a.household_id, a.onset) for a in silent] == [("hh-1", last)]
    assert bridge.readings_seen == 3
