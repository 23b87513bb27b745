"""Simulator → MQTT → ingest → detectors → alerts → API, on the embedded amqtt broker and on a real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest

from api.app import create_app
from api.auth import create_api_key
from api.models import KEY_SCOPES
from carewatch.cli.demo.mqtt_broker import embedded_broker
from carewatch.cli.demo import DEMO_START
from carewatch.domain import AlertType
from carewatch.cli.evaluation import EXPECTED, RaisedAlert, TruthIncident, evaluate
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.runners.embedded.pipeline import running_system
from gateway_sim import SimConfig, Simulation, publish_simulation
from ingest.stats import read_stats
from ingest.subscriber import BrokerAddress
from tests.services import mosquitto

pytestmark = pytest.mark.service


@pytest.fixture(params=["amqtt", "mosquitto"])
async def broker(request, tmp_path) -> AsyncIterator[BrokerAddress]:  # type: ignore[no-untyped-def]
    if request.param == "amqtt":
        async with embedded_broker() as (host, port):
            yield BrokerAddress(host, port)
    else:
        with mosquitto(tmp_path) as (host, port):
            yield BrokerAddress(host, port)


def settings_for(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event")  # type: ignore[call-arg]


def publish(broker: BrokerAddress, client_id: str, messages: list[tuple[str, bytes]]) -> None:
    """Publish QoS 1 messages as a gateway would, waiting for each PUBACK."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


@contextlib.asynccontextmanager
async def api_client(system, registry) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The API as an integrator with an every-site key sees it (the API and console need credentials)."""
    async with system.sessions.begin() as session:
        _, key = await create_api_key(session, "e2e", KEY_SCOPES, None, "test")
    app = create_app(sessions=system.sessions, registry=registry)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console", headers=headers) as client:
        yield client


async def test_every_scripted_incident_is_alerted_and_shown_by_the_api(broker, tmp_path):
    simulation = Simulation(SimConfig(households=8, days=2.75, seed=7, start=DEMO_START))
    assert {str(i.kind) for i in simulation.incidents} == set(EXPECTED), "the scenario must script every incident kind"
    registry = Registry.from_document(simulation.registry_document())

    async with running_system(settings_for(tmp_path), registry, broker, "e2e-ingest") as system:
        published = await publish_simulation(simulation, broker.host, broker.port)
        await system.drain(published.readings)
        async with api_client(system, registry) as client:
            listed = (await client.get("/api/alerts", params={"limit": 500})).json()
            stats = (await client.get("/api/ingest/stats")).json()
            console = (await client.get("/", params={"lang": "en"})).text

    alerts = [
        RaisedAlert(a["id"], a["household_id"], AlertType(a["alert_type"]), datetime.fromisoformat(a["onset"]),
                    datetime.fromisoformat(a["raised_at"]))
        for a in listed
    ]
    verdict = evaluate([TruthIncident(i.household_id, str(i.kind), i.start) for i in simulation.incidents], alerts)
    assert verdict.missed == (), verdict.missed
    assert verdict.false_inactivity == (), verdict.false_inactivity
    assert verdict.unexplained == (), verdict.unexplained
    assert stats["readings_accepted"] == published.readings
    assert stats["messages_missing"] == 0, "every message the gateways numbered arrived (power cycles are resets)"
    inactive = next(o.alert for o in verdict.outcomes if o.incident.kind == "inactive")
    assert inactive is not None and inactive.alert_id in console


async def test_bad_payloads_go_to_the_dead_letter_record_and_the_stream_goes_on(broker, tmp_path):
    registry = Registry.from_document(
        {"version": 1, "households": [{"household_id": "hh-1", "gateway_id": "gw-1",
                                       "meters": [{"meter_id": "gas-1", "kind": "gas"}]}]}
    )
    topic = "carewatch/v1/gateways/gw-1/readings"

    def reading(at: str, register: object, meter: str = "gas-1") -> dict[str, object]:
        return {"meter_id": meter, "at": at, "register_m3": register}

    good = [orjson.dumps({"v": 1, "readings": [reading(f"2026-01-05T0{h}:00:00+08:00", 10.0 + h)]}) for h in range(3)]
    bad = [
        b"{oops",
        orjson.dumps({"v": 1, "readings": [reading("2026-01-05T03:00:00+08:00", -4)]}),
        orjson.dumps({"v": 1, "readings": [reading("2026-01-05T03:00:00+08:00", 1.0, meter="gas-77")]}),
        orjson.dumps({"v": 1, "readings": [reading("2026-01-05T01:30:00+08:00", 5.0)]}),  # below its neighbours
        b"x" * 300_000,  # over the 256 KiB payload limit
    ]
    async with running_system(settings_for(tmp_path), registry, broker, "e2e-dead-letter") as system:
        # From a thread: the embedded broker shares this event loop, which must not block.
        await asyncio.to_thread(publish, broker, "gw-1", [(topic, p) for p in [good[0], good[1], *bad, good[2], good[2]]])
        await system.drain(expected_readings=2 + 3 + 2)  # 3 readable bad readings; whole-message rejects hold none
        async with system.sessions() as session:
            stats = await read_stats(session)

    assert stats.messages == 9
    assert stats.readings_accepted == 3
    assert stats.readings_duplicate == 1
    assert stats.rejected_by_reason == {
        "malformed_json": 1, "invalid_value": 1, "unknown_meter": 1, "register_went_backwards": 1, "oversized_payload": 1,
    }
    assert [u.meter_id for u in stats.unknown_meters] == ["gas-77"]


async def test_readings_published_while_ingest_is_down_arrive_after_restart(tmp_path):
    """Persistent MQTT session + acknowledgement after commit: a restart loses nothing, counts nothing twice."""
    simulation = Simulation(SimConfig(households=4, days=1.0, seed=11, start=DEMO_START))
    registry = Registry.from_document(simulation.registry_document())
    settings = settings_for(tmp_path)
    messages = [m for m in simulation.messages() if m.kind == "readings"]
    first, second = messages[: len(messages) // 2], messages[len(messages) // 2 :]
    readings_in = sum(len(orjson.loads(m.payload)["readings"]) for m in messages)

    with mosquitto(tmp_path) as (host, port):
        address = BrokerAddress(host, port)
        async with running_system(settings, registry, address, "ingest-restart") as system:
            await asyncio.to_thread(publish, address, "replayer", [(m.topic, m.payload) for m in first])
            await system.drain(sum(len(orjson.loads(m.payload)["readings"]) for m in first))
        publish(address, "replayer", [(m.topic, m.payload) for m in second])  # nobody is listening now: the broker keeps them for the session
        async with running_system(settings, registry, address, "ingest-restart") as system:
            assert len(system.pipeline.states) == len(registry), "detector state resumed from the database"
            await system.drain(sum(len(orjson.loads(m.payload)["readings"]) for m in second))
            async with system.sessions() as session:
                stats = await read_stats(session)
    assert stats.readings_accepted == readings_in
    assert stats.readings_duplicate == 0
    assert stats.rejected_by_reason == {}

