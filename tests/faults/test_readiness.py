"""`carewatch run` says it is not ready while its MQTT broker is down, and ready again once it is back."""

from __future__ import annotations

import time

import httpx
import orjson
import pytest

from tests.services import free_port, mosquitto
from tests.test_run_service import start_service

pytestmark = [pytest.mark.service, pytest.mark.timeout(180)]


def wait_for_readiness(port: int, ready: bool, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        if (response.status_code == 200) == ready or time.monotonic() > deadline:
            return {"code": response.status_code, **response.json()}
        time.sleep(0.5)


def test_readiness_follows_the_mqtt_broker_and_liveness_does_not(tmp_path):
    registry = tmp_path / "households.json"
    registry.write_bytes(orjson.dumps({"version": 1, "households": []}))
    http_port = free_port()
    (tmp_path / "first").mkdir()
    (tmp_path / "again").mkdir()
    with mosquitto(tmp_path / "first") as (host, port):
        service = start_service(tmp_path, (host, port), registry, http_port)
        ready = wait_for_readiness(http_port, True, 30)
    try:
        assert ready["code"] == 200, ready
        down = wait_for_readiness(http_port, False, 30)
        assert down["code"] == 503
        assert any("MQTT" in problem for problem in down["problems"])  # type: ignore[union-attr]
        assert httpx.get(f"http://127.0.0.1:{http_port}/livez").status_code == 200
        with mosquitto(tmp_path / "again", port=port):
            assert wait_for_readiness(http_port, True, 60)["code"] == 200
            scraped = httpx.get(f"http://127.0.0.1:{http_port}/metrics").text
            assert "carewatch_mqtt_reconnects_total 1.0" in scraped.splitlines()
    finally:
        service.kill()
        service.wait(10)
