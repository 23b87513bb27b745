"""Issue 11's attacks on the console and the integrator API, each as the behaviour that refuses it.

Reserved MQTT identities (item 7), the login limit (10), security headers and Secure cookies (11),
sign-out (12), site leaks (13) and API keys on a read-only database (14).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from api.app import create_app
from api.auth import create_api_key
from api.models import KEY_SCOPES, Role
from api.server import serve_console
from carewatch.db import make_engine, make_sessions
from carewatch.directory import Gateway
from api.directory_import import import_document
from carewatch.registry import Registry
from carewatch.schema import create_schema
from carewatch.settings import Settings
from ingest.models import GatewayStatus, UnknownMeter
from tests.api.conftest import CSRF_INPUT, DISTRICT, PASSWORD, sign_in
from tests.services import create_postgres_database, drop_postgres_database, free_port

SEEN = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)


async def key_client(app, sessions, scopes=KEY_SCOPES, sites=("north",)) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    async with sessions.begin() as session:
        _, key = await create_api_key(session, "integrator", scopes, sites, "test")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                             headers={"Authorization": f"Bearer {key}"})


# ---- 7: carewatch's own MQTT identities cannot be taken ---------------------------------------------------


@pytest.mark.parametrize("gateway_id", ["carewatch-ingest", "carewatch-bridge", "Carewatch-Ingest"])
async def test_a_site_key_cannot_create_a_gateway_named_as_carewatch_itself(app, sessions, gateway_id):
    async with await key_client(app, sessions) as north_key:
        response = await north_key.post("/api/gateways", json={"gateway_id": gateway_id, "site": "north"})
    assert response.status_code == 422, response.text
    assert "reserved" in response.text and "carewatch-" in response.text


async def test_the_configured_ingest_identities_are_reserved_whatever_their_names(sessions, settings, directory):
    named = settings.model_copy(update={"mqtt_client_id": "district-reader", "mqtt_ingest_username": "ingest-user"})
    app = create_app(sessions=sessions, settings=named)
    async with await key_client(app, sessions) as north_key:
        for name in ("district-reader", "ingest-user"):
            response = await north_key.post("/api/gateways", json={"gateway_id": name, "site": "north"})
            assert response.status_code == 422 and "reserved" in response.text, response.text


async def test_credentials_are_never_issued_to_a_reserved_identity_even_one_already_in_the_directory(app, client, sessions, tmp_path):
    async with sessions.begin() as session:  # e.g. made before the rule existed
        session.add(Gateway(id="carewatch-ingest", site_id="north", name="not carewatch"))
    response = await client.post("/api/gateways/carewatch-ingest/credentials")
    assert response.status_code == 422 and "reserved" in response.text, response.text
    async with sessions() as session:
        assert (await session.get(Gateway, "carewatch-ingest")).mqtt_password_hash is None  # type: ignore[union-attr]


# ---- 10: the login limit ------------------------------------------------------------------------------------


async def test_the_login_limit_counts_every_spelling_of_a_name_that_signs_in(make_client):
    await make_client(Role.DUTY, ("north",))  # the account "duty-1"
    guesser = await make_client(None)
    for spelling in ("duty-1 ", "duty-1\t", "duty-1\u3000", " duty-1", "ｄｕｔｙ-1"):
        assert (await sign_in(guesser, spelling, "wrong password")).status_code == 401
    for spelling in ("duty-1", "duty-1\u3000"):
        assert (await sign_in(guesser, spelling, PASSWORD)).status_code == 429, spelling


@pytest.fixture
async def served(sessions, settings, directory) -> AsyncIterator[callable]:  # type: ignore[valid-type]
    """``await served(**settings)``: the console behind real uvicorn on loopback; returns its base URL."""
    stack: list = []

    async def serve(**changes: object) -> str:
        port = free_port()
        console = serve_console(settings.model_copy(update={"http_port": port, **changes}), sessions, Registry([]))
        await console.__aenter__()
        stack.append(console)
        return f"http://127.0.0.1:{port}"

    yield serve
    for console in reversed(stack):
        await console.__aexit__(None, None, None)


async def failed_logins(base: str, forwarded_for: list[str]) -> list[int]:
    codes = []
    async with httpx.AsyncClient(base_url=base) as browser:
        for number, address in enumerate(forwarded_for):
            form = await browser.get("/login")
            token = CSRF_INPUT.search(form.text).group(1)  # type: ignore[union-attr]
            response = await browser.post(
                "/login", data={"username": f"nobody-{number}", "password": "guess", "csrf_token": token},
                headers={"X-Forwarded-For": address},
            )
            codes.append(response.status_code)
    return codes


async def test_a_forged_forwarded_for_does_not_escape_the_per_client_limit(served):
    base = await served(login_max_failures_per_client=3)
    codes = await failed_logins(base, [f"203.0.113.{n}" for n in range(5)])
    assert codes == [401, 401, 401, 429, 429]


async def test_forwarded_for_counts_from_an_explicitly_trusted_proxy(served):
    base = await served(login_max_failures_per_client=3, trusted_proxies=["127.0.0.1"])
    codes = await failed_logins(base, [f"203.0.113.{n}" for n in range(5)])
    assert codes == [401] * 5, "behind a trusted proxy each real client has its own count"


# ---- 11: security headers and Secure cookies -------------------------------------------------------------


async def test_every_response_carries_security_headers(make_client):
    anonymous = await make_client(None)
    duty = await make_client(Role.DUTY, ("north",))
    responses = [await anonymous.get("/login"), await anonymous.get("/api/alerts"), await anonymous.get("/static/console.css"),
                 await duty.get("/"), await duty.get("/api/households/hh-003"), await anonymous.get("/f/forged")]
    for response in responses:
        headers = response.headers
        assert "default-src 'self'" in headers["content-security-policy"], response.url
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in headers, "plain http: HSTS would be ignored, and misleading"


async def test_https_responses_ask_browsers_to_stay_on_https(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as browser:
        response = await browser.get("/login")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_the_session_cookie_is_secure_unless_turned_off(monkeypatch):
    monkeypatch.delenv("CAREWATCH_COOKIE_SECURE")
    assert Settings(_env_file=None).cookie_secure is True  # type: ignore[call-arg]


async def test_a_secure_deployment_sets_the_session_cookie_secure(sessions, settings, directory, make_client):
    await make_client(Role.DUTY, ("north",))  # the account "duty-1"
    app = create_app(sessions=sessions, settings=settings.model_copy(update={"cookie_secure": True}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as browser:
        response = await sign_in(browser, "duty-1")
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


# ---- 12: signing out ---------------------------------------------------------------------------------------


async def test_signing_out_without_the_csrf_token_still_ends_the_server_session(app, make_client):
    browser = await make_client(Role.DUTY, ("north",))
    stolen = dict(browser.cookies)
    del browser.headers["X-CSRF-Token"]
    response = await browser.post("/logout", data={})
    assert response.status_code == 303
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", cookies=stolen) as replay:
        assert (await replay.get("/")).status_code == 401, "the session must be gone on the server, not only in the browser"


# ---- 13: nothing of another site leaks ---------------------------------------------------------------------


@pytest.fixture
async def ingest_rows(sessions) -> None:
    async with sessions.begin() as session:
        session.add_all([
            GatewayStatus(gateway_id="gw-north", state="offline", changed_at=SEEN),
            GatewayStatus(gateway_id="gw-south", state="offline", changed_at=SEEN),
            UnknownMeter(meter_id="gas-north-new", gateway_id="gw-north", first_seen=SEEN, last_seen=SEEN, readings=1),
            UnknownMeter(meter_id="gas-south-new", gateway_id="gw-south", first_seen=SEEN, last_seen=SEEN, readings=1),
        ])


async def test_site_staff_see_the_ingest_stats_of_their_own_sites_only(make_client, ingest_rows):
    duty = await make_client(Role.DUTY, ("north",))
    stats = (await duty.get("/api/ingest/stats")).json()
    assert (stats["gateways_offline"], stats["unknown_meter_count"]) == (["gw-north"], 1)
    board = (await duty.get("/")).text
    assert "gw-north" in board and "gw-south" not in board
    admin = await make_client(Role.ADMIN)
    assert (await admin.get("/api/ingest/stats")).json()["gateways_offline"] == ["gw-north", "gw-south"]


CREATE_WITH_SOUTHS_ID = [
    ("/api/meters", {"meter_id": "gas-003", "household_id": "hh-001", "kind": "gas"}, "gas-999"),
    ("/api/households", {"household_id": "hh-003", "site": "north", "meters": [{"meter_id": "gas-777", "kind": "gas"}]}, "hh-999"),
    ("/api/households", {"household_id": "hh-900", "site": "north", "meters": [{"meter_id": "gas-003", "kind": "gas"}]}, None),
    ("/api/gateways", {"gateway_id": "gw-south", "site": "north"}, "gw-999"),
]


@pytest.mark.parametrize(("path", "body", "free_id"), CREATE_WITH_SOUTHS_ID)
async def test_creating_with_an_id_another_site_uses_does_not_reveal_that_it_exists(make_client, path, body, free_id):
    supervisor = await make_client(Role.SUPERVISOR, ("north",))
    response = await supervisor.post(path, json=body)
    assert response.status_code == 422, response.text
    assert "exists" not in response.text and "belongs" not in response.text and "hh-003" not in response.text.replace(
        body.get("household_id", ""), ""), response.text
    if free_id is not None:  # a free id in the caller's own site is simply created
        key = next(k for k in ("meter_id", "household_id", "gateway_id") if k in body)
        assert (await supervisor.post(path, json={**body, key: free_id})).status_code == 201


# ---- 14: API keys on a read-only database ------------------------------------------------------------------


@pytest.mark.service
async def test_api_keys_still_work_while_the_database_is_read_only(settings):
    name, url = await create_postgres_database("carewatch_readonly")
    engine = make_engine(url)
    try:
        await create_schema(engine)
        async with make_sessions(engine).begin() as session:
            await import_document(session, DISTRICT)
            _, key = await create_api_key(session, "integrator", KEY_SCOPES, None, "test")
        await engine.dispose()
        from tests.services import _postgres_admin

        await _postgres_admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        app = create_app(sessions=make_sessions(engine), settings=settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                     headers={"Authorization": f"Bearer {key}"}) as integrator:
            response = await integrator.get("/api/households")
        assert response.status_code == 200, response.text
        assert [h["household_id"] for h in response.json()["items"]] == ["hh-001", "hh-002", "hh-003"]
        async with make_sessions(engine)() as session:
            assert (await session.scalar(select(Gateway.id).where(Gateway.id == "gw-north"))) == "gw-north"
    finally:
        await engine.dispose()
        await drop_postgres_database(name)


async def test_a_bulk_import_cannot_bring_in_a_gateway_named_as_carewatch(app, sessions):
    document = {"version": 1, "gateways": [{"gateway_id": "carewatch-ingest", "site": "north"}],
                "households": [{"household_id": "hh-901", "site": "north", "gateway_id": "carewatch-bridge",
                                "meters": [{"meter_id": "gas-901", "kind": "gas"}]}]}
    async with await key_client(app, sessions) as north_key:
        response = await north_key.post("/api/import", json=document)
    assert response.status_code == 422, response.text
    assert [e["row"] for e in response.json()["errors"] if "reserved" in e["message"]] == ["gateways[0]", "households[0]"]


async def test_a_keys_last_use_is_still_recorded_when_the_database_can_write(app, sessions):
    from api.models import ApiKey

    async with await key_client(app, sessions) as north_key:
        assert (await north_key.get("/api/households")).status_code == 200
    async with sessions() as session:
        assert (await session.scalar(select(ApiKey.last_used_at))) is not None
