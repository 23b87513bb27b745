"""`carewatch ingest` killed mid-stream and restarted: the MQTT broker kept its persistent session,
so readings published meanwhile (and those in flight, not yet acknowledged) arrive; none is lost."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from carewatch.registry import Registry
from carewatch.runners.faust.readback import household_states
from carewatch.runners.faust.system import settings_environment, wait_until_judged_and_stored
from tests.services import mosquitto
from tests.stream.conftest import stream_settings
from tests.stream.scenario import publish, readings_per_household, reference_alert_ids, scenario, stored_alerts
from tests.stream.workers import alert_service, worker

pytestmark = pytest.mark.service


def start_bridge(settings, log_path) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "from carewatch.cli import app; app()", "ingest"],
            env={"PATH": "/usr/bin:/bin", **settings_environment(settings)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def bridging(bridge: subprocess.Popen[bytes], log_path, times: int, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until the bridge said (for the ``times``-th time) that it is subscribed and forwarding."""
    async with asyncio.timeout(timeout):
        while log_path.read_text(errors="replace").count("bridging mqtt://") < times:
            assert bridge.poll() is None, log_path.read_text()[-2000:]
            await asyncio.sleep(0.1)


async def readings_on_kafka(settings) -> int:  # type: ignore[no-untyped-def]
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from carewatch.kafka import bootstrap_servers

    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers(settings.kafka_url))
    await probe.start()
    try:
        partitions = [TopicPartition(settings.kafka_topic_readings, p) for p in range(settings.kafka_partitions)]
        return sum((await probe.end_offsets(partitions)).values())
    finally:
        await probe.stop()


async def test_readings_published_while_the_bridge_is_down_arrive_after_its_restart(kafka_url, tmp_path):
    simulation = scenario(households=6, days=2.0, seed=3)
    reference = await reference_alert_ids(simulation, tmp_path)
    expected = dict(readings_per_household(simulation))
    messages = [m for m in simulation.messages() if m.kind == "readings"]
    first, second = messages[: len(messages) // 2], messages[len(messages) // 2 :]

    with mosquitto(tmp_path) as (host, port):
        settings = stream_settings(
            kafka_url, tmp_path, simulation.registry_document(),
            mqtt_url=f"mqtt://{host}:{port}", mqtt_client_id="bridge-crash-test",
        )
        Registry.load(settings.registry_path)
        async with alert_service(settings) as sessions:
            judge = worker(settings, tmp_path, "worker").start()
            bridge = start_bridge(settings, tmp_path / "bridge.log")
            try:
                await bridging(bridge, tmp_path / "bridge.log", times=1)  # its session exists before gateways publish
                publishing = asyncio.create_task(asyncio.to_thread(publish, host, port, first))
                async with asyncio.timeout(60):
                    while await readings_on_kafka(settings) < 200:
                        await asyncio.sleep(0.05)
                bridge.send_signal(signal.SIGKILL)  # mid-stream: messages in flight are not acknowledged
                bridge.wait()
                await publishing
                await asyncio.to_thread(publish, host, port, second)  # nobody bridges now: Mosquitto keeps them
                bridge = start_bridge(settings, tmp_path / "bridge.log")
                deadline = asyncio.get_running_loop().time() + 90
                while True:
                    counted = {h: s.readings_accepted for h, s in (await household_states(settings)).items()}
                    if counted == expected:
                        break
                    assert bridge.poll() is None, (tmp_path / "bridge.log").read_text()[-2000:]
                    assert asyncio.get_running_loop().time() < deadline, f"judged {counted}, published {expected}"
                    await asyncio.sleep(0.5)
                await wait_until_judged_and_stored(settings, [judge])
                assert sorted(a.alert_id for a in await stored_alerts(sessions)) == sorted(reference)
            finally:
                bridge.terminate()
                bridge.wait()
                judge.stop()
