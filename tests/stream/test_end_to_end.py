"""Gateways → Mosquitto → bridge → Kafka → Faust worker → detections → alert service → API.

The same scripted input also goes straight through the embedded runner's pipeline:
the alerts must be the same (one engine, two runners).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from api.directory_sync import import_registry_file
from api.routine_view import RoutinePublic
from carewatch.cli.demo.faust import faust_system, wait_for_bridge
from carewatch.cli.evaluation import RaisedAlert
from carewatch.db import make_engine, make_sessions
from carewatch.domain import AlertType
from carewatch.registry import Registry
from carewatch.runners.faust.readback import dead_letters, household_states
from carewatch.runners.faust.system import wait_until_judged_and_stored
from gateway_sim import publish_simulation
from ingest.subscriber import BrokerAddress
from ingest.models import MeterHealthRow
from ingest.summaries import stored_routine
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
            async with sessions.begin() as session:  # the households in the console's directory, as `carewatch alerts` does
                await import_registry_file(session, settings.registry_path)
            async with api_client(SimpleNamespace(sessions=sessions), registry) as client:
                listed = (await client.get("/api/alerts", params={"limit": 500})).json()
                stats = (await client.get("/api/ingest/stats")).json()
                routines = {h: (await client.get(f"/api/households/{h}")).json()["routine"] for h in registry.households}
                page = (await client.get(f"/households/{min(registry.households)}", params={"lang": "en"})).text
            health = await meter_health_rows(settings.database_url)
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
    # The household page's learned routine: the workers' summaries, the same as the embedded runner's.
    assert None not in routines.values(), routines
    assert await reference_routines(tmp_path, registry) == routines
    learned = page[page.index('id="learned"') : page.index('id="usage"')]
    assert "Still learning" in learned and "Nothing learned yet" not in learned
    # Each meter's health (household page, devices page): the workers' summaries, the same as the embedded runner's.
    assert health == await meter_health_rows(f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}")
    assert len(health) == sum(len(h.profile.meters) for h in registry.households.values())
    assert all(row[1] is not None for row in health)  # every meter heard
    # The household page's chart: the alert service books the same hourly use as the embedded runner.
    reference_use = await hourly_use(f"sqlite+aiosqlite:///{tmp_path / 'reference.db'}")
    assert booked.keys() == reference_use.keys() and len(booked) > 500
    assert all(booked[key] == pytest.approx(used, abs=1e-9) for key, used in reference_use.items())


async def meter_health_rows(database_url: str) -> list[tuple[object, ...]]:
    """Every stored meter health, without when it was stored."""
    engine = make_engine(database_url)
    try:
        async with make_sessions(engine)() as session:
            rows = (await session.scalars(select(MeterHealthRow).order_by(MeterHealthRow.meter_id))).all()
    finally:
        await engine.dispose()
    return [
        (r.meter_id, r.heard_at, r.household_id, r.battery_pct, r.signal_dbm, r.signal_median_dbm, r.status, r.flags,
         r.battery_low, r.weak_signal)
        for r in rows
    ]


async def reference_routines(workdir: Path, registry: Registry) -> dict[str, object]:
    """The routines the embedded runner stored for the same input, as the API shows them."""
    engine = make_engine(f"sqlite+aiosqlite:///{workdir / 'reference.db'}")
    try:
        async with make_sessions(engine)() as session:
            stored = {h: await stored_routine(session, h) for h in registry.households}
    finally:
        await engine.dispose()
    return {h: RoutinePublic.of(r).model_dump(mode="json") if r else None for h, r in stored.items()}
