"""Serve the duty console and API (uvicorn) beside a running pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from api.app import create_app
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.wiring import RunningSystem


@asynccontextmanager
async def serve_console(settings: Settings, system: RunningSystem, registry: Registry) -> AsyncIterator[asyncio.Task[None]]:
    app = create_app(sessions=system.sessions, registry=registry, status=system.pipeline.status, settings=settings)
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
