"""What a batch keeps per gateway, meter and household is stored with one upsert per table, on SQLite and
PostgreSQL alike: a second batch adds to the first (counts, newest sightings), never a second row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carewatch.db import make_engine, make_sessions
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import Pipeline
from carewatch.schema import create_schema
from carewatch.settings import Settings
from ingest.models import GatewaySequence, GatewayStatus, HouseholdSummary, MonitorSnapshot, UnknownMeter
from ingest.records import BatchRecord, ensure_counters, write_batch
from ingest.subscriber import InboundMessage

SEEN = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    await create_schema(engine)
    yield make_sessions(engine)
    await engine.dispose()


async def store(sessions: async_sessionmaker[AsyncSession], record: BatchRecord) -> None:
    async with sessions.begin() as session:
        await ensure_counters(session)
        await write_batch(session, record)


async def test_a_second_batch_updates_unknown_meters_gateway_status_and_sequences_in_place(sessions):
    first = BatchRecord(
        unknown_meters=[("gas-x", "gw-1", SEEN), ("gas-x", "gw-1", SEEN + timedelta(minutes=1)), ("wat-y", None, SEEN)],
        gateway_states={"gw-1": ("online", SEEN)},
        sequences=[("gw-1", 1, SEEN), ("gw-1", 2, SEEN), ("gw-2", 7, SEEN)],
    )
    second = BatchRecord(
        # an older sighting arrives late: the newest stays the newest; the gateway is the one seen last
        unknown_meters=[("gas-x", "gw-2", SEEN - timedelta(hours=1))],
        gateway_states={"gw-1": ("offline", SEEN + timedelta(hours=1))},
        sequences=[("gw-1", 5, SEEN + timedelta(hours=1))],
    )
    await store(sessions, first)
    await store(sessions, second)

    async with sessions() as session:
        meters = {m.meter_id: m for m in (await session.execute(select(UnknownMeter))).scalars()}
        statuses = {s.gateway_id: s for s in (await session.execute(select(GatewayStatus))).scalars()}
        counters = {s.gateway_id: s for s in (await session.execute(select(GatewaySequence))).scalars()}

    gas = meters["gas-x"]
    assert (gas.readings, gas.gateway_id) == (3, "gw-2")
    assert (gas.first_seen, gas.last_seen) == (SEEN, SEEN + timedelta(minutes=1))
    assert (meters["wat-y"].readings, meters["wat-y"].gateway_id) == (1, None)
    assert (statuses["gw-1"].state, statuses["gw-1"].changed_at) == ("offline", SEEN + timedelta(hours=1))
    assert counters["gw-1"].highest_seq == 5 and orjson.loads(counters["gw-1"].open_gaps) == [[3, 4]]
    assert counters["gw-1"].updated_at == SEEN + timedelta(hours=1)
    assert (counters["gw-2"].highest_seq, counters["gw-2"].messages_missing) == (7, 0)


def message(hour: int, register: float) -> InboundMessage:
    body = {"v": 1, "readings": [{"meter_id": "gas-1", "at": f"2026-01-05T{hour:02d}:00:00+08:00", "register_m3": register}]}
    return InboundMessage("carewatch/v1/gateways/gw-1/readings", orjson.dumps(body), 1, 1, SEEN + timedelta(hours=hour))


async def test_household_states_are_upserted_with_each_batch_and_resumed_after_a_restart(sessions):
    registry = Registry.from_document({"version": 1, "households": [
        {"household_id": "hh-1", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-1", "kind": "gas", "interval_s": 900}]},
    ]})
    settings = Settings(_env_file=None, clock="event", environment="development")  # type: ignore[call-arg]
    pipeline = Pipeline(registry=registry, sessions=sessions, settings=settings, clock=lambda: SEEN)
    await pipeline.start()
    await pipeline.handle([message(1, 10.0), message(2, 10.5)])
    await pipeline.handle([message(3, 11.0), message(3, 11.0)])  # the second is a duplicate

    async with sessions() as session:
        snapshots = (await session.execute(select(MonitorSnapshot))).scalars().all()
        summary = await session.get(HouseholdSummary, "hh-1")
    assert [s.household_id for s in snapshots] == ["hh-1"]
    assert summary is not None and (summary.readings_accepted, summary.readings_duplicate) == (3, 1)

    restarted = Pipeline(registry=registry, sessions=sessions, settings=settings, clock=lambda: SEEN)
    await restarted.start()
    resumed = restarted.states["hh-1"]
    assert (resumed.readings_accepted, resumed.readings_duplicate) == (3, 1)
    await restarted.handle([message(3, 11.0)])
    assert restarted.states["hh-1"].readings_duplicate == 2, "the resumed state knows the reading"
