"""An event-time replay raises the same alerts however its messages are batched (issue 14, item 0)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carewatch.cli.demo import DEMO_START
from carewatch.db import make_engine, make_sessions
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import Pipeline
from carewatch.schema import create_schema
from carewatch.settings import Settings
from gateway_sim import SimConfig, Simulation
from ingest.subscriber import InboundMessage

pytestmark = pytest.mark.heavy  # many generated examples or a whole replay: in CI, not in the fast selection


async def alerts(tmp_path, simulation: Simulation, batch_size: int) -> set[tuple[str, datetime]]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / f'batch-{batch_size}.db'}")
    await create_schema(engine)
    sessions = make_sessions(engine)
    settings = Settings(_env_file=None, clock="event")  # type: ignore[call-arg]
    registry = Registry.from_document(simulation.registry_document())
    pipeline = Pipeline(registry=registry, sessions=sessions, settings=settings, clock=lambda: datetime(2027, 1, 1, tzinfo=UTC))
    await pipeline.start()
    messages = [
        InboundMessage(m.topic, m.payload, index, 1, m.sim_time) for index, m in enumerate(simulation.messages())
    ]
    for start in range(0, len(messages), batch_size):
        await pipeline.handle(messages[start : start + batch_size])
    rows = await pipeline.alert_store.list(limit=10_000)
    await engine.dispose()
    return {(row.id, row.raised_at) for row in rows}


async def test_the_same_readings_raise_the_same_alerts_at_the_same_event_time_however_batched(tmp_path):
    simulation = Simulation(SimConfig(households=6, days=2.5, seed=7, start=DEMO_START))
    one_by_one = await alerts(tmp_path, simulation, 1)
    assert one_by_one, "the scenario raises alerts"
    # 500 messages of six households span about a simulated day: time must still pass reading by reading.
    assert await alerts(tmp_path, simulation, 500) == one_by_one
