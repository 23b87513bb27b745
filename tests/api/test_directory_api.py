"""The integrator API over the directory: CRUD, bulk import all-or-nothing, API keys, pages, field-level errors."""

from __future__ import annotations

import httpx

from api.models import Role
from carewatch.directory import load_registry
from tests.api.conftest import sign_in

HOUSEHOLD = {
    "household_id": "hh-100", "site": "north", "name": "陈阿姨", "address": "北苑路1号", "phone": "13800000000",
    "birth_year": 1941, "gateway_id": "gw-north", "meters": [{"meter_id": "gas-100", "kind": "gas"}],
}


async def test_households_are_created_read_changed_and_deleted(client: httpx.AsyncClient):
    created = await client.post("/api/households", json=HOUSEHOLD)
    assert created.status_code == 201, created.text
    assert created.json()["meters"] == [{"meter_id": "gas-100", "household_id": "hh-100", "kind": "gas", "interval_s": 900.0, "upload_every_s": 0.0}]

    changed = await client.patch("/api/households/hh-100", json={"notes": "钥匙在邻居家", "rules": {"gas_continuous_h": 2}})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["notes"], changed.json()["rules"]) == ("钥匙在邻居家", {"gas_continuous_h": 2.0})
    meter = await client.post("/api/meters", json={"meter_id": "wat-100", "household_id": "hh-100", "kind": "water"})
    assert meter.status_code == 201, meter.text
    assert [m["meter_id"] for m in (await client.get("/api/households/hh-100")).json()["meters"]] == ["gas-100", "wat-100"]

    assert (await client.delete("/api/households/hh-100")).status_code == 204
    assert (await client.get("/api/households/hh-100")).status_code == 404
    assert (await client.get("/api/meters/wat-100")).status_code == 404


async def test_the_pipelines_registry_is_built_from_the_directory(client, sessions):
    await client.post("/api/households", json=HOUSEHOLD)
    async with sessions() as session:
        registry = await load_registry(session)
    household, meter = registry.meter("gas-100")  # type: ignore[misc]
    assert (household.household_id, household.site, household.gateway_id, meter.kind) == ("hh-100", "north", "gw-north", "gas")
    assert len(registry) == 4


async def test_bad_input_is_refused_with_the_field_named(client):
    cases = [
        ({**HOUSEHOLD, "meters": [{"meter_id": "gas-100", "kind": "steam"}]}, ["body", "meters", 0, "kind"], 422),
        ({**HOUSEHOLD, "timezone": "Mars/Olympus"}, ["body", "timezone"], 422),
        ({**HOUSEHOLD, "household_id": "has space"}, ["body", "household_id"], 422),
        ({**HOUSEHOLD, "site": "nowhere"}, ["body", "site"], 422),
        ({**HOUSEHOLD, "gateway_id": "gw-south"}, ["body", "gateway_id"], 422),
        ({**HOUSEHOLD, "household_id": "hh-001"}, ["body", "household_id"], 409),
        ({**HOUSEHOLD, "meters": [{"meter_id": "gas-003", "kind": "gas"}]}, ["body", "meters", "0", "meter_id"], 409),
    ]
    for body, loc, code in cases:
        response = await client.post("/api/households", json=body)
        assert response.status_code == code, (body, response.text)
        assert [error["loc"] for error in response.json()["detail"]] == [loc], response.text


async def test_lists_are_paged_with_a_capped_page_size(client):
    first = (await client.get("/api/households?limit=2")).json()
    rest = (await client.get(f"/api/households?limit=2&offset={first['next_offset']}")).json()
    capped = (await client.get("/api/households?limit=100000")).json()
    assert [h["household_id"] for h in first["items"]] == ["hh-001", "hh-002"]
    assert (first["total"], first["next_offset"]) == (3, 2)
    assert ([h["household_id"] for h in rest["items"]], rest["next_offset"]) == (["hh-003"], None)
    assert capped["limit"] == 500
    assert (await client.get("/api/households?limit=0")).status_code == 422


