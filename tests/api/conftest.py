"""The app over a real SQLite file, with alerts stored the way detectors store them."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.store import AlertStore
from api.app import console_app, create_app, serve
from api.auth import create_user
from api.models import Role
from carewatch.domain import AlertType, Detection, Explanation
from carewatch.registry import Registry
from api.directory_import import import_document
from carewatch.settings import Settings
from tests.alerts.conftest import ONSET as ONSET  # re-exported: the API tests measure time from it
from tests.alerts.conftest import detection as any_detection

EXPLANATIONS = {
    AlertType.NO_GAS_24H: Explanation(
        zh="自昨天15:30起24小时内未使用燃气（用量0.000立方米）。", en="No gas used for 24 h since 15:30 yesterday (0.000 m³)."
    ),
    AlertType.METER_SILENT: Explanation(zh="燃气表已4个周期未上报。", en="Gas meter has not reported for 4 intervals."),
    AlertType.GAS_CONTINUOUS: Explanation(zh="燃气已连续使用3小时。", en="Gas has been flowing for 3 hours."),
}


def detection(household_id: str = "hh-001", alert_type: AlertType = AlertType.NO_GAS_24H, **details: Any) -> Detection:
    """A raised detection whose explanation reads like a detector's (the console shows it)."""
    return any_detection(household_id, alert_type, explanation=EXPLANATIONS[alert_type], **details)


@pytest.fixture
def make_detection() -> Callable[..., Detection]:
    return detection


@pytest.fixture
def store(sessions: async_sessionmaker[AsyncSession]) -> AlertStore:
    return AlertStore(sessions)


DISTRICT = {
    "version": 1,
    "sites": [{"site_id": "north", "name": "北苑社区"}, {"site_id": "south", "name": "南湖社区"}],
    "households": [
        {
            "household_id": "hh-001",
            "name": "张桂兰",
            "site": "north",
            "address": "幸福路12号3单元401",
            "phone": "+86 532 8888 0001",
            "gateway_id": "gw-north",
            "meters": [{"meter_id": "gas-001", "kind": "gas"}, {"meter_id": "water-001", "kind": "water"}],
        },
        {
            "household_id": "hh-002",
            "name": "<script>alert('x')</script>",
            "site": "north",
            "timezone": "Europe/London",
            "meters": [{"meter_id": "gas-002", "kind": "gas"}],
        },
        {
            "household_id": "hh-003",
            "name": "李秀英",
            "site": "south",
            "gateway_id": "gw-south",
            "meters": [{"meter_id": "gas-003", "kind": "gas"}],
        },
    ],
}
"""Two sites: staff of "north" must never see "south", and the other way round."""

PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def directory(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await import_document(session, DISTRICT)


@pytest.fixture
def registry() -> Registry:
    """What the runner would hand the app: names of households that are not in the directory."""
    return Registry.from_document({"households": [{"household_id": "hh-legacy", "name": "王老伯", "meters": [{"meter_id": "gas-9", "kind": "gas"}]}]})


@pytest.fixture
def live_status() -> dict[str, Any]:
    return {}


@pytest.fixture
def app(sessions: async_sessionmaker[AsyncSession], registry: Registry, live_status: dict[str, Any], settings: Settings, directory: None) -> FastAPI:
    """The console over this test's database: one app per test process serving each test's (building the app analyses
    every route, ≈ 0.2 s: a third of these tests' time), a new one where the settings shape it (trusted proxies)."""
    if settings.trusted_proxies:
        return create_app(sessions=sessions, registry=registry, status=lambda: live_status, settings=settings)
    app = shared_console()
    serve(app, sessions=sessions, registry=registry, status=lambda: live_status, settings=settings)
    return app


@functools.cache
def shared_console() -> FastAPI:
    return console_app(Settings(_env_file=None))  # type: ignore[call-arg]


def section(page: str, name: str) -> str:
    """The HTML of one <section id=...> of a console page."""
    start = page.index(f'<section id="{name}">')
    return page[start : page.index("</section>", start)]


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in through the login form as a browser would; afterwards the client sends the session's CSRF token."""
    form = await client.get("/login")
    token = CSRF_INPUT.search(form.text)
    assert token, form.text
    response = await client.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)})
    if response.status_code == 303:
        board = await client.get("/")
        client.headers["X-CSRF-Token"] = CSRF_INPUT.search(board.text).group(1)  # type: ignore[union-attr]
    return response


@pytest.fixture
async def make_client(app: FastAPI, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Callable[..., Awaitable[httpx.AsyncClient]]]:
    """``await make_client(role, sites)``: a client signed in as a new account (None: not signed in)."""
    clients: list[httpx.AsyncClient] = []

    async def make(role: Role | None = Role.ADMIN, sites: tuple[str, ...] = ()) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        clients.append(client)
        if role is not None:
            username = f"{role.value}-{len(clients)}"
            async with sessions.begin() as session:
                await create_user(session, username, PASSWORD, role, sites, display_name=f"{role.value} {len(clients)}")
            assert (await sign_in(client, username)).status_code == 303
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(make_client: Callable[..., Awaitable[httpx.AsyncClient]]) -> httpx.AsyncClient:
    """Signed in as an admin: every site."""
    return await make_client(Role.ADMIN)
