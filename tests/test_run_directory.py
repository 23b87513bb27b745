"""`carewatch run` works from the database directory: API changes reach the running pipeline without a restart.

Real parts: a private Mosquitto, the service's own uvicorn server on a free port, SQLite on disk.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from rich.console import Console

from api.app import create_app
from api.models import KEY_SCOPES
from api.routes.accounts import ApiKeyCreate
from carewatch.cli.admin import add_key
from carewatch.runners.directory import prepare_directory
from carewatch.runners.embedded.service import follow_directory, run_service
from carewatch.settings import Settings
from carewatch.runners.embedded.pipeline import running_system
from ingest.subscriber import BrokerAddress
from carewatch.loopback import free_port

pytestmark = pytest.mark.service

REGISTRY = {"version": 1, "households": [
    {"household_id": "hh-a", "name": "张桂兰", "site": "north", "gateway_id": "gw-1",
     "meters": [{"meter_id": "gas-a", "kind": "gas"}, {"meter_id": "water-a", "kind": "water"}]},
]}


@pytest.fixture
def settings(tmp_path: Path, mosquitto_broker: tuple[str, int]) -> Settings:
    registry = tmp_path / "households.json"
    registry.write_bytes(orjson.dumps(REGISTRY))
    host, port = mosquitto_broker
    return Settings(  # type: ignore[call-arg]
        _env_file=None, mqtt_url=f"mqtt://{host}:{port}", database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}",
        registry_path=registry, http_port=free_port(), mqtt_client_id=f"carewatch-{tmp_path.name}"[:60],
    )


@pytest.fixture
def publisher(mosquitto_broker: tuple[str, int]) -> Iterator[mqtt.Client]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-gateway")
    client.connect(*mosquitto_broker)
    client.loop_start()
    yield client
    client.loop_stop()
    client.disconnect()


async def publish(client: mqtt.Client, gateway_id: str, *readings: tuple[str, datetime, float]) -> None:
    payload = orjson.dumps({"v": 1, "readings": [{"meter_id": m, "at": at.isoformat(), "register_m3": r} for m, at, r in readings]})
    info = client.publish(f"carewatch/v1/gateways/{gateway_id}/readings", payload, qos=1)
    await asyncio.to_thread(info.wait_for_publish, 10)


async def stats_after(client: httpx.AsyncClient, messages: int, timeout: float = 20.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        stats: dict[str, Any] = (await client.get("/api/ingest/stats")).json()
        if stats["messages"] >= messages or asyncio.get_running_loop().time() > deadline:
            return stats
        await asyncio.sleep(0.1)


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """`carewatch run` in this process, and an integrator's every-scope key to talk to it."""
    key = await add_key(settings, ApiKeyCreate(name="integrator", scopes=sorted(KEY_SCOPES)))
    output = io.StringIO()
    task = asyncio.create_task(run_service(settings, Console(file=output, width=1000)))  # unwrapped: the temporary path is long
    base = f"http://127.0.0.1:{settings.http_port}"
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        for _ in range(200):
            if task.done():
                task.result()
            try:
                await client.get("/healthz")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        yield client
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "registry file" in output.getvalue() and "1 households added" in output.getvalue()


async def test_a_household_added_through_the_api_is_watched_at_once(service: httpx.AsyncClient, publisher: mqtt.Client):
    now = datetime.now(UTC)
    assert (await service.get("/api/households/hh-a")).status_code == 200  # the registry file, imported at start

    await publish(publisher, "gw-1", ("gas-a", now - timedelta(minutes=10), 1.0), ("gas-new", now - timedelta(minutes=10), 5.0))
    before = await stats_after(service, 1)
    assert before["readings_accepted"] == 1 and before["rejected_by_reason"] == {"unknown_meter": 1}

    created = await service.post("/api/households", json={
        "household_id": "hh-new", "name": "王老伯", "site": "north", "gateway_id": "gw-1",
        "meters": [{"meter_id": "gas-new", "kind": "gas"}],
    })
    assert created.status_code == 201, created.text
    await publish(publisher, "gw-1", ("gas-new", now - timedelta(minutes=5), 5.1))
    after = await stats_after(service, 2)
    assert after["readings_accepted"] == 2, after  # no restart in between
    assert after["rejected_by_reason"] == {"unknown_meter": 1}

    assert (await service.delete("/api/households/hh-new")).status_code == 204
    await publish(publisher, "gw-1", ("gas-new", now - timedelta(minutes=1), 5.2))
    gone = await stats_after(service, 3)
    assert gone["rejected_by_reason"] == {"unknown_meter": 2}  # and a removed one stops being watched


async def test_absences_and_thresholds_set_through_the_api_reach_the_running_monitors(settings: Settings, publisher: mqtt.Client):
    registry = await prepare_directory(settings, Console(file=io.StringIO()))
    broker = BrokerAddress.from_url(settings.mqtt_url or "")
    async with running_system(settings, registry, broker) as system:
        app = create_app(sessions=system.sessions, settings=settings, on_directory_change=lambda: follow_directory(system))
        key = await add_key(settings, ApiKeyCreate(name="integrator", scopes=sorted(KEY_SCOPES)))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            now = datetime.now(UTC)
            await publish(publisher, "gw-1", ("gas-a", now - timedelta(minutes=3), 1.0))
            await system.drain(1, timeout=20)
            monitor = system.pipeline.states["hh-a"].monitor
            assert monitor.profile.away == ()

            window = {"starts_at": (now + timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(days=3)).isoformat(), "note": "住院"}
            absence = await client.post("/api/households/hh-a/absences", json=window)
            assert absence.status_code == 201, absence.text
            assert [(w.start, w.end) for w in monitor.profile.away] == [(now + timedelta(hours=1), now + timedelta(days=3))]

            assert (await client.patch("/api/households/hh-a", json={"rules": {"gas_min_use_m3": 0.05}})).status_code == 200
            assert monitor.profile.rules.gas_min_use_m3 == 0.05
            assert system.pipeline.states["hh-a"].monitor is monitor  # the same monitor: what it learned is kept

            assert (await client.delete(f"/api/households/hh-a/absences/{absence.json()['id']}")).status_code == 204
            assert monitor.profile.away == ()


async def test_in_a_replay_recent_absences_are_judged_on_the_replays_clock(settings: Settings, publisher: mqtt.Client):
    """Replaying January: an absence that week is recent for the pipeline, however long ago it is on the wall clock."""
    settings = settings.model_copy(update={"clock": "event"})
    registry = await prepare_directory(settings, Console(file=io.StringIO()))
    async with running_system(settings, registry, BrokerAddress.from_url(settings.mqtt_url or "")) as system:
        app = create_app(sessions=system.sessions, settings=settings, on_directory_change=lambda: follow_directory(system))
        key = await add_key(settings, ApiKeyCreate(name="integrator", scopes=sorted(KEY_SCOPES)))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            replayed = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
            await publish(publisher, "gw-1", ("gas-a", replayed, 1.0))
            await system.drain(1, timeout=20)
            window = {"starts_at": (replayed + timedelta(days=1)).isoformat(), "ends_at": (replayed + timedelta(days=4)).isoformat()}
            assert (await client.post("/api/households/hh-a/absences", json=window)).status_code == 201
            assert [w.start for w in system.pipeline.states["hh-a"].monitor.profile.away] == [replayed + timedelta(days=1)]
