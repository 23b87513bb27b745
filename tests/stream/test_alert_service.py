"""`carewatch alerts` as a real OS process on a real Kafka-protocol broker (tansu), SQLite and local catchers.

Records are produced straight onto the topics as the workers and the bridge write them:
a detection (twice, as a worker that redid work sends it), a dead letter of an unknown
meter and a gateway's offline status.  The service must store the alert once, tell the
household's people through the ladder (mail and SMS reach aiosmtpd and an HTTP catcher),
show the dead letter and the gateway in the API's ingest statistics, stop on SIGTERM with
its offsets committed, and store nothing twice when everything is delivered again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from alerts.catchers import caught_http, caught_mail, demo_catchers
from alerts.models import Alert
from alerts.notify_tables import MessageStatus, OutboxMessage
from alerts.wire import encode_detection
from carewatch.runners.faust.alert_service import reports_group_id
from carewatch.db import make_engine, make_sessions
from carewatch.domain import AlertType, Detection, Explanation, RejectReason, Severity, Transition
from carewatch.kafka import bootstrap_servers, ensure_topics, wait_until_consumed
from carewatch.loopback import free_port
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.runners.faust.system import settings_environment
from ingest.models import DeadLetter, GatewayStatus, UnknownMeter
from ingest.wire import DeadLetterRecord, GatewayStatusRecord
from tests.stream.conftest import stream_settings
from tests.stream.scenario import scenario
from tests.test_end_to_end import api_client

pytestmark = pytest.mark.service

HTTP_CHANNELS = ("sms", "voice", "wecom", "dingtalk", "feishu", "webhook")


def start_alert_service(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    """`carewatch alerts` with the settings as CAREWATCH_* variables, as an operator would start it."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "carewatch.cli", "alerts"],
            env={**os.environ, **settings_environment(settings)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes], log_path: Path) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("`carewatch alerts` did not stop within 30 s of SIGTERM:\n" + log_path.read_text(errors="replace"))


async def eventually(condition: Callable[[], Awaitable[bool]], what: str, process: subprocess.Popen[bytes], log_path: Path,
                     timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if process.poll() is not None:
            pytest.fail(f"`carewatch alerts` exited with {process.returncode}:\n" + log_path.read_text(errors="replace"))
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}\n" + log_path.read_text(errors="replace")[-3000:])
        await asyncio.sleep(0.2)


