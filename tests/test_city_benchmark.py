"""benchmarks/city.py runs end to end on a small city (the embedded engine) and prints every figure it promises."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.service, pytest.mark.heavy]


def test_a_small_city_through_the_embedded_engine_prints_its_figures():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "city.py"), "--households", "200", "--paths", "embedded",
         "--sample", "0.2", "--timeout", "120"],
        capture_output=True, text=True, timeout=240, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "failed" not in out, out
    figures = re.search(r"embedded +200 households: (\d+) readings .* judged ([\d,]+) readings/s", out)
    assert figures and int(figures[1]) > 10_000 and int(figures[2].replace(",", "")) > 0, out
    for figure in ("lag publish → judged p50", "peak RSS MB: run", "start-up", "restart", "stopped in", "MB per simulated day", "µs/reading"):
        assert figure in out, (figure, out)


def test_a_window_publishes_the_readings_sent_inside_it_and_every_gateways_status_before_its_end():
    from benchmarks.city import parse_window, sim_config, window_messages
    from gateway_sim import Simulation

    config = sim_config(60, 0.05, 1.25)
    every = list(Simulation(config).messages())
    windowed = window_messages(Simulation(config), parse_window("26-27"))

    def hours(m) -> float:  # type: ignore[no-untyped-def]
        return (m.sim_time - config.start).total_seconds() / 3600

    expected = [(m.topic, m.payload, m.retain, m.reading_count) for m in every
                if hours(m) < 27 and (m.kind == "status" or hours(m) >= 26)]
    assert windowed == expected
    assert len({m[0] for m in windowed if m[0].endswith("/status")}) == 60  # every gateway comes online
    assert 0 < sum(m[3] for m in windowed) < sum(m.reading_count for m in every) / 4
    assert window_messages(Simulation(config), parse_window("")) == [(m.topic, m.payload, m.retain, m.reading_count) for m in every]


def test_the_publisher_waits_for_room_in_the_brokers_queue_instead_of_having_messages_dropped(tmp_path: Path):
    # A whole compressed day at 300,000 households outran `carewatch run` by more than the broker's queue: Mosquitto
    # dropped the rest without telling the publisher, and the run waited for readings that never came.
    import threading

    import paho.mqtt.client as mqtt

    from benchmarks.city import publish, sim_config, window_messages
    from gateway_sim import Simulation
    from tests.services import mosquitto

    expected = window_messages(Simulation(sim_config(60, 0.05, 1.25)), None)  # 475 messages, 61 of them retained
    with mosquitto(tmp_path, "max_queued_messages 200\nsys_interval 1\n") as (host, port):
        received: list[str] = []
        subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lagging", clean_session=False,
                                 protocol=mqtt.MQTTv311)
        subscriber.on_message = lambda client, userdata, message: received.append(message.topic)
        subscriber.connect(host, port)
        subscriber.subscribe("#", qos=1)
        subscriber.loop_start()
        subscriber.disconnect()  # a persistent session, offline: the broker queues for it, up to 200
        subscriber.loop_stop()

        failure: list[BaseException] = []

        def publishing() -> None:
            try:
                publish(port, 60, 0.05, 1.25, tmp_path / "published.txt", 0.2, room=100)
            except BaseException as error:  # noqa: BLE001 - reported by the test below
                failure.append(error)

        publisher = threading.Thread(target=publishing)
        publisher.start()
        publisher.join(timeout=4)
        assert publisher.is_alive(), "the publisher went on past the broker's room"

        subscriber.connect(host, port)  # the session resumes: the broker hands over what it queued, and room comes
        subscriber.loop_start()
        publisher.join(timeout=60)
        deadline = time.monotonic() + 10
        while len(received) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.05)
        subscriber.loop_stop()
        assert not failure, failure
        assert len(received) == len(expected), "messages were dropped by the broker"
        summary = json.loads((tmp_path / "published.txt").read_text().splitlines()[-1])
        assert summary["messages"] == len(expected) and summary["held_s"] > 0
