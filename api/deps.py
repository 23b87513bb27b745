"""What route handlers need, as ``Annotated`` dependency aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.store import AlertStore
from carewatch.registry import Registry

Lang = Literal["zh", "en"]
LANG_COOKIE = "lang"
OFFICER_COOKIE = "officer"


@dataclass(frozen=True, slots=True)
class Services:
    """What create_app was given, kept on ``app.state.services``."""

    sessions: async_sessionmaker[AsyncSession]
    store: AlertStore
    registry: Registry | None
    status: Callable[[], dict[str, Any]] | None


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]


def get_store(services: ServicesDep) -> AlertStore:
    return services.store


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


def get_lang(request: Request, lang: Annotated[str | None, Query()] = None) -> Lang:
    """The console language: ``?lang=`` if given, else the remembered choice, else Chinese."""
    for choice in (lang, request.cookies.get(LANG_COOKIE)):
        if choice in ("zh", "en"):
            return choice  # type: ignore[return-value]
    return "zh"


AlertStoreDep = Annotated[AlertStore, Depends(get_store)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
LangDep = Annotated[Lang, Depends(get_lang)]
