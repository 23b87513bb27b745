"""The scaled-out path's archive: the alert service's consumer of the readings topic puts each reading in the
archive outbox in the transaction that stores its offset, and the archiver gets every one to a real
VictoriaMetrics, through an outage of it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from carewatch.db import make_engine, make_sessions
from carewatch.domain import MeterKind, Reading
from carewatch.kafka import bootstrap_servers, kafka_url
from carewatch.runners.faust.alert_service import AlertService, running_alert_service
from carewatch.settings import Settings
from ingest.wire import encode_reading
from tests.ingest.test_archive import backlog_reaches
from tests.services import VictoriaMetrics
from tests.stream.conftest import stream_settings
from tests.stream.workers import alert_service

pytestmark = [pytest.mark.service, pytest.mark.timeout(240)]

START = datetime.fromisoformat("2026-01-05T06:00:00+08:00")
REGISTRY = {"version": 1, "households": [{"household_id": f"hh-{h}", "gateway_id": f"gw-{h}",
                                          "meters": [{"meter_id": f"gas-{h}", "kind": "gas"}]} for h in range(4)]}


def readings(hours: range) -> list[Reading]:
    return [Reading(f"hh-{h}", f"gas-{h}", MeterKind.GAS, START + timedelta(hours=hour), 10.0 + hour * 0.1, 90.0, -80.0)
            for hour in hours for h in range(4)]


async def produce(settings: Settings, batch: list[Reading]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(kafka_url(settings)), max_batch_size=settings.kafka_producer_batch_bytes)
    await producer.start()
    try:
        for reading in batch:
            await producer.send_and_wait(settings.kafka_topic_readings, encode_reading(reading, None), key=reading.household_id.encode())
    finally:
        await producer.stop()


async def booked(service: AlertService, count: int, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while service.usage.stored < count:
            await asyncio.sleep(0.1)


async def test_the_readings_topic_is_archived_through_an_outage(kafka_url, tmp_path, victoria_metrics_server: VictoriaMetrics):
    settings = stream_settings(
        kafka_url, tmp_path, REGISTRY,
        influx_url=victoria_metrics_server.url, influx_token="t", influx_org="carewatch", influx_bucket="readings",
    )
    async with alert_service(settings):
        pass  # the schema and the topics
    engine = make_engine(settings.database_url)
    try:
        async with running_alert_service(settings, make_sessions(engine)) as service:
            assert service.archiver is not None
            await produce(settings, readings(range(6)))
            await booked(service, 24)
            await service.archiver.emptied()

            victoria_metrics_server.stop()
            await produce(settings, readings(range(6, 12)))
            await booked(service, 48)  # the use is booked and the offsets stored while the archive is away
            await backlog_reaches(service.status, 24)

            victoria_metrics_server.start()
            await service.archiver.emptied(timeout=90)
    finally:
        await engine.dispose()

    points = victoria_metrics_server.points("meter_reading_register_m3")
    assert len(points) == 48
    assert len(victoria_metrics_server.points("meter_reading_usage_m3")) == 44, "each meter's first reading has no use"
