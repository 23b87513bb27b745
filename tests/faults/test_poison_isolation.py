"""A message the database cannot store is isolated: dead-lettered alone, the rest of its batch and the stream go on."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from sqlalchemy import func, select, text

from carewatch.db import make_engine
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import running_system
from carewatch.schema import create_schema
from carewatch.settings import Settings
from ingest.models import DeadLetter
from ingest.stats import read_stats
from ingest.subscriber import BrokerAddress
from tests.services import mosquitto
from tests.test_end_to_end import publish

pytestmark = [pytest.mark.service, pytest.mark.timeout(120)]


def household(number: int) -> dict[str, object]:
    return {
        "household_id": f"hh-{number}",
        "gateway_id": f"gw-{number}",
        "meters": [{"meter_id": f"gas-{number}", "kind": "gas", "interval_s": 900}],
    }


def readings(number: int, hour: int) -> tuple[str, bytes]:
    at = f"2026-01-05T{hour:02d}:00:00+08:00"
    body = {"v": 1, "readings": [{"meter_id": f"gas-{number}", "at": at, "register_m3": 10 + hour / 100}]}
    return f"carewatch/v1/gateways/gw-{number}/readings", orjson.dumps(body)


async def test_a_message_the_database_refuses_is_dead_lettered_alone_and_the_rest_is_stored(tmp_path):
    database = tmp_path / "carewatch.db"
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{database}", clock="event")  # type: ignore[call-arg]
    engine = make_engine(settings.database_url)
    await create_schema(engine)
    async with engine.begin() as connection:
        # A real database refusing one value, as PostgreSQL refuses an over-long id or SQLite a lone surrogate.
        await connection.execute(text(
            "CREATE TRIGGER refuse_household_2 BEFORE INSERT ON hourly_usage WHEN NEW.household_id = 'hh-2' "
            "BEGIN SELECT RAISE(ABORT, 'this value cannot be stored'); END"
        ))
    await engine.dispose()
    registry = Registry.from_document({"version": 1, "households": [household(n) for n in (1, 2, 3)]})
    messages = [readings(n, hour) for hour in range(6) for n in (1, 2, 3)]

    with mosquitto(tmp_path) as (host, port):
        address = BrokerAddress(host, port)
        async with running_system(settings, registry, address, "poison-test") as system:
            await asyncio.to_thread(publish, address, "gw", messages)
            await system.drain(expected_readings=len(messages), timeout=60)
            later = [readings(n, 7) for n in (1, 3)]
            await asyncio.to_thread(publish, address, "gw", later)
            await system.drain(expected_readings=len(messages) + len(later), timeout=60)
            async with system.sessions() as session:
                stats = await read_stats(session)
                refused = (await session.execute(select(DeadLetter.topic, DeadLetter.reason))).all()
                stored = await session.scalar(select(func.count()).select_from(DeadLetter))

    assert set(refused) == {("carewatch/v1/gateways/gw-2/readings", "processing_error")}
    # Household 2's first reading books no hourly use (nothing to subtract from) and is stored; each later one is refused.
    assert stored == 5, "each refused message of household 2 is its own dead letter"
    assert stats.readings_accepted == 6 * 2 + 1 + 2, "every reading of households 1 and 3 is stored, the later ones too"
    assert stats.rejected_by_reason == {"processing_error": 5}
    assert stats.messages == len(messages) + len(later)
