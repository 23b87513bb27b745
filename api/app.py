"""The HTTP face of carewatch: JSON API for integrations, HTML console for the duty officers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.store import AlertStore
from api.deps import Services
from api.routes import alerts, console, health, ingest
from carewatch.registry import Registry

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(
    *,
    sessions: async_sessionmaker[AsyncSession],
    registry: Registry | None = None,
    status: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    """Build the app over an existing database (the runner creates the schema).

    ``registry`` names households on the console; ``status`` is the runner's live
    status (e.g. the simulated time), shown on the console when given.
    """
    app = FastAPI(title="carewatch", summary="Alerts about elders living alone, from their gas and water meters")
    app.state.services = Services(sessions=sessions, store=AlertStore(sessions), registry=registry, status=status)
    app.include_router(alerts.router)
    app.include_router(ingest.router)
    app.include_router(console.router)
    app.include_router(health.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
