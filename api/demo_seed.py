"""What `carewatch demo` needs to open the console: the simulated district in the directory and a signed-in-able account."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import create_user
from api.models import Role
from carewatch.directory_import import import_document

DEMO_USERNAME = "demo"


async def seed_console(sessions: async_sessionmaker[AsyncSession], registry_document: dict[str, Any]) -> tuple[str, str]:
    """Import the simulated households and create an admin account; returns (user name, password) to print."""
    password = secrets.token_urlsafe(9)
    async with sessions.begin() as session:
        await import_document(session, registry_document)
        await create_user(session, DEMO_USERNAME, password, Role.ADMIN, display_name="演示值班员")
    return DEMO_USERNAME, password
