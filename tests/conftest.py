from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carewatch.db import make_engine, make_sessions
from carewatch.schema import create_schema
from tests.services import mosquitto

# The tests run in development, explicitly (production is the default: it refuses the development link secret),
# and talk plain http to the console (the session cookie is Secure by default). Child processes inherit both;
# the tests of those defaults remove them.
TEST_ENVIRONMENT = {"CAREWATCH_ENVIRONMENT": "development", "CAREWATCH_COOKIE_SECURE": "false"}
os.environ.update(TEST_ENVIRONMENT)


@pytest.fixture
def mosquitto_broker(tmp_path) -> Iterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    with mosquitto(tmp_path) as address:
        yield address


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A fresh SQLite database at the schema's head (tests/alerts and tests/notify also run on PostgreSQL)."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}")
    await create_schema(engine)
    yield make_sessions(engine)
    await engine.dispose()
