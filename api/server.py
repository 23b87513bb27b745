"""Serve the duty console and API (uvicorn) beside a running pipeline or alert service."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from carewatch.clock import Clock, wall_clock
from carewatch.registry import Registry
from carewatch.settings import Settings


class ConsoleServer(uvicorn.Server):
    """Uvicorn that stops on Ctrl-C or SIGTERM (a second Ctrl-C: at once) and then simply returns.

    Uvicorn raises the signals it caught once more after its own shutdown, for the program to
    stop too; here the runner stops everything else when the console's task ends, and two quick
    Ctrl-C raised again in the middle of that left the demo running.
    """

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


@asynccontextmanager
async def serve_console(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    registry: Registry,
    *,
    status: Callable[[], dict[str, Any]] | None = None,
    on_directory_change: Callable[[], Awaitable[None]] | None = None,
    readiness: Callable[[], list[str]] | None = None,
    publish: Callable[[str, bytes], Awaitable[None]] | None = None,
    clock: Clock = wall_clock,
) -> AsyncIterator[asyncio.Task[None]]:
    """``status`` is the runner's live status shown on the console (the pipeline's, or the alert service's);
    ``clock`` what the console calls now (the console demo's simulated time)."""
    app = create_app(
        sessions=sessions, registry=registry, status=status, settings=settings,
        on_directory_change=on_directory_change, readiness=readiness, publish=publish, clock=clock,
    )
    server = ConsoleServer(uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, log_level="warning",
        timeout_graceful_shutdown=2,  # open live-board streams must not hold up a stop
        proxy_headers=False,  # uvicorn would believe X-Forwarded-For from loopback; create_app trusts only trusted_proxies
        lifespan="off",  # the app has no start-up or shut-down handlers; a stop would print the waiting lifespan's cancellation
    ))
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