async def test_the_alert_service_stores_tells_and_reports_once_and_stops_on_sigterm(kafka_url, tmp_path):
    document = scenario(households=4, days=1).registry_document()
    household = document["households"][0]  # type: ignore[index]
    now = datetime.now(UTC).replace(microsecond=0)
    gas_left_on = Detection(
        household["household_id"], AlertType.GAS_CONTINUOUS, Transition.RAISED, now - timedelta(hours=2), now,
        Severity.CRITICAL, Explanation("燃气持续使用2小时", "gas in use for 2 hours"), (household["meters"][0]["meter_id"],),
        {"continuous_h": 2.0},
    )
    unknown_meter = DeadLetterRecord(
        now, "bridge", f"carewatch/v1/gateways/{household['gateway_id']}/readings", RejectReason.UNKNOWN_METER,
        "readings[0]: meter gas-9999 is not in the registry", b'{"v": 1, "readings": []}',
        household["gateway_id"], "gas-9999", 0,
    )
    offline = GatewayStatusRecord(household["gateway_id"], "offline", now)

    async with demo_catchers(tmp_path / "caught", document["households"], seed=1) as catchers:  # type: ignore[arg-type]
        settings = stream_settings(
            kafka_url, tmp_path, document,
            clock="wall",  # production: the ladder runs on the wall clock
            people_path=catchers.people_path,
            smtp_host="127.0.0.1", smtp_port=catchers.smtp_port,
            sms_provider_url=f"{catchers.http_url}/sms", voice_provider_url=f"{catchers.http_url}/voice",
            escalate_every="PT0.25S", dispatch_every="PT0.25S", metrics_port=free_port(),
        )
        log_path = tmp_path / "alerts.log"
        service = start_alert_service(settings, log_path)  # it creates the topics and the schema itself
        engine = make_engine(settings.database_url)
        sessions = make_sessions(engine)
        try:
            await ensure_topics(settings)  # as the bridge and the workers do at start
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(kafka_url), acks="all", max_batch_size=1)
            await producer.start()
            try:
                key = gas_left_on.household_id.encode()
                for _ in range(2):  # the same detection twice: a worker redid work after a crash
                    await producer.send_and_wait(settings.kafka_topic_detections, encode_detection(gas_left_on), key=key)
                await producer.send_and_wait(settings.kafka_topic_dead_letters, unknown_meter.encode(), key=offline.gateway_id.encode())
                await producer.send_and_wait(settings.kafka_topic_gateway_status, offline.encode(), key=offline.gateway_id.encode())
            finally:
                await producer.stop()

            async def delivered() -> bool:
                try:
                    async with sessions() as session:
                        sent = await session.scalar(
                            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == MessageStatus.SENT)
                        )
                except OperationalError:  # the service has not created the schema yet
                    return False
                return bool(sent) and bool(caught_mail(catchers.directory) or caught_http(catchers.directory))

            await eventually(delivered, "a notification reaches a catcher", service, log_path)
            scraped = httpx.get(f"http://127.0.0.1:{settings.metrics_port}/metrics").text  # no console: its own metrics port
            assert 'carewatch_notifications_total{channel=' in scraped and 'result="sent"' in scraped
            await wait_until_consumed(settings, settings.alerts_group_id, [settings.kafka_topic_detections], 60, "alerts")
            await wait_until_consumed(
                settings, reports_group_id(settings),
                [settings.kafka_topic_dead_letters, settings.kafka_topic_gateway_status], 60, "ingest reports",
            )
            async with api_client(SimpleNamespace(sessions=sessions), Registry.from_document(document)) as client:
                alerts = (await client.get("/api/alerts", params={"limit": 100})).json()
                stats = (await client.get("/api/ingest/stats")).json()
                unknown = (await client.get("/api/ingest/unknown-meters")).json()

            assert [(a["household_id"], a["alert_type"]) for a in alerts] == [(household["household_id"], "gas_continuous")]
            assert stats["rejected_by_reason"] == {"unknown_meter": 1}
            assert stats["gateways_offline"] == [household["gateway_id"]]
            assert [m["meter_id"] for m in unknown] == ["gas-9999"]

            async with sessions() as session:
                messages = (await session.scalars(select(OutboxMessage))).all()
            assert {m.alert_id for m in messages} == {alerts[0]["id"]}
            sent = [m for m in messages if m.status == MessageStatus.SENT]
            # What the outbox calls sent is what the catchers hold (the ladder may still be sending the rest).
            assert len(caught_mail(catchers.directory)) >= sum(m.channel == "email" for m in sent)
            assert len(caught_http(catchers.directory)) >= sum(m.channel in HTTP_CHANNELS for m in sent)

            assert stop(service, log_path) == 0, log_path.read_text(errors="replace")
            assert "stopped" in log_path.read_text(errors="replace")

            # Everything delivered again (a new consumer group reads the topics from the start, as after lost
            # Kafka commits): the database already holds it all, nothing is stored twice.
            replay = settings.model_copy(update={"alerts_group_id": f"{settings.alerts_group_id}-again"})
            service = start_alert_service(replay, log_path)
            await wait_until_consumed(replay, replay.alerts_group_id, [replay.kafka_topic_detections], 60, "alerts again")
            await wait_until_consumed(
                replay, reports_group_id(replay), [replay.kafka_topic_dead_letters, replay.kafka_topic_gateway_status],
                60, "ingest reports again",
            )
            assert stop(service, log_path) == 0, log_path.read_text(errors="replace")
            async with sessions() as session:
                assert await session.scalar(select(func.count()).select_from(Alert)) == 1
                assert await session.scalar(select(func.count()).select_from(DeadLetter)) == 1
                assert (await session.get(UnknownMeter, "gas-9999")).readings == 1  # type: ignore[union-attr]
                assert (await session.get(GatewayStatus, offline.gateway_id)).state == "offline"  # type: ignore[union-attr]
        finally:
            if service.poll() is None:
                service.kill()
                service.wait()
            await engine.dispose()
