"""Workers that crash, restart and share partitions: no reading lost, no alert doubled.

Real `carewatch worker` processes on a real Kafka-protocol broker; the readings
come from the gateway simulator through Mosquitto and the bridge.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest

from alerts.store import AlertStore
from carewatch.registry import Registry
from carewatch.runners.faust.readback import household_states
from carewatch.runners.faust.system import wait_until_judged_and_stored
from ingest.bridge import running_bridge
from ingest.subscriber import BrokerAddress
from tests.services import mosquitto
from tests.stream.diagnose import count_mismatches
from tests.stream.conftest import stream_settings
from tests.stream.scenario import (
    publish,
    readings_in,
    readings_per_household,
    reference_alert_ids,
    scenario,
    stored_alerts,
)
from tests.stream.workers import alert_service, partitions_held, wait_for_progress, worker

pytestmark = pytest.mark.service


async def wait_bridged(bridge, readings: int, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while bridge.readings_seen < readings:
            await asyncio.sleep(0.05)


@asynccontextmanager
async def relaying(settings, registry, tmp_path, bridge_name: str):  # type: ignore[no-untyped-def]
    """Mosquitto, the bridge from it to Kafka and the alert service: yields (relay, sessions), where
    ``await relay(batch, bridged)`` publishes a batch of messages and waits until the bridge has seen ``bridged`` readings."""
    with mosquitto(tmp_path) as (host, port):
        async with alert_service(settings) as sessions, running_bridge(
            settings, registry, BrokerAddress(host, port), bridge_name
        ) as (bridge, _):

            async def relay(batch, bridged: int) -> None:  # type: ignore[no-untyped-def]
                await asyncio.to_thread(publish, host, port, batch)
                await wait_bridged(bridge, bridged)

            yield relay, sessions


async def deployment(kafka_url, tmp_path):  # type: ignore[no-untyped-def]
    """The scripted scenario, the embedded runner's alerts for it, and an isolated deployment's settings."""
    simulation = scenario()
    reference = await reference_alert_ids(simulation, tmp_path)
    registry = Registry.from_document(simulation.registry_document())
    settings = stream_settings(kafka_url, tmp_path, simulation.registry_document())
    messages = [m for m in simulation.messages() if m.kind == "readings"]
    return simulation, reference, registry, settings, messages


async def assert_alerted_once_and_counted(settings, sessions, simulation, reference: set[str]) -> None:  # type: ignore[no-untyped-def]
    alerts = await stored_alerts(sessions)
    assert sorted(a.alert_id for a in alerts) == sorted(reference)
    for alert in alerts:
        history = await AlertStore(sessions).history(alert.alert_id)
        assert [e.action.value for e in history].count("raised") == 1, alert.alert_id
    states = await household_states(settings)
    # Counted from the table the workers restored: a reading lost (or counted twice) shows here.
    counted, expected = {h: s.readings_accepted for h, s in states.items()}, dict(readings_per_household(simulation))
    assert counted == expected, await count_mismatches(settings, counted, expected)


async def test_a_worker_killed_mid_stream_recovers_its_table_and_alerts_each_incident_once(kafka_url, tmp_path):
    simulation, reference, registry, settings, messages = await deployment(kafka_url, tmp_path)
    first, second = messages[: len(messages) // 2], messages[len(messages) // 2 :]

    async with relaying(settings, registry, tmp_path, "crash-bridge") as (relay, sessions):
        victim = worker(settings, tmp_path, "worker-a").start()
        await relay(first, readings_in(first))
        await wait_for_progress(settings, readings_in(first))
        victim.kill()  # SIGKILL mid-stream: no shutdown, no last commit, in-flight work lost
        await relay(second, readings_in(messages))
        restarted = worker(settings, tmp_path, "worker-a").start()  # same data dir, memory store: all from the changelog
        try:
            await wait_until_judged_and_stored(settings, [restarted])
            await assert_alerted_once_and_counted(settings, sessions, simulation, reference)
        finally:
            restarted.stop()


async def test_two_workers_share_the_partitions_one_joining_mid_stream(kafka_url, tmp_path):
    simulation, reference, registry, settings, messages = await deployment(kafka_url, tmp_path)
    first, second = messages[: len(messages) // 3], messages[len(messages) // 3 :]

    async with relaying(settings, registry, tmp_path, "share-bridge") as (relay, sessions):
        early = worker(settings, tmp_path, "worker-early").start()
        late = worker(settings, tmp_path, "worker-late")
        try:
            await relay(first, readings_in(first))
            await wait_for_progress(settings, readings_in(first))
            late.start()  # joins the group: a rebalance while readings flow
            await relay(second, readings_in(messages))
            await wait_until_judged_and_stored(settings, [early, late])
            # A fast worker may judge everything before the joining one has logged its share.
            async with asyncio.timeout(30):
                while not partitions_held(late):
                    late.check_alive()
                    await asyncio.sleep(0.2)
            await wait_until_judged_and_stored(settings, [early, late])
            held_early, held_late = partitions_held(early), partitions_held(late)
            assert held_early and held_late, (held_early, held_late)
            assert sorted(held_early + held_late) == list(range(settings.kafka_partitions))
            await assert_alerted_once_and_counted(settings, sessions, simulation, reference)
        finally:
            late.stop()
            early.stop()
