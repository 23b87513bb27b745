"""Assigning an alert to a colleague: JSON route and console control, within the sites each person may see."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.lifecycle import AuditAction
from alerts.store import AlertStore
from api.auth import create_user
from api.models import Role, User
from tests.api.conftest import CSRF_INPUT, PASSWORD, detection

NORTH_ALERT = detection("hh-001")
SOUTH_ALERT = detection("hh-003")


@pytest.fixture
async def people(sessions: async_sessionmaker[AsyncSession], store: AlertStore, directory: None) -> dict[str, User]:
    """Colleagues of both sites, one who left, and an admin; alerts in north and south."""
    await store.apply([NORTH_ALERT, SOUTH_ALERT])
    made = {}
    async with sessions.begin() as session:
        for username, role, sites, name in (
            ("wang", Role.DUTY, ["north"], "王强"), ("chen", Role.SUPERVISOR, ["north", "south"], "陈主任"),
            ("zhao", Role.DUTY, ["south"], "赵南"), ("boss", Role.ADMIN, [], "总管理员"), ("gone", Role.DUTY, ["north"], "已离职"),
        ):
            made[username] = await create_user(session, username, PASSWORD, role, sites, display_name=name)
        made["gone"].active = False
    return made


@pytest.fixture
async def north_duty(make_client, people) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return await make_client(Role.DUTY, ("north",))


async def test_a_duty_officer_assigns_an_alert_to_a_colleague_of_its_community(north_duty, people):
    response = await north_duty.post(f"/api/alerts/{NORTH_ALERT.alert_id}/assign",
                                     json={"user_id": people["wang"].id, "note": "他住在附近"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["assigned_to"], body["assigned_user_id"], body["status"]) == ("王强", people["wang"].id, "open")
    entry = body["events"][-1]
    assert (entry["action"], entry["actor"], entry["note"]) == ("assigned", "duty 1", "assigned to 王强: 他住在附近")
    listed = (await north_duty.get("/api/alerts")).json()
    assert [a["assigned_to"] for a in listed if a["id"] == NORTH_ALERT.alert_id] == ["王强"]


async def test_the_colleagues_an_alert_may_go_to_are_those_of_its_community(north_duty, people):
    listed = (await north_duty.get(f"/api/alerts/{NORTH_ALERT.alert_id}/colleagues")).json()
    names = {c["display_name"] for c in listed}
    assert {"王强", "陈主任", "总管理员", "duty 1"} <= names
    assert "赵南" not in names and "已离职" not in names


@pytest.mark.parametrize("who", ["zhao", "gone", "nobody-with-this-id"])
async def test_a_colleague_outside_the_community_inactive_or_unknown_is_refused_field_by_field(north_duty, people, who, store):
    user_id = people[who].id if who in people else 999_999
    response = await north_duty.post(f"/api/alerts/{NORTH_ALERT.alert_id}/assign", json={"user_id": user_id})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "user_id"]
    assert (await store.get(NORTH_ALERT.alert_id)).assigned_to is None


async def test_another_sites_alert_answers_404_and_is_not_assigned(north_duty, people, store):
    for url in (f"/api/alerts/{SOUTH_ALERT.alert_id}/assign", f"/api/alerts/{SOUTH_ALERT.alert_id}/colleagues"):
        response = await (north_duty.post(url, json={"user_id": people["chen"].id}) if url.endswith("assign") else north_duty.get(url))
        assert response.status_code == 404, url
    console = await north_duty.post(f"/console/alerts/{SOUTH_ALERT.alert_id}/assign", data={"user_id": str(people["chen"].id)})
    assert console.status_code == 404
    assert (await store.get(SOUTH_ALERT.alert_id)).assigned_to is None


async def test_a_closed_alert_is_not_assigned_and_an_assignment_can_be_withdrawn(north_duty, people, store):
    assert (await north_duty.post(f"/api/alerts/{NORTH_ALERT.alert_id}/assign", json={"user_id": people["chen"].id})).status_code == 200
    withdrawn = await north_duty.post(f"/api/alerts/{NORTH_ALERT.alert_id}/assign", json={"user_id": None})
    assert withdrawn.status_code == 200 and withdrawn.json()["assigned_to"] is None
    await store.resolve(NORTH_ALERT.alert_id, "陈主任")
    closed = await north_duty.post(f"/api/alerts/{NORTH_ALERT.alert_id}/assign", json={"user_id": people["chen"].id})
    assert closed.status_code == 409 and "only open or acknowledged alerts are assigned" in closed.text


async def test_the_board_offers_the_communitys_colleagues_and_shows_who_has_the_alert(north_duty, people, store):
    board = (await north_duty.get("/?lang=en")).text
    form = board[board.index(f'action="/console/alerts/{NORTH_ALERT.alert_id}/assign"'):]
    form = form[: form.index("</form>")]
    assert f'<option value="{people["wang"].id}">王强</option>' in form and "总管理员" in form
    assert "赵南" not in form and "已离职" not in form

    token = CSRF_INPUT.search(board).group(1)  # type: ignore[union-attr]
    done = await north_duty.post(f"/console/alerts/{NORTH_ALERT.alert_id}/assign",
                                 data={"user_id": str(people["wang"].id), "note": "顺路", "csrf_token": token})
    assert done.status_code == 303
    after = (await north_duty.get("/?lang=en")).text
    assert '<small class="assigned">Assigned to: <strong>王强</strong></small>' in after
    assert f'<option value="{people["wang"].id}" selected>王强</option>' in after
    history = (await north_duty.get("/households/hh-001?lang=en")).text
    assert "Assigned — assigned to 王强: 顺路" in history
    assert [e.action for e in (await store.history(NORTH_ALERT.alert_id))][-1] is AuditAction.ASSIGNED


async def test_the_console_refuses_a_colleague_of_another_community_with_a_notice(north_duty, people, store):
    refused = await north_duty.post(f"/console/alerts/{NORTH_ALERT.alert_id}/assign?lang=en", data={"user_id": str(people["zhao"].id)})
    assert refused.status_code == 422
    assert "does not look after this community" in refused.text
    garbage = await north_duty.post(f"/console/alerts/{NORTH_ALERT.alert_id}/assign?lang=en", data={"user_id": "王强"})
    assert garbage.status_code == 422
    assert (await store.get(NORTH_ALERT.alert_id)).assigned_to is None
