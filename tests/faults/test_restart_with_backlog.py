"""`carewatch run` killed with -9 while its broker holds a backlog comes up again, every time, and loses nothing.

CAREWATCH_RESTART_TRIALS sets how many kill/restart rounds run (3 in CI; 10 for the issue's count).
"""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import paho.mqtt.client as mqtt
import pytest

from gateway_sim import SimConfig
from tests.services import mosquitto
from tests.test_run_service import simulated_district, start_service, wait_for_readings

pytestmark = [pytest.mark.service, pytest.mark.timeout(600)]

TRIALS = int(os.environ.get("CAREWATCH_RESTART_TRIALS", "3"))


def wait_ready(http_port: int, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(f"http://127.0.0.1:{http_port}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"carewatch run was not ready within {timeout:.0f} s after a restart")


async def test_kill_9_with_a_backlog_then_restart_comes_up_every_time_and_loses_nothing(tmp_path):
    district = await simulated_district(tmp_path, SimConfig(households=30, days=1.5, seed=3))
    registry, messages, total = district.registry, district.messages, district.readings
    http_port, headers = district.http_port, district.headers
    # Mosquitto sends a resumed session's whole backlog at once: more than the subscriber's inbox holds.
    with mosquitto(tmp_path, "max_inflight_messages 0\n") as broker:
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gateways")
        publisher.connect(*broker)
        publisher.loop_start()
        service = start_service(tmp_path, broker, registry, http_port)

        def publish_all() -> None:
            for message in messages:
                publisher.publish(message.topic, message.payload, qos=1).wait_for_publish(30)

        publishing = threading.Thread(target=publish_all)
        publishing.start()
        ready_after = []
        try:
            for _ in range(TRIALS):
                time.sleep(1.0)
                service.send_signal(signal.SIGKILL)
                service.wait(10)
                time.sleep(1.0)  # the backlog grows while nobody listens
                service = start_service(tmp_path, broker, registry, http_port)
                ready_after.append(wait_ready(http_port))
            publishing.join(120)
            stats = wait_for_readings(http_port, total, headers, timeout=120)
        finally:
            publisher.loop_stop()
            service.terminate()
            service.wait(10)

    assert len(ready_after) == TRIALS, ready_after
    assert stats["readings_accepted"] == total, (stats, (tmp_path / "service.log").read_text()[-3000:])
