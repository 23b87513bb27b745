"""The registry file imported into the database directory at start, and the pipeline's registry read back from it."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from api import directory_sync
from carewatch.directory import Absence, Gateway, Household, Meter, Site, load_registry, registry_document
from carewatch.registry import Registry
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
    # The same registry as the registry file's own validation builds from the directory's document.
    async with sessions() as session:
        document = await registry_document(session)
    validated = Registry.from_document(document)
    assert {h: replace(r, profile=replace(r.profile, away=())) for h, r in registry.households.items()} == validated.households


async def test_a_directory_value_the_registry_refuses_names_its_household(sessions, tmp_path):
    await run_import(sessions, registry_file(tmp_path))
    async with sessions.begin() as session:
        (await session.get(Household, "hh-b")).rules = {"gas_min_use_m3": -1}
    with pytest.raises(RegistryError, match="household 'hh-b' in the directory"):
        async with sessions() as session:
            await load_registry(session)


def district(households: int, prefix: str = "hh") -> dict[str, object]:
    return {"version": 1, "households": [
        {"household_id": f"{prefix}-{i:06d}", "site": f"site-{i % 3}", "gateway_id": f"gw-{i % 3}-{i // 100}",
         "meters": [{"meter_id": f"{prefix}-gas-{i:06d}", "kind": "gas"}, {"meter_id": f"{prefix}-water-{i:06d}", "kind": "water"}]}
        for i in range(households)
    ]}


@pytest.mark.heavy
async def test_a_registry_of_25000_households_is_imported_not_refused(sessions, tmp_path):
    # Refused before issue 13 item 4: "at most 20000 households per import" (MAX_ROWS), and `carewatch run` exited 2.
    path = registry_file(tmp_path, district(25_000))
    first = await run_import(sessions, path)
    assert (first.created, first.updated, first.unchanged) == (25_000, 0, 0)
    async with sessions() as session:
        registry = await load_registry(session)
    assert len(registry) == 25_000 and registry.meter("hh-water-024999") is not None


async def test_an_import_in_chunks_keeps_the_whole_file_semantics(sessions, tmp_path, monkeypatch):
    monkeypatch.setattr(directory_sync, "CHUNK", 3)
    path = registry_file(tmp_path, district(10))
    first = await run_import(sessions, path)
    assert (first.created, first.updated, first.unchanged) == (10, 0, 0)
    # Meters change hands between households of different chunks, one household's rules change.
    moved = district(10)
    households = moved["households"]
    households[1]["meters"][0]["meter_id"], households[8]["meters"][0]["meter_id"] = "hh-gas-000008", "hh-gas-000001"
    households[5]["rules"] = {"gas_min_use_m3": 0.05}
    second = await run_import(sessions, registry_file(tmp_path, moved))
    assert (second.created, second.updated, second.unchanged) == (0, 3, 7)
    assert [m.id for m in (await household(sessions, "hh-000001")).meters] == ["hh-gas-000008", "hh-water-000001"]
    assert [m.id for m in (await household(sessions, "hh-000008")).meters] == ["hh-gas-000001", "hh-water-000008"]
    # A conflict found in the last chunk refuses the whole file: the chunks written before it are undone.
    conflicting = district(10, "new")
    conflicting["households"][9]["meters"][0]["meter_id"] = "hh-gas-000002"  # a meter of a household the file leaves alone
    with pytest.raises(RegistryError, match=r"households\[9\] meters.meter_id: 'hh-gas-000002' already belongs to household 'hh-000002'"):
        await run_import(sessions, registry_file(tmp_path, conflicting))
    async with sessions() as session:
        assert not (await session.scalars(select(Household.id).where(Household.id.like("new-%")))).all()


async def test_the_files_own_sites_and_gateways_and_version_are_read(sessions, tmp_path):
    document = {**district(2), "sites": [{"site_id": "site-0", "name": "北新泾"}], "gateways": [{"gateway_id": "gw-1-0", "site": "site-1", "name": "楼 1"}]}
    await run_import(sessions, registry_file(tmp_path, document))
    async with sessions() as session:
        assert (await session.get(Site, "site-0")).name == "北新泾"
        assert (await session.get(Gateway, "gw-1-0")).name == "楼 1"
    with pytest.raises(RegistryError, match="version"):
        await run_import(sessions, registry_file(tmp_path, {"households": [], "version": 2}))
    with pytest.raises(RegistryError, match="a list of households is required"):
        await run_import(sessions, registry_file(tmp_path, {"version": 1, "houses": []}))


async def test_the_imports_memory_does_not_grow_with_the_file(sessions, tmp_path, monkeypatch):
    monkeypatch.setattr(directory_sync, "CHUNK", 200, raising=False)  # (raising: so it ran on the code before)
    peaks = []
    for households in (1000, 4000):
        path = registry_file(tmp_path, district(households, f"p{households}"))
        tracemalloc.start()
        await run_import(sessions, path)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # Four times the households: the ids kept for the checks grow, the rest does not (the whole file
    # parsed, validated and written as ORM objects took ≈ 4 times the memory before).
    assert peaks[1] < 2 * peaks[0], f"peak {peaks[1] / 2**20:.1f} MiB for 4,000 households, {peaks[0] / 2**20:.1f} MiB for 1,000"
