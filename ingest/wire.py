"""What ingest puts on Kafka: validated readings (keyed by household), dead letters and gateway status.

JSON, versioned, so a consumer written in another language can read them; a record
that does not decode raises `BadRecord` naming the problem, and the worker sends it
to the dead-letter topic instead of dropping it.

Readings records come in two versions, and every reader of the readings topic reads both
(`decode_record`):

* **v2, an upload** (`encode_upload`, what the bridge writes): the readings one MQTT message
  brought for one household, in the message's order, in one record keyed by the household.
  An NB-IoT meter uploads 24–48 interval values at once, so one record (and one state write
  by the worker) stands for a whole upload instead of one per reading.  A reading in it that
  does not decode is that reading's problem alone (`BadReading`): the others are judged.
* **v1, one reading** (`encode_reading`, what the bridge wrote before): still read, so records
  of the old format left in the topic during an upgrade are judged as before.

A gateway's status travels on the readings topic too (`encode_gateway_status`, v3): one record per
household of the gateway, keyed by the household, so its monitor hears it in order with its readings.
It holds no reading; a worker of a release before it dead-letters it (an unknown version).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from carewatch.domain import GatewayState, MeterKind, Reading, RejectReason
from ingest.payload import storable_text

WIRE_VERSION = 1
"""Dead letters, gateway status and one-reading records."""

UPLOAD_VERSION = 2
"""A readings record holding an upload: the readings of one household from one MQTT message."""

GATEWAY_STATUS_VERSION = 3
"""A readings record telling one household its gateway's status (online, or offline by its last will)."""


class BadRecord(ValueError):
    """A Kafka record that is not a carewatch readings record (v1 or v2)."""


@dataclass(frozen=True, slots=True)
class BadReading:
    """One reading of an upload record that does not decode: dead-lettered alone, the others are judged."""

    index: int
    """Its position in the record's ``readings``."""
    detail: str
    entry: bytes
    """The reading as the record holds it (JSON), for the dead letter."""


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """A readings record: its household and its readings in order, each a `Reading` or a `BadReading`."""

    household_id: str
    readings: list[Reading | BadReading]
    upload: bool = True
    """v2: a reading's dead letter names its index in the record; False for a v1 record (one reading)."""
    status: GatewayState | None = None
    """v3: the household's gateway's status, timed when the bridge received it (no readings then)."""


def reading_entry(value: bytes | None, index: int) -> bytes:
    """Reading ``index`` of a readings record as the record holds it (JSON; a v1 record is its one reading),
    for the dead letter of that reading alone."""
    document = orjson.loads(value or b"")
    if document.get("v") == UPLOAD_VERSION:
        return orjson.dumps(document["readings"][index])
    return value or b""


def encode_upload(household_id: str, gateway_id: str | None, readings: Sequence[Reading]) -> bytes:
    """One record for the readings of one household from one MQTT message (v2).

    >>> from datetime import datetime, UTC
    >>> day = [Reading("hh-1", "gas-1", MeterKind.GAS, datetime(2026, 1, 5, h, tzinfo=UTC), 12.5 + h) for h in range(24)]
    >>> decode_record(encode_upload("hh-1", "gw-1", day)).readings == day
    True
    """
    return orjson.dumps(
        {
            "v": UPLOAD_VERSION,
            "household_id": household_id,
            "gateway_id": gateway_id,
            "readings": [
                _fields(reading)
                for reading in readings
            ],
        }
    )


def encode_gateway_status(household_id: str, status: GatewayState) -> bytes:
    """One record telling a household of the gateway its status (v3).

    >>> from datetime import datetime, UTC
    >>> went = GatewayState("gw-1", False, datetime(2026, 1, 5, 8, tzinfo=UTC))
    >>> decode_record(encode_gateway_status("hh-1", went)) == DecodedRecord("hh-1", [], status=went)
    True
    """
    return orjson.dumps(
        {
            "v": GATEWAY_STATUS_VERSION,
            "household_id": household_id,
            "gateway_id": status.gateway_id,
            "state": status.state,
            "at": status.at.isoformat(),
        }
    )


