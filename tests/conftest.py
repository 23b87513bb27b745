"""The real services as fixtures (started by tests/services.py), and a fresh SQLite database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carewatch.db import make_engine, make_sessions
from carewatch.schema import create_schema
from tests.services import MailReceiver, create_postgres_database, drop_postgres_database, mosquitto, smtp_receiver, tansu


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
def mailbox() -> Iterator[MailReceiver]:
    """An SMTP server that keeps what arrives."""
    with smtp_receiver() as receiver:
        yield receiver


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A fresh SQLite database at the schema's head (tests/alerts and tests/notify also run on PostgreSQL)."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}")
    await create_schema(engine)
    yield make_sessions(engine)
    await engine.dispose()
