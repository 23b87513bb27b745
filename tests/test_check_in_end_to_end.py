"""The soft tier end to end (embedded engine, a real Mosquitto): a quiet morning asks the elder alone;
"I'm fine" through her answer link ends it with nobody else told; no answer tells family and staff at once."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select

from alerts.family_links import LinkClaim
from alerts.models import Alert
from alerts.notify_tables import OutboxMessage
from alerts.replies import Answer, ReplyResult, answer
from alerts.sample_people import sample_people
from carewatch.db import make_engine, make_sessions
from carewatch.domain import AlertType, Reading
from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import running_system
from carewatch.runners.state import HouseholdState, dumps
from carewatch.schema import create_schema
from carewatch.settings import Settings
from detectors.household import HouseholdMonitor
from gateway_sim.payloads import MeterReading, iso, readings_payloads
from ingest.models import MonitorSnapshot
from ingest.subscriber import BrokerAddress
from tests.detectors.conftest import GAS, HOUSEHOLD, WATER, at, live, local, routine
from tests.services import mosquitto

pytestmark = pytest.mark.service

DAY = 24.0
EVENING = 20 * DAY + 2  # 21:40 local on day 20: the household's last use, then nothing
REGISTRY = {
    "version": 1,
    "households": [{
        "household_id": HOUSEHOLD, "name": "王秀英", "site": "donghu", "timezone": "Asia/Shanghai", "gateway_id": "gw-0007",
        "meters": [{"meter_id": GAS, "kind": "gas", "interval_s": 900}, {"meter_id": WATER, "kind": "water", "interval_s": 900}],
    }],
}


def publish(broker: BrokerAddress, readings: list[Reading]) -> None:
    """One QoS 1 message per instant with both meters, as the household's gateway sends them."""
    by_instant: dict[datetime, list[MeterReading]] = defaultdict(list)
    for r in readings:
        by_instant[r.at].append(MeterReading(r.meter_id, iso(r.at), round(r.register_m3 * 1000), 80, -90, "ok"))
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw-0007")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for at, batch in sorted(by_instant.items()):
            for payload, _ in readings_payloads(at, batch):
                client.publish("carewatch/v1/gateways/gw-0007/readings", payload, qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


async def quiet_morning(tmp_path, answered: bool):  # type: ignore[no-untyped-def]
    """Three weeks learned (in-process, stored as the pipeline's saved state), then the quiet night and morning
    over MQTT; the elder answers "I'm fine" to the check-in or not.  Returns every alert and outbox message."""
    people = tmp_path / "people.json"
    people.write_text(json.dumps(sample_people([REGISTRY["households"][0]], "http://127.0.0.1:9")), encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}"
    settings = Settings(_env_file=None, database_url=url, clock="event", people_path=people, escalate_every=0.2)  # type: ignore[call-arg]
    registry = Registry.from_document(REGISTRY)
    readings = routine(22, quiet=lambda hours: hours >= EVENING)
    learned = [r for r in readings if r.at <= at(EVENING)]
    monitor = HouseholdMonitor(registry.households[HOUSEHOLD].profile)
    live(monitor, learned)
    engine = make_engine(url)
    await create_schema(engine)
    async with make_sessions(engine).begin() as session:
        session.add(MonitorSnapshot(household_id=HOUSEHOLD, state=dumps(HouseholdState(monitor)), updated_at=datetime.now(UTC)))
    await engine.dispose()
    rest = readings[len(learned):]
    with mosquitto(tmp_path) as (host, port):
        broker = BrokerAddress(host, port)
        async with running_system(settings, registry, broker, "check-in-e2e") as system:
            morning = [r for r in rest if local(r.at) <= "26 08:40"]
            publish(broker, morning)
            await system.drain(len(morning))
            check_in = await _one(system.sessions, AlertType.CHECK_IN)
            if answered:
                async with system.sessions() as session:
                    elder = await session.scalar(select(OutboxMessage.recipient_id).where(OutboxMessage.alert_id == check_in.id))
                claim = LinkClaim(check_in.id, str(elder), "elder")
                assert await answer(system.pipeline.alert_store, system.sessions, claim, Answer.FINE) is ReplyResult.RECORDED
                for _ in range(100):  # the pipeline looks for answers every 2 s
                    if (await _one(system.sessions, AlertType.CHECK_IN)).cleared_at is not None:
                        break
                    await asyncio.sleep(0.1)
            later = [r for r in rest if "26 08:40" < local(r.at) <= "26 10:00"]
            publish(broker, later)
            await system.drain(len(morning) + len(later))
            await asyncio.sleep(1.0)  # the escalator's next look
            async with system.sessions() as session:
                alerts = (await session.scalars(select(Alert).order_by(Alert.raised_at))).all()
                messages = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return check_in, alerts, messages


async def _one(sessions, alert_type: AlertType) -> Alert:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        found = (await session.scalars(select(Alert).where(Alert.alert_type == alert_type))).all()
    assert len(found) == 1, f"expected one {alert_type.value}, found {[a.id for a in found]}"
    return found[0]


async def test_a_quiet_morning_asks_the_elder_alone_and_i_am_fine_tells_nobody_else(tmp_path) -> None:  # type: ignore[no-untyped-def]
    check_in, alerts, messages = await quiet_morning(tmp_path, answered=True)

    assert check_in.audience.value == "elder" and local(check_in.raised_at) < "26 08:00"
    assert [a.alert_type for a in alerts] == [AlertType.CHECK_IN]  # no alert for family or staff
    assert {m.recipient_role for m in messages} == {"elder"} and {m.purpose for m in messages} == {"check_elder"}
    assert alerts[0].status.value == "resolved" and alerts[0].cleared_at is not None  # the detectors heard the answer


async def test_an_unanswered_check_in_tells_family_and_duty_staff_at_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    check_in, alerts, messages = await quiet_morning(tmp_path, answered=False)

    escalated = next(a for a in alerts if a.alert_type is AlertType.MORNING_ACTIVITY_MISSING)
    assert escalated.facts["check_in"] == "unanswered" and escalated.onset == check_in.onset
    assert (escalated.raised_at - check_in.raised_at).total_seconds() == pytest.approx(3600, abs=600)
    told = {m.recipient_role for m in messages if m.alert_id == escalated.id}
    assert {"family", "duty"} <= told  # at once: no waiting for the ladder's usual hour
    first = {m.recipient_role: m.created_at for m in messages if m.alert_id == escalated.id}
    assert (first["duty"] - first["family"]).total_seconds() < 60
    assert {m.recipient_role for m in messages if m.alert_id == check_in.id} == {"elder"}
