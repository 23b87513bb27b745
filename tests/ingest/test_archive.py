"""The readings archive: every accepted reading reaches InfluxDB's v2 write API (a real VictoriaMetrics),
and an outage of it holds back neither ingest nor alerts and loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import orjson
import paho.mqtt.client as mqtt
import pytest
from influxdb_client import Point, WritePrecision

from carewatch.cli.demo import DEMO_START
from carewatch.loopback import free_port, stop_process
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import running_system
from carewatch.settings import Settings
from gateway_sim import SimConfig, Simulation
from gateway_sim.simulation import SimMessage
from ingest.archive import MEASUREMENT, line_of
from ingest.stats import read_stats
from ingest.subscriber import BrokerAddress
from tests.services import VictoriaMetrics
from tests.test_run_service import provision_api_key, start_service, wait_for_readings

pytestmark = pytest.mark.timeout(240)

REGISTER = "meter_reading_register_m3"


def archiving(tmp_path, server: VictoriaMetrics) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event",
        influx_url=server.url, influx_token="test-token", influx_org="carewatch", influx_bucket="readings",
    )


def publish(broker: BrokerAddress, messages: list[SimMessage]) -> int:
    """Publish as the gateways would (QoS 1, each PUBACK awaited); returns how many readings were sent."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="archive-test-gateways")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for message in messages:
            client.publish(message.topic, message.payload, qos=1, retain=message.retain).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()
    return sum(len(orjson.loads(m.payload)["readings"]) for m in messages if m.kind == "readings")


async def backlog_reaches(status: Callable[[], dict[str, object]], count: int, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while status()["archive_backlog"] != count:
            await asyncio.sleep(0.1)


def simulation() -> Simulation:
    return Simulation(SimConfig(households=4, days=1.5, seed=11, start=DEMO_START))


async def test_every_accepted_reading_is_a_point_with_its_tags_and_fields(tmp_path, mosquitto_broker, victoria_metrics_server):
    sim = simulation()
    registry = Registry.from_document(sim.registry_document())
    broker = BrokerAddress(*mosquitto_broker)
    async with running_system(archiving(tmp_path, victoria_metrics_server), registry, broker, "archive-ingest") as system:
        sent = await asyncio.to_thread(publish, broker, list(sim.messages()))
        await system.drain(sent)
        assert system.archiving is not None
        await system.pipeline.archiver.emptied()  # type: ignore[union-attr]
        async with system.sessions() as session:
            accepted = (await read_stats(session)).readings_accepted

    points = victoria_metrics_server.points(REGISTER)
    assert accepted == sent
    assert len(points) == accepted
    labels, _, _ = points[0]
    assert {"household", "meter", "kind", "site"} <= set(labels)
    assert {labels["household"] for labels, _, _ in points} == set(registry.households)
    used = victoria_metrics_server.points("meter_reading_usage_m3")
    assert 0 < len(used) < len(points), "use is known from each meter's second reading on"


async def test_an_archive_outage_holds_back_nothing_and_loses_nothing(tmp_path, mosquitto_broker, victoria_metrics_server):
    sim = simulation()
    registry = Registry.from_document(sim.registry_document())
    messages = list(sim.messages())
    half = len(messages) // 2
    broker = BrokerAddress(*mosquitto_broker)
    async with running_system(archiving(tmp_path, victoria_metrics_server), registry, broker, "archive-ingest") as system:
        archiver = system.pipeline.archiver
        assert archiver is not None
        before = await asyncio.to_thread(publish, broker, messages[:half])
        await system.drain(before)
        await archiver.emptied()

        victoria_metrics_server.stop()
        during = await asyncio.to_thread(publish, broker, messages[half:])
        await system.drain(before + during)  # ingest and alerts go on while the archive is away
        await backlog_reaches(system.pipeline.status, during)  # counted while the archiver is refused
        assert system.readiness() == []

        victoria_metrics_server.start()  # the same port and data
        await archiver.emptied(timeout=90)
        async with system.sessions() as session:
            accepted = (await read_stats(session)).readings_accepted

    assert accepted == before + during
    assert len(victoria_metrics_server.points(REGISTER)) == accepted


async def test_carewatch_run_archives_what_it_accepts(tmp_path, mosquitto_broker, victoria_metrics_server):
    sim = simulation()
    registry = tmp_path / "households.json"
    registry.write_bytes(orjson.dumps(sim.registry_document()))
    http_port = free_port()
    headers = await provision_api_key(tmp_path / "carewatch.db")
    archive = {"CAREWATCH_INFLUX_URL": victoria_metrics_server.url, "CAREWATCH_INFLUX_TOKEN": "t",
               "CAREWATCH_INFLUX_ORG": "carewatch", "CAREWATCH_INFLUX_BUCKET": "readings"}
    service = start_service(tmp_path, mosquitto_broker, registry, http_port, archive)
    try:
        sent = await asyncio.to_thread(publish, BrokerAddress(*mosquitto_broker), list(sim.messages()))
        stats = await asyncio.to_thread(wait_for_readings, http_port, sent, headers)
        async with asyncio.timeout(60):
            while len(victoria_metrics_server.points(REGISTER)) < sent:
                await asyncio.sleep(0.5)
    finally:
        stop_process(service)
    assert stats["readings_accepted"] == sent
    assert len(victoria_metrics_server.points(REGISTER)) == sent


def test_the_archive_is_off_unless_its_url_is_set_and_then_needs_token_org_and_bucket():
    assert Settings(_env_file=None).influx_url is None  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="CAREWATCH_INFLUX_TOKEN, CAREWATCH_INFLUX_BUCKET"):
        Settings(_env_file=None, influx_url="http://127.0.0.1:8086", influx_org="carewatch")  # type: ignore[call-arg]


@pytest.mark.parametrize("site", ["east", "east gate, block=2"])
@pytest.mark.parametrize("usage, battery, signal", [(None, None, None), (0.25, 87.0, -95.5), (1e-07, 100.0, None)])
def test_a_reading_is_the_line_influxdb_client_would_write_with_its_register_in_a_field_named_register(site, usage, battery, signal):
    at = datetime.fromisoformat("2026-01-05T08:00:00.250000+08:00")
    row = (1, "hh-1", "gas-1", "gas", site, at, 10.5, usage, battery, signal)
    expected = Point(MEASUREMENT).tag("household", "hh-1").tag("meter", "gas-1").tag("kind", "gas").tag("site", site)
    expected.field("register_m3", 10.5).time(at, WritePrecision.NS)
    for name, value in (("usage_m3", usage), ("battery", battery), ("signal", signal)):
        if value is not None:
            expected.field(name, value)
    assert line_of(row) == expected.to_line_protocol()
    assert " register_m3=10.5" in line_of(row) or ",register_m3=10.5" in line_of(row)
