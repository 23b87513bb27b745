"""What every adapter shares: its result, and the re-spelling of devices, registers and times."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from carewatch.domain import RejectReason
from carewatch.integrations import Integration, Unit
from ingest.payload import Refused, Rejection

LITRE_M3 = 0.001


@dataclass(frozen=True, slots=True)
class Adapted:
    readings: tuple[dict[str, Any], ...] = ()
    """Contract v1 reading objects (meter_id, at, register_m3, optional signal_dbm/battery_pct/status)."""
    refusals: tuple[Rejection, ...] = ()


def refused(integration: Integration, problem: Refused) -> Adapted:
    detail = f"{integration.format} integration {integration.name!r}: {problem.detail}"
    return Adapted(refusals=(Rejection(problem.reason, detail),))


def load_object(payload: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise Refused(RejectReason.MALFORMED_JSON, f"payload is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"payload must be a JSON object, got {type(document).__name__}")
    return document


def field(document: Any, path: str) -> Any:
    """The value at a dotted path; Refused naming the path when it is missing."""
    value = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise Refused(RejectReason.SCHEMA_VIOLATION, f"missing field {path!r}")
        value = value[part]
    return value


def text(document: Any, path: str) -> str:
    value = field(document, path)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # OneNET device ids are numbers
    if not isinstance(value, str) or not value:
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"field {path!r} must be a non-empty string, got {value!r:.40}")
    return value


def meter_id(integration: Integration, device_id: str) -> str:
    """The meter a device is: as mapped in the integration, else the device id itself (an unknown one is listed)."""
    return integration.devices.get(device_id, device_id)


def register_m3(integration: Integration, decoded: Any) -> float:
    """The register in m³, from the integration's register field in its unit."""
    value = field(decoded, integration.register)
    if isinstance(value, str):  # some decoders and platforms send numbers as text
        try:
            value = float(value)
        except ValueError:
            raise Refused(RejectReason.SCHEMA_VIOLATION, f"field {integration.register!r} = {value!r:.40} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"field {integration.register!r} must be a number, got {value!r:.40}")
    if integration.unit is Unit.LITRES:
        return round(value * LITRE_M3, 6)
    if integration.unit is Unit.PULSES:
        assert integration.pulse_m3 is not None  # checked when the integration was read
        return round(value * integration.pulse_m3, 6)
    return float(value)


def battery_pct(integration: Integration, decoded: Any) -> float | None:
    """The battery in percent from the integration's battery field, if it names one and the value is a percentage.

    >>> from carewatch.integrations import Integration
    >>> ttn = Integration(name="lns", format="ttn_v3", topic="v3/+/devices/+/up", register_field="m3", battery_field="bat.pct")
    >>> battery_pct(ttn, {"bat": {"pct": 87}}), battery_pct(ttn, {"bat": {"pct": 140}}), battery_pct(ttn, {})
    (87.0, None, None)
    >>> volts = ttn.model_copy(update={"battery_field": "battery_v", "battery_volts": (3.0, 3.6)})
    >>> battery_pct(volts, {"battery_v": 3.3}), battery_pct(volts, {"battery_v": 3.7}), battery_pct(volts, {"battery_v": 2.5})
    (50.0, 100.0, 0.0)
    """
    if integration.battery_field is None:
        return None
    try:
        value = field(decoded, integration.battery_field)
    except Refused:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if integration.battery_volts is not None:
        empty, full = integration.battery_volts
        return round(min(max((value - empty) / (full - empty), 0.0), 1.0) * 100, 1)
    return float(value) if 0 <= value <= 100 else None


def iso_time(value: Any, path: str) -> str:
    """An RFC 3339 time as the contract's ``at`` (nanoseconds are cut to microseconds; an offset is required)."""
    if not isinstance(value, str):
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"field {path!r} must be an RFC 3339 time, got {value!r:.40}")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"field {path!r} = {value!r:.40} is not an RFC 3339 time") from None
    if at.tzinfo is None:
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"field {path!r} = {value!r:.40} has no UTC offset")
    return at.astimezone(UTC).isoformat()


def epoch_ms_time(value: Any, path: str) -> str:
    """A platform's millisecond Unix time as the contract's ``at``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"field {path!r} must be Unix time in milliseconds, got {value!r:.40}")
    try:
        return datetime.fromtimestamp(value / 1000, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        raise Refused(RejectReason.TIMESTAMP_IMPLAUSIBLE, f"field {path!r} = {value} is not a time") from None


def reading(
    meter: str, at: str, register: float, signal_dbm: float | None = None, status: str | None = None,
    battery: float | None = None,
) -> dict[str, Any]:
    contract: dict[str, Any] = {"meter_id": meter, "at": at, "register_m3": register}
    if battery is not None:
        contract["battery_pct"] = battery
    if signal_dbm is not None:
        contract["signal_dbm"] = signal_dbm
    if status is not None:
        contract["status"] = status
    return contract


def best_rssi(receptions: Any) -> float | None:
    """The strongest RSSI (dBm) among a LoRaWAN uplink's receptions, if any gateway reported one."""
    if not isinstance(receptions, list):
        return None
    found = [r["rssi"] for r in receptions if isinstance(r, dict) and isinstance(r.get("rssi"), int | float)]
    return float(max(found)) if found else None
