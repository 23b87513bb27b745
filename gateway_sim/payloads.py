"""MQTT contract v1 as bytes: topics, status payloads and reading batches (docs/mqtt-contract.md).

Serialisation is deterministic (fixed key order, no spaces) so one seed gives the
same bytes on every run and machine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

CONTRACT_VERSION = 1
MAX_READINGS = 1000
MAX_PAYLOAD_BYTES = 64 * 1024

ONLINE = b'{"state":"online"}'
OFFLINE = b'{"state":"offline"}'


def readings_topic(prefix: str, gateway_id: str) -> str:
    return f"{prefix}/gateways/{gateway_id}/readings"


def status_topic(prefix: str, gateway_id: str) -> str:
    return f"{prefix}/gateways/{gateway_id}/status"


def iso(at: datetime) -> str:
    """ISO 8601 with the UTC offset the contract requires, to the second."""
    return at.isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class MeterReading:
    meter_id: str
    at: str
    """Already formatted with :func:`iso` (the same tick is formatted once for every meter)."""
    register_l: int
    """The register in litres (0.001 m³, the dial's resolution), sent as m³."""
    battery_pct: int
    signal_dbm: int
    status: str

    def to_json(self) -> dict[str, object]:
        return {
            "meter_id": self.meter_id,
            "at": self.at,
            # litres / 1000 as a float prints as the shortest decimal, i.e. at most three places.
            "register_m3": self.register_l / 1000,
            "battery_pct": self.battery_pct,
            "signal_dbm": self.signal_dbm,
            "status": self.status,
        }


def readings_payloads(sent_at: datetime, readings: Sequence[MeterReading], seq: int | None = None) -> list[tuple[bytes, int]]:
    """(payload, how many readings it carries): as few payloads as the contract's count and size limits allow,
    numbered ``seq``, ``seq + 1``, ... (contract v1.1: the gateway's message counter; None sends no number).

    >>> from datetime import datetime, timezone, timedelta
    >>> at = datetime(2026, 1, 5, 7, 45, tzinfo=timezone(timedelta(hours=8)))
    >>> [(payload, count)] = readings_payloads(at, [MeterReading("gas-0001", iso(at), 1234567, 87, -93, "ok")], seq=41)
    >>> count
    1
    >>> print(payload.decode().replace('{"meter', '\\n {"meter'))
    {"v":1,"seq":41,"sent_at":"2026-01-05T07:45:00+08:00","readings":[
     {"meter_id":"gas-0001","at":"2026-01-05T07:45:00+08:00","register_m3":1234.567,"battery_pct":87,"signal_dbm":-93,"status":"ok"}]}
    """
    if not readings:
        return []
    payload = _encode(sent_at, readings, seq)
    if len(readings) <= MAX_READINGS and len(payload) <= MAX_PAYLOAD_BYTES:
        return [(payload, len(readings))]
    half = len(readings) // 2
    first = readings_payloads(sent_at, readings[:half], seq)
    return first + readings_payloads(sent_at, readings[half:], None if seq is None else seq + len(first))


def _encode(sent_at: datetime, readings: Sequence[MeterReading], seq: int | None) -> bytes:
    document: dict[str, object] = {"v": CONTRACT_VERSION}
    if seq is not None:
        document["seq"] = seq
    document |= {"sent_at": iso(sent_at), "readings": [r.to_json() for r in readings]}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()
