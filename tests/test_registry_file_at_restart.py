"""A restart whose registry file is the one last applied does not compare it with the directory again;
any change to the file, or to the directory since, is applied as it always was.

Real parts: SQLite on disk and PostgreSQL (`sqlite_or_postgres_sessions`), the API app over httpx.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.auth import create_api_key
from api.directory_import import import_document
from api.models import KEY_SCOPES
from carewatch.directory import Household
from carewatch.registry import Registry
from carewatch.runners.directory import prepare_directory
from carewatch.settings import Settings

REGISTRY: dict[str, Any] = {"version": 1, "households": [
    {"household_id": "hh-a", "name": "张桂兰", "site": "north", "gateway_id": "gw-1",
     "meters": [{"meter_id": "gas-a", "kind": "gas"}, {"meter_id": "water-a", "kind": "water"}]},
    {"household_id": "hh-b", "name": "李秀英", "site": "north", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-b", "kind": "gas"}]},
]}
_HOUSEHOLDS_TABLE = re.compile(r"\bhouseholds\b", re.IGNORECASE)


def settings_for(tmp_path: Path, url: str, document: dict[str, Any] = REGISTRY) -> Settings:
    registry = tmp_path / "households.json"
    registry.write_bytes(orjson.dumps(document))
    return Settings(_env_file=None, database_url=url, registry_path=registry)  # type: ignore[call-arg]


async def start(settings: Settings) -> tuple[Registry, str]:
    """What `carewatch run` does before its pipeline starts, and what it printed."""
    output = io.StringIO()
    registry = await prepare_directory(settings, Console(file=output, width=1000))
    return registry, output.getvalue()


@contextmanager
def statements_on_the_households_table() -> Iterator[list[str]]:
    """Every statement any engine sends to the database that names the households table."""
    seen: list[str] = []

    def note(_conn, _cursor, statement: str, *_args: object) -> None:  # type: ignore[no-untyped-def]
        if _HOUSEHOLDS_TABLE.search(statement):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def url_of(sessions: async_sessionmaker[AsyncSession]) -> str:
    return sessions.kw["bind"].url.render_as_string(hide_password=False)


async def test_a_restart_with_the_file_last_applied_reads_the_households_table_once(sqlite_or_postgres_sessions, tmp_path):
    settings = settings_for(tmp_path, url_of(sqlite_or_postgres_sessions))
    _, first = await start(settings)
    assert "2 households added" in first

    with statements_on_the_households_table() as seen:
        registry, printed = await start(settings)

    assert len(seen) == 1, seen  # the directory read (`load_registry`), no comparison with the file
    assert "unchanged since it was applied" in printed
    assert sorted(registry.households) == ["hh-a", "hh-b"]


async def test_a_changed_file_is_applied_at_the_next_start(sqlite_or_postgres_sessions, tmp_path):
    url = url_of(sqlite_or_postgres_sessions)
    await start(settings_for(tmp_path, url))
    edited = orjson.loads(orjson.dumps(REGISTRY))
    edited["households"][0]["meters"][0]["interval_s"] = 1800

    registry, printed = await start(settings_for(tmp_path, url, edited))

    assert "0 households added, 1 updated, 1 unchanged" in printed
    found = registry.meter("gas-a")
    assert found is not None and found[1].interval_s == 1800
    _, again = await start(settings_for(tmp_path, url, edited))
    assert "unchanged since it was applied" in again


async def test_a_directory_changed_through_the_api_since_the_file_is_compared_with_it_again(sqlite_or_postgres_sessions, tmp_path):
    """As before the digest: at start the file wins for what it lists (the API's edits to those fields are undone,
    a household it lists and the API deleted comes back); what it leaves out keeps what the API set."""
    sessions = sqlite_or_postgres_sessions
    settings = settings_for(tmp_path, url_of(sessions))
    await start(settings)
    async with sessions.begin() as session:
        _, key = await create_api_key(session, "integrator", KEY_SCOPES, None, "test")
    app = create_app(sessions=sessions, settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 headers={"Authorization": f"Bearer {key}"}) as api:
        renamed = await api.patch("/api/households/hh-a", json={"name": "改了名字", "phone": "+8613900000001"})
        assert renamed.status_code == 200, renamed.text
        assert (await api.delete("/api/households/hh-b")).status_code == 204

    _, printed = await start(settings)

    assert "1 households added, 1 updated, 0 unchanged" in printed
    async with sessions() as session:
        households = {h.id: h for h in await session.scalars(select(Household))}
    assert sorted(households) == ["hh-a", "hh-b"]
    assert (households["hh-a"].name, households["hh-a"].phone) == ("张桂兰", "+8613900000001")
    _, again = await start(settings)
    assert "unchanged since it was applied" in again


async def test_a_bulk_import_since_the_file_makes_the_next_start_compare_it_again(sqlite_or_postgres_sessions, tmp_path):
    """The bulk import's upserts reach SQLite's driver directly, past the session's events."""
    sessions = sqlite_or_postgres_sessions
    settings = settings_for(tmp_path, url_of(sessions))
    await start(settings)
    async with sessions.begin() as session:
        await import_document(session, {"version": 1, "households": [
            {"household_id": "hh-a", "name": "导入的名字", "site": "north", "gateway_id": "gw-1",
             "meters": [{"meter_id": "gas-a", "kind": "gas"}, {"meter_id": "water-a", "kind": "water"}]},
        ]})

    _, printed = await start(settings)

    assert "0 households added, 1 updated, 1 unchanged" in printed
    async with sessions() as session:
        assert (await session.get(Household, "hh-a")).name == "张桂兰"  # type: ignore[union-attr]
