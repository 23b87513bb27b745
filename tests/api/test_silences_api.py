"""Site silences through the API and the console: who may set them, what is refused (naming the field), and the board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.lifecycle import AuditAction
from alerts.notify_tables import Escalation, LadderState
from api.models import Role
from carewatch.domain import AlertType
from tests.api.test_console_language import ALLOWED, ISO_TIME, LATIN, directory_data, readable

NOW = datetime.now(UTC).replace(microsecond=0)


def silence(**fields: object) -> dict[str, object]:
    return {"alert_types": ["no_gas_24h"], "starts_at": (NOW - timedelta(hours=1)).isoformat(),
            "ends_at": (NOW + timedelta(days=1)).isoformat(), "reason": "东区燃气管道维修，全片停气"} | fields


def problems(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return {"/".join(str(p) for p in d["loc"][1:]): d["msg"] for d in response.json()["detail"]}


async def test_a_supervisor_sets_a_silence_and_duty_staff_of_the_site_read_it(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    duty = await make_client(Role.DUTY, ("north",))
    created = await supervisor.post("/api/sites/north/silences", json=silence(household_ids=["hh-001"]))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["created_by"] == "supervisor 1" and body["household_ids"] == ["hh-001"] and body["include_safety"] is False
    assert [s["reason"] for s in (await duty.get("/api/sites/north/silences")).json()] == ["东区燃气管道维修，全片停气"]


async def test_duty_staff_may_not_set_or_end_a_silence(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    duty = await make_client(Role.DUTY, ("north",))
    assert (await duty.post("/api/sites/north/silences", json=silence())).status_code == 403
    silence_id = (await supervisor.post("/api/sites/north/silences", json=silence())).json()["id"]
    assert (await duty.delete(f"/api/sites/north/silences/{silence_id}")).status_code == 403
    assert (await duty.post(f"/sites/north/silences/{silence_id}/end", data={})).status_code == 403
    assert (await duty.get("/api/sites/north/silences")).json()[0]["ended_at"] is None


async def test_staff_of_another_site_get_404(make_client):
    south = await make_client(Role.SUPERVISOR, ("south",))
    north = await make_client(Role.SUPERVISOR, ("north",))
    silence_id = (await north.post("/api/sites/north/silences", json=silence())).json()["id"]
    assert (await south.get("/api/sites/north/silences")).status_code == 404
    assert (await south.post("/api/sites/north/silences", json=silence())).status_code == 404
    assert (await south.delete(f"/api/sites/north/silences/{silence_id}")).status_code == 404
    assert (await south.delete(f"/api/sites/south/silences/{silence_id}")).status_code == 404  # not south's silence
    assert (await south.get("/sites/north/silences")).status_code == 404


async def test_safety_types_need_include_safety_and_the_refusal_names_it(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    refused = problems(await supervisor.post("/api/sites/north/silences", json=silence(alert_types=["no_gas_24h", "gas_continuous"])))
    assert list(refused) == ["include_safety"] and "gas_continuous" in refused["include_safety"]
    allowed = await supervisor.post("/api/sites/north/silences", json=silence(alert_types=["water_continuous"], include_safety=True))
    assert allowed.status_code == 201


@pytest.mark.parametrize(("fields", "field"), [
    ({"reason": "  "}, "reason"),
    ({"alert_types": []}, "alert_types"),
    ({"alert_types": ["no_such_type"]}, "alert_types/0"),
    ({"ends_at": (NOW - timedelta(hours=2)).isoformat()}, "ends_at"),
    ({"ends_at": (NOW + timedelta(days=15)).isoformat()}, "ends_at"),
    ({"starts_at": "2030-01-01T08:00:00"}, "starts_at"),  # no zone: ambiguous
    ({"household_ids": ["hh-003"]}, "household_ids"),  # south's household
    ({"household_ids": []}, "household_ids"),
    ({"site_id": "south"}, "site_id"),  # not a field: nothing is mass-assigned
])
async def test_a_bad_silence_is_refused_naming_the_field(make_client, fields, field):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    body = silence(**fields)
    assert field in problems(await supervisor.post("/api/sites/north/silences", json=body))
    assert (await supervisor.get("/api/sites/north/silences")).json() == []


async def test_a_missing_reason_is_refused(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    body = silence()
    del body["reason"]
    assert "reason" in problems(await supervisor.post("/api/sites/north/silences", json=body))


async def test_ending_a_silence_early_keeps_who_and_when(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    silence_id = (await supervisor.post("/api/sites/north/silences", json=silence())).json()["id"]
    assert (await supervisor.delete(f"/api/sites/north/silences/{silence_id}")).status_code == 204
    assert (await supervisor.delete(f"/api/sites/north/silences/{silence_id}")).status_code == 409
    assert (await supervisor.get("/api/sites/north/silences")).json() == []  # over: no longer listed by default
    [ended] = (await supervisor.get("/api/sites/north/silences", params={"past": "true"})).json()
    assert ended["ended_by"] == "supervisor 1" and ended["ended_at"] is not None


async def test_a_district_gas_cut_fills_the_silenced_list_not_the_open_alerts(make_client, store, make_detection, sessions):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    await supervisor.post("/api/sites/north/silences", json=silence(alert_types=["no_gas_24h", "gas_continuous"], include_safety=True))
    no_gas = make_detection("hh-001", at=NOW)
    other_site = make_detection("hh-003", at=NOW)
    await store.apply([no_gas, other_site])
    async with sessions() as session:
        states = dict((await session.execute(select(Escalation.alert_id, Escalation.state))).all())
    assert states[no_gas.alert_id] is LadderState.STOPPED and states[other_site.alert_id] is LadderState.PENDING
    assert [e.action for e in (await store.get(no_gas.alert_id)).events] == [AuditAction.RAISED, AuditAction.SILENCED]
    duty = await make_client(Role.DUTY, ("north",))
    board = (await duty.get("/", params={"lang": "en"})).text
    assert 'id="silences"' in board and "东区燃气管道维修" in board and "Silenced" in board
    open_part, silenced_part = board.split('id="open"')[1].split('id="in-hand"')[0], board.split('id="silenced"')[1]
    assert no_gas.alert_id not in open_part and no_gas.alert_id in silenced_part
    history = await duty.get(f"/alerts/{no_gas.alert_id}", params={"lang": "zh-CN"})
    assert history.status_code == 200 and "已静默（计划内事件）" in history.text


async def test_the_console_sets_and_ends_a_silence_and_refuses_a_safety_type_in_words(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    start, end = (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), (NOW + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M")
    form = {"starts_at": start, "ends_at": end, "reason": "停水检修", "alert_types": ["no_water_24h", "water_continuous"]}
    refused = await supervisor.post("/sites/north/silences", data=form, params={"lang": "zh-CN"})
    assert refused.status_code == 422 and "同时静默安全警报" in refused.text
    saved = await supervisor.post("/sites/north/silences", data=form | {"include_safety": "true"})
    assert saved.status_code == 303
    [made] = (await supervisor.get("/api/sites/north/silences")).json()
    assert made["alert_types"] == ["no_water_24h", "water_continuous"] and made["include_safety"] is True
    ended = await supervisor.post(f"/sites/north/silences/{made['id']}/end", data={})
    assert ended.status_code == 303
    page = (await supervisor.get("/sites/north/silences", params={"lang": "en"})).text
    assert "Ended early by supervisor 1" in page


@pytest.mark.parametrize("path", ["/silences", "/sites/north/silences", "/"])
async def test_silence_pages_in_chinese_show_no_english_word_and_no_raw_code(make_client, store, make_detection, path):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    await supervisor.post("/api/sites/north/silences", json=silence(household_ids=["hh-001"]))
    await store.apply([make_detection("hh-001", at=NOW), make_detection("hh-001", AlertType.GAS_CONTINUOUS, at=NOW)])
    response = await supervisor.get(path, params={"lang": "zh-CN"}, follow_redirects=True)
    assert response.status_code == 200
    text = readable(response.text, directory_data("supervisor 1") + ["东区燃气管道维修，全片停气"])
    assert sorted(set(LATIN.findall(text)) - ALLOWED) == []
    assert ISO_TIME.findall(text) == []


async def test_duty_staff_see_the_silences_page_without_the_form_and_other_sites_see_no_banner(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    await supervisor.post("/api/sites/north/silences", json=silence())
    duty = await make_client(Role.DUTY, ("north",))
    page = (await duty.get("/silences", follow_redirects=True)).text
    assert "东区燃气管道维修" in page and 'id="new-silence"' not in page and "end-silence" not in page
    assert 'id="silences"' in (await duty.get("/")).text
    south = await make_client(Role.DUTY, ("south",))
    board = (await south.get("/")).text
    assert 'id="silences"' not in board and "东区燃气管道维修" not in board


async def test_the_console_refuses_an_unreadable_window_in_words_and_keeps_the_reason(make_client):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    refused = await supervisor.post("/sites/north/silences", params={"lang": "en"},
                                    data={"starts_at": "tomorrow", "ends_at": "", "reason": "停水检修", "alert_types": ["no_water_24h"]})
    assert refused.status_code == 422 and "The end must be after the start" in refused.text and "停水检修</textarea>" in refused.text
    assert (await supervisor.get("/api/sites/north/silences")).json() == []
