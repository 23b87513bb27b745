"""Serve the duty console and API (uvicorn) beside a running pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import uvicorn

from alerts.people import Directory
from api.app import create_app
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.wiring import RunningSystem


@asynccontextmanager
async def serve_console(
    settings: Settings,
    system: RunningSystem,
    registry: Registry,
    on_directory_change: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[asyncio.Task[None]]:
    # The people file the notifications run on (already validated by them): the household page's contacts.
    people = Directory.load(settings.people_path) if settings.people_path else None
    app = create_app(
        sessions=system.sessions, registry=registry, status=system.pipeline.status, settings=settings,
        on_directory_change=on_directory_change, people=people,
    )
    server = uvicorn.Server(uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_level="warning", timeout_graceful_shutdown=2))  # open live-board streams must not hold up a stop
    serving = asyncio.create_task(server.serve(), name="carewatch-console")
    while not server.started:
        if serving.done():
            serving.result()  # e.g. the port is taken: say so
            raise OSError(f"the console could not listen on {settings.http_host}:{settings.http_port}")
        await asyncio.sleep(0.05)
    try:
        yield serving  # ends when uvicorn is told to stop (Ctrl-C, SIGTERM)
    finally:
        server.should_exit = True
        await serving
