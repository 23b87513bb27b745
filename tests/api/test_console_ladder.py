"""The board shows each alert's ladder (step reached, who was contacted, how delivery went); the household page its people.

Real parts: the ladder writes the outbox as in production, a real dispatcher delivers to an
HTTP provider receiver on loopback (email is left unconfigured, so those messages fail
visibly), and the live board is read over a real server-sent-events connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from copy import deepcopy
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.channels.provider import ProviderChannel
from alerts.contacts import household_people, import_people
from alerts.dispatcher import Dispatcher
from alerts.ladder import AlertLadder
from alerts.outcomes import Outcome, OutcomeKind
from alerts.people import PeopleFile
from alerts.policy import EscalationPolicy
from alerts.store import AlertStore
from api.app import create_app
from api.auth import create_user
from api.models import Role
from carewatch.registry import Registry
from carewatch.settings import Settings
from tests.alerts.conftest import FakeClock
from tests.api.conftest import ONSET, PASSWORD, detection, sign_in
from tests.api.live import board_events
from tests.notify.people import PEOPLE
from tests.notify.receivers import HttpReceiver, http_receiver


def north_people() -> dict[str, Any]:
    """The notify tests' people file, moved to the console tests' "north" site (hh-001 lives there)."""
    document = deepcopy(PEOPLE)
    document["sites"][0]["site"] = "north"
    document["households"][0]["site"] = "north"
    return document


@pytest.fixture
def people() -> PeopleFile:
    return PeopleFile.from_document(north_people())


@pytest.fixture
async def app(
    sessions: async_sessionmaker[AsyncSession], registry: Registry, settings: Settings, directory: None, people: PeopleFile
) -> FastAPI:
    async with sessions.begin() as session:  # as the runner does at start: the people file's contacts into the directory
        await import_people(session, people)
    return create_app(sessions=sessions, registry=registry, settings=settings)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(ONSET + timedelta(hours=24))  # 15:30 in Shanghai: the day shift is on duty


@pytest.fixture
def ladder(people: PeopleFile, clock: FakeClock) -> AlertLadder:
    return AlertLadder(people, EscalationPolicy.load(), clock, households=household_people)


@pytest.fixture
def laddered(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, ladder: AlertLadder) -> AlertStore:
    return AlertStore(sessions, clock=clock, ladder=ladder)


@pytest.fixture
def provider() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
async def dispatcher(sessions: async_sessionmaker[AsyncSession], provider: HttpReceiver) -> AsyncIterator[Dispatcher]:
    async with httpx.AsyncClient(timeout=5) as http:
        channels = {kind: ProviderChannel(kind, f"{provider.url}/{kind}", None, http) for kind in ("sms", "voice")}
        yield Dispatcher(sessions, channels)  # no email channel: those messages fail, and the board must say so


def card(page: str, alert_id: str) -> str:
    """The alert's card on the board, up to the next card or the end of its list."""
    start = page.index(f'id="alert-{alert_id}"')
    ends = [i for i in (page.find('<li id="alert-', start + 1), page.find("</ol>", start)) if i != -1]
    return page[start : min(ends)]


async def test_each_card_shows_the_step_reached_and_who_was_contacted_with_delivery(
    client: httpx.AsyncClient, laddered: AlertStore, ladder: AlertLadder, sessions, clock: FakeClock, dispatcher: Dispatcher
):
    raised = detection()
    await laddered.apply([raised])  # the first step is written with the alert: a call to the elder
    first = card((await client.get("/?lang=en")).text, raised.alert_id)
    assert "Reached <strong>Checking with the elder</strong>" in first
    assert "张桂兰 <small>(elder)</small>" in first and "call · to send" in first

    clock.advance(minutes=15)
    await ladder.tick(sessions)  # the family is told
    report = await dispatcher.run_once()
    assert (report.sent, report.failed) == (2, 2)  # the elder's call and the daughter's SMS; both emails fail

    page = card((await client.get("/?lang=en")).text, raised.alert_id)
    assert "Reached <strong>Family told</strong>" in page and "Climbing" in page
    assert "王芳（女儿） <small>(family)</small>" in page and "Wang Lei (son) <small>(family)</small>" in page
    assert 'class="delivery delivery-sent" title="delivered">SMS · delivered' in page
    assert 'class="delivery delivery-failed" title="failed">email · failed' in page
    assert 'class="delivery delivery-sent" title="delivered">call · delivered' in page

    zh = card((await client.get("/?lang=zh")).text, raised.alert_id)
    assert "已到 <strong>通知家属</strong>" in zh and "短信 · 已送达" in zh and "邮件 · 发送失败" in zh


async def test_a_card_says_so_when_nobody_has_been_contacted_yet(client: httpx.AsyncClient, store: AlertStore):
    """No people file (notifications off): the escalation waits, and the officer must see that nobody was told."""
    raised = detection()
    await store.apply([raised])
    page = card((await client.get("/?lang=en")).text, raised.alert_id)
    assert '<strong class="nobody">Nobody contacted yet</strong>' in page and "Waiting to notify" in page


async def test_acknowledging_shows_the_ladder_stopped(client: httpx.AsyncClient, laddered: AlertStore):
    raised = detection()
    await laddered.apply([raised])
    await laddered.acknowledge(raised.alert_id, "李明", "", Outcome(OutcomeKind.SAFE))
    page = card((await client.get("/?lang=en")).text, raised.alert_id)
    assert "Stopped" in page and "call · cancelled" in page  # the elder's call had not gone out yet


async def test_the_live_board_resends_a_card_when_its_ladder_moves(
    app: FastAPI, sessions, laddered: AlertStore, ladder: AlertLadder, clock: FakeClock, dispatcher: Dispatcher
):
    raised = detection()
    await laddered.apply([raised])
    async with board_events(app, sessions) as events:
        assert "call · to send" in (await events.next("board")).data
        await dispatcher.run_once()  # the alert itself did not change; its ladder did
        assert "call · delivered" in (await events.next("board")).data
        clock.advance(minutes=15)
        await ladder.tick(sessions)
        assert "Family told" in (await events.next("board")).data


async def test_the_household_page_lists_the_directorys_contacts_with_tel_links(client: httpx.AsyncClient):
    page = (await client.get("/households/hh-001?lang=en")).text
    contacts = page[page.index('id="contacts"') : page.index('id="absences"')]
    assert "<strong>王芳</strong> (女儿)" in contacts
    assert '<a class="tel" href="tel:+8613700000001">☎ +8613700000001</a>' in contacts
    assert "<strong>Wang Lei</strong> (son)" in contacts
    assert '<strong>张桂兰</strong> (the elder)' in contacts and 'href="tel:+8613900000001"' in contacts
    assert contacts.count('href="tel:') == 2  # the son abroad has email only: named, no phone to call


async def test_the_household_page_without_people_says_there_are_no_contacts(
    sessions, registry: Registry, settings: Settings, directory: None
):
    bare = create_app(sessions=sessions, registry=registry, settings=settings)
    async with sessions.begin() as session:
        await create_user(session, "admin", PASSWORD, Role.ADMIN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://testserver") as client:
        await sign_in(client, "admin")
        page = (await client.get("/households/hh-001?lang=en")).text
    assert "No contacts yet." in page


async def test_another_sites_household_page_is_404_even_with_people_loaded(make_client):
    south = await make_client(Role.DUTY, ("south",))
    assert (await south.get("/households/hh-001")).status_code == 404
