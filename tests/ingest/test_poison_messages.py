"""Poison messages through the real embedded pipeline and a real Mosquitto: each becomes a dead letter
that the database can store, the pipeline keeps running, and the good readings after it are accepted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from carewatch.cli.demo.mqtt_broker import embedded_broker
from carewatch.registry import Registry
from carewatch.settings import Settings
from carewatch.runners.embedded.pipeline import running_system
from ingest.models import DeadLetter
from ingest.stats import IngestStats, read_stats
from ingest.subscriber import BrokerAddress
from tests.test_end_to_end import publish

pytestmark = pytest.mark.service

TOPIC = "carewatch/v1/gateways/gw-1/readings"
LONG_ID = "m" * 64
"""The longest id the contract allows."""


def registry(meter_ids: Sequence[str] = ("gas-1",), gateway_id: str = "gw-1") -> Registry:
    meters = [{"meter_id": m, "kind": "gas"} for m in meter_ids]
    return Registry.from_document({"version": 1, "households": [{"household_id": "hh-1", "gateway_id": gateway_id, "meters": meters}]})


def hours_ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def readings_message(*readings: dict[str, object]) -> bytes:
    """JSON as a careless or hostile gateway may write it: lone surrogates and NUL escaped, big ints kept."""
    return json.dumps({"v": 1, "readings": list(readings)}).encode()


def good_reading(**overrides: object) -> dict[str, object]:
    return {"meter_id": "gas-1", "at": hours_ago(1), "register_m3": 12.5} | overrides


async def pipeline_outcome(
    database_url: str, broker: tuple[str, int], registry: Registry, messages: list[tuple[str, bytes]], readings: int,
    clock: Callable[[], datetime] | None = None,
) -> tuple[IngestStats, list[DeadLetter]]:
    """Publish ``messages`` to the running system (on ``clock``: the console demo's), wait until it has judged and
    committed ``readings`` readings."""
    settings = Settings(_env_file=None, database_url=database_url, clock="event")  # type: ignore[call-arg]
    address = BrokerAddress(*broker)
    async with running_system(settings, registry, address, "poison-ingest", clock=clock) as system:
        await asyncio.to_thread(publish, address, "gw-1", messages)
        await system.drain(readings, timeout=20)
        async with system.sessions() as session:
            stats = await read_stats(session)
            dead_letters = list((await session.execute(select(DeadLetter).order_by(DeadLetter.id))).scalars())
    return stats, dead_letters


DEEP = b"[" * 20_000 + b"]" * 20_000
HUGE = 10**400


@pytest.mark.parametrize(
    ("poison", "readings_in_poison", "reason", "names"),
    [
        (readings_message(good_reading(at="0001-01-01T00:00:00+14:00")), 1, "timestamp_implausible", "0001-01-01"),
        (readings_message(good_reading(at="9999-12-31T23:59:59-14:00")), 1, "timestamp_in_future", "9999-12-31"),
        (readings_message(good_reading(register_m3=HUGE)), 1, "invalid_value", "register_m3"),
        (readings_message(good_reading(battery_pct=HUGE)), 1, "invalid_value", "battery_pct"),
        (b'{"v": 1, "readings": [' + DEEP + b"]}", 0, "oversized_payload", "nest"),
        (b'{"v": 1, "readings": [{"meter_id": "gas-1", "vendor": ' + DEEP + b"}]}", 0, "oversized_payload", "nest"),
    ],
    ids=["year-1", "year-9999", "400-digit-register", "400-digit-battery", "20000-deep", "20000-deep-vendor-field"],
)
async def test_a_poison_value_is_one_dead_letter_and_the_readings_after_it_are_accepted(
    poison, readings_in_poison, reason, names, mosquitto_broker, tmp_path
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}"
    messages = [(TOPIC, poison), (TOPIC, readings_message(good_reading()))]
    stats, dead_letters = await pipeline_outcome(url, mosquitto_broker, registry(), messages, readings_in_poison + 1)
    assert stats.readings_accepted == 1
    assert stats.rejected_by_reason == {reason: 1}
    assert names in dead_letters[0].detail


async def test_meter_ids_the_database_cannot_store_are_refused_at_the_edge_and_the_dead_letters_are_stored(
    database_url, mosquitto_broker
):
    bad_meter_ids = ["gas-\ud800", "gas-1\x00", "g" * 65, LONG_ID + "\n", "gas-1\n"]
    messages = [(TOPIC, readings_message(good_reading(meter_id=m))) for m in bad_meter_ids]
    messages.append((TOPIC, readings_message(good_reading())))

    stats, dead_letters = await pipeline_outcome(database_url, mosquitto_broker, registry(), messages, len(bad_meter_ids) + 1)

    assert stats.readings_accepted == 1
    assert stats.rejected_by_reason == {"schema_violation": len(bad_meter_ids)}
    assert stats.unknown_meters == []
    assert [d.meter_id for d in dead_letters] == [None] * len(bad_meter_ids), "an invalid id is named in the detail only"
    assert all("meter_id" in d.detail and "not a valid id" in d.detail for d in dead_letters)


async def test_a_gateway_id_with_a_trailing_newline_is_a_bad_topic(database_url):
    """Mosquitto refuses control characters in topics; amqtt (the demo's broker) passes them on."""
    gateway = "g" * 64 + "\n"
    messages = [
        (f"carewatch/v1/gateways/{gateway}/status", b'{"state": "offline"}'),
        (f"carewatch/v1/gateways/{gateway}/readings", readings_message(good_reading())),
        (TOPIC, readings_message(good_reading())),
    ]
    async with embedded_broker() as broker:
        stats, dead_letters = await pipeline_outcome(database_url, broker, registry(), messages, 1)

    assert stats.readings_accepted == 1
    assert stats.rejected_by_reason == {"bad_topic": 2}
    assert stats.gateways_offline == []
    assert [d.gateway_id for d in dead_letters] == [None, None]
    assert [d.topic for d in dead_letters] == [m[0] for m in messages[:2]]


async def test_a_contract_sized_batch_of_1000_readings_with_the_longest_ids_is_accepted(mosquitto_broker, tmp_path):
    meter_ids = [f"{LONG_ID[:-1]}{digit}" for digit in range(10)]
    gateway_id = "g" * 64
    start = datetime.now(UTC) - timedelta(days=2)
    readings = [
        {"meter_id": meter_id, "at": (start + timedelta(minutes=15 * step)).isoformat(), "register_m3": 1000.0 + step / 100,
         "battery_pct": 87, "signal_dbm": -93, "status": "low_battery"}
        for meter_id in meter_ids
        for step in range(100)
    ]
    batch = readings_message(*readings)
    assert len(batch) > 64 * 1024, "the batch is over the old 64 KiB limit"
    url = f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}"
    stats, dead_letters = await pipeline_outcome(
        url, mosquitto_broker, registry(meter_ids, gateway_id), [(f"carewatch/v1/gateways/{gateway_id}/readings", batch)], 1000
    )
    assert dead_letters == []
    assert stats.readings_accepted == 1000


async def test_a_dead_letter_is_received_at_the_time_of_the_systems_clock(mosquitto_broker, tmp_path):
    """The console demo runs on simulated time: its dead letters say that time, not today's wall clock (issue 15 item 6)."""
    simulated = datetime(2025, 3, 1, 9, tzinfo=UTC)
    messages = [(TOPIC, b"not json"), (TOPIC, readings_message(good_reading(at=(simulated - timedelta(hours=1)).isoformat())))]
    url = f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}"

    stats, dead_letters = await pipeline_outcome(url, mosquitto_broker, registry(), messages, 1, clock=lambda: simulated)

    assert stats.readings_accepted == 1
    assert [d.received_at for d in dead_letters] == [simulated]