def decode_record(value: bytes | None) -> DecodedRecord:
    """A readings record of either version; raises `BadRecord` when the record as a whole is not one.

    >>> from datetime import datetime, UTC
    >>> one = Reading("hh-1", "gas-1", MeterKind.GAS, datetime(2026, 1, 5, tzinfo=UTC), 12.5)
    >>> decode_record(encode_reading(one, "gw-1")).readings == [one]   # v1, written before uploads
    True
    >>> upload = orjson.loads(encode_upload("hh-1", "gw-1", [one, one]))
    >>> upload["readings"][1]["register_m3"] = "lots"
    >>> [type(r).__name__ for r in decode_record(orjson.dumps(upload)).readings]
    ['Reading', 'BadReading']
    """
    document = _document(value)
    version = document.get("v")
    if version == UPLOAD_VERSION:
        try:
            household_id = _text(document, "household_id")
            entries = document["readings"]
            if not isinstance(entries, list):
                raise TypeError("readings must be a list")
        except (KeyError, TypeError) as exc:
            raise BadRecord(f"upload record has a missing or invalid field: {exc!r}") from None
        readings: list[Reading | BadReading] = []
        for index, entry in enumerate(entries):
            try:
                readings.append(_reading(household_id, entry))
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                detail = f"reading {index} of the upload record has a missing or invalid field: {exc!r}"
                readings.append(BadReading(index, detail, orjson.dumps(entry)))
        return DecodedRecord(household_id, readings)
    if version == GATEWAY_STATUS_VERSION:
        try:
            state = _text(document, "state")
            if state not in ("online", "offline"):
                raise ValueError(f"state must be online or offline, not {state!r}")
            status = GatewayState(_text(document, "gateway_id"), state == "online", datetime.fromisoformat(_text(document, "at")))
            return DecodedRecord(_text(document, "household_id"), [], status=status)
        except (KeyError, ValueError, TypeError) as exc:
            raise BadRecord(f"gateway status record has a missing or invalid field: {exc!r}") from None
    reading = _reading_v1(document, value)
    return DecodedRecord(reading.household_id, [reading], upload=False)


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
            **_fields(reading),
            "gateway_id": gateway_id,
        }
    )


def decode_reading(value: bytes | None) -> Reading:
    """A v1 record (one reading); `decode_record` reads both versions."""
    return _reading_v1(_document(value), value)


def _document(value: bytes | None) -> dict[str, Any]:
    try:
        document = orjson.loads(value or b"")
    except orjson.JSONDecodeError as exc:
        raise BadRecord(f"reading record is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("v") not in (WIRE_VERSION, UPLOAD_VERSION, GATEWAY_STATUS_VERSION):
        raise BadRecord(
            f"reading record must be a JSON object with v={WIRE_VERSION}, v={UPLOAD_VERSION} or "
            f"v={GATEWAY_STATUS_VERSION}, got {str(value)[:80]}"
        )
    return document


def _fields(reading: Reading) -> dict[str, Any]:
    """A reading's own fields on the wire, the same in both record versions."""
    return {
        "meter_id": reading.meter_id,
        "kind": reading.kind.value,
        "at": reading.at.isoformat(),
        "register_m3": reading.register_m3,
        "battery_pct": reading.battery_pct,
        "signal_dbm": reading.signal_dbm,
        "status": reading.status,
    }


def _reading_v1(document: dict[str, Any], value: bytes | None) -> Reading:
    if document.get("v") != WIRE_VERSION:
        raise BadRecord(f"reading record must be a JSON object with v={WIRE_VERSION}, got {str(value)[:80]}")
    try:
        return _reading(_text(document, "household_id"), document)
    except (KeyError, ValueError, TypeError) as exc:
        raise BadRecord(f"reading record has a missing or invalid field: {exc!r}") from None


def _reading(household_id: str, entry: dict[str, Any]) -> Reading:
    return Reading(
        household_id=household_id,
        meter_id=_text(entry, "meter_id"),
        kind=MeterKind(entry["kind"]),
        at=datetime.fromisoformat(_text(entry, "at")),
        register_m3=float(entry["register_m3"]),
        battery_pct=entry.get("battery_pct"),
        signal_dbm=entry.get("signal_dbm"),
        status=entry.get("status"),
    )


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
