"""Creates every room's tables. It imports the rooms' models, so only the wiring may import it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

import alerts.models  # noqa: F401  (registers the tables on Base)
import api.models  # noqa: F401
import carewatch.directory  # noqa: F401
import ingest.models  # noqa: F401
import ingest.usage  # noqa: F401
from carewatch.db import Base


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
