"""MQTT contract v1: turn one message into validated readings and specific rejections.

Validation is per reading, so one bad reading in a batch does not cost the good
ones; whole-message problems (size, nesting, JSON, topic, envelope) reject the message.
Every rejection names the field and the value, so an integrator can fix the gateway.

Poison isolation: whatever the bytes, `parse_topic` and `parse_readings` return and never
raise, and `parse_status` raises nothing but ValueError.  What they accept holds only values
every later stage can store and compute with: ids of the contract's alphabet (whole-string
match: no trailing newline), aware UTC times within [2010 or now - max_age, now +
future_tolerance], finite numbers within their ranges, printable status words.  The text of
a rejection quotes values through repr, so it is storable too (`storable_text`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from carewatch.domain import IDENTIFIER, Reading, RejectReason
from carewatch.registry import Registry
from carewatch.settings import Settings

CONTRACT_VERSION = 1
MAX_REGISTER_M3 = 9_999_999.999  # an 8-digit dial with three decimals
EARLIEST_PLAUSIBLE = datetime(2010, 1, 1, tzinfo=UTC)
MAX_NESTING = 32
"""Arrays and objects inside each other: the contract needs 3, vendor data may use the rest."""
MAX_SEQ = 2**53 - 1  # the largest integer every JSON parser reads exactly


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str
    meter_id: str | None = None
    index: int | None = None
    """Position of the reading in the batch; None when the whole message is refused."""


@dataclass(frozen=True, slots=True)
class GatewayTopic:
    gateway_id: str
    channel: str  # "readings" or "status"


@dataclass(frozen=True, slots=True)
class ParsedReadings:
    gateway_id: str | None
    readings: tuple[tuple[int, Reading], ...]
    """Accepted readings with their position in the batch."""
    rejections: tuple[Rejection, ...]
    unknown_meters: tuple[str, ...] = ()
    seq: int | None = None
    """The gateway's message counter (contract v1.1); None when the gateway sends none."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 256 * 1024
    max_readings: int = 1000
    future_tolerance: timedelta = timedelta(minutes=10)
    max_age: timedelta | None = None
    """Readings older than this by the receiver's clock are implausible; None: any since 2010 (replays)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.max_payload_bytes, settings.max_readings_per_message, settings.future_tolerance, settings.max_reading_age
        )

    def earliest(self, now: datetime) -> datetime:
        if self.max_age is None or self.max_age >= now - EARLIEST_PLAUSIBLE:
            return EARLIEST_PLAUSIBLE
        return now - self.max_age


class Refused(Exception):
    """What was sent cannot be accepted (a whole message, or one reading of it): becomes a dead letter with this
    reason and detail.  The gateway adapters (ingest/adapters) refuse their vendors' formats with it too."""

    def __init__(self, reason: RejectReason, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_topic(topic: str, prefix: str) -> GatewayTopic | None:
    """``{prefix}/gateways/{gateway_id}/{readings|status}`` or None."""
    head = f"{prefix}/gateways/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) != 2 or parts[1] not in ("readings", "status") or not _is_identifier(parts[0]):
        return None
    return GatewayTopic(parts[0], parts[1])


def parse_readings(
    gateway_id: str | None, payload: bytes, registry: Registry, now: datetime, limits: Limits = Limits()
) -> ParsedReadings:
    """Validate a readings message published by ``gateway_id`` (None: the topic was wrong)."""
    try:
        if gateway_id is None:
            raise Refused(RejectReason.BAD_TOPIC, "topic must be <prefix>/gateways/<gateway_id>/readings")
        items, seq = _envelope(payload, limits)
    except Refused as refused:
        return ParsedReadings(gateway_id, (), (Rejection(refused.reason, refused.detail),))

    accepted: list[tuple[int, Reading]] = []
    rejections: list[Rejection] = []
    unknown: list[str] = []
    window = _Window(now, limits)
    for index, item in enumerate(items):
        try:
            reading = _reading(item, gateway_id, registry, window)
        except Refused as refused:
            meter_id = item.get("meter_id") if isinstance(item, dict) else None
            meter = meter_id if _is_identifier(meter_id) else None  # an invalid id is quoted in the detail only
            rejections.append(Rejection(refused.reason, f"readings[{index}]: {refused.detail}", meter, index))
            if refused.reason is RejectReason.UNKNOWN_METER and meter:
                unknown.append(meter)
            continue
        accepted.append((index, reading))
    return ParsedReadings(gateway_id, tuple(accepted), tuple(rejections), tuple(unknown), seq)


def parse_status(payload: bytes) -> str:
    """The state word of a status message ("online"/"offline"); raises ValueError naming the problem."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"status payload is not JSON: {exc}") from exc
    state = document.get("state") if isinstance(document, dict) else None
    if state not in ("online", "offline"):
        raise ValueError(f'status payload must be {{"state": "online"|"offline"}}, got {payload[:80]!r}')
    return state


def storable_text(text: str, limit: int | None = None) -> str:
    """``text`` as every store takes it: NUL and lone surrogates escaped (PostgreSQL refuses NUL, no
    UTF-8 encoder takes a lone surrogate), cut to ``limit`` characters.

    >>> storable_text("gas-1\\x00\\ud800 煤气")
    'gas-1\\\\x00\\\\ud800 煤气'
    """
    safe = text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if limit is None or len(safe) <= limit else safe[: limit - 1] + "…"


def _is_identifier(value: object) -> bool:
    return isinstance(value, str) and IDENTIFIER.fullmatch(value) is not None


def _excerpt(value: object, limit: int = 80) -> str:
    """The value as a rejection quotes it: repr (which escapes NUL and surrogates), cut to ``limit``."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _envelope(payload: bytes, limits: Limits) -> tuple[list[Any], int | None]:
    if len(payload) > limits.max_payload_bytes:
        raise Refused(
            RejectReason.OVERSIZED_PAYLOAD, f"payload is {len(payload)} bytes; the limit is {limits.max_payload_bytes}"
        )
    if _nests_deeper_than(payload, MAX_NESTING):
        raise Refused(
            RejectReason.OVERSIZED_PAYLOAD, f"payload nests arrays and objects more than {MAX_NESTING} deep; the limit is {MAX_NESTING}"
        )
    document = _load_json(payload)
    if not isinstance(document, dict):
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"payload must be a JSON object, got {type(document).__name__}")
    version = document.get("v")
    if version is None:
        raise Refused(RejectReason.SCHEMA_VIOLATION, "missing field 'v' (contract version, must be 1)")
    if version != CONTRACT_VERSION or isinstance(version, bool):
        raise Refused(RejectReason.UNSUPPORTED_VERSION, f"contract version {_excerpt(version)} is not supported (use 1)")
    items = document.get("readings")
    if not isinstance(items, list) or not items:
        raise Refused(RejectReason.SCHEMA_VIOLATION, "field 'readings' must be a non-empty array")
    if len(items) > limits.max_readings:
        raise Refused(
            RejectReason.TOO_MANY_READINGS, f"{len(items)} readings in one message; the limit is {limits.max_readings}"
        )
    return items, _seq(document)


