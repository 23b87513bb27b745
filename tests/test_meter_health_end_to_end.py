"""Meter health end to end: a real Mosquitto, the embedded runner, the detectors, the alert store, the stored health.

A simulated meter whose battery runs down raises meter_low_battery; a wmbusmeters telegram whose meter
reports TAMPER raises meter_tamper, cleared by its next telegram reporting OK.  Both are technician
alerts, and the household page's health rows hold what the meters said.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import orjson
import pytest

from alerts.store import AlertStore
from carewatch.cli.demo import DEMO_START
from carewatch.domain import AlertType, Audience
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import running_system
from gateway_sim import SimConfig, Simulation, publish_simulation
from ingest.subscriber import BrokerAddress
from ingest.summaries import stored_meter_health
from tests.ingest.gateway_docs import examples
from tests.ingest.test_adapters_end_to_end import settings_for
from tests.services import mosquitto
from tests.test_end_to_end import publish

pytestmark = pytest.mark.service

EXAMPLES = examples()


def telegram(hours: float, litres_m3: float, status: str) -> bytes:
    document = orjson.loads(EXAMPLES["wmbusmeters"])
    at = DEMO_START + timedelta(hours=hours)
    document.update(current_status=status, status=status, total_m3=litres_m3, rssi_dbm=-91, timestamp=at.isoformat())
    return orjson.dumps(document)


async def test_a_draining_battery_and_a_tamper_flag_raise_technician_alerts(tmp_path):
    simulation = Simulation(SimConfig(households=2, days=1.0, seed=5, start=DEMO_START, incidents=()))
    draining = simulation.households[0].household_id
    simulation = Simulation(SimConfig(households=2, days=1.0, seed=5, start=DEMO_START, incidents=(), draining_batteries=(draining,)))
    document = simulation.registry_document()
    document["households"] += [h for h in orjson.loads(EXAMPLES["households"])["households"] if h["household_id"] == "hh-0044"]
    registry = Registry.from_document(document)
    telegrams = [telegram(1, 6.408, "OK"), telegram(2, 6.41, "TAMPER"), telegram(3, 6.42, "TAMPER"), telegram(4, 6.43, "OK")]

    with mosquitto(tmp_path) as (host, port):
        broker = BrokerAddress(host, port)
        async with running_system(settings_for(tmp_path), registry, broker, "carewatch-e2e-health") as system:
            published = await publish_simulation(simulation, host, port)
            await asyncio.to_thread(publish, broker, "wmbusmeters", [("wmbusmeters/76348799", t) for t in telegrams])
            await system.drain(expected_readings=published.readings + len(telegrams))
            store = AlertStore(system.sessions)
            low = await store.list(alert_type=AlertType.METER_LOW_BATTERY)
            tamper = await store.list(alert_type=AlertType.METER_TAMPER)
            async with system.sessions() as session:
                drained = await stored_meter_health(session, draining)
                wmbus = await stored_meter_health(session, "hh-0044")

    assert [(a.household_id, a.audience) for a in low] == [(draining, Audience.TECHNICIAN)]
    # The alert names the meter that went low first; the other, low a moment later, widens it (no new transition).
    assert low[0].meter_ids and set(low[0].meter_ids) <= {m.meter_id for m in simulation.households[0].meters}
    assert [(a.household_id, a.audience, a.onset) for a in tamper] == [("hh-0044", Audience.TECHNICIAN, DEMO_START + timedelta(hours=2))]
    assert tamper[0].cleared_at is not None  # the telegram at 4 h reported OK
    assert all(row.battery_low and row.battery_pct is not None and row.battery_pct < 15 for row in drained.values())
    assert (wmbus["water-0044"].status, wmbus["water-0044"].flags, wmbus["water-0044"].signal_dbm) == ("OK", [], -91.0)
    assert wmbus["water-0044"].heard_at == DEMO_START + timedelta(hours=4)
