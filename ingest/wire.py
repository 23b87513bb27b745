"""What ingest puts on Kafka: validated readings (keyed by household), dead letters and gateway status.

JSON, versioned, so a consumer written in another language can read them; a record
that does not decode raises `BadRecord` naming the problem, and the worker sends it
to the dead-letter topic instead of dropping it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from carewatch.domain import MeterKind, Reading, RejectReason
from ingest.payload import storable_text

WIRE_VERSION = 1


class BadRecord(ValueError):
    """A Kafka record that is not a carewatch reading v1."""


def encode_reading(reading: Reading, gateway_id: str | None) -> bytes:
    """>>> from datetime import datetime, UTC
    >>> r = Reading("hh-1", "gas-1", MeterKind.GAS, datetime(2026, 1, 5, tzinfo=UTC), 12.5)
    >>> decode_reading(encode_reading(r, "gw-1")) == r
    True
    """
    return orjson.dumps(
        {
            "v": WIRE_VERSION,
            "household_id": reading.household_id,
            "meter_id": reading.meter_id,
            "kind": reading.kind.value,
            "at": reading.at.isoformat(),
            "register_m3": reading.register_m3,
            "battery_pct": reading.battery_pct,
            "signal_dbm": reading.signal_dbm,
            "status": reading.status,
            "gateway_id": gateway_id,
        }
    )


def decode_reading(value: bytes | None) -> Reading:
    try:
        document = orjson.loads(value or b"")
    except orjson.JSONDecodeError as exc:
        raise BadRecord(f"reading record is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("v") != WIRE_VERSION:
        raise BadRecord(f"reading record must be a JSON object with v={WIRE_VERSION}, got {str(value)[:80]}")
    try:
        return Reading(
            household_id=_text(document, "household_id"),
            meter_id=_text(document, "meter_id"),
            kind=MeterKind(document["kind"]),
            at=datetime.fromisoformat(_text(document, "at")),
            register_m3=float(document["register_m3"]),
            battery_pct=document.get("battery_pct"),
            signal_dbm=document.get("signal_dbm"),
            status=document.get("status"),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise BadRecord(f"reading record has a missing or invalid field: {exc!r}") from None


def _text(document: dict[str, Any], name: str) -> str:
    value = document[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
    return value


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """A payload or reading we could not accept, with the reason, kept verbatim on the dead-letter topic."""

    received_at: datetime
    stage: str
    """Where it was refused: "bridge" (MQTT contract) or "worker" (Kafka record or detector)."""
    source: str
    """The MQTT topic, or topic/partition/offset on Kafka."""
    reason: RejectReason
    detail: str
    payload: bytes
    gateway_id: str | None = None
    meter_id: str | None = None
    reading_index: int | None = None

    def encode(self) -> bytes:
        """JSON; text that quotes what a gateway sent or an exception said is escaped (orjson refuses lone
        surrogates, the database NUL), so the report of a refusal can always be sent and stored."""
        return orjson.dumps(
            {
                "v": WIRE_VERSION,
                "received_at": self.received_at.isoformat(),
                "stage": self.stage,
                "source": storable_text(self.source),
                "reason": self.reason.value,
                "detail": storable_text(self.detail),
                "payload_b64": base64.b64encode(self.payload).decode(),
                "gateway_id": None if self.gateway_id is None else storable_text(self.gateway_id),
                "meter_id": None if self.meter_id is None else storable_text(self.meter_id),
                "reading_index": self.reading_index,
            }
        )

    @classmethod
    def decode(cls, value: bytes) -> DeadLetterRecord:
        document = orjson.loads(value)
        return cls(
            received_at=datetime.fromisoformat(document["received_at"]),
            stage=document["stage"],
            source=document["source"],
            reason=RejectReason(document["reason"]),
            detail=document["detail"],
            payload=base64.b64decode(document["payload_b64"]),
            gateway_id=document.get("gateway_id"),
            meter_id=document.get("meter_id"),
            reading_index=document.get("reading_index"),
        )


@dataclass(frozen=True, slots=True)
class GatewayStatusRecord:
    """A gateway's retained status message ("online", or "offline" by its last will), keyed by gateway.

    >>> from datetime import UTC
    >>> r = GatewayStatusRecord("gw-1", "offline", datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    >>> GatewayStatusRecord.decode(r.encode()) == r
    True
    """

    gateway_id: str
    state: str
    at: datetime

    def encode(self) -> bytes:
        return orjson.dumps({"v": WIRE_VERSION, "gateway_id": self.gateway_id, "state": self.state, "at": self.at.isoformat()})

    @classmethod
    def decode(cls, value: bytes) -> GatewayStatusRecord:
        document = orjson.loads(value)
        return cls(_text(document, "gateway_id"), _text(document, "state"), datetime.fromisoformat(_text(document, "at")))
