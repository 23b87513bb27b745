"""`carewatch admin create-user / create-key`: bootstrap accounts and keys on a real SQLite file, then use them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from api.app import create_app
from api.models import ApiKey, User
from carewatch.cli import app as cli
from carewatch.db import make_engine, make_sessions
from carewatch.settings import Settings
from tests.api.conftest import PASSWORD, sign_in

runner = CliRunner()


async def carewatch(database: Path, *args: str, stdin: str | None = None) -> Result:
    """Run the real command (its own event loop, in a thread) against ``database``."""
    env = {"CAREWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    return await asyncio.to_thread(runner.invoke, cli, list(args), input=stdin, env=env)


@pytest.fixture
def database(tmp_path: Path, directory: None) -> Path:
    """The conftest's database file, with the north/south district imported."""
    return tmp_path / "carewatch.db"


def web(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_a_duty_account_made_on_the_command_line_signs_in_and_sees_only_its_site(database: Path, app: FastAPI):
    made = await carewatch(database, "admin", "create-user", "--username", "night.li", "--role", "duty",
                           "--site", "north", "--display-name", "李夜班", stdin=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    assert "night.li" in made.output

    async with web(app) as client:
        assert (await sign_in(client, "night.li")).status_code == 303
        listed = (await client.get("/api/households")).json()
        assert {h["household_id"] for h in listed["items"]} == {"hh-001", "hh-002"}
        assert (await client.get("/api/households/hh-003")).status_code == 404  # the south site's household
        assert (await client.get("/api/users")).status_code == 403  # duty staff do not manage accounts
    async with web(app) as client:
        assert (await sign_in(client, "night.li", "wrong password, long enough")).status_code != 303


async def test_the_password_is_never_stored_as_given(database: Path, sessions: async_sessionmaker[AsyncSession]):
    assert (await carewatch(database, "admin", "create-user", "--username", "boss", "--role", "admin", stdin=PASSWORD + "\n")).exit_code == 0
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.username == "boss"))
    assert user is not None and user.display_name == "boss"
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("args", "stdin", "says", "code"),
    [
        (["--username", "x1", "--role", "duty", "--site", "west"], PASSWORD, "no site 'west' in the directory", 1),
        (["--username", "x2", "--role", "duty"], PASSWORD, "name at least one", 2),
        (["--username", "x3", "--role", "janitor", "--site", "north"], PASSWORD, "not one of duty, supervisor, admin", 2),
        (["--username", "x4", "--role", "admin"], "too short", "at least 12 characters", 2),
        (["--username", "no spaces", "--role", "admin"], PASSWORD, "username", 2),
    ],
)
async def test_create_user_refuses_bad_input_with_a_reason_and_writes_nothing(
    database: Path, sessions: async_sessionmaker[AsyncSession], args: list[str], stdin: str, says: str, code: int
):
    result = await carewatch(database, "admin", "create-user", *args, stdin=stdin + "\n")
    assert result.exit_code == code, result.output
    assert says in " ".join(result.output.split()), result.output
    async with sessions() as session:
        assert (await session.scalars(select(User.username))).all() == []


async def test_a_taken_user_name_is_refused(database: Path):
    first = await carewatch(database, "admin", "create-user", "--username", "wang", "--role", "admin", stdin=PASSWORD + "\n")
    second = await carewatch(database, "admin", "create-user", "--username", "wang", "--role", "admin", stdin=PASSWORD + "\n")
    assert first.exit_code == 0 and second.exit_code == 1
    assert "'wang' is taken" in second.output


async def test_a_key_is_printed_once_and_works_within_its_scopes_and_sites(
    database: Path, app: FastAPI, sessions: async_sessionmaker[AsyncSession]
):
    made = await carewatch(database, "admin", "create-key", "--name", "district-portal",
                           "--scopes", "directory:read,alerts:read", "--sites", "south")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert key.startswith("cw_") and "\n" not in key  # stdout carries the key alone: KEY=$(carewatch admin create-key ...)

    headers = {"Authorization": f"Bearer {key}"}
    async with web(app) as client:
        listed = (await client.get("/api/households", headers=headers)).json()
        assert [h["household_id"] for h in listed["items"]] == ["hh-003"]
        assert (await client.get("/api/households/hh-001", headers=headers)).status_code == 404  # north: not its site
        assert (await client.get("/api/alerts", headers=headers)).status_code == 200
        created = await client.post("/api/sites", headers=headers, json={"site_id": "east"})
        assert created.status_code == 403  # sites:write was not given

    async with sessions() as session:
        stored = await session.scalar(select(ApiKey).where(ApiKey.name == "district-portal"))
    assert stored is not None and stored.sites == ["south"] and sorted(stored.scopes) == ["alerts:read", "directory:read"]
    assert key.split("_", 2)[2] not in stored.secret_hash


async def test_a_key_with_every_scope_on_a_fresh_database_provisions_a_site(tmp_path: Path):
    """The first thing an integrator does: a database nobody has used, a key, then the API."""
    database = tmp_path / "fresh.db"
    made = await carewatch(database, "admin", "create-key", "--name", "bootstrap", "--scopes", "all")
    assert made.exit_code == 0, made.output
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    try:
        fresh = create_app(sessions=make_sessions(engine), settings=Settings(_env_file=None))  # type: ignore[call-arg]
        async with web(fresh) as client:
            headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
            created = await client.post("/api/sites", headers=headers, json={"site_id": "east", "name": "东城社区"})
            assert created.status_code == 201, created.text
            assert (await client.get("/api/users", headers=headers)).status_code == 403  # keys never manage accounts
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("scopes", "says"),
    [("accounts", "for people's accounts only"), ("alerts:read,bogus", "Input should be"), (",", "at least 1")],
)
async def test_create_key_refuses_scopes_a_key_cannot_have(database: Path, scopes: str, says: str):
    result = await carewatch(database, "admin", "create-key", "--name", "k", "--scopes", scopes)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split())
    assert result.stdout.strip() == "" or "cw_" not in result.stdout


async def test_create_key_refuses_an_unknown_site(database: Path):
    result = await carewatch(database, "admin", "create-key", "--name", "k", "--scopes", "alerts:read", "--sites", "north,west")
    assert result.exit_code == 1
    assert "no site 'west'" in result.output and "cw_" not in result.output