def _seq(document: dict[str, Any]) -> int | None:
    seq = document.get("seq")
    if seq is None:
        return None
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"field 'seq' must be an integer, got {type(seq).__name__}")
    if not 0 <= seq <= MAX_SEQ:
        raise Refused(RejectReason.INVALID_VALUE, f"field 'seq' = {str(seq)[:40]} is outside [0, {MAX_SEQ}]")
    return seq


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_ALL_BUT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))


def _nests_deeper_than(payload: bytes, limit: int) -> bool:
    """Counted on the bytes before any parser recurses into them (the stdlib parser raises RecursionError
    somewhere past 1,000 levels, and so does repr): escapes dropped, then everything but quotes and
    brackets, then what lies between quotes (in strings).  A payload with no more opening brackets than
    ``limit`` cannot nest deeper, whatever its strings hold: the usual message is settled by two counts."""
    if payload.count(b"[") + payload.count(b"{") <= limit:
        return False
    structure = _ESCAPE.sub(b"", payload).translate(None, _ALL_BUT_STRUCTURE)
    depth = 0
    for bracket in b"".join(structure.split(b'"')[::2]):
        depth += 1 if bracket in b"[{" else -1
        if depth > limit:
            return True
    return False


def _load_json(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as strict_error:
        # orjson refuses NaN/Infinity, integers beyond 64 bits and lone surrogates; if the stdlib
        # parser accepts the payload, the JSON is fine apart from such a value, and the value
        # checks name it precisely.
        try:
            return json.loads(payload.decode("utf-8-sig"))  # UTF-8 only (bytes would let json guess UTF-16/32)
        except ValueError:  # UnicodeDecodeError, JSONDecodeError, an integer of more than 4,300 digits
            raise Refused(RejectReason.MALFORMED_JSON, f"payload is not valid UTF-8 JSON: {strict_error}") from None


class _Window:
    """When a reading may have been taken, by the receiver's clock: worked out once per message, not per reading."""

    __slots__ = ("now", "latest", "earliest", "max_age", "accepted")

    def __init__(self, now: datetime, limits: Limits):
        self.now = now
        self.latest = now + limits.future_tolerance
        self.earliest = limits.earliest(now)
        self.max_age = limits.max_age
        self.accepted: dict[str, datetime] = {}
        """Times of this message already parsed and found in the window: a gateway's meters are read at the
        same instants, so most of a message's readings share their ``at`` with another."""


def _reading(item: Any, gateway_id: str, registry: Registry, window: _Window) -> Reading:
    # The usual reading (fields of the right type, in range) passes the checks inline; anything else goes
    # through the general checks, which name the problem.  Every reading passes here (issue 13).
    if not isinstance(item, dict):
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"each reading must be an object, got {type(item).__name__}")
    meter_id = item.get("meter_id")
    if meter_id.__class__ is not str:
        meter_id = _required(item, "meter_id", str)
    if IDENTIFIER.fullmatch(meter_id) is None:  # `_is_identifier`, the type known
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"meter_id {_excerpt(meter_id)} is not a valid id")
    text = item.get("at")
    at = window.accepted.get(text) if text.__class__ is str else None
    if at is None:
        at = _timestamp(_required(item, "at", str), window)
        window.accepted[text] = at
    # A plain number in range is taken as `_number` takes it (a float); bool, NaN, None and the rest go through it.
    register = item.get("register_m3")
    if register.__class__ in _PLAIN_NUMBERS and 0.0 <= register <= MAX_REGISTER_M3:
        register = float(register)
    else:
        register = _number(item, "register_m3", required=True, low=0.0, high=MAX_REGISTER_M3)
    battery = item.get("battery_pct")
    if battery.__class__ in _PLAIN_NUMBERS and 0.0 <= battery <= 100.0:
        battery = float(battery)  # meters report whole percents: an int, most often
    elif battery is not None:
        battery = _number(item, "battery_pct", required=False, low=0.0, high=100.0)
    signal = item.get("signal_dbm")
    if signal.__class__ in _PLAIN_NUMBERS and -150.0 <= signal <= 0.0:
        signal = float(signal)  # whole dBm, most often
    elif signal is not None:
        signal = _number(item, "signal_dbm", required=False, low=-150.0, high=0.0)
    status = item.get("status")
    if status is not None and (not isinstance(status, str) or len(status) > 32 or not status.isprintable()):
        raise Refused(
            RejectReason.SCHEMA_VIOLATION, f"field 'status' must be a printable string of at most 32 characters, got {_excerpt(status)}"
        )

    known = registry.meter(meter_id)
    if known is None:
        raise Refused(RejectReason.UNKNOWN_METER, f"meter {meter_id!r} is not in the household registry")
    household, meter = known
    if household.gateway_id is not None and household.gateway_id != gateway_id:
        raise Refused(
            RejectReason.METER_ON_WRONG_GATEWAY,
            f"meter {meter_id!r} belongs to gateway {household.gateway_id!r}, not {gateway_id!r}",
        )
    assert register is not None  # required=True
    return Reading(household.household_id, meter_id, meter.kind, at, register, battery, signal, status)


