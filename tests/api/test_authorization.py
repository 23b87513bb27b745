"""Who may do what: signing in, and the authorization matrix over every route of the app.

Staff and keys of site "north" must get 404 for every object of site "south"; roles below
admin get 403 on admin routes; nobody unauthenticated gets past 401.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
from fastapi import routing
from fastapi.routing import APIRoute

from alerts.lifecycle import AlertStatus
from alerts.rota import RotaOverride, RotaShift
from alerts.silences import SiteSilence
from api.auth import create_api_key
from api.models import KEY_SCOPES, ROLE_SCOPES, Role, Scope
from carewatch.directory import Absence, Contact
from tests.api.conftest import PASSWORD, sign_in

iter_route_contexts = getattr(routing, "iter_route_contexts", None)
SOUTH_ALERT = "hh-003.no_gas_24h.20250301T073000Z"
CONTACT = {"id": "hh-003.son", "name": "李强", "relation": "儿子", "channels": [{"kind": "sms", "address": "+8613700000003"}]}
ABSENCE = {"starts_at": "2030-01-01T00:00:00+08:00", "ends_at": "2030-01-05T00:00:00+08:00", "note": "住院"}
SILENCE = {"alert_types": ["no_gas_24h"], "starts_at": "2030-01-01T00:00:00+08:00", "ends_at": "2030-01-02T00:00:00+08:00", "reason": "停气检修"}
ROTA = {"shifts": [{"weekday": 0, "start": "08:00", "end": "20:00", "staff_id": "south-duty"}]}
OVERRIDE = {"first_day": "2030-01-01", "last_day": "2030-01-02", "absent_id": "south-duty", "replacement_id": "south-night", "reason": "病假"}
SILENCE_FORM = {"alert_types": "no_gas_24h", "starts_at": "2030-01-01T08:00", "ends_at": "2030-01-02T08:00", "reason": "停气检修"}

OBJECT_ROUTES: dict[tuple[str, str], tuple[str, object]] = {
    # (method, route path): (a URL of site south's object, JSON body)
    ("GET", "/api/alerts/{alert_id}"): (f"/api/alerts/{SOUTH_ALERT}", None),
    ("POST", "/api/alerts/{alert_id}/acknowledge"): (f"/api/alerts/{SOUTH_ALERT}/acknowledge", {"outcome": "safe"}),
    ("POST", "/api/alerts/{alert_id}/resolve"): (f"/api/alerts/{SOUTH_ALERT}/resolve", {}),
    ("GET", "/api/alerts/{alert_id}/colleagues"): (f"/api/alerts/{SOUTH_ALERT}/colleagues", None),
    ("POST", "/api/alerts/{alert_id}/assign"): (f"/api/alerts/{SOUTH_ALERT}/assign", {"user_id": 1}),
    ("GET", "/api/sites/{site_id}"): ("/api/sites/south", None),
    ("PATCH", "/api/sites/{site_id}"): ("/api/sites/south", {"name": "x"}),
    ("DELETE", "/api/sites/{site_id}"): ("/api/sites/south", None),
    ("GET", "/api/gateways/{gateway_id}"): ("/api/gateways/gw-south", None),
    ("PATCH", "/api/gateways/{gateway_id}"): ("/api/gateways/gw-south", {"name": "x"}),
    ("DELETE", "/api/gateways/{gateway_id}"): ("/api/gateways/gw-south", None),
    ("POST", "/api/gateways/{gateway_id}/credentials"): ("/api/gateways/gw-south/credentials", None),
    ("DELETE", "/api/gateways/{gateway_id}/credentials"): ("/api/gateways/gw-south/credentials", None),
    ("GET", "/api/meters/{meter_id}"): ("/api/meters/gas-003", None),
    ("PATCH", "/api/meters/{meter_id}"): ("/api/meters/gas-003", {"interval_s": 60}),
    ("DELETE", "/api/meters/{meter_id}"): ("/api/meters/gas-003", None),
    ("GET", "/api/households/{household_id}"): ("/api/households/hh-003", None),
    ("PATCH", "/api/households/{household_id}"): ("/api/households/hh-003", {"name": "x"}),
    ("DELETE", "/api/households/{household_id}"): ("/api/households/hh-003", None),
    ("GET", "/api/households/{household_id}/absences"): ("/api/households/hh-003/absences", None),
    ("POST", "/api/households/{household_id}/absences"): ("/api/households/hh-003/absences", ABSENCE),
    ("DELETE", "/api/households/{household_id}/absences/{absence_id}"): ("/api/households/hh-003/absences/1", None),
    ("GET", "/api/households/{household_id}/usage"): ("/api/households/hh-003/usage", None),
    ("GET", "/api/households/{household_id}/contacts"): ("/api/households/hh-003/contacts", None),
    ("POST", "/api/households/{household_id}/contacts"): ("/api/households/hh-003/contacts", CONTACT),
    ("GET", "/api/households/{household_id}/contacts/{contact_id}"): ("/api/households/hh-003/contacts/hh-003.son", None),
    ("PATCH", "/api/households/{household_id}/contacts/{contact_id}"): ("/api/households/hh-003/contacts/hh-003.son", {"name": "x"}),
    ("DELETE", "/api/households/{household_id}/contacts/{contact_id}"): ("/api/households/hh-003/contacts/hh-003.son", None),
    ("POST", "/console/alerts/{alert_id}/acknowledge"): (f"/console/alerts/{SOUTH_ALERT}/acknowledge", {"outcome": "safe"}),
    ("POST", "/console/alerts/{alert_id}/resolve"): (f"/console/alerts/{SOUTH_ALERT}/resolve", {"note": ""}),
    ("POST", "/console/alerts/{alert_id}/assign"): (f"/console/alerts/{SOUTH_ALERT}/assign", {"user_id": "1"}),
    ("GET", "/alerts/{alert_id}"): (f"/alerts/{SOUTH_ALERT}", None),
    ("GET", "/households/{household_id}"): ("/households/hh-003", None),
    ("GET", "/sites/{site_id}/devices"): ("/sites/south/devices", None),
    ("GET", "/sites/{site_id}/reports"): ("/sites/south/reports", None),
    ("GET", "/sites/{site_id}/reports/{month}.csv"): ("/sites/south/reports/2026-12.csv", None),
    ("GET", "/api/sites/{site_id}/reports/{month}"): ("/api/sites/south/reports/2026-12", None),
    ("POST", "/households/{household_id}/absences"): ("/households/hh-003/absences", {"starts_at": "2030-01-01T08:00", "ends_at": "2030-01-02T08:00"}),
    ("POST", "/households/{household_id}/absences/{absence_id}/clear"): ("/households/hh-003/absences/1/clear", {}),
    ("GET", "/api/sites/{site_id}/silences"): ("/api/sites/south/silences", None),
    ("POST", "/api/sites/{site_id}/silences"): ("/api/sites/south/silences", SILENCE),
    ("DELETE", "/api/sites/{site_id}/silences/{silence_id}"): ("/api/sites/south/silences/1", None),
    ("GET", "/sites/{site_id}/silences"): ("/sites/south/silences", None),
    ("POST", "/sites/{site_id}/silences"): ("/sites/south/silences", SILENCE_FORM),
    ("POST", "/sites/{site_id}/silences/{silence_id}/end"): ("/sites/south/silences/1/end", {}),
    ("GET", "/api/sites/{site_id}/rota"): ("/api/sites/south/rota", None),
    ("PUT", "/api/sites/{site_id}/rota"): ("/api/sites/south/rota", ROTA),
    ("POST", "/api/sites/{site_id}/rota/overrides"): ("/api/sites/south/rota/overrides", OVERRIDE),
    ("DELETE", "/api/sites/{site_id}/rota/overrides/{override_id}"): ("/api/sites/south/rota/overrides/1", None),
    ("GET", "/sites/{site_id}/rota"): ("/sites/south/rota", None),
    ("POST", "/sites/{site_id}/rota/shifts"): ("/sites/south/rota/shifts", ROTA["shifts"][0]),
    ("POST", "/sites/{site_id}/rota/shifts/{shift_id}/delete"): ("/sites/south/rota/shifts/1/delete", {}),
    ("POST", "/sites/{site_id}/rota/overrides"): ("/sites/south/rota/overrides", OVERRIDE),
    ("POST", "/sites/{site_id}/rota/overrides/{override_id}/delete"): ("/sites/south/rota/overrides/1/delete", {}),
}
BODY_ROUTES: dict[tuple[str, str], object] = {
    # Changes without an id in the path, whose body names site south's objects: (method, path): body
    ("POST", "/api/alerts/acknowledge"): {"alert_ids": [SOUTH_ALERT], "outcome": "safe"},
    ("POST", "/console/alerts/acknowledge"): {"alert_id": SOUTH_ALERT, "outcome": "safe"},
    ("POST", "/api/handoff"): {"site_id": "south", "note": "南湖社区的交班留言"},
    ("POST", "/handoff"): {"site": "south", "note": "南湖社区的交班留言"},
}
CREATES = {("POST", "/api/sites"), ("POST", "/api/gateways"), ("POST", "/api/meters"), ("POST", "/api/households"), ("POST", "/api/import"),
           ("POST", "/api/users"), ("POST", "/api/api-keys"), ("POST", "/login"), ("POST", "/logout")}
"""Changes without an id in the path that make something new (directory rows, accounts, keys, a session), not act on a site's objects."""
FAMILY_LINK = {("GET", "/f/{token}"), ("POST", "/f/{token}")}
"""Issue 5's signed family links: the signed token is the credential (tested with alerts' family links)."""
PLATFORM_PUSH = {("GET", "/api/push/{integration}"), ("POST", "/api/push/{integration}")}
"""NB-IoT platforms' HTTP push: the integration's push token or signature is the credential (tests/ingest/test_adapters_end_to_end.py)."""
NOT_PER_SITE = {("GET", "/api/users/{user_id}"), ("PATCH", "/api/users/{user_id}"), ("DELETE", "/api/api-keys/{key_id}"),
                ("GET", "/notifications/mail/{key}")} | FAMILY_LINK | PLATFORM_PUSH
