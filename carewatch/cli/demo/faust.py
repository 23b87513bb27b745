"""`carewatch demo --engine faust`: the same demo through the scaled-out path.

simulated gateways → MQTT → bridge → Kafka → Faust worker (a real subprocess) →
detections → alert service (with the ladder and the notifications, as `carewatch alerts`
runs it) → the database the console reads and the demo's local catchers.  Without
CAREWATCH_KAFKA_URL a local Kafka-compatible broker (tansu) is started.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import orjson
from rich.console import Console

from alerts.catchers import demo_catchers
from carewatch.cli.demo.numbers import with_numbers
from alerts.notifications import settle
from carewatch.cli.demo.kafka_broker import LOCAL_BROKER_SETTINGS, local_kafka
from carewatch.cli.demo.parts import (
    LADDER_FREE_RUNNING,
    NOTIFY_SETTLE_S,
    DemoOptions,
    broker_for,
    notifications_report,
    notifying,
    demo_summary,
)
from carewatch.db import make_engine, make_sessions
from carewatch.kafka import ensure_topics
from carewatch.registry import Registry
from carewatch.runners.faust.alert_service import running_alert_service
from ingest.archive import outbox_emptied
from carewatch.runners.faust.readback import dead_letters, household_states
from carewatch.runners.faust.system import WorkerProcess, wait_until_judged_and_stored
from carewatch.schema import create_schema
from carewatch.settings import Settings
from gateway_sim import SimConfig, Simulation, publish_simulation
from ingest.bridge import KafkaBridge, running_bridge
from ingest.stats import IngestStats
from ingest.subscriber import BrokerAddress


@contextlib.contextmanager
def kafka_for(settings: Settings, workdir: Path) -> Iterator[Settings]:
    """The settings' Kafka, or a local broker when none is set."""
    if settings.kafka_url:
        yield settings
        return
    with local_kafka(workdir / "tansu.log") as url:
        yield settings.model_copy(update={"kafka_url": url, **LOCAL_BROKER_SETTINGS})


DEMO_SWEEP_INTERVAL = timedelta(seconds=1)


def demo_settings(settings: Settings, workdir: Path, document: dict[str, object]) -> Settings:
    """A deployment of its own: fresh database, topics and consumer groups named after the run."""
    registry_path = workdir / "households.json"
    registry_path.write_bytes(orjson.dumps(document))
    run = workdir.name
    return settings.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
            "registry_path": registry_path,
            "clock": "event",
            "kafka_topic_readings": f"{run}-readings",
            "kafka_topic_detections": f"{run}-detections",
            "kafka_topic_dead_letters": f"{run}-dead-letters",
            "kafka_topic_gateway_status": f"{run}-gateway-status",
            "stream_app_id": f"{run}-workers",
            "alerts_group_id": f"{run}-alerts",
            "stream_data_dir": workdir / "stream-data",
            "mqtt_session_expiry": None,  # the embedded amqtt broker speaks MQTT 3.1.1
            # A replay takes seconds: partitions whose households fell silent are swept at least as often.
            "stream_sweep_interval": DEMO_SWEEP_INTERVAL,
        }
    )


async def stream_stats(settings: Settings, bridge: KafkaBridge) -> IngestStats:
    """Ingest statistics of the scaled-out path, read back from Kafka (the workers' table and dead letters)."""
    states = (await household_states(settings)).values()
    rejected = Counter(letter.reason.value for letter in await dead_letters(settings))
    return IngestStats(
        messages=bridge.messages_forwarded,
        readings_accepted=sum(s.readings_accepted for s in states),
        readings_duplicate=sum(s.readings_duplicate for s in states),
        rejected_by_reason=dict(rejected),
        unknown_meters=[],
        gateways_offline=[],
    )


@contextlib.asynccontextmanager
async def faust_system(
    settings: Settings, registry: Registry, broker: BrokerAddress, workdir: Path, client_id: str
) -> AsyncIterator[tuple[KafkaBridge, WorkerProcess, object]]:
    """Database, topics, one worker process, the bridge and the alert service, started and stopped together."""
    engine = make_engine(settings.database_url)
    await create_schema(engine)
    sessions = make_sessions(engine)
    await ensure_topics(settings)
    worker = WorkerProcess(settings, workdir / "worker.log").start()
    try:
        async with (
            running_bridge(settings, registry, broker, client_id) as (bridge, _),
            running_alert_service(settings, sessions),
        ):
            yield bridge, worker, sessions
    finally:
        await asyncio.to_thread(worker.stop)
        await engine.dispose()


async def wait_for_bridge(bridge: KafkaBridge, readings: int, worker: WorkerProcess, timeout: float = 300.0) -> None:
    # 300 s, not 120: on a loaded two-core machine (load 12-16) the bridge forwarded 17,648-2x,xxx of the
    # 28,856 demo readings in 120 s, three runs of three; a dead worker still ends the wait at once.
    deadline = time.monotonic() + timeout
    while bridge.readings_seen < readings:
        worker.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bridge forwarded {bridge.readings_seen} of {readings} readings in {timeout:.0f} s")
        await asyncio.sleep(0.05)


async def run_faust_demo(settings: Settings, options: DemoOptions, console: Console) -> dict[str, object]:
    """Headless: publish the simulation, wait until every reading is judged and stored, return the summary."""
    started = time.monotonic()
    simulation = Simulation(
        SimConfig(households=options.households, days=options.days, seed=options.seed, start=options.start)
    )
    document = simulation.registry_document()
    registry = Registry.from_document(document)
    workdir = Path(tempfile.mkdtemp(prefix="carewatch-demo-faust-"))
    with kafka_for(settings, workdir) as settings:
        url = settings.kafka_url
        settings = demo_settings(settings, workdir, document)
        async with (
            broker_for(options) as address,
            demo_catchers(workdir / "caught", with_numbers(document, options.seed)["households"], options.seed) as catchers,
            faust_system(
                notifying(settings, catchers), registry, address, workdir, f"carewatch-demo-{workdir.name}"
            ) as (bridge, worker, sessions),
        ):
            console.print(f"[dim]Kafka {url}, Faust worker log {workdir / 'worker.log'}[/]")
            published = await publish_simulation(simulation, address.host, address.port)
            await wait_for_bridge(bridge, published.readings, worker)
            await wait_until_judged_and_stored(settings, [worker])
            # Once nothing is left to read, every partition is swept up to the newest event time.
            await asyncio.sleep(3 * DEMO_SWEEP_INTERVAL.total_seconds())
            await wait_until_judged_and_stored(settings, [worker])
            # The ladder's last steps and the dispatcher's last sends (the ladder's clock: the newest detection).
            settled = await settle(sessions, NOTIFY_SETTLE_S, quiet_s=1.0)
            if settings.influx_url:
                await outbox_emptied(sessions, timeout=300)  # every reading the alert service stored is in InfluxDB
            stats = await stream_stats(settings, bridge)
            summary = await demo_summary(sessions, simulation, published, options, time.monotonic() - started, stats=stats)
            return summary | {"notifications": await notifications_report(sessions, catchers, settled, LADDER_FREE_RUNNING)}
