"""Gateways → Mosquitto → bridge → Kafka → Faust worker → detections → alert service → API.

The same scripted input also goes straight through the embedded runner's pipeline:
the alerts must be the same (one engine, two runners).
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from carewatch.domain import AlertType
from carewatch.cli.evaluation import RaisedAlert
from carewatch.registry import Registry
from carewatch.cli.demo.faust import faust_system, wait_for_bridge
from carewatch.runners.faust.readback import dead_letters, household_states
from carewatch.runners.faust.system import wait_until_judged_and_stored
from gateway_sim import publish_simulation
from ingest.subscriber import BrokerAddress
from tests.services import mosquitto
from tests.stream.conftest import stream_settings
from tests.stream.scenario import hourly_use, readings_per_household, reference_alert_ids, scenario, verdict_of
from tests.test_end_to_end import api_client

pytestmark = pytest.mark.service


async def test_every_incident_is_alerted_once_through_kafka_and_faust_as_the_embedded_runner_does(kafka_url, tmp_path):
    simulation = scenario()
    reference = await reference_alert_ids(simulation, tmp_path)
    document = simulation.registry_document()
    registry = Registry.from_document(document)
    settings = stream_settings(kafka_url, tmp_path, document)

    with mosquitto(tmp_path) as (host, port):
        async with faust_system(settings, registry, BrokerAddress(host, port), tmp_path, "e2e-bridge") as (
            bridge,
            worker,
            sessions,
        ):
            published = await publish_simulation(simulation, host, port)  # one MQTT connection per simulated gateway
            await wait_for_bridge(bridge, published.readings, worker)
            await wait_until_judged_and_stored(settings, [worker])
            async with api_client(SimpleNamespace(sessions=sessions), registry) as client:
                listed = (await client.get("/api/alerts", params={"limit": 500})).json()
                stats = (await client.get("/api/ingest/stats")).json()
            states = await household_states(settings)
            refused = await dead_letters(settings)
            booked = await hourly_use(settings.database_url)

    alerts = [
        RaisedAlert(a["id"], a["household_id"], AlertType(a["alert_type"]), datetime.fromisoformat(a["onset"]),
                    datetime.fromisoformat(a["raised_at"]))
        for a in listed
    ]
    assert sorted(a.alert_id for a in alerts) == sorted(reference)
    verdict = verdict_of(simulation, alerts)
    assert verdict.missed == () and verdict.unexplained == ()
    assert refused == []
    assert {h: s.readings_accepted for h, s in states.items()} == dict(readings_per_household(simulation))
    # The console's counters: the alert service follows the workers' saved counts.
    assert (stats["readings_accepted"], stats["readings_duplicate"]) == (sum(readings_per_household(simulation).values()), 0)
    # The household page's chart: the alert service books the same hourly use as the embedded runner.
    reference_use = await hourly_use(f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}")
    assert booked.keys() == reference_use.keys() and len(booked) > 500
    assert all(booked[key] == pytest.approx(used, abs=1e-9) for key, used in reference_use.items())
