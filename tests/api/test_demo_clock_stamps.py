"""What the console shows and stamps reads the console's one clock (issue 15 item 6): in `carewatch demo` that is
simulated time, so no page mixes the simulation's day with today's wall clock. Each test gives the console a clock
far from the wall's (``SIMULATED``) and looks for it where the demo showed the wall clock before: the catchers'
times on /notifications, an API key's and a user's stamps, a gateway's credentials, a family link's age, the live
panel's newest reading. Real parts: the app over the test database, the demo's SMTP and HTTP catchers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.catchers import Catchers, running_catchers
from alerts.channels.base import Outgoing
from alerts.channels.email import EmailChannel, SmtpSettings
from alerts.family_links import FamilyLinks, LinkClaim
from alerts.models import Alert
from alerts.store import AlertStore
from api.app import create_app
from api.models import ApiKey, User
from carewatch.registry import Registry
from carewatch.settings import Settings
from tests.api.conftest import detection

SIMULATED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
"""The console's now: the demo's simulated day, nowhere near the wall clock."""
SHOWN = "2025-03-01 17:00"
"""SIMULATED in the console's words (China time)."""


def simulated() -> datetime:
    return SIMULATED


@pytest.fixture
def catchers(tmp_path: Path) -> Iterator[Catchers]:
    with running_catchers(tmp_path / "caught", clock=simulated) as running:
        yield running


@pytest.fixture
def settings(catchers: Catchers) -> Settings:
    return Settings(_env_file=None, catcher_dir=catchers.directory)  # type: ignore[call-arg]


@pytest.fixture
def app(sessions: async_sessionmaker[AsyncSession], registry: Registry, live_status: dict[str, Any], settings: Settings, directory: None) -> FastAPI:
    return create_app(sessions=sessions, registry=registry, status=lambda: live_status, settings=settings, clock=simulated)


def _wall_today() -> list[str]:
    """Today on the wall clock as the console and the catchers would write it (either side of midnight in China)."""
    now = datetime.now(UTC)
    return [f"{day:%Y-%m-%d}" for day in (now - timedelta(days=1), now, now + timedelta(days=1))]


async def test_the_notifications_page_shows_what_the_catchers_caught_at_the_demo_time(client: httpx.AsyncClient, catchers: Catchers):
    mail = EmailChannel(SmtpSettings("127.0.0.1", catchers.smtp_port, "alerts@carewatch.example"), clock=simulated)
    await mail.send(Outgoing("key-mail", "wang.fang@family.example", "张桂兰24小时未用燃气", "请确认老人安全。"))
    async with httpx.AsyncClient() as provider:
        assert (await provider.post(f"{catchers.http_url}/sms", json={"text": "请确认老人安全。"}, headers={"Idempotency-Key": "key-sms"})).status_code == 200

    page = (await client.get("/notifications")).text

    mail_row = re.search(r"<tr><td>([^<]*)</td><td>[^<]*wang\.fang@family\.example", page)
    sms_row = re.search(r"<tr><td>([^<]*)</td><td><small>/sms</small>", page)
    assert mail_row and sms_row, page
    assert (mail_row.group(1), sms_row.group(1)) == (SHOWN, SHOWN)
    assert not any(day in page for day in _wall_today())


async def test_keys_users_and_gateway_credentials_are_stamped_on_the_console_clock(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
):
    issued = (await client.post("/api/api-keys", json={"name": "installer", "scopes": ["directory:read"]})).json()
    assert (await client.delete(f"/api/api-keys/{issued['id']}")).status_code == 204
    user = await client.post("/api/users", json={"username": "li.na", "password": "another long passphrase", "role": "duty", "sites": ["north"], "display_name": "李娜"})
    assert user.status_code == 201, user.text
    assert (await client.post("/api/gateways/gw-north/credentials")).status_code == 200
    gateway = (await client.get("/api/gateways/gw-north")).json()

    async with sessions() as session:
        key = await session.get(ApiKey, issued["id"])
        added = await session.scalar(select(User).where(User.username == "li.na"))
    assert key is not None and added is not None
    assert (key.created_at, key.revoked_at, added.created_at) == (SIMULATED, SIMULATED, SIMULATED)
    assert datetime.fromisoformat(gateway["credentials_issued_at"]) == SIMULATED


async def test_a_family_link_is_as_old_as_the_demo_clock_says(client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings):
    """The ladder stamps the link on the demo's clock; read on the wall clock it was months old (refused as expired)."""
    await AlertStore(sessions, clock=simulated).apply([detection()])
    async with sessions() as session:
        alert_id = await session.scalar(select(Alert.id))
    links = FamilyLinks(settings.link_secret, "http://testserver", clock=lambda: (SIMULATED - timedelta(hours=1)).timestamp())

    opened = await client.get(f"/f/{links.token(LinkClaim(str(alert_id), 'hh-001.daughter', 'family'))}")

    assert opened.status_code == 200, opened.text
    assert 'name="choice"' in opened.text


async def test_the_live_panel_says_the_newest_reading_in_local_time(client: httpx.AsyncClient, live_status: dict[str, Any]):
    live_status.update({"event_time": SIMULATED.isoformat(), "readings": 12})

    page = (await client.get("/")).text

    assert f'<dd data-key="event_time">{SHOWN}</dd>' in page
