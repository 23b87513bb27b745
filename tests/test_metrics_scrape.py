"""`carewatch run`'s /metrics, scraped by a real Prometheus: what it counts is what the pipeline committed."""

from __future__ import annotations

import time

import httpx
import pytest

from gateway_sim import SimConfig
from tests.services import PrometheusServer, mosquitto, prometheus
from tests.test_run_service import simulated_district, start_service, wait_for_readings

pytestmark = [pytest.mark.service, pytest.mark.timeout(180)]


def scraped(server: PrometheusServer, promql: str, expected: float, timeout: float = 30) -> dict[tuple[str, ...], float]:
    """The samples of ``promql`` by label values, once their sum reaches ``expected`` (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = {
            tuple(sorted(s["metric"].items())): float(s["value"][1])  # type: ignore[index, union-attr]
            for s in server.query(promql)
        }
        if sum(samples.values()) >= expected or time.monotonic() > deadline:
            return samples
        time.sleep(0.5)


async def test_prometheus_scrapes_the_readings_the_pipeline_accepted_and_refused(tmp_path):
    district = await simulated_district(tmp_path, SimConfig(households=3, days=0.5, seed=11))
    registry, messages, total = district.registry, district.messages, district.readings
    http_port, headers = district.http_port, district.headers

    with mosquitto(tmp_path) as broker:
        import paho.mqtt.client as mqtt

        service = start_service(tmp_path, broker, registry, http_port)
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="replayer")
        publisher.connect(*broker)
        publisher.loop_start()
        try:
            with prometheus(tmp_path, [f"127.0.0.1:{http_port}"]) as server:
                for message in messages:
                    publisher.publish(message.topic, message.payload, qos=1).wait_for_publish(10)
                publisher.publish("carewatch/v1/gateways/gw-nobody/readings", b"not json", qos=1).wait_for_publish(10)
                stats = wait_for_readings(http_port, total, headers)
                accepted = scraped(server, 'carewatch_readings_total{outcome="accepted"}', stats["readings_accepted"])  # type: ignore[arg-type]
                refused = scraped(server, "carewatch_messages_refused_total", 1)
                batches = scraped(server, "carewatch_detector_batch_seconds_count", 1)
                up = server.query('up{job="carewatch"}')
            text = httpx.get(f"http://127.0.0.1:{http_port}/metrics").text
        finally:
            publisher.loop_stop()
            service.terminate()
            service.wait(10)

    assert stats["readings_accepted"] == total, stats
    assert [s["value"][1] for s in up] == ["1"]  # type: ignore[index]
    assert accepted == {(("__name__", "carewatch_readings_total"), ("format", "contract"), ("instance", f"127.0.0.1:{http_port}"),
                         ("job", "carewatch"), ("outcome", "accepted")): float(total)}  # an empty reason is no label
    assert {dict(labels)["reason"]: value for labels, value in refused.items()} == {"malformed_json": 1.0}
    assert sum(batches.values()) >= 1
    for family in ("carewatch_open_alerts", "carewatch_outbox_backlog", "carewatch_ingest_lag_seconds_bucket",
                   "carewatch_mqtt_reconnects_total", "carewatch_newest_reading_timestamp_seconds"):
        assert family in text, family
