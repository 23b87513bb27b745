"""A household's contacts through the integrator API: CRUD per site, checked channels, the bulk import, the ladder.

Real parts: the app over a real SQLite file; the ladder and the dispatcher as in production,
delivering SMS to an HTTP provider receiver on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from alerts.channels.provider import ProviderChannel
from alerts.contacts import household_people
from alerts.dispatcher import Dispatcher
from alerts.ladder import AlertLadder
from alerts.people import PeopleFile
from alerts.policy import EscalationPolicy
from alerts.store import AlertStore
from api.models import Role
from tests.alerts.conftest import FakeClock
from tests.api.conftest import ONSET, detection
from tests.notify.people import PEOPLE
from tests.notify.receivers import HttpReceiver, http_receiver

DAUGHTER = {
    "id": "hh-001.daughter", "name": "王芳", "relation": "女儿",
    "channels": [{"kind": "sms", "address": "+8613700000001"}, {"kind": "email", "address": "wang.fang@family.example"}],
    "quiet_hours": {"start": "22:00", "end": "07:00"},
}


async def test_contacts_are_created_read_changed_and_deleted(client: httpx.AsyncClient):
    created = await client.post("/api/households/hh-001/contacts", json=DAUGHTER)
    assert created.status_code == 201, created.text
    assert created.json() == {
        **DAUGHTER, "household_id": "hh-001", "role": "family", "language": "zh-CN", "alert_types": None,
        "quiet_hours": {"start": "22:00:00", "end": "07:00:00"},
    }
    elder = await client.post("/api/households/hh-001/contacts", json={
        "role": "elder", "name": "张桂兰", "channels": [{"kind": "voice", "address": "+8613900000001"}],
    })
    assert (elder.status_code, elder.json()["id"]) == (201, "elder"), elder.text
    made = await client.post("/api/households/hh-001/contacts", json={"name": "邻居", "channels": [{"kind": "sms", "address": "13800000002"}]})
    assert made.status_code == 201 and made.json()["id"].startswith("contact-")

    listed = (await client.get("/api/households/hh-001/contacts")).json()
    assert [c["id"] for c in listed["items"]][:1] == ["elder"] and listed["total"] == 3  # the elder's line first

    changed = await client.patch("/api/households/hh-001/contacts/hh-001.daughter", json={
        "channels": [{"kind": "voice", "address": "+8613700000009"}], "quiet_hours": None, "alert_types": ["no_activity_24h"],
    })
    assert changed.status_code == 200, changed.text
    assert (changed.json()["channels"], changed.json()["quiet_hours"], changed.json()["alert_types"]) == (
        [{"kind": "voice", "address": "+8613700000009"}], None, ["no_activity_24h"],
    )
    assert (await client.get("/api/households/hh-001/contacts/hh-001.daughter")).json()["relation"] == "女儿"

    assert (await client.delete("/api/households/hh-001/contacts/hh-001.daughter")).status_code == 204
    assert (await client.get("/api/households/hh-001/contacts/hh-001.daughter")).status_code == 404
    assert (await client.delete("/api/households/hh-001")).status_code == 204  # its contacts go with it
    assert (await client.get("/api/households/hh-001/contacts")).status_code == 404


async def test_contact_lists_are_paged_with_a_capped_page_size(client):
    for n in range(3):
        await client.post("/api/households/hh-001/contacts", json={"id": f"c{n}", "name": f"n{n}", "channels": [{"kind": "sms", "address": "10086"}]})
    first = (await client.get("/api/households/hh-001/contacts?limit=2")).json()
    assert ([c["id"] for c in first["items"]], first["total"], first["next_offset"]) == (["c0", "c1"], 3, 2)
    last = (await client.get("/api/households/hh-001/contacts?limit=2&offset=2")).json()
    assert ([c["id"] for c in last["items"]], last["next_offset"]) == (["c2"], None)
    assert (await client.get("/api/households/hh-001/contacts?limit=100000")).json()["limit"] == 500


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({**DAUGHTER, "channels": [{"kind": "sms", "address": "call me"}]}, ["body", "channels", 0]),
        ({**DAUGHTER, "channels": [{"kind": "email", "address": "no-at-sign"}]}, ["body", "channels", 0]),
        ({**DAUGHTER, "channels": [{"kind": "pigeon", "address": "roof"}]}, ["body", "channels", 0, "kind"]),
        ({**DAUGHTER, "channels": [{"kind": "wecom", "address": "not a url"}]}, ["body", "channels", 0]),
        ({**DAUGHTER, "channels": []}, ["body", "channels"]),
        ({**DAUGHTER, "language": "fr"}, ["body", "language"]),
        ({**DAUGHTER, "alert_types": ["meter_silent"]}, ["body", "alert_types"]),
        ({**DAUGHTER, "id": "has space"}, ["body", "id"]),
        ({**DAUGHTER, "role": "elder"}, ["body"]),  # the elder's line is "elder", and takes no quiet hours
        ({**DAUGHTER, "name": ""}, ["body", "name"]),
    ],
)
async def test_bad_contacts_are_refused_with_the_field_named(client, body, loc):
    response = await client.post("/api/households/hh-001/contacts", json=body)
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [loc], response.text


async def test_a_change_is_checked_as_a_whole_and_duplicates_conflict(client):
    await client.post("/api/households/hh-001/contacts", json={"role": "elder", "name": "张桂兰", "channels": [{"kind": "voice", "address": "+8613900000001"}]})
    again = await client.post("/api/households/hh-001/contacts", json={"role": "elder", "name": "x", "channels": [{"kind": "voice", "address": "10086"}]})
    assert again.status_code == 409 and again.json()["detail"][0]["loc"] == ["body", "id"]
    elder_types = await client.patch("/api/households/hh-001/contacts/elder", json={"alert_types": ["no_gas_24h"]})
    assert elder_types.status_code == 422, elder_types.text
    assert (await client.patch("/api/households/hh-001/contacts/elder", json={"name": None})).status_code == 422
    assert (await client.patch("/api/households/hh-001/contacts/elder", json={"role": "family"})).status_code == 422


async def test_staff_read_their_sites_contacts_and_only_supervisors_change_them(make_client, client):
    await client.post("/api/households/hh-001/contacts", json=DAUGHTER)
    duty = await make_client(Role.DUTY, ("north",))
    assert (await duty.get("/api/households/hh-001/contacts")).json()["total"] == 1
    assert (await duty.post("/api/households/hh-001/contacts", json={**DAUGHTER, "id": "x"})).status_code == 403
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    assert (await supervisor.patch("/api/households/hh-001/contacts/hh-001.daughter", json={"relation": "长女"})).status_code == 200
    south = await make_client(Role.SUPERVISOR, ("south",))
    assert (await south.get("/api/households/hh-001/contacts/hh-001.daughter")).status_code == 404


async def test_the_bulk_import_writes_contacts_and_a_bad_contact_row_refuses_the_whole_import(client):
    good = {"household_id": "hh-200", "site": "north", "meters": [{"meter_id": "gas-200", "kind": "gas"}],
            "contacts": [{"id": "son", "name": "陈军", "channels": [{"kind": "sms", "address": "+8613700000200"}]}]}
    bad = {"household_id": "hh-201", "site": "north", "meters": [{"meter_id": "gas-201", "kind": "gas"}],
           "contacts": [{"id": "son", "name": "赵亮", "channels": [{"kind": "sms", "address": "138-0000-0201x"}]}]}
    refused = await client.post("/api/import", json={"version": 1, "households": [good, bad]})
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert [(e["row"], e["field"], e["household_id"]) for e in errors] == [("households[1]", "contacts.0.channels.0", "hh-201")]
    assert "phone number" in errors[0]["message"]
    assert (await client.get("/api/households/hh-200")).status_code == 404  # nothing was written

    imported = await client.post("/api/import", json={"version": 1, "households": [good]})
    assert imported.status_code == 200 and imported.json()["contacts"] == 1, imported.text
    assert [c["name"] for c in (await client.get("/api/households/hh-200/contacts")).json()["items"]] == ["陈军"]
    twice = {**good, "contacts": good["contacts"] * 2}
    duplicate = (await client.post("/api/import", json={"version": 1, "households": [twice]})).json()["errors"]
    assert [(e["field"], e["message"]) for e in duplicate] == [("contacts", "Value error, contact id(s) listed twice: son")]
    without = {k: v for k, v in good.items() if k != "contacts"}  # contacts left out: the directory's are kept
    assert (await client.post("/api/import", json={"version": 1, "households": [without]})).status_code == 200
    assert (await client.get("/api/households/hh-200/contacts")).json()["total"] == 1


@pytest.fixture
def provider() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


async def test_the_ladder_tells_a_contact_added_through_the_api(client, sessions, provider: HttpReceiver):
    sites = {**PEOPLE, "sites": [{**PEOPLE["sites"][0], "site": "north"}], "households": []}  # staff only: no file contacts
    clock = FakeClock(ONSET + timedelta(hours=24))
    ladder = AlertLadder(PeopleFile.from_document(sites), EscalationPolicy.load(), clock, households=household_people)
    store = AlertStore(sessions, clock=clock, ladder=ladder)
    added = await client.post("/api/households/hh-001/contacts", json={**DAUGHTER, "quiet_hours": None})
    assert added.status_code == 201, added.text

    await store.apply([detection()])
    clock.advance(minutes=15)
    await ladder.tick(sessions)  # notify_family: whoever the directory lists now
    async with httpx.AsyncClient(timeout=5) as http:
        report = await Dispatcher(sessions, {"sms": ProviderChannel("sms", f"{provider.url}/sms", None, http)}).run_once()
    assert report.sent == 1  # the daughter's SMS (her email has no channel here: it fails, visibly)
    [sms] = [r.json() for r in provider.accepted]
    assert sms["to"] == "+8613700000001" and "张桂兰" in str(sms["text"])


async def test_the_people_file_is_imported_into_the_directory_and_api_contacts_are_kept(client, sessions):
    from copy import deepcopy

    from alerts.contacts import import_people

    people = deepcopy(PEOPLE)
    people["sites"][0]["site"] = "north"
    people["households"][0]["site"] = "north"
    people["households"].append({"household_id": "hh-new", "site": "north", "name": "周奶奶",
                                 "contacts": [{"id": "grandson", "name": "周洋", "channels": [{"kind": "sms", "address": "10086"}]}]})
    await client.post("/api/households/hh-001/contacts", json={"id": "neighbour", "name": "邻居", "channels": [{"kind": "sms", "address": "10010"}]})
    for _ in range(2):  # every start: the same result
        async with sessions.begin() as session:
            imported = await import_people(session, PeopleFile.from_document(people))
    assert imported.contacts == 4 and imported.households_added == ()  # hh-new was added by the first start
    ids = [c["id"] for c in (await client.get("/api/households/hh-001/contacts")).json()["items"]]
    assert ids == ["elder", "hh-001.daughter", "hh-001.son", "neighbour"]
    added = (await client.get("/api/households/hh-new")).json()
    assert (added["name"], added["meters"]) == ("周奶奶", [])  # watched once it has meters
    assert (await client.get("/api/households/hh-new/contacts")).json()["items"][0]["name"] == "周洋"
