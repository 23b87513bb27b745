"""The registry file imported into the database directory at start, and the pipeline's registry read back from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from carewatch.directory import Absence, Household, Meter, load_registry
from api.directory_sync import import_registry_file
from carewatch.registry import RegistryError

REGISTRY = {
    "version": 1,
    "households": [
        {
            "household_id": "hh-a", "name": "张桂兰", "site": "north", "gateway_id": "gw-1",
            "meters": [{"meter_id": "gas-a", "kind": "gas"}, {"meter_id": "water-a", "kind": "water", "interval_s": 3600, "upload_every_s": 86400}],
            "rules": {"gas_min_use_m3": 0.02},
        },
        {"household_id": "hh-b", "name": "李秀英", "site": "north", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-b", "kind": "gas"}]},
    ],
}


def registry_file(tmp_path: Path, document: dict[str, object] = REGISTRY) -> Path:
    path = tmp_path / "households.json"
    path.write_bytes(orjson.dumps(document))
    return path


async def run_import(sessions: async_sessionmaker[AsyncSession], path: Path):  # type: ignore[no-untyped-def]
    async with sessions.begin() as session:
        return await import_registry_file(session, path)


async def household(sessions: async_sessionmaker[AsyncSession], household_id: str) -> Household:
    async with sessions() as session:
        found = await session.scalar(select(Household).where(Household.id == household_id).options(selectinload(Household.meters)))
    assert found is not None
    return found


async def test_a_missing_registry_file_imports_nothing(sessions, tmp_path):
    assert await run_import(sessions, tmp_path / "absent.json") is None


async def test_importing_the_same_file_twice_changes_nothing_the_second_time(sessions, tmp_path):
    path = registry_file(tmp_path)
    first = await run_import(sessions, path)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    second = await run_import(sessions, path)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    async with sessions() as session:
        assert sorted((await session.scalars(select(Meter.id))).all()) == ["gas-a", "gas-b", "water-a"]


async def test_the_file_wins_for_what_it_says_and_the_directory_keeps_what_it_leaves_out(sessions, tmp_path):
    await run_import(sessions, registry_file(tmp_path))
    async with sessions.begin() as session:  # what duty staff entered through the API since
        entered = await session.get(Household, "hh-a")
        entered.phone, entered.notes, entered.address = "+8613900000001", "钥匙在邻居家", "幸福路12号"
    edited = orjson.loads(orjson.dumps(REGISTRY))
    edited["households"][0]["meters"][0]["interval_s"] = 1800
    result = await run_import(sessions, registry_file(tmp_path, edited))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    kept = await household(sessions, "hh-a")
    assert (kept.phone, kept.notes, kept.address) == ("+8613900000001", "钥匙在邻居家", "幸福路12号")
    assert {m.id: m.interval_s for m in kept.meters} == {"gas-a": 1800, "water-a": 3600}
    assert kept.rules == {"gas_min_use_m3": 0.02}


async def test_a_file_that_conflicts_with_the_directory_is_refused_whole_naming_the_conflict(sessions, tmp_path):
    await run_import(sessions, registry_file(tmp_path))
    conflicting = {"version": 1, "households": [
        {"household_id": "hh-c", "site": "north", "meters": [{"meter_id": "gas-c", "kind": "gas"}]},
        {"household_id": "hh-d", "site": "north", "meters": [{"meter_id": "gas-b", "kind": "gas"}]},  # hh-b's meter
    ]}
    with pytest.raises(RegistryError, match=r"(?s)nothing was changed.*households\[1\] meters.meter_id: 'gas-b' already belongs to household 'hh-b'"):
        await run_import(sessions, registry_file(tmp_path, conflicting))
    async with sessions() as session:
        assert sorted((await session.scalars(select(Household.id))).all()) == ["hh-a", "hh-b"]


async def test_a_malformed_registry_file_is_refused_with_its_field(sessions, tmp_path):
    bad = {"version": 1, "households": [{"household_id": "hh-x", "meters": [{"meter_id": "m", "kind": "steam"}]}]}
    with pytest.raises(RegistryError, match=r"households\[0\] meters\.0\.kind"):
        await run_import(sessions, registry_file(tmp_path, bad))
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(RegistryError, match="not valid JSON"):
        await run_import(sessions, path)


async def test_the_registry_read_from_the_directory_keeps_batch_meters_rules_and_absences(sessions, tmp_path):
    await run_import(sessions, registry_file(tmp_path))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    async with sessions.begin() as session:
        for days_ago, note in ((60, "long over"), (10, "hospital stay"), (-2, "visiting her son")):
            starts = now - timedelta(days=days_ago)
            session.add(Absence(household_id="hh-a", starts_at=starts, ends_at=starts + timedelta(days=3), note=note,
                                created_by="test", created_at=now))
    async with sessions() as session:
        registry = await load_registry(session, now=now)

    profile = registry.households["hh-a"].profile
    assert profile.meter("water-a").upload_every_s == 86400  # an NB-IoT daily batch stays one after the round trip
    assert profile.rules.gas_min_use_m3 == 0.02
    assert [w.start for w in profile.away] == [now - timedelta(days=10), now + timedelta(days=2)]  # the one over 35 days ago is left out
    assert registry.households["hh-b"].profile.away == ()
    assert registry.meter("gas-b")[0].gateway_id == "gw-1"
