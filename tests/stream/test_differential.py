"""The same scripted input through the embedded runner and through Faust on a real Kafka-protocol broker."""

from __future__ import annotations

import pytest

from carewatch.broker import embedded_broker
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.stream.demo import faust_system, wait_for_bridge
from carewatch.stream.readback import dead_letters, household_states
from carewatch.stream.system import wait_until_judged_and_stored
from carewatch.wiring import running_system
from ingest.subscriber import BrokerAddress
from tests.stream.conftest import stream_settings
from tests.stream.scenario import readings_per_household, scenario, stored_alerts, verdict_of

pytestmark = pytest.mark.service


async def test_faust_raises_exactly_the_alerts_of_the_embedded_runner(kafka_url, tmp_path):
    simulation = scenario()
    document = simulation.registry_document()
    registry = Registry.from_document(document)
    settings = stream_settings(kafka_url, tmp_path, document, mqtt_session_expiry=None)
    embedded_settings = Settings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}", clock="event"
    )  # type: ignore[call-arg]

    async with embedded_broker() as (host, port):
        broker = BrokerAddress(host, port)
        async with running_system(embedded_settings, registry, broker, "differential-embedded") as system:
            published = await simulation.publish(host, port)
            await system.drain(published.readings)
            embedded = await stored_alerts(system.sessions)

    async with embedded_broker() as (host, port):
        broker = BrokerAddress(host, port)
        async with faust_system(settings, registry, broker, tmp_path, "differential-bridge") as (bridge, worker, sessions):
            published = await simulation.publish(host, port)
            await wait_for_bridge(bridge, published.readings, worker)
            await wait_until_judged_and_stored(settings, [worker])
            on_faust = await stored_alerts(sessions)
            states = await household_states(settings)
            refused = await dead_letters(settings)

    assert sorted(a.alert_id for a in on_faust) == sorted(a.alert_id for a in embedded)
    verdict = verdict_of(simulation, on_faust)
    assert verdict.missed == () and verdict.unexplained == ()
    assert refused == []
    assert {h: s.readings_accepted for h, s in states.items()} == dict(readings_per_household(simulation))