"""Accounts and keys belong to no site (admins only, checked by the 403 test); the demo's caught mail
spans every site and answers only all-site principals."""
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/healthz"), ("GET", "/livez"), ("GET", "/readyz"), ("GET", "/metrics"),
          ("GET", "/docs"), ("GET", "/redoc")} | FAMILY_LINK | PLATFORM_PUSH  # the OpenAPI pages are public, as /openapi.json is


def routes(app) -> list[tuple[str, str, Scope | None]]:  # type: ignore[no-untyped-def]
    """Every (method, path, required scope) of the app; the scope is read from the route's ``require`` dependency."""
    found = []
    # FastAPI ≥ 0.16x keeps included routers whole; iter_route_contexts flattens them with full paths.
    flat = [context.route for context in iter_route_contexts(app.routes)] if iter_route_contexts else app.routes
    for route in flat:
        if not isinstance(route, APIRoute):
            continue
        scope = None
        pending = list(route.dependant.dependencies)
        while pending:
            dependency = pending.pop()
            name = getattr(dependency.call, "__name__", "")
            if name.startswith("require_"):
                scope = Scope[name.removeprefix("require_").upper()]
            pending.extend(dependency.dependencies)
        for method in route.methods - {"HEAD"}:
            found.append((method, route.path, scope))
    return found