async def test_a_district_is_imported_from_csv(client):
    csv = (
        "household_id,name,site,address,gateway_id,meter_id,kind,phone\n"
        "hh-200,赵大爷,east,东园1号,gw-east,gas-200,gas,13900000000\n"
        "hh-200,赵大爷,east,东园1号,gw-east,wat-200,water,13900000000\n"
        "hh-201,钱奶奶,east,东园2号,gw-east,gas-201,gas,\n"
    )
    response = await client.post("/api/import", content=csv.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "imported": True, "dry_run": False, "sites_created": 1, "gateways_created": 1, "households_created": 2,
        "households_updated": 0, "meters": 3, "contacts": 0, "errors": [],
    }
    household = (await client.get("/api/households/hh-200")).json()
    assert (household["site"], household["gateway_id"], len(household["meters"])) == ("east", "gw-east", 2)


async def test_an_import_with_any_bad_row_imports_nothing_and_names_every_bad_row(client):
    document = {
        "households": [
            {"household_id": "hh-300", "site": "north", "meters": [{"meter_id": "gas-300", "kind": "gas"}]},
            {"household_id": "hh-301", "site": "north", "meters": [{"meter_id": "gas-301", "kind": "oil"}]},
            {"household_id": "hh-302", "site": "north", "meters": [{"meter_id": "gas-001", "kind": "gas"}]},
            {"household_id": "hh-300", "site": "north", "meters": [{"meter_id": "gas-303", "kind": "gas"}]},
        ]
    }
    response = await client.post("/api/import", json=document)
    assert response.status_code == 422
    errors = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert errors == {
        ("households[1]", "meters.0.kind"),
        ("households[2]", "meters.meter_id"),
        ("households[3]", "household_id"),
    }
    assert (await client.get("/api/households/hh-300")).status_code == 404


async def test_a_dry_run_reports_without_writing(client):
    document = {"households": [{"household_id": "hh-400", "site": "north", "meters": [{"meter_id": "gas-400", "kind": "gas"}]}]}
    response = await client.post("/api/import?dry_run=true", json=document)
    assert response.status_code == 200, response.text
    assert (response.json()["households_created"], response.json()["imported"]) == (1, False)
    assert (await client.get("/api/households/hh-400")).status_code == 404


async def test_an_api_key_works_within_its_scopes_and_sites_until_revoked(client):
    issued = await client.post("/api/api-keys", json={"name": "north installer", "scopes": ["directory:read", "directory:write"], "sites": ["north"]})
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    integrator = httpx.AsyncClient(transport=client._transport, base_url="http://testserver", headers={"Authorization": f"Bearer {key}"})
    async with integrator:
        listed = (await integrator.get("/api/households")).json()
        assert [h["household_id"] for h in listed["items"]] == ["hh-001", "hh-002"]
        assert (await integrator.post("/api/households", json=HOUSEHOLD)).status_code == 201  # no CSRF token needed for a key
        assert (await integrator.get("/api/alerts")).status_code == 403  # not in its scopes
        assert (await integrator.get("/api/users")).status_code == 403
        await client.delete(f"/api/api-keys/{issued.json()['id']}")
        assert (await integrator.get("/api/households")).status_code == 401
    assert "key" not in (await client.get("/api/api-keys")).json()[0]


async def test_accounts_are_made_by_admins_and_sign_in(client, make_client):
    made = await client.post("/api/users", json={"username": "wang.fang", "display_name": "王芳", "password": "long enough pw!", "role": "duty", "sites": ["south"]})
    assert made.status_code == 201, made.text
    assert made.json()["sites"] == ["south"]
    short = await client.post("/api/users", json={"username": "l", "display_name": "李", "password": "short", "role": "duty"})
    assert short.status_code == 422 and {e["loc"][-1] for e in short.json()["detail"]} == {"username", "password"}
    newcomer = await make_client(None)
    assert (await sign_in(newcomer, "wang.fang", "long enough pw!")).status_code == 303
    assert "王芳" in (await newcomer.get("/")).text
    duty = await make_client(Role.DUTY, ("north",))
    assert (await duty.post("/api/users", json={"username": "x1", "display_name": "x", "password": "long enough pw!", "role": "admin"})).status_code == 403
