"""The HTTP face of carewatch: JSON API for integrations, HTML console for the duty officers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from alerts.store import AlertStore
from api.auth import LoginLimiter
from api.deps import NotSignedIn, Services, get_lang
from api.routes import docs, family, metrics, notifications
from api.routes import accounts, alert_pages, alerts, handoff, silences, rota, bulk, reports, console, contacts, devices, directory, health, household_pages, households, ingest, login, push
from api.security_headers import SecurityHeaders
from carewatch.clock import Clock, wall_clock
from carewatch.registry import Registry
from carewatch.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(
    *,
    sessions: async_sessionmaker[AsyncSession],
    registry: Registry | None = None,
    status: Callable[[], dict[str, Any]] | None = None,
    settings: Settings | None = None,
    on_directory_change: Callable[[], Awaitable[None]] | None = None,
    readiness: Callable[[], list[str]] | None = None,
    publish: Callable[[str, bytes], Awaitable[None]] | None = None,
    clock: Clock = wall_clock,
) -> FastAPI:
    """Build the app over an existing database (the runner creates the schema).

    ``registry`` names households that are not (yet) in the directory; ``status`` is the
    runner's live status (e.g. the simulated time), shown on the console when given;
    ``on_directory_change`` is awaited after the directory changed (reload the pipeline's registry);
    ``publish`` hands NB-IoT platforms' HTTP pushes to the MQTT broker (None: push intake answers 503);
    ``clock`` is what the console calls now and stamps acknowledgements with (the console demo's simulated time).
    Household contacts are read from the directory (the runner imports the people file into it).
    """
    settings = settings or Settings()
    app = console_app(settings)
    serve(
        app, sessions=sessions, registry=registry, status=status, settings=settings, on_directory_change=on_directory_change,
        readiness=readiness, publish=publish, clock=clock,
    )
    return app


def console_app(settings: Settings) -> FastAPI:
    """The routes, pages and middleware, with nothing to serve them from yet (`serve`): the settings count here only
    for the trusted proxies.  Building it analyses every route (≈ 0.2 s); the tests build it once and serve each test's database."""
    app = FastAPI(
        title="carewatch",
        summary="Alerts about elders living alone, from their gas and water meters",
        description="Integrators authenticate with `Authorization: Bearer cw_…` (API keys with scopes, made by an "
        "admin); the console uses a session cookie. Objects of sites you may not see answer 404.",
        docs_url=None,  # served from this process instead of a CDN (api/routes/docs.py)
        redoc_url=None,
    )
    app.add_exception_handler(NotSignedIn, _not_signed_in)  # type: ignore[arg-type]
    for module in (alerts, households, contacts, directory, bulk, accounts, ingest, login, console, household_pages, devices, health, metrics, push):
        app.include_router(module.router)
    app.include_router(alert_pages.router)
    app.include_router(alert_pages.api_router)
    app.include_router(handoff.router)
    app.include_router(handoff.api_router)
    app.include_router(silences.router)
    app.include_router(silences.page_router)
    app.include_router(rota.router)
    app.include_router(rota.page_router)
    app.include_router(reports.router)
    app.include_router(reports.api_router)
    for module in (family, notifications, docs):  # the signed family links and the outbox log (docs/notifications.md)
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(docs.ASSETS_URL, StaticFiles(directory=str(docs.ASSETS_DIR)), name="docs-assets")
    app.add_middleware(SecurityHeaders, docs_paths=docs.DOCS_PATHS)
    if settings.trusted_proxies:  # outermost: the client address and scheme are the proxy's report before anything reads them
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    return app


def serve(
    app: FastAPI,
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    registry: Registry | None = None,
    status: Callable[[], dict[str, Any]] | None = None,
    on_directory_change: Callable[[], Awaitable[None]] | None = None,
    readiness: Callable[[], list[str]] | None = None,
    publish: Callable[[str, bytes], Awaitable[None]] | None = None,
    clock: Clock = wall_clock,
) -> None:
    """What ``app`` answers from (`create_app`'s arguments): its database, the runner's registry and status, the clock."""
    app.state.services = Services(
        sessions=sessions,
        store=AlertStore(sessions, clock),
        registry=registry,
        status=status,
        settings=settings,
        login_limiter=LoginLimiter(
            settings.login_max_failures_per_user, settings.login_max_failures_per_client, settings.login_window
        ),
        on_directory_change=on_directory_change,
        readiness=readiness,
        publish=publish,
        clock=clock,
    )


async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
    """401 everywhere; a person at the console gets the sign-in form with it."""
    if request.url.path.startswith("/api/"):
        return JSONResponse(
            {"detail": "sign in, or send an API key as 'Authorization: Bearer cw_…'"},
            status_code=status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer"},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    lang = get_lang(request, request.query_params.get("lang"))
    return login.login_page(request, lang, target if request.method == "GET" else "/", status_code=status.HTTP_401_UNAUTHORIZED)
