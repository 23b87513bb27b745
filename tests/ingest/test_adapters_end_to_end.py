"""Foreign gateways end to end: a real Mosquitto, the embedded runner, the detectors, the alert store.

A gas burner left on, reported by a TTN meter in TTN's own format on TTN's topic, raises
gas_continuous; so does a tap left running behind a ChirpStack and a wmbusmeters gateway
(water_continuous), and a burner reported by OneNET's HTTP push. NB-IoT readings pushed over HTTP
the way OneNET and CTWing push them reach ingest, and a badly signed, a replayed and a malformed
push do what docs/gateways.md says.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from alerts.models import Alert
from alerts.store import AlertStore
from api.app import create_app
from carewatch.domain import AlertType
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import RunningSystem, running_system
from carewatch.settings import Settings
from ingest.adapters import onenet
from ingest.publisher import MqttPublisher
from ingest.stats import IngestStats, read_stats
from ingest.subscriber import BrokerAddress
from tests.ingest.gateway_docs import examples
from tests.services import mosquitto
from tests.test_end_to_end import publish

pytestmark = pytest.mark.service

EXAMPLES = examples()
ONENET_TOKEN = "onenet-push-token-0001"
CTWING_TOKEN = "ctwing-push-token-0001-change-me"


def settings_for(tmp_path: Path) -> Settings:
    path = tmp_path / "integrations.toml"
    path.write_text(EXAMPLES["integrations"], encoding="utf-8")
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}", clock="event", integrations_path=path
    )


async def published_over_mqtt(
    tmp_path: Path, gateway: str, messages: Sequence[tuple[str, bytes]], alert_type: AlertType
) -> tuple[IngestStats, Sequence[Alert]]:
    """``messages`` (topic, payload) published by the gateway's bridge to the system; its counts once they are
    judged, and the alerts of ``alert_type`` raised."""
    registry = Registry.from_document(orjson.loads(EXAMPLES["households"]))
    with mosquitto(tmp_path) as (host, port):
        broker = BrokerAddress(host, port)
        async with running_system(settings_for(tmp_path), registry, broker, f"carewatch-e2e-{gateway}") as system:
            await asyncio.to_thread(publish, broker, f"{gateway}-bridge", list(messages))
            await system.drain(expected_readings=len(messages))
            async with system.sessions() as session:
                stats = await read_stats(session)
            return stats, await AlertStore(system.sessions).list(alert_type=alert_type)


@asynccontextmanager
async def pushing_platform(tmp_path: Path, name: str) -> AsyncIterator[tuple[RunningSystem, httpx.AsyncClient]]:
    """The system behind a real broker, and a client of its HTTP API as the push platforms (OneNET, CTWing) call it."""
    registry = Registry.from_document(orjson.loads(EXAMPLES["households"]))
    settings = settings_for(tmp_path)
    with mosquitto(tmp_path) as (host, port):
        broker = BrokerAddress(host, port)
        async with running_system(settings, registry, broker, f"carewatch-e2e-{name}") as system:
            publisher = MqttPublisher(broker, f"carewatch-e2e-{name}-publisher")
            await publisher.start()
            try:
                app = create_app(sessions=system.sessions, registry=registry, settings=settings, publish=publisher.publish)
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://carewatch") as platform:
                    yield system, platform
            finally:
                await publisher.stop()


def ttn_uplink(at: datetime, litres: int) -> bytes:
    uplink = orjson.loads(EXAMPLES["ttn-uplink"])
    uplink["uplink_message"]["decoded_payload"] = {"volume_l": litres}
    uplink["uplink_message"]["received_at"] = at.isoformat().replace("+00:00", "Z")
    return orjson.dumps(uplink)


def onenet_body(at: datetime, volume: float, nonce: str = "q8Zk3vLm", token: str = ONENET_TOKEN) -> bytes:
    msg = {"type": 1, "dev_id": 523698741, "ds_id": "volume", "at": int(at.timestamp() * 1000), "value": volume}
    return orjson.dumps({"msg": msg, "msg_signature": onenet.signature(token, nonce, onenet.signed_text(msg)), "nonce": nonce})


async def test_a_burner_left_on_reported_over_ttn_raises_gas_continuous(tmp_path):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    # 4.5 hours of steady flow, 100 L every 15 minutes (0.4 m³/h): a burner nobody turned off.
    uplinks = [ttn_uplink(start + timedelta(minutes=15 * i), 100_000 + 100 * i) for i in range(19)]
    topic = "v3/carewatch-gas@ttn/devices/gas-meter-0042/up"
    stats, raised = await published_over_mqtt(tmp_path, "ttn", [(topic, u) for u in uplinks], AlertType.GAS_CONTINUOUS)

    assert stats.readings_accepted == len(uplinks) and stats.rejected == 0
    assert [(a.household_id, a.alert_type) for a in raised] == [("hh-0042", AlertType.GAS_CONTINUOUS)]


def chirpstack_up(at: datetime, pulses: int) -> bytes:
    event = orjson.loads(EXAMPLES["chirpstack-up"])
    event["object"] = {"pulses": pulses}
    event["time"] = at.isoformat()
    return orjson.dumps(event)


def wmbus_telegram(at: datetime, total_m3: float) -> bytes:
    telegram = orjson.loads(EXAMPLES["wmbusmeters"])
    telegram |= {"total_m3": round(total_m3, 3), "target_m3": round(total_m3, 3), "timestamp": at.isoformat().replace("+00:00", "Z")}
    return orjson.dumps(telegram)


TAP_LEFT_RUNNING = {
    # 10 litres every 15 minutes for 4.5 hours: a tap nobody turned off, through each LoRaWAN/wM-Bus gateway.
    "chirpstack": ("application/0b5ea1f8-8c5f-4a0e-9d2b-5c1e0f6a7b3d/device/70b3d57ed0001234/event/up", "hh-0043",
                   lambda at, i: chirpstack_up(at, 5184 + i)),
    "wmbusmeters": ("wmbusmeters/MyTapWater", "hh-0044", lambda at, i: wmbus_telegram(at, 6.408 + 0.01 * i)),
}


@pytest.mark.parametrize("gateway", sorted(TAP_LEFT_RUNNING))
async def test_a_tap_left_running_behind_a_lorawan_or_wmbus_gateway_raises_water_continuous(gateway, tmp_path):
    topic, household, payload = TAP_LEFT_RUNNING[gateway]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    messages = [(topic, payload(start + timedelta(minutes=15 * i), i)) for i in range(19)]
    stats, raised = await published_over_mqtt(tmp_path, gateway, messages, AlertType.WATER_CONTINUOUS)

    assert stats.readings_accepted == len(messages) and stats.rejected == 0
    assert [a.household_id for a in raised] == [household]


async def test_a_burner_left_on_pushed_by_onenet_over_http_raises_gas_continuous(tmp_path):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    async with pushing_platform(tmp_path, "onenet") as (system, platform):
        pushes = [
            await platform.post("/api/push/onenet-gas", content=onenet_body(start + timedelta(minutes=15 * i), 1234.5 + 0.1 * i, nonce=f"n{i}"))
            for i in range(19)
        ]
        await system.drain(expected_readings=len(pushes))
        raised = await AlertStore(system.sessions).list(alert_type=AlertType.GAS_CONTINUOUS)

    assert [p.status_code for p in pushes] == [200] * len(pushes)
    assert [a.household_id for a in raised] == ["hh-0045"]


async def test_http_pushes_reach_ingest_once_and_strangers_and_garbage_do_not(tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    async with pushing_platform(tmp_path, "push") as (system, platform):
        url_check = await platform.get("/api/push/onenet-gas", params={"msg": "hello-onenet", "nonce": "q8Zk3vLm", "signature": "FkLjch1W4NUWE0niNPgRLQ=="})
        url_forged = await platform.get("/api/push/onenet-gas", params={"msg": "hello-onenet", "nonce": "q8Zk3vLm", "signature": "AAAAAAAAAAAAAAAAAAAAAA=="})
        ctwing_garbage = await platform.post("/api/push/ctwing-water", params={"token": CTWING_TOKEN}, content=b"{truncated")
        first = onenet_body(now - timedelta(hours=2), 1234.5)
        valid = await platform.post("/api/push/onenet-gas", content=first)
        replayed = await platform.post("/api/push/onenet-gas", content=first)
        second = await platform.post("/api/push/onenet-gas", content=onenet_body(now - timedelta(hours=1), 1234.9, nonce="x1"))
        forged = await platform.post("/api/push/onenet-gas", content=onenet_body(now, 9999.0, token="someone-elses-token-0001"))
        unsigned = await platform.post("/api/push/onenet-gas", content=orjson.dumps({"msg": orjson.loads(first)["msg"]}))
        not_json = await platform.post("/api/push/onenet-gas", content=b"<xml/>")
        report = orjson.loads(EXAMPLES["ctwing-push"])
        report["timestamp"] = int((now - timedelta(minutes=30)).timestamp() * 1000)
        ctwing = await platform.post("/api/push/ctwing-water", params={"token": CTWING_TOKEN}, json=report)
        ctwing_no_token = await platform.post("/api/push/ctwing-water", json=report)
        ctwing_wrong_token = await platform.post("/api/push/ctwing-water", params={"token": "guess" * 7}, json=report)
        unknown = await platform.post("/api/push/no-such-platform", json=report)
        await system.drain(expected_readings=4)  # first, its replay, second, the CTWing report
        async with system.sessions() as session:
            stats = await read_stats(session)

    assert (url_check.status_code, url_check.text) == (200, "hello-onenet")
    assert url_forged.status_code == 401
    assert [r.status_code for r in (valid, replayed, second, ctwing, ctwing_garbage)] == [200] * 5
    assert [r.status_code for r in (forged, unsigned, ctwing_no_token, ctwing_wrong_token)] == [401] * 4
    assert (not_json.status_code, unknown.status_code) == (400, 404)
    assert stats.readings_accepted == 3, "the OneNET pair and the CTWing report"
    assert stats.readings_duplicate == 1, "the replayed push is the same reading, not a second one"
    assert stats.rejected_by_reason == {"malformed_json": 1}, "only the authenticated garbage is kept, as a dead letter"
    assert stats.messages == 5
