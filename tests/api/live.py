"""The app on a real uvicorn server on a free loopback port, and a reader of its server-sent events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import create_user
from api.models import Role
from tests.api.conftest import PASSWORD, sign_in
from carewatch.loopback import free_port


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` served by uvicorn (ASGITransport would wait for an endless stream to end); yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the console did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        await task


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    data: str


class EventReader:
    """Reads ``event:``/``data:`` blocks off an open text/event-stream response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, name: str, timeout: float = 10.0) -> Event:
        """The next event called ``name`` (others are skipped)."""
        return await asyncio.wait_for(self._next(name), timeout)

    async def _next(self, name: str) -> Event:
        current, data = "", []
        async for line in self._lines:
            if line.startswith("event: "):
                current = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
            elif line == "":
                if current == name:
                    return Event(current, "\n".join(data))
                current, data = "", []
        raise EOFError("the stream ended")


@asynccontextmanager
async def board_events(app: FastAPI, sessions: async_sessionmaker[AsyncSession], lang: str = "en") -> AsyncIterator[EventReader]:
    """A duty officer of site "north" signed in on the served app, reading the live board's event stream."""
    async with sessions.begin() as session:
        await create_user(session, "night", PASSWORD, Role.DUTY, ["north"])
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as browser:
        assert (await sign_in(browser, "night")).status_code == 303
        async with browser.stream("GET", f"/console/board/stream?lang={lang}") as response:
            yield EventReader(response)