def concrete(path: str) -> str:
    return path.replace("{alert_id}", SOUTH_ALERT).replace("{absence_id}", "1").replace("{silence_id}", "1").replace("{shift_id}", "1").replace("{override_id}", "1").replace("{user_id}", "1").replace("{key_id}", "1").replace(
        "{household_id}", "hh-003").replace("{contact_id}", "hh-003.son").replace("{site_id}", "south").replace("{gateway_id}", "gw-south").replace("{meter_id}", "gas-003")


async def send(client: httpx.AsyncClient, method: str, url: str, body: object) -> httpx.Response:
    if url.startswith("/api/"):
        return await client.request(method, url, json=body)
    return await client.request(method, url, data=body)  # type: ignore[arg-type]


@pytest.fixture
async def south_objects(store, make_detection, sessions) -> None:  # type: ignore[no-untyped-def]
    await store.apply([make_detection("hh-003")])
    async with sessions.begin() as session:
        session.add(Absence(household_id="hh-003", starts_at=datetime(2030, 1, 1, tzinfo=UTC), ends_at=datetime(2030, 1, 2, tzinfo=UTC),
                            note="", created_by="test", created_at=datetime.now(UTC)))
        session.add(Contact(household_id="hh-003", **CONTACT))
        session.add(SiteSilence(site_id="south", alert_types=["no_gas_24h"], include_safety=False, starts_at=datetime(2030, 1, 1, tzinfo=UTC),
                                ends_at=datetime(2030, 1, 2, tzinfo=UTC), reason="停气检修", created_by="test", created_at=datetime.now(UTC)))
        session.add(RotaShift(site_id="south", weekday=0, start=time(8), end=time(20), staff_id="south-duty", created_by="test", created_at=datetime.now(UTC)))
        session.add(RotaOverride(site_id="south", first_day=date(2030, 1, 1), last_day=date(2030, 1, 2), absent_id="south-duty",
                                 replacement_id="south-night", reason="", created_by="test", created_at=datetime.now(UTC)))


