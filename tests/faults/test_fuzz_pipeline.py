"""Hostile messages through the whole embedded pipeline (validation, detectors, one real database transaction
per batch): nothing stops ingest, every message is counted, and a good reading after them is accepted.

CI runs CAREWATCH_FUZZ_MESSAGES (default 2,000); the issue's count:
``CAREWATCH_FUZZ_MESSAGES=100000 python3 -m pytest tests/faults/test_fuzz_pipeline.py --timeout=0``.
(The Hypothesis properties in tests/ingest/test_hostile_input.py search the translation more cleverly;
this generator is plain and fast, so that a hundred thousand messages reach the database.)
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime

import orjson
import pytest

from carewatch.db import make_engine, make_sessions
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import MAX_BATCH, Pipeline
from carewatch.schema import create_schema
from carewatch.settings import Settings
from ingest.stats import read_stats
from ingest.subscriber import InboundMessage
from tests.ingest.test_hostile_input import Raw, to_json

pytestmark = [pytest.mark.heavy, pytest.mark.timeout(0 if os.environ.get("CAREWATCH_FUZZ_MESSAGES") else 300)]

MESSAGES = int(os.environ.get("CAREWATCH_FUZZ_MESSAGES", "2000"))
NOW = datetime(2026, 1, 6, 12, tzinfo=UTC)
HOUSEHOLDS = 20
REGISTRY = Registry.from_document({"version": 1, "households": [
    {"household_id": f"hh-{n}", "gateway_id": f"gw-{n}", "meters": [
        {"meter_id": f"gas-{n}", "kind": "gas"}, {"meter_id": f"wat-{n}", "kind": "water"}]}
    for n in range(HOUSEHOLDS)
]})
HOSTILE_TEXT = ["", " ", "gas-1\n", "gas-1\x00", "\ud800", "gas-\udfff", "g" * 65, "煤气表-1", "gas/1", "x" * 5000]
HOSTILE_VALUES: list[object] = [
    *HOSTILE_TEXT, None, True, [], {}, -1, 10**400, Raw("1e999"), Raw("NaN"), Raw("-Infinity"), Raw("9" * 5000),
    Raw("[" * 20_000 + "]" * 20_000), Raw('{"a":' * 1_025 + "1" + "}" * 1_025), 1.5e308, -0.0,
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-13-45T25:61:00+08:00", "yesterday",
]


def hostile_message(rng: random.Random, index: int) -> tuple[str, bytes]:
    n = rng.randrange(HOUSEHOLDS)
    topic = rng.choice([f"carewatch/v1/gateways/gw-{n}/readings"] * 8 + [
        f"carewatch/v1/gateways/gw-{n}/status", "carewatch/v1/gateways/gw-x\n/readings",
        "carewatch/v1/gateways/\ud800/readings", f"carewatch/v1/gateways/{'g' * 200}/readings", "elsewhere/entirely",
    ])
    shape = rng.random()
    if shape < 0.05:
        return topic, rng.randbytes(rng.randrange(1, 200))
    if shape < 0.1:
        return topic, to_json(rng.choice(HOSTILE_VALUES)).encode("utf-8", "surrogatepass")

    def value(good: object) -> object:
        return good if rng.random() < 0.85 else rng.choice(HOSTILE_VALUES)

    readings = [
        {
            "meter_id": value(rng.choice([f"gas-{n}", f"wat-{n}", "gas-unknown"])),
            "at": value(f"2026-01-0{1 + index % 5}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+08:00"),
            "register_m3": value(round(index / 100 + rng.random(), 3)),
            **({"battery_pct": value(rng.randrange(101))} if rng.random() < 0.3 else {}),
            **({"status": value("ok")} if rng.random() < 0.2 else {}),
        }
        for _ in range(rng.randrange(1, 30))
    ]
    document = {"v": value(1), "readings": value(readings), **({"seq": value(index)} if rng.random() < 0.5 else {})}
    return topic, to_json(document).encode("utf-8", "surrogatepass")


async def test_hostile_messages_through_the_pipeline_never_stop_ingest(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}")
    await create_schema(engine)
    settings = Settings(_env_file=None, clock="event")  # type: ignore[call-arg]
    pipeline = Pipeline(registry=REGISTRY, sessions=make_sessions(engine), settings=settings, clock=lambda: NOW)
    await pipeline.start()
    rng = random.Random(20261206)
    batch: list[InboundMessage] = []
    for index in range(MESSAGES):
        topic, payload = hostile_message(rng, index)
        batch.append(InboundMessage(topic, payload, index, 1, NOW))
        if len(batch) == MAX_BATCH or index == MESSAGES - 1:
            await pipeline.handle(batch)
            batch = []
    async with pipeline.sessions() as session:
        before = await read_stats(session)
    good = orjson.dumps({"v": 1, "readings": [{"meter_id": "gas-0", "at": "2026-01-06T19:00:00+08:00", "register_m3": 99999.0}]})
    await pipeline.handle([InboundMessage("carewatch/v1/gateways/gw-0/readings", good, MESSAGES, 1, NOW)])
    async with pipeline.sessions() as session:
        stats = await read_stats(session)
    await engine.dispose()

    assert stats.messages == MESSAGES + 1, "every message counted, none lost"
    assert before.rejected > 0 and before.readings_accepted > 0, "the mix holds good and hostile readings"
    assert stats.readings_accepted == before.readings_accepted + 1, "ingest still takes a good reading after them"
