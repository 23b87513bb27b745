"""The real services as fixtures (started by tests/services.py), and a fresh SQLite database.

A test that uses a real service is marked ``service`` here by the fixtures it asks for; one that
starts a service or a subprocess by itself carries the mark in its module.  ``pytest -m "not service"``
is the fast selection.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carewatch.db import Base, make_engine, make_sessions
from carewatch.schema import VERSION_TABLE, create_schema
from tests.services import (
    MailReceiver, VictoriaMetrics, create_postgres_database, drop_postgres_database, mosquitto, smtp_receiver, tansu,
    victoria_metrics,
)

SERVICE_FIXTURES = frozenset({"mosquitto_broker", "kafka_url", "postgres_url", "victoria_metrics_server"})


SUBPROCESS_TESTS = ("tests/stream/", "tests/faults/", "tests/notify/test_crash.py", "tests/test_run_service.py",
                    "tests/test_demo_stops.py", "tests/test_demo_notifications.py", "tests/test_city_benchmark.py")
"""Tests that start brokers, workers or services as processes and wait on them: under pytest-xdist (`-n 2`)
they run one after another on one worker (`--dist loadgroup`), never two at once, while the other worker
takes the rest."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.service)
        if item.nodeid.startswith(SUBPROCESS_TESTS):
            item.add_marker(pytest.mark.xdist_group("subprocesses"))

# The tests run in development, explicitly (production is the default: it refuses the development link secret),
# and talk plain http to the console (the session cookie is Secure by default). Child processes inherit both;
# the tests of those defaults remove them.
TEST_ENVIRONMENT = {"CAREWATCH_ENVIRONMENT": "development", "CAREWATCH_COOKIE_SECURE": "false"}
os.environ.update(TEST_ENVIRONMENT)


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its cheapest in this process (at the console's cost ≈ 33 ms a hash and as much a login here, two to
    four a test: ≈ a fifth of the API tests' CPU), still a real hash checked for real; `tests/api/test_password_cost.py`
    keeps the console's own cost, and processes the tests start use it too."""
    if request.node.get_closest_marker("real_password_cost") is None:
        from api import auth

        monkeypatch.setattr(auth, "_hasher", CHEAP_HASHER)
        monkeypatch.setattr(auth, "_DUMMY_HASH", CHEAP_DUMMY_HASH)


CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CHEAP_DUMMY_HASH = CHEAP_HASHER.hash("the cheap hasher's stand-in for an unknown user's hash")


@pytest.fixture
def mosquitto_broker(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """(host, port) of a private Mosquitto that lets anyone in."""
    with mosquitto(tmp_path) as address:
        yield address


@pytest.fixture(scope="module")
def kafka_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tansu broker shared by a test module: each test keeps to its own topics and groups."""
    with tansu(tmp_path_factory.mktemp("tansu") / "tansu.log") as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test run, dropped at the end: a test leaves it empty for the next."""
    name, url = asyncio.run(create_postgres_database("carewatch_test"))
    yield url
    asyncio.run(drop_postgres_database(name))


@pytest.fixture
def victoria_metrics_server(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A private VictoriaMetrics: InfluxDB's v2 write API in, its export API out; ``stop()``/``start()`` make an outage."""
    with victoria_metrics(tmp_path) as server:
        yield server


@pytest.fixture
def mailbox() -> Iterator[MailReceiver]:
    """An SMTP server that keeps what arrives."""
    with smtp_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def schema_at_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database the migrations brought to head, made once a run: each test copies it,
    which costs far less than migrating (the migrations are tested in tests/test_migrations.py)."""
    path = tmp_path_factory.mktemp("schema") / "head.db"

    async def migrate() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await create_schema(engine)
        await engine.dispose()  # the last connection folds the write-ahead log into the file

    asyncio.run(migrate())
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, schema_at_head: Path) -> str:
    """A fresh SQLite database of this test, at the schema's head."""
    path = tmp_path / "carewatch.db"
    shutil.copyfile(schema_at_head, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a fresh SQLite database at the schema's head (tests/alerts also run on PostgreSQL)."""
    engine = make_engine(sqlite_url)
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.service)])
def sqlite_or_postgres_url(request: pytest.FixtureRequest) -> str:
    """A test asking for it runs twice: on a fresh SQLite database, and on the run's PostgreSQL database."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
async def sqlite_or_postgres_sessions(sqlite_or_postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on `sqlite_or_postgres_url` at the schema's head (the SQLite copy is there already)."""
    engine = make_engine(sqlite_or_postgres_url)
    await create_schema(engine)
    yield make_sessions(engine)
    if engine.dialect.name == "postgresql":
        # One database serves the whole run: leave it empty for the next test.
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.exec_driver_sql(f"DROP TABLE {VERSION_TABLE}")  # else the next test finds it at head
    await engine.dispose()
