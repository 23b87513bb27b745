"""The duty rota through the API and the console: staff of a site read it, supervisors edit it, the board names
who is on duty now, and refusals name the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.models import Role
from carewatch.settings import Settings
from tests.api.test_console_language import ALLOWED, ISO_TIME, LATIN, directory_data, readable

ZONE = ZoneInfo("Asia/Shanghai")


def team(site: str, prefix: str) -> dict[str, object]:
    return {
        "site": site, "name": site, "timezone": "Asia/Shanghai",
        "staff": [
            {"id": f"{prefix}-li", "name": f"{prefix}李明", "role": "duty", "channels": [{"kind": "sms", "address": "+8613800000001"}]},
            {"id": f"{prefix}-wang", "name": f"{prefix}王强", "role": "duty", "channels": [{"kind": "sms", "address": "+8613800000002"}]},
            {"id": f"{prefix}-boss", "name": f"{prefix}陈主任", "role": "supervisor", "channels": [{"kind": "sms", "address": "+8613800000009"}]},
        ],
        "rota": [{"staff": f"{prefix}-li", "start": "00:00", "end": "00:00"}],
    }


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    people = tmp_path / "people.json"
    people.write_text(json.dumps({"version": 1, "sites": [team("north", "n"), team("south", "s")], "households": []}), encoding="utf-8")
    return Settings(_env_file=None, people_path=people)  # type: ignore[call-arg]


def all_day_today(staff_id: str) -> dict[str, object]:
    return {"weekday": datetime.now(ZONE).weekday(), "start": "00:00", "end": "00:00", "staff_id": staff_id}


async def test_without_a_database_rota_the_people_files_is_shown(make_client):
    duty = await make_client(Role.DUTY, ("north",))
    rota = (await duty.get("/api/sites/north/rota")).json()
    assert rota["source"] == "people_file" and [p["name"] for p in rota["on_duty_now"]] == ["n李明"]
    assert [p["id"] for p in rota["staff"]] == ["n-li", "n-wang"]


async def test_a_supervisor_replaces_the_weekly_rota_and_the_board_names_who_is_on_duty(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    response = await supervisor.put("/api/sites/north/rota", json={"shifts": [all_day_today("n-wang")]})
    assert response.status_code == 200, response.text
    assert response.json()["source"] == "database" and [p["name"] for p in response.json()["on_duty_now"]] == ["n王强"]
    duty = await make_client(Role.DUTY, ("north",))
    board = (await duty.get("/", params={"lang": "en"})).text
    assert 'id="on-duty"' in board and "n王强" in board and "s李明" not in board


async def test_an_override_replaces_the_absent_member_for_its_days(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    await supervisor.put("/api/sites/north/rota", json={"shifts": [all_day_today("n-wang")]})
    today = datetime.now(ZONE).date()
    made = await supervisor.post("/api/sites/north/rota/overrides", json={
        "first_day": today.isoformat(), "last_day": (today + timedelta(days=2)).isoformat(),
        "absent_id": "n-wang", "replacement_id": "n-li", "reason": "病假"})
    assert made.status_code == 201, made.text
    assert [p["id"] for p in (await supervisor.get("/api/sites/north/rota")).json()["on_duty_now"]] == ["n-li"]
    assert (await supervisor.delete(f"/api/sites/north/rota/overrides/{made.json()['id']}")).status_code == 204
    assert [p["id"] for p in (await supervisor.get("/api/sites/north/rota")).json()["on_duty_now"]] == ["n-wang"]


async def test_duty_staff_may_read_but_not_edit_the_rota(make_client):
    duty = await make_client(Role.DUTY, ("north",))
    assert (await duty.get("/api/sites/north/rota")).status_code == 200
    assert (await duty.put("/api/sites/north/rota", json={"shifts": []})).status_code == 403
    assert (await duty.post("/sites/north/rota/shifts", data=all_day_today("n-li"))).status_code == 403
    page = (await duty.get("/rota", follow_redirects=True)).text
    assert "n李明" in page and "add-shift" not in page


async def test_another_sites_rota_answers_404(make_client):
    south = await make_client(Role.SUPERVISOR, ("south",))
    assert (await south.get("/api/sites/north/rota")).status_code == 404
    assert (await south.put("/api/sites/north/rota", json={"shifts": []})).status_code == 404
    assert (await south.get("/sites/north/rota")).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"shifts": [all_day_today("s-li")]}, "shifts/0/staff_id"),  # south's staff
    ({"shifts": [all_day_today("n-boss")]}, "shifts/0/staff_id"),  # not duty staff
    ({"shifts": [all_day_today("n-li") | {"weekday": 7}]}, "shifts/0/weekday"),
    ({"shifts": [all_day_today("n-li") | {"start": "25:00"}]}, "shifts/0/start"),
])
async def test_a_bad_rota_is_refused_naming_the_field(make_client, body, field):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    response = await supervisor.put("/api/sites/north/rota", json=body)
    assert response.status_code == 422
    assert field in {"/".join(str(p) for p in d["loc"][1:]) for d in response.json()["detail"]}
    assert (await supervisor.get("/api/sites/north/rota")).json()["shifts"] == []


@pytest.mark.parametrize(("change", "field"), [
    ({"replacement_id": "n-li"}, "replacement_id"),  # the same person
    ({"absent_id": "s-li"}, "absent_id"),
    ({"last_day": "2030-01-01", "first_day": "2030-01-05"}, "last_day"),
    ({"last_day": "2030-12-31"}, "last_day"),  # longer than 92 days
])
async def test_a_bad_override_is_refused_naming_the_field(make_client, change, field):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    body = {"first_day": "2030-01-01", "last_day": "2030-01-02", "absent_id": "n-li", "replacement_id": "n-wang"} | change
    response = await supervisor.post("/api/sites/north/rota/overrides", json=body)
    assert response.status_code == 422 and field in {d["loc"][-1] for d in response.json()["detail"]}


async def test_the_console_adds_and_removes_a_shift_and_an_override(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    assert (await supervisor.post("/sites/north/rota/shifts", data=all_day_today("n-wang"))).status_code == 303
    [shift] = (await supervisor.get("/api/sites/north/rota")).json()["shifts"]
    refused = await supervisor.post("/sites/north/rota/overrides", params={"lang": "zh-CN"},
                                    data={"first_day": "2030-01-01", "last_day": "2030-01-02", "absent_id": "n-li", "replacement_id": "n-li"})
    assert refused.status_code == 422 and "替班人员须是另一位值班人员" in refused.text
    assert (await supervisor.post("/sites/north/rota/overrides",
                                  data={"first_day": "2030-01-01", "last_day": "2030-01-02", "absent_id": "n-li", "replacement_id": "n-wang"})).status_code == 303
    [override] = (await supervisor.get("/api/sites/north/rota")).json()["overrides"]
    assert (await supervisor.post(f"/sites/north/rota/overrides/{override['id']}/delete", data={})).status_code == 303
    assert (await supervisor.post(f"/sites/north/rota/shifts/{shift['id']}/delete", data={})).status_code == 303
    assert (await supervisor.get("/api/sites/north/rota")).json()["source"] == "people_file"


@pytest.mark.parametrize("path", ["/rota", "/sites/north/rota", "/"])
async def test_rota_pages_in_chinese_show_no_english_word_and_no_raw_code(make_client, path):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    await supervisor.put("/api/sites/north/rota", json={"shifts": [all_day_today("n-wang")]})
    await supervisor.post("/api/sites/north/rota/overrides", json={"first_day": "2030-01-01", "last_day": "2030-01-02",
                                                                     "absent_id": "n-wang", "replacement_id": "n-li", "reason": "病假"})
    response = await supervisor.get(path, params={"lang": "zh-CN"}, follow_redirects=True)
    assert response.status_code == 200
    text = readable(response.text, directory_data("supervisor 1") + ["n李明", "n王强", "北苑社区"])
    assert sorted(set(LATIN.findall(text)) - ALLOWED) == []
    assert ISO_TIME.findall(text) == []
