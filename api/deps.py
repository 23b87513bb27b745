"""What route handlers need, as ``Annotated`` dependency aliases, and who may call them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.store import AlertStore
from api.auth import LoginLimiter, Principal, csrf_matches, key_principal, note_key_used, session_principal
from api.models import Scope
from carewatch.catalogue import DEFAULT_LANGUAGE, LANGUAGES, Language
from carewatch.clock import Clock, wall_clock
from carewatch.registry import Registry
from carewatch.settings import Settings

LANG_COOKIE = "lang"
SESSION_COOKIE = "carewatch_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Services:
    """What create_app was given, kept on ``app.state.services``."""

    sessions: async_sessionmaker[AsyncSession]
    store: AlertStore
    registry: Registry | None
    status: Callable[[], dict[str, Any]] | None
    settings: Settings
    login_limiter: LoginLimiter
    on_directory_change: Callable[[], Awaitable[None]] | None = None
    """Called after the directory changed (the runner reloads the pipeline's registry)."""
    readiness: Callable[[], list[str]] | None = None
    """The runner's own readiness checks: what is wrong, in words (empty: ready)."""
    publish: Callable[[str, bytes], Awaitable[None]] | None = None
    """Hands an HTTP push to the MQTT broker (api/routes/push.py); None: push intake is off."""
    clock: Clock = wall_clock
    """What the console calls now (the store's clock too): the wall clock, or the console demo's simulated time."""


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def get_store(services: ServicesDep) -> AlertStore:
    return services.store


def get_now(services: ServicesDep) -> datetime:
    """Now, on the console's clock (the wall clock; in the console demo, simulated time)."""
    return services.clock()


NowDep = Annotated[datetime, Depends(get_now)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


OLD_LANGUAGE_CODES: dict[str, Language] = {"zh": "zh-CN"}
"""Links and cookies from before the one language code (``?lang=zh``) still work."""


def get_lang(request: Request, lang: Annotated[str | None, Query(include_in_schema=False)] = None) -> Language:
    """The console language: ``?lang=`` if given, else the remembered choice, else Chinese."""
    for choice in (lang, request.cookies.get(LANG_COOKIE)):
        choice = OLD_LANGUAGE_CODES.get(choice or "", choice)
        if choice in LANGUAGES:
            return choice  # type: ignore[return-value]
    return DEFAULT_LANGUAGE


class NotSignedIn(Exception):
    """No valid session or key; the console answers with its sign-in page, the API with 401."""


async def find_principal(request: Request, services: Services) -> Principal | None:
    """The caller, from ``Authorization: Bearer <API key>`` or the console session cookie."""
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    principal = None
    authorization = request.headers.get("authorization", "")
    scheme, _, credential = authorization.partition(" ")
    async with services.sessions() as session:
        if scheme.lower() == "bearer" and credential:
            principal = await key_principal(session, credential.strip())
        elif token := request.cookies.get(SESSION_COOKIE):
            principal = await session_principal(session, token)
    if principal is not None and principal.kind == "key":
        await note_key_used(services.sessions, principal.id)
    request.state.principal = principal
    return principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    """Console sessions ride on a cookie the browser sends by itself: a change must prove it came from our page."""
    if principal.kind != "user" or request.method in SAFE_METHODS:
        return
    offered = request.headers.get(CSRF_HEADER)
    if offered is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        offered = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not csrf_matches(principal, offered):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token: reload the page and try again")


def require(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who must be signed in (401) and hold ``scope`` (403)."""

    async def dependency(request: Request, services: ServicesDep) -> Principal:
        principal = await find_principal(request, services)
        if principal is None:
            raise NotSignedIn()
        await _check_csrf(request, principal)
        if not principal.can(scope):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the {scope.value!r} permission")
        return principal

    dependency.__name__ = f"require_{scope.name.lower()}"
    return dependency


AlertStoreDep = Annotated[AlertStore, Depends(get_store)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
LangDep = Annotated[Language, Depends(get_lang)]

AlertReader = Annotated[Principal, Depends(require(Scope.ALERTS_READ))]
AlertWriter = Annotated[Principal, Depends(require(Scope.ALERTS_WRITE))]
DirectoryReader = Annotated[Principal, Depends(require(Scope.DIRECTORY_READ))]
DirectoryWriter = Annotated[Principal, Depends(require(Scope.DIRECTORY_WRITE))]
AbsenceWriter = Annotated[Principal, Depends(require(Scope.ABSENCES_WRITE))]
IngestReader = Annotated[Principal, Depends(require(Scope.INGEST_READ))]
SiteWriter = Annotated[Principal, Depends(require(Scope.SITES_WRITE))]
Importer = Annotated[Principal, Depends(require(Scope.IMPORT))]
CredentialIssuer = Annotated[Principal, Depends(require(Scope.GATEWAY_CREDENTIALS))]
AccountAdmin = Annotated[Principal, Depends(require(Scope.ACCOUNTS))]
ReportReader = Annotated[Principal, Depends(require(Scope.REPORTS_READ))]
