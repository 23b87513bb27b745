"""A gateway's burst of numbered readings messages (contract v1.1 ``seq``), and the broker settings carewatch ships."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt

from carewatch.registry import Registry

GATEWAY = "gw-burst"
TOPIC = f"carewatch/v1/gateways/{GATEWAY}/readings"
METERS = 100
READINGS_PER_MESSAGE = 10
START = datetime(2026, 6, 1, tzinfo=UTC)
SHIPPED_CONFIG = Path(__file__).parents[2] / "deploy" / "mosquitto.conf.example"
FLOW_SETTINGS = ("max_inflight_messages", "max_queued_messages", "max_queued_bytes")


def registry() -> Registry:
    """One concentrator serving METERS households of one gas meter each."""
    return Registry.from_document(
        {
            "version": 1,
            "households": [
                {"household_id": f"hh-{n}", "gateway_id": GATEWAY,
                 "meters": [{"meter_id": f"gas-{n}", "kind": "gas", "interval_s": 900}]}
                for n in range(METERS)
            ],
        }
    )


def message(seq: int) -> bytes:
    """Message ``seq`` (from 1) carries READINGS_PER_MESSAGE meters' readings; each meter reads every 15 minutes."""
    index = seq - 1
    groups = METERS // READINGS_PER_MESSAGE
    at = (START + timedelta(minutes=15 * (index // groups))).isoformat()
    first = (index % groups) * READINGS_PER_MESSAGE
    readings = [
        {"meter_id": f"gas-{n}", "at": at, "register_m3": round(100 + index / 1000, 3)}
        for n in range(first, first + READINGS_PER_MESSAGE)
    ]
    return orjson.dumps({"v": 1, "seq": seq, "readings": readings})


def publish(host: str, port: int, seqs: range) -> int:
    """Publish the messages numbered ``seqs`` with QoS 1 as fast as the broker takes them; returns the PUBACKs."""
    acknowledged = 0
    done = threading.Event()
    lock = threading.Lock()

    def on_publish(client, userdata, mid, reason_code, properties):  # type: ignore[no-untyped-def]
        nonlocal acknowledged
        with lock:
            acknowledged += 1
            if acknowledged == len(seqs):
                done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=GATEWAY)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect(host, port)
    client.loop_start()
    try:
        for seq in seqs:
            client.publish(TOPIC, message(seq), qos=1)
        done.wait(max(60.0, len(seqs) / 100))
    finally:
        client.disconnect()
        client.loop_stop()
    time.sleep(0.2)
    return acknowledged


def shipped_flow_settings() -> str:
    """The queue and inflight limits of deploy/mosquitto.conf.example, as config lines."""
    lines = [
        line for line in SHIPPED_CONFIG.read_text().splitlines()
        if re.match(rf"^({'|'.join(FLOW_SETTINGS)})\s", line)
    ]
    assert len(lines) == len(FLOW_SETTINGS), f"{SHIPPED_CONFIG} must set each of {FLOW_SETTINGS}, it sets {lines}"
    return "\n".join(lines) + "\n"
