"""In a replay (event clock) time moves with the readings. A partition whose households all fell
silent receives none, so its own event time stops: it must follow the worker's other partitions
once everything it holds is judged, or its silent meter is never told (Flink calls this idleness)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner

from carewatch.registry import Registry
from carewatch.cli.demo.faust import faust_system
from ingest.subscriber import BrokerAddress
from tests.services import mosquitto
from tests.stream.conftest import stream_settings
from tests.stream.test_dead_letters import publish
from tests.stream.workers import wait_for_silent_meters

pytestmark = pytest.mark.service

QUIET, BUSY = "hh-3", "hh-4"  # on partitions 0 and 2 of 4
REGISTRY = {"version": 1, "households": [
    {"household_id": household, "gateway_id": "gw-1",
     "meters": [{"meter_id": f"gas-{household}", "kind": "gas", "interval_s": 900}]}
    for household in (QUIET, BUSY)
]}


def test_the_two_households_are_on_different_partitions() -> None:
    partitioner = DefaultPartitioner()
    partitions = [partitioner(h.encode(), list(range(4)), list(range(4))) for h in (QUIET, BUSY)]
    assert partitions[0] != partitions[1]


async def test_a_meter_gone_silent_alone_on_its_partition_is_told_in_a_replay(kafka_url, tmp_path):
    settings = stream_settings(kafka_url, tmp_path, REGISTRY)  # event clock, 30 min of lateness
    start = datetime(2026, 1, 5, tzinfo=UTC)
    steps = [start + timedelta(minutes=15 * i) for i in range(6 * 4)]  # six hours
    silent_after = steps[7]  # the quiet household's last reading: 01:45
    payloads = [
        orjson.dumps({"v": 1, "readings": [
            {"meter_id": f"gas-{household}", "at": at.isoformat(), "register_m3": 5.0 + i * 0.01}
            for household in (QUIET, BUSY)
            if household == BUSY or at <= silent_after
        ]})
        for i, at in enumerate(steps)
    ]
    registry = Registry.from_document(REGISTRY)
    with mosquitto(tmp_path) as (host, port):
        async with faust_system(settings, registry, BrokerAddress(host, port), tmp_path, "idle-bridge") as (_, worker, sessions):
            await asyncio.to_thread(publish, host, port, payloads)
            silent = await wait_for_silent_meters(sessions, worker)
    assert [(a.household_id, a.onset) for a in silent] == [(QUIET, silent_after)]
