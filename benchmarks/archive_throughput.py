"""Embedded ingest throughput with the readings archive on vs off, same simulation, same run.

    PYTHONPATH=$PWD python3 benchmarks/archive_throughput.py [--households 40] [--days 2] [--runs 3]

A private Mosquitto and a private VictoriaMetrics (InfluxDB's v2 write API) are started
(tests/services.py).  The simulation's messages are made once; each run gets a fresh SQLite
database and a fresh `running_system`, publishes every message at QoS 1 and is timed from the
first publish to the last batch committed (`RunningSystem.drain`): ingest, detectors, alerts.
With the archive on, the time until the outbox is empty (every point acknowledged by
VictoriaMetrics) is printed beside it: the archive follows ingest, it does not hold it.
Runs alternate off/on; the medians of --runs each and their ratio (on/off; the aim is ≥ 0.8) are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from carewatch.cli.demo import DEMO_START
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import running_system
from carewatch.settings import Settings
from gateway_sim import SimConfig, Simulation
from ingest.subscriber import BrokerAddress
from tests.services import mosquitto, victoria_metrics


def publish_all(broker: BrokerAddress, messages: list[tuple[str, bytes, bool]]) -> None:
    """QoS 1, many in flight, then every PUBACK awaited (as a busy gateway fleet sends)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="archive-benchmark-gateways")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        sent = [client.publish(topic, payload, qos=1, retain=retain) for topic, payload, retain in messages]
        for info in sent:
            info.wait_for_publish(60)
    finally:
        client.loop_stop()
        client.disconnect()


async def one_run(
    workdir: Path, run: int, archive_url: str | None, broker: BrokerAddress, registry: Registry,
    messages: list[tuple[str, bytes, bool]], readings: int,
) -> tuple[float, float | None]:
    """(readings per second through ingest, seconds from the first publish until the archive was emptied or None)."""
    archive = {"influx_url": archive_url, "influx_token": "t", "influx_org": "carewatch", "influx_bucket": "readings"} if archive_url else {}
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite+aiosqlite:///{workdir / f'run-{run}.db'}", clock="event", **archive
    )
    async with running_system(settings, registry, broker, f"archive-benchmark-{run}") as system:
        started = time.perf_counter()
        await asyncio.to_thread(publish_all, broker, messages)
        await system.drain(readings, timeout=600)
        ingested = time.perf_counter() - started
        archived = None
        if system.pipeline.archiver:
            await system.pipeline.archiver.emptied(timeout=600)
            archived = time.perf_counter() - started
    return readings / ingested, archived


async def main(households: int, days: float, runs: int) -> None:
    simulation = Simulation(SimConfig(households=households, days=days, seed=3, start=DEMO_START))
    registry = Registry.from_document(simulation.registry_document())
    sim_messages = list(simulation.messages())
    messages = [(m.topic, m.payload, m.retain) for m in sim_messages]
    readings = sum(m.payload.count(b'"meter_id"') for m in sim_messages if m.kind == "readings")
    print(f"{households} households, {days} days: {len(messages)} messages, {readings} readings; {runs} runs each, alternating")
    with tempfile.TemporaryDirectory(prefix="archive-benchmark-") as temp:
        workdir = Path(temp)
        with mosquitto(workdir) as (host, port), victoria_metrics(workdir) as server:
            broker = BrokerAddress(host, port)
            rates: dict[str, list[float]] = {"off": [], "on": []}
            archived_s: list[float] = []
            for run in range(runs):
                for mode in ("off", "on"):
                    rate, archived = await one_run(
                        workdir, 2 * run + (mode == "on"), server.url if mode == "on" else None, broker, registry, messages, readings
                    )
                    rates[mode].append(rate)
                    tail = f", archive emptied {archived:.1f} s after the first publish" if archived is not None else ""
                    print(f"run {run + 1} archive {mode:>3}: {rate:8.0f} readings/s{tail}")
                    if archived is not None:
                        archived_s.append(archived)
            points = len(server.points("meter_reading_register_m3"))
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    print(f"median archive off: {off:.0f} readings/s")
    print(f"median archive on:  {on:.0f} readings/s (archive emptied after a median {statistics.median(archived_s):.1f} s)")
    # VictoriaMetrics keeps a sample written again (no -dedup.minScrapeInterval): each "on" run adds every reading.
    print(f"points in VictoriaMetrics: {points} (expected {runs} runs x {readings} readings = {runs * readings})")
    print(f"ratio on/off: {on / off:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=40)
    parser.add_argument("--days", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.households, options.days, options.runs))
