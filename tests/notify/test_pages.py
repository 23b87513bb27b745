"""The family link page and the notifications log, through the real app."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from alerts.channels.provider import ProviderChannel
from alerts.dispatcher import Dispatcher
from alerts.family_links import FamilyLinks, LinkClaim
from alerts.ladder import AlertLadder
from alerts.lifecycle import AlertStatus, AuditAction
from alerts.models import Alert
from alerts.notifications import family_links
from alerts.outcomes import OutcomeKind
from alerts.people import PeopleFile
from alerts.policy import EscalationPolicy
from alerts.store import AlertStore
from api.app import create_app
from api.auth import create_user
from api.models import Role
from carewatch.directory import Absence, Household, Site
from carewatch.domain import Severity
from carewatch.settings import Settings
from tests.api.conftest import PASSWORD, sign_in
from tests.notify.conftest import ALERT, rows
from tests.notify.people import people

RAISED = ALERT  # stored by the sessions fixture, before notifications were configured


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, link_secret="page-test-secret")  # type: ignore[call-arg]


@pytest.fixture
async def links(settings: Settings) -> FamilyLinks:
    return family_links(settings)


@pytest.fixture
async def laddered(sessions, clock, links) -> AlertStore:  # type: ignore[no-untyped-def]
    ladder = AlertLadder(PeopleFile.from_document(people()), EscalationPolicy.load(), clock, links)
    store = AlertStore(sessions, clock=clock, ladder=ladder)
    await ladder.tick(sessions)  # the escalator starts the ladder of an alert raised without one
    clock.advance(minutes=15)
    await ladder.tick(sessions)
    return store


@pytest.fixture
def app(sessions, settings) -> FastAPI:  # type: ignore[no-untyped-def]
    return create_app(sessions=sessions, settings=settings)


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


def path_of(body: str) -> str:
    return "/f/" + body.split("/f/", 1)[1].split()[0]


async def link_for(sessions, recipient_id: str) -> str:  # type: ignore[no-untyped-def]
    return path_of(next(m.body for m in await rows(sessions) if m.recipient_id == recipient_id and m.channel != "email"))


async def test_opening_a_family_link_asks_and_changes_nothing(laddered, sessions, web):
    page = await web.get(await link_for(sessions, "hh-001.daughter"))

    assert page.status_code == 200
    assert "张桂兰" in page.text and "我已联系上，老人平安" in page.text and "我联系不上老人" in page.text
    assert (await laddered.get(RAISED.alert_id)).status is AlertStatus.OPEN, "chat apps preview links: GET must not act"


async def test_family_checked_through_the_link_acknowledges_as_safe(laddered, sessions, web):
    link = await link_for(sessions, "hh-001.daughter")

    thanks = await web.post(link, data={"choice": "checked"})

    assert thanks.status_code == 200 and "已记录老人平安" in thanks.text
    alert = await laddered.get(RAISED.alert_id)
    assert (alert.status, alert.outcome, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, OutcomeKind.SAFE, "family: 王芳（女儿）")
    again = await web.post(link, data={"choice": "unreachable"})
    assert "已经有人处理过了" in again.text


async def test_a_replayed_link_shows_the_recorded_answer_and_is_audited_once(laddered, sessions, web):
    link = await link_for(sessions, "hh-001.daughter")

    answers = [await web.post(link, data={"choice": "unreachable"}) for _ in range(3)]

    assert all(a.status_code == 200 and "已收到" in a.text for a in answers), "each time the page shows the recorded answer"
    events = (await laddered.get(RAISED.alert_id)).events
    assert [e.action for e in events].count(AuditAction.FAMILY_UNREACHABLE) == 1


async def test_english_reader_gets_the_page_in_english(laddered, sessions, web):
    link = path_of(next(m.body for m in await rows(sessions) if m.recipient_id == "hh-001.son"))
    page = await web.get(link)
    assert "I cannot reach her or him" in page.text and 'lang="en"' in page.text


async def test_elder_link_offers_only_i_am_fine_and_resolves(laddered, sessions, web):
    link = await link_for(sessions, "hh-001.elder")
    assert "我很好" in (await web.get(link)).text
    assert (await web.post(link, data={"choice": "checked"})).status_code == 400, "an elder's link cannot answer for the family"

    await web.post(link, data={"choice": "fine"})

    alert = await laddered.get(RAISED.alert_id)
    assert (alert.status, alert.outcome) == (AlertStatus.RESOLVED, OutcomeKind.SAFE)


async def test_a_tampered_link_is_refused_with_a_clear_page(laddered, sessions, web):
    link = await link_for(sessions, "hh-001.daughter")
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")

    for response in (await web.get(forged), await web.post(forged, data={"choice": "checked"})):
        assert response.status_code == 400
        assert "这个链接无效" in response.text and "This link is not valid" in response.text
    assert (await laddered.get(RAISED.alert_id)).status is AlertStatus.OPEN


async def test_an_expired_link_is_refused_with_a_clear_page(laddered, settings, web):
    old = FamilyLinks(settings.link_secret, "http://x", clock=lambda: time.time() - settings.family_link_max_age.total_seconds() - 60)
    token = old.token(LinkClaim(RAISED.alert_id, "hh-001.daughter", "family"))

    response = await web.post(f"/f/{token}", data={"choice": "checked"})

    assert response.status_code == 410
    assert "这个链接已过期" in response.text and "This link has expired" in response.text
    assert (await laddered.get(RAISED.alert_id)).status is AlertStatus.OPEN


async def test_notifications_log_lists_messages_and_attempts_for_staff_only(laddered, sessions, app, web, clock, receiver):
    async with httpx.AsyncClient(timeout=2) as client:
        await Dispatcher(sessions, {"sms": ProviderChannel("sms", receiver.url, None, client)}, clock=clock).run_once()

    assert (await web.get("/notifications")).status_code == 401
    assert (await web.get("/api/notifications")).status_code == 401
    async with sessions.begin() as session:
        await create_user(session, "duty-admin", PASSWORD, Role.ADMIN, (), display_name="值班 admin")
    assert (await sign_in(web, "duty-admin")).status_code == 303

    listed = (await web.get("/api/notifications", params={"alert_id": RAISED.alert_id})).json()
    sms = next(m for m in listed if m["recipient_id"] == "hh-001.daughter" and m["channel"] == "sms")
    assert sms["status"] == "sent" and [a["result"] for a in sms["delivery_attempts"]] == ["sent"]
    unconfigured = next(m for m in listed if m["channel"] == "voice")
    assert unconfigured["status"] == "failed" and "no voice channel is configured" in unconfigured["last_error"]
    assert all("key=" not in m["address"] for m in listed), "robot keys are never shown"
    page = await web.get("/notifications", params={"alert_id": RAISED.alert_id})
    assert page.status_code == 200 and "通知家属" in page.text and "王芳（女儿）" in page.text
    assert "notify_family" not in page.text.split("<main", 1)[1], "steps in words, not codes"


@pytest.fixture
def ladder(clock, links) -> AlertLadder:  # type: ignore[no-untyped-def]
    return AlertLadder(PeopleFile.from_document(people()), EscalationPolicy.load(), clock, links)


async def test_i_need_help_from_the_family_brings_the_duty_staff_in_at_once_and_makes_the_alert_critical(sessions, clock, ladder, web):
    await ladder.tick(sessions)  # check_elder now; notify_family in 15 min, the duty staff 15 min after
    clock.advance(minutes=15)
    await ladder.tick(sessions)
    link = await link_for(sessions, "hh-001.daughter")
    assert "需要帮助，请来人" in (await web.get(link)).text
    assert not [m for m in await rows(sessions) if m.purpose == "page_duty"]

    answers = [await web.post(link, data={"choice": "need_help"}) for _ in range(2)]
    await ladder.tick(sessions)  # the escalator's next look, no time passed

    assert all(a.status_code == 200 and "已收到求助" in a.text for a in answers)
    assert [m for m in await rows(sessions) if m.purpose == "help_requested"], "the duty staff are paged at once, not in 15 min"
    assert "请求帮助" in next(m.body for m in await rows(sessions) if m.purpose == "help_requested")
    alert = await AlertStore(sessions, clock=clock).get(RAISED.alert_id)
    assert alert.status is AlertStatus.OPEN and alert.severity == "critical"
    assert [e.action for e in alert.events].count(AuditAction.HELP_REQUESTED) == 1, "a second press adds nothing"


async def test_an_elder_asking_for_help_on_a_warning_makes_it_critical_and_pages_past_the_family_wait(sessions, clock, ladder, web):
    async with sessions.begin() as session:  # a warning: its ladder waits an hour for the family, two for the staff
        (await session.get(Alert, RAISED.alert_id)).severity = Severity.WARNING
    await ladder.tick(sessions)
    link = await link_for(sessions, "hh-001.elder")

    await web.post(link, data={"choice": "need_help"})
    await ladder.tick(sessions)

    purposes = [m.purpose for m in await rows(sessions)]
    assert "notify_family" in purposes and "help_requested" in purposes, "the family an hour early, the staff at once"
    assert (await AlertStore(sessions, clock=clock).get(RAISED.alert_id)).severity == "critical"


async def test_away_until_a_date_plans_the_absence_and_resolves_the_alert_as_a_false_alarm(sessions, clock, ladder, web):
    async with sessions.begin() as session:
        session.add(Site(id="east", name="东湖社区"))
        await session.flush()
        session.add(Household(id="hh-001", site_id="east", name="张桂兰"))
    await ladder.tick(sessions)
    link = await link_for(sessions, "hh-001.elder")
    page = await web.get(link)
    assert 'type="date"' in page.text and "预计哪天回来" in page.text
    assert (await web.post(link, data={"choice": "away"})).status_code == 400, "away needs a return date"
    assert (await web.post(link, data={"choice": "away", "until": "2001-01-01"})).status_code == 400
    back = (datetime.now(UTC) + timedelta(days=5)).date()

    thanks = await web.post(link, data={"choice": "away", "until": back.isoformat()})

    assert thanks.status_code == 200 and "已记录不在家" in thanks.text
    alert = await AlertStore(sessions, clock=clock).get(RAISED.alert_id)
    assert (alert.status, alert.outcome) == (AlertStatus.RESOLVED, OutcomeKind.FALSE_ALARM)
    async with sessions() as session:
        absences = (await session.scalars(select(Absence))).all()
    assert len(absences) == 1 and absences[0].household_id == "hh-001"
    assert absences[0].ends_at.astimezone(ZoneInfo("Asia/Shanghai")).date() == back + timedelta(days=1)
    again = await web.post(link, data={"choice": "away", "until": back.isoformat()})
    assert again.status_code == 200
    async with sessions() as session:
        assert len((await session.scalars(select(Absence))).all()) == 1, "a repeated answer plans nothing more"


async def test_the_family_page_gives_the_communitys_duty_line_to_call(sessions, clock, ladder, web):
    async with sessions.begin() as session:
        session.add(Site(id="east", name="东湖社区", phone="0532-8000 1234"))
        await session.flush()
        session.add(Household(id="hh-001", site_id="east", name="张桂兰"))
    await ladder.tick(sessions)
    link = await link_for(sessions, "hh-001.elder")

    for page in (await web.get(link), await web.post(link, data={"choice": "need_help"})):
        assert '社区值班电话: <a href="tel:053280001234">0532-8000 1234</a>' in page.text


async def test_a_call_for_help_on_an_alert_already_in_hand_pages_the_duty_staff_once(sessions, clock, ladder, web):
    store = AlertStore(sessions, clock=clock, ladder=ladder)
    await ladder.tick(sessions)
    link = await link_for(sessions, "hh-001.elder")
    await store.acknowledge(RAISED.alert_id, "值班员 小李", "calling the daughter")  # the ladder stops here
    assert not [m for m in await rows(sessions) if m.purpose in ("page_duty", "help_requested")]

    await web.post(link, data={"choice": "need_help"})
    for _ in range(3):
        await ladder.tick(sessions)

    help_pages = [m for m in await rows(sessions) if m.purpose == "help_requested"]
    assert help_pages and len({(m.recipient_id, m.channel) for m in help_pages}) == len(help_pages), "each address once"
    events = (await store.get(RAISED.alert_id)).events
    assert [e.note.split(":")[0] for e in events if e.note.startswith("help_requested")] == ["help_requested"]
