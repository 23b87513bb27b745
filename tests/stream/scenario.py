"""The scripted input the stream tests share, and what it should produce."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import orjson

from alerts.store import AlertStore
from carewatch.demo import DEMO_START
from carewatch.evaluation import RaisedAlert, TruthIncident, evaluate
from carewatch.registry import Registry
from gateway_sim import SimConfig, Simulation
from gateway_sim.simulation import SimMessage


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


async def stored_alerts(sessions) -> list[RaisedAlert]:  # type: ignore[no-untyped-def]
    rows = await AlertStore(sessions).list(limit=100_000)
    return [RaisedAlert(a.id, a.household_id, a.alert_type, a.onset, a.raised_at) for a in rows]


def verdict_of(simulation: Simulation, alerts: list[RaisedAlert]):  # type: ignore[no-untyped-def]
    return evaluate([TruthIncident(i.household_id, str(i.kind), i.start) for i in simulation.incidents], alerts)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