_PLAIN_NUMBERS = frozenset((float, int))
"""A JSON number's types (not bool, a subclass of int, nor any other subclass)."""


def _required(item: dict[str, Any], name: str, kind: type) -> Any:
    if name not in item:
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"missing field {name!r}")
    value = item[name]
    if not isinstance(value, kind):
        raise Refused(
            RejectReason.SCHEMA_VIOLATION, f"field {name!r} must be a {kind.__name__}, got {type(value).__name__}"
        )
    return value


def _number(item: dict[str, Any], name: str, *, required: bool, low: float, high: float) -> float | None:
    if name not in item or item[name] is None:
        if required:
            raise Refused(RejectReason.SCHEMA_VIOLATION, f"missing field {name!r}")
        return None
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(
            RejectReason.SCHEMA_VIOLATION, f"field {name!r} must be a number, got {type(value).__name__}"
        )
    # Compared before float(): an integer of 400 digits has no float; NaN fails every comparison.
    if not low <= value <= high:
        raise Refused(RejectReason.INVALID_VALUE, f"field {name!r} = {_excerpt(value)} is outside [{low:g}, {high:g}]")
    return float(value)


def _timestamp(text: str, window: _Window) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"field 'at' = {_excerpt(text, 40)} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise Refused(RejectReason.SCHEMA_VIOLATION, f"field 'at' = {_excerpt(text, 40)} has no UTC offset (add e.g. +08:00)")
    try:
        # In UTC the comparisons below are between times of one zone, ≈ 20 times cheaper than across offsets
        # (each is taken once per distinct time of a message: issue 13); the instants compared are the same.
        at = at.astimezone(UTC)
    except OverflowError:
        pass  # year 1 at +14:00 or year 9999 at -14:00 has no UTC time: compared as it is, and refused below
    if at > window.latest:
        raise Refused(
            RejectReason.TIMESTAMP_IN_FUTURE,
            f"field 'at' = {_excerpt(text, 40)} is ahead of the receiver's clock ({window.now:%Y-%m-%dT%H:%M:%SZ})",
        )
    if at < EARLIEST_PLAUSIBLE:
        raise Refused(RejectReason.TIMESTAMP_IMPLAUSIBLE, f"field 'at' = {_excerpt(text, 40)} is before 2010")
    if at < window.earliest:
        raise Refused(
            RejectReason.TIMESTAMP_IMPLAUSIBLE,
            f"field 'at' = {_excerpt(text, 40)} is older than {_age(window.max_age)} by the receiver's clock "
            f"({window.now:%Y-%m-%dT%H:%M:%SZ})",
        )
    return at


def _age(age: timedelta | None) -> str:
    return f"{age.days} days" if age is not None and age == timedelta(days=age.days) else str(age)
