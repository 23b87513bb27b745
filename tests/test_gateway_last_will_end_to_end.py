"""A gateway's MQTT last will end to end: a real Mosquitto, the simulator's gateways, the embedded runner.

A gateway that drops dead (no DISCONNECT) makes the broker publish its retained offline status; the
pipeline tells it to the monitor of every household on that gateway, and meter_silent (for technicians)
is in the alert store within the grace and a tick, well before the silence threshold (never below its
prior of 4 expected intervals, 1 h here) — the household's learned threshold had to be waited for before.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.store import AlertStore
from carewatch.cli.demo import DEMO_START
from carewatch.domain import AlertType, Audience
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import running_system
from gateway_sim import Incident, IncidentKind, SimConfig, Simulation, publish_simulation
from ingest.subscriber import BrokerAddress
from tests.ingest.test_adapters_end_to_end import settings_for
from tests.services import mosquitto

pytestmark = pytest.mark.service

DIES_AT = DEMO_START + timedelta(hours=30)


async def test_a_gateways_last_will_raises_meter_silent_well_before_the_silence_threshold(tmp_path):
    dead = Incident("hh-0002", IncidentKind.GATEWAY_SILENT, DIES_AT)
    simulation = Simulation(SimConfig(households=3, days=1.75, seed=5, start=DEMO_START, incidents=(dead,), away_share=0.0))
    registry = Registry.from_document(simulation.registry_document())
    assert registry.households["hh-0002"].gateway_id == "gw-0002"

    with mosquitto(tmp_path) as (host, port):
        broker = BrokerAddress(host, port)
        async with running_system(settings_for(tmp_path), registry, broker, "carewatch-e2e-last-will") as system:
            published = await publish_simulation(simulation, host, port)
            await system.drain(expected_readings=published.readings)
            silent = await AlertStore(system.sessions).list(alert_type=AlertType.METER_SILENT)

    assert published.dropped_connections == 1
    [alert] = silent
    assert (alert.household_id, alert.audience) == ("hh-0002", Audience.TECHNICIAN)
    assert DIES_AT - timedelta(minutes=15) <= alert.onset <= DIES_AT  # the last reading before it died
    assert alert.raised_at - alert.onset < timedelta(hours=1)  # the grace (0.25 h) and a tick, not hours
    assert "gw-0002" in alert.explanation_en and "last will" in alert.explanation_en
