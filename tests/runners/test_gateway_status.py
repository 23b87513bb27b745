"""A gateway's status on the Faust path, without a broker: the bridge puts it on the readings topic once per
household of the gateway, keyed by the household, and the worker tells it to that household's monitor.

Same fakes as `test_household_judge.py`; the embedded engine through real Mosquitto:
`tests/test_meter_health_end_to_end.py`.
"""

from __future__ import annotations

from datetime import timedelta

import orjson

from alerts.wire import decode_detection
from carewatch.domain import AlertType, GatewayState, MeterKind, Reading, Transition
from carewatch.registry import Registry
from carewatch.settings import Settings
from ingest.bridge import KafkaBridge
from ingest.subscriber import InboundMessage
from ingest.wire import decode_record, encode_upload
from tests.runners.test_household_judge import START, Record, Worker

REGISTRY = Registry.from_document({"version": 1, "households": [
    # hh-1 and hh-3 on gw-1 (silent only after 4 h of nothing), hh-2 on gw-2 keeps the event clock going.
    {"household_id": "hh-1", "gateway_id": "gw-1", "rules": {"silent_after_intervals": 16},
     "meters": [{"meter_id": "gas-1", "kind": "gas"}]},
    {"household_id": "hh-3", "gateway_id": "gw-1", "rules": {"silent_after_intervals": 16},
     "meters": [{"meter_id": "gas-3", "kind": "gas"}]},
    {"household_id": "hh-2", "gateway_id": "gw-2", "meters": [{"meter_id": "gas-2", "kind": "gas"}]},
]})
RECEIVED = START + timedelta(days=30)
"""When the bridge received the status on the wall clock: long after the replay's event time."""


def bridge() -> tuple[KafkaBridge, Settings]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return KafkaBridge(settings=settings, registry=REGISTRY, producer=None, clock=lambda: RECEIVED), settings  # type: ignore[arg-type]


def status(state: str) -> InboundMessage:
    return InboundMessage("carewatch/v1/gateways/gw-1/status", orjson.dumps({"state": state}), 1, 1, RECEIVED)


def quarter_hours(household: str, from_h: float, until_h: float) -> list[bytes]:
    meter = {"hh-1": "gas-1", "hh-2": "gas-2", "hh-3": "gas-3"}[household]
    return [
        encode_upload(household, "gw", [Reading(household, meter, MeterKind.GAS, START + timedelta(hours=q / 4), 5.0)])
        for q in range(int(from_h * 4), int(until_h * 4) + 1)
    ]


def test_the_bridge_tells_every_household_of_the_gateway_its_status_keyed_by_the_household():
    forwarding, settings = bridge()

    records = forwarding.translate(status("offline"))

    assert [(r.topic, r.key) for r in records] == [
        (settings.kafka_topic_gateway_status, b"gw-1"),
        (settings.kafka_topic_readings, b"hh-1"),
        (settings.kafka_topic_readings, b"hh-3"),
    ]
    told = [decode_record(r.value) for r in records[1:]]
    assert [(d.household_id, d.status, d.readings) for d in told] == [
        ("hh-1", GatewayState("gw-1", False, RECEIVED), []),
        ("hh-3", GatewayState("gw-1", False, RECEIVED), []),
    ]
    assert all(r.readings == 0 and r.counted_as is None for r in records)  # no reading is counted for a status


async def test_the_worker_raises_meter_silent_for_a_household_whose_gateway_went_offline_after_the_grace():
    forwarding, _ = bridge()
    worker = Worker(clock="event", registry=REGISTRY)
    told = [r.value for r in forwarding.translate(status("offline")) if r.key == b"hh-1"]
    # hh-1 reports until 2 h, its gateway's last will comes, hh-2's readings move event time on to 5 h.
    values = quarter_hours("hh-1", 0, 2) + told + quarter_hours("hh-2", 0, 5)

    await worker.judge.on_readings([Record(offset, value) for offset, value in enumerate(values)])

    [alert] = [d for d in map(decode_detection, worker.detections) if d.household_id == "hh-1"]
    assert (alert.alert_type, alert.transition) == (AlertType.METER_SILENT, Transition.RAISED)
    # Timed at the event clock (2 h, hh-1's newest reading), not the bridge's wall clock: raised by the
    # first tick after the 0.25 h grace, hours before the 4 h silence threshold.
    assert alert.onset == START + timedelta(hours=2)
    assert timedelta(hours=0.25) <= alert.at - alert.onset <= timedelta(hours=0.5)
    assert "went offline" in alert.explanation.en
    assert worker.table.state("hh-1").offset == len(quarter_hours("hh-1", 0, 2))


async def test_without_the_status_the_worker_waits_for_the_silence_threshold():
    worker = Worker(clock="event", registry=REGISTRY)
    values = quarter_hours("hh-1", 0, 2) + quarter_hours("hh-2", 0, 5)

    await worker.judge.on_readings([Record(offset, value) for offset, value in enumerate(values)])

    assert [d for d in map(decode_detection, worker.detections) if d.household_id == "hh-1"] == []
