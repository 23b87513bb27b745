"""What `carewatch demo` needs to open the console besides its district (imported before the pipeline starts): an account to sign in with."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import create_user
from api.models import Role

DEMO_USERNAME = "demo"


async def seed_console(sessions: async_sessionmaker[AsyncSession], now: datetime | None = None) -> tuple[str, str]:
    """Create the demo's admin account (created ``now``: the demo's clock); returns (user name, password) to print."""
    password = secrets.token_urlsafe(9)
    async with sessions.begin() as session:
        await create_user(session, DEMO_USERNAME, password, Role.ADMIN, display_name="演示值班员", now=now)
    return DEMO_USERNAME, password