@pytest.fixture
async def north_key(app, sessions):  # type: ignore[no-untyped-def]
    """A client with an API key of site north holding every key scope."""
    async with sessions.begin() as session:
        _, key = await create_api_key(session, "north", KEY_SCOPES, ["north"], "test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def test_every_object_route_is_in_the_matrix(app):
    with_ids = {(method, path) for method, path, _ in routes(app) if "{" in path}
    assert with_ids - NOT_PER_SITE == set(OBJECT_ROUTES), "add new object routes to OBJECT_ROUTES"


def test_every_change_without_an_id_in_its_path_is_in_the_matrix(app):
    changes = {(method, path) for method, path, _ in routes(app) if "{" not in path and method != "GET"}
    assert changes - CREATES == set(BODY_ROUTES), "add new routes that act on objects named in their body to BODY_ROUTES"


async def test_north_staff_and_keys_get_404_for_south_objects_named_in_the_body(app, make_client, store, south_objects, north_key):
    scopes = dict(((m, p), s) for m, p, s in routes(app))
    callers = [("north key", north_key, KEY_SCOPES)] + [
        (role.value, await make_client(role, ("north",)), ROLE_SCOPES[role]) for role in Role if role is not Role.ADMIN]
    for (method, path), body in BODY_ROUTES.items():
        for who, caller, granted in callers:
            response = await send(caller, method, path, body)
            assert response.status_code == (404 if scopes[(method, path)] in granted else 403), (who, path, response.text[:300])
    assert (await store.get(SOUTH_ALERT)).status is AlertStatus.OPEN
    admin = await make_client(Role.ADMIN)
    assert (await admin.get("/api/handoff", params={"site": "south"})).json()["notes"] == []


async def test_north_staff_and_keys_get_404_for_every_south_object(app, make_client, store, south_objects, north_key):
    north_people = {role: await make_client(role, ("north",)) for role in Role if role is not Role.ADMIN}
    scopes = dict(((m, p), s) for m, p, s in routes(app))
    for (method, path), (url, body) in OBJECT_ROUTES.items():
        callers = [("north key", north_key, KEY_SCOPES)] + [(role.value, c, ROLE_SCOPES[role]) for role, c in north_people.items()]
        for who, caller, granted in callers:
            response = await send(caller, method, url, body)
            expected = 404 if scopes[(method, path)] in granted else 403
            assert response.status_code == expected, (who, method, url, response.text[:300])
    # Nothing of south's changed.
    admin = await make_client(Role.ADMIN)
    assert (await admin.get("/api/households/hh-003")).json()["name"] == "李秀英"
    assert (await admin.get("/api/meters/gas-003")).json()["interval_s"] == 900.0
    assert (await store.get(SOUTH_ALERT)).status is AlertStatus.OPEN
    assert (await store.get(SOUTH_ALERT)).assigned_to is None
    assert len((await admin.get("/api/households/hh-003/absences")).json()) == 1
    assert [c["name"] for c in (await admin.get("/api/households/hh-003/contacts")).json()["items"]] == ["李强"]
    assert [(s["id"], s["ended_at"]) for s in (await admin.get("/api/sites/south/silences")).json()] == [(1, None)]
    south_rota = (await admin.get("/api/sites/south/rota")).json()
    assert [s["id"] for s in south_rota["shifts"]] == [1] and [o["id"] for o in south_rota["overrides"]] == [1]


async def test_north_staff_see_their_own_objects(make_client, store, make_detection):
    await store.apply([make_detection("hh-001"), make_detection("hh-003")])
    duty = await make_client(Role.DUTY, ("north",))
    assert [a["household_id"] for a in (await duty.get("/api/alerts")).json()] == ["hh-001"]
    assert (await duty.get("/api/households/hh-001")).status_code == 200
    assert [s["site_id"] for s in (await duty.get("/api/sites")).json()["items"]] == ["north"]
    board = (await duty.get("/")).text
    assert "hh-001.no_gas_24h" in board and "hh-003" not in board


SITE_FILTERED = {url: ("site", "household_id") for url in ("/history", "/history/export.csv", "/history/export.xlsx", "/api/alert-history")}
SITE_FILTERED["/handoff"] = SITE_FILTERED["/api/handoff"] = ("site",)
"""Routes without an object in their path that take a site or household to filter by: another site's answers 404."""


async def test_north_staff_and_keys_get_404_when_they_filter_by_a_south_site_or_household(make_client, south_objects, north_key):
    for caller in [north_key] + [await make_client(role, ("north",)) for role in Role if role is not Role.ADMIN]:
        for url, filters in SITE_FILTERED.items():
            for query in [{"site": "south"}, {"household_id": "hh-003"}][: len(filters)]:
                assert (await caller.get(url, params=query)).status_code == 404, (url, query)
            assert SOUTH_ALERT not in (await caller.get(url)).text, url


async def test_roles_below_admin_get_403_on_admin_routes(app, make_client):
    admin_only = [(m, p) for m, p, scope in routes(app) if scope is not None and scope not in ROLE_SCOPES[Role.SUPERVISOR]]
    assert {("POST", "/api/import"), ("GET", "/api/users"), ("POST", "/api/sites"), ("POST", "/api/api-keys")} <= set(admin_only)
    for role in (Role.DUTY, Role.SUPERVISOR):
        caller = await make_client(role, ("north", "south"))
        for method, path in admin_only:
            response = await send(caller, method, concrete(path), {})
            assert response.status_code == 403, (role, method, path, response.text[:200])


async def test_unauthenticated_requests_get_401(app, make_client):
    anonymous = await make_client(None)
    for method, path, _ in routes(app):
        if (method, path) in PUBLIC:
            continue
        response = await send(anonymous, method, concrete(path), {})
        assert response.status_code == 401, (method, path)
        if path.startswith("/api/"):
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert 'action="/login"' in response.text  # a person gets the sign-in form
    bogus = httpx.AsyncClient(transport=anonymous._transport, base_url="http://testserver",
                              headers={"Authorization": "Bearer cw_0123456789ab_not-a-key"})
    async with bogus:
        assert (await bogus.get("/api/households")).status_code == 401


async def test_a_wrong_password_is_refused_and_guessing_is_rate_limited(make_client):
    await make_client(Role.DUTY, ("north",))  # the account "duty-1"
    guesser = await make_client(None)
    for _ in range(5):
        assert (await sign_in(guesser, "duty-1", "wrong password")).status_code == 401
    limited = await sign_in(guesser, "duty-1", PASSWORD)
    assert limited.status_code == 429 and "登录失败次数过多" in limited.text
    assert int(limited.headers["retry-after"]) > 0


async def test_sign_in_only_redirects_within_the_site_and_sign_out_ends_the_session(app, make_client):
    await make_client(Role.DUTY, ("north",))
    browser = await make_client(None)
    form = await browser.get("/login")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await browser.post("/login", data={"username": "duty-1", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/"})
    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert (await browser.get("/")).status_code == 200
    csrf = (await browser.get("/")).text.split('name="csrf_token" value="')[1].split('"')[0]
    await browser.post("/logout", data={"csrf_token": csrf})
    assert (await browser.get("/")).status_code == 401


async def test_a_login_without_the_forms_token_is_refused(make_client):
    await make_client(Role.DUTY, ("north",))
    browser = await make_client(None)
    response = await browser.post("/login", data={"username": "duty-1", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403


async def test_an_expired_session_is_signed_out(app, make_client, sessions):
    from sqlalchemy import update

    from api.models import ConsoleSession

    browser = await make_client(Role.DUTY, ("north",))
    async with sessions.begin() as session:
        await session.execute(update(ConsoleSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await browser.get("/")).status_code == 401
