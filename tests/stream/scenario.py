"""The scripted input the stream tests share, and what it should produce."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from sqlalchemy import select

from alerts.store import AlertStore
from carewatch.db import make_engine, make_sessions
from carewatch.cli.demo import DEMO_START
from carewatch.cli.evaluation import RaisedAlert, TruthIncident, evaluate
from carewatch.registry import Registry
from carewatch.schema import create_schema
from carewatch.settings import Settings
from carewatch.runners.embedded.pipeline import Pipeline
from gateway_sim import SimConfig, Simulation
from gateway_sim.simulation import SimMessage
from ingest.subscriber import InboundMessage
from ingest.usage import HourlyUsage


def scenario(households: int = 8, days: float = 2.75, seed: int = 7) -> Simulation:
    """Every incident kind scripted (as in tests/test_end_to_end.py)."""
    return Simulation(SimConfig(households=households, days=days, seed=seed, start=DEMO_START))


def readings_per_household(simulation: Simulation, messages: list[SimMessage] | None = None) -> Counter[str]:
    """Readings the simulated gateways publish, counted per household."""
    registry = Registry.from_document(simulation.registry_document())
    counts: Counter[str] = Counter()
    for message in messages if messages is not None else simulation.messages():
        if message.kind == "readings":
            for item in orjson.loads(message.payload)["readings"]:
                household, _ = registry.meter(item["meter_id"])  # type: ignore[misc]
                counts[household.household_id] += 1
    return counts


async def hourly_use(database_url: str) -> dict[tuple[str, str, datetime], float]:
    """Every booked hour of use in that database: (household, kind, hour) → m³."""
    engine = make_engine(database_url)
    try:
        async with make_sessions(engine)() as session:
            rows = (await session.scalars(select(HourlyUsage))).all()
    finally:
        await engine.dispose()
    return {(r.household_id, r.kind, r.hour): r.used_m3 for r in rows}


async def stored_alerts(sessions) -> list[RaisedAlert]:  # type: ignore[no-untyped-def]
    rows = await AlertStore(sessions).list(limit=100_000)
    return [RaisedAlert(a.id, a.household_id, a.alert_type, a.onset, a.raised_at) for a in rows]


def verdict_of(simulation: Simulation, alerts: list[RaisedAlert]):  # type: ignore[no-untyped-def]
    return evaluate([TruthIncident(i.household_id, str(i.kind), i.start) for i in simulation.incidents], alerts)


def publish(host: str, port: int, messages: list[SimMessage], client_id: str = "stream-test-gateways") -> None:
    """Publish QoS 1 as the gateways would, waiting for every PUBACK (call from a thread)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect(host, port)
    client.loop_start()
    try:
        for message in messages:
            if message.kind == "readings":
                client.publish(message.topic, message.payload, qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def readings_in(messages: list[SimMessage]) -> int:
    return sum(m.reading_count for m in messages if m.kind == "readings")


async def reference_alert_ids(simulation: Simulation, workdir: Path) -> set[str]:
    """The alerts the embedded runner raises for the same messages, fed straight into its pipeline."""
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{workdir / 'reference.db'}", clock="event")  # type: ignore[call-arg]
    engine = make_engine(settings.database_url)
    await create_schema(engine)
    sessions = make_sessions(engine)
    pipeline = Pipeline(registry=Registry.from_document(simulation.registry_document()), sessions=sessions, settings=settings)
    await pipeline.start()
    batch: list[InboundMessage] = []
    for message in simulation.messages():
        if message.kind == "readings":
            batch.append(InboundMessage(message.topic, message.payload, 0, 0, datetime.now(UTC)))
        if len(batch) == 200:
            await pipeline.handle(batch)
            batch = []
    await pipeline.handle(batch)
    ids = {a.alert_id for a in await stored_alerts(sessions)}
    await engine.dispose()
    return ids
