"""Poison isolation at the edge, as a property: whatever a gateway publishes, translating it never raises.

Hypothesis writes contract messages the way a broken or hostile gateway might: extreme dates, integers of
hundreds of digits, NaN and infinities, arrays nested tens of thousands deep, lone surrogates, NUL, wrong
types, huge strings, broken bytes.  Every message must become readings and rejections, and every accepted
reading must hold only values the database, the detectors and Kafka can take.

CI runs ``CAREWATCH_FUZZ_EXAMPLES`` (default 2000) examples per property; for a longer hunt set it higher and
lift the per-test timeout: ``CAREWATCH_FUZZ_EXAMPLES=100000 python3 -m pytest tests/ingest/test_hostile_input.py --timeout=0``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carewatch.domain import IDENTIFIER
from carewatch.registry import Registry
from ingest.payload import (
    EARLIEST_PLAUSIBLE,
    MAX_REGISTER_M3,
    Limits,
    parse_readings,
    parse_status,
    parse_topic,
    storable_text,
)

pytestmark = pytest.mark.heavy  # many generated examples: in CI, not in the fast selection

FUZZ = settings(
    max_examples=int(os.environ.get("CAREWATCH_FUZZ_EXAMPLES", "2000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
LIMITS = Limits(max_age=timedelta(days=400))
PREFIX = "carewatch/v1"
REGISTRY = Registry.from_document(
    {"version": 1, "households": [
        {"household_id": "hh-1", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-1", "kind": "gas"}, {"meter_id": "wat-1", "kind": "water"}]},
        {"household_id": "h" * 64, "meters": [{"meter_id": "m" * 64, "kind": "gas"}]},
    ]}
)


@dataclass(frozen=True)
class Raw:
    """JSON text put into a message as it is: what no encoder would write (deep nesting, 5,000 digits, NaN)."""

    text: str


def to_json(value: object) -> str:
    """json.dumps, except that Raw text goes in verbatim; lone surrogates and NUL come out as escapes."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)


def mostly(good: st.SearchStrategy[Any], *hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` about four times in five, else one of ``hostile`` (one_of alone would pick the hostile kinds far more often)."""
    return st.integers(0, 4).flatmap(lambda pick: st.one_of(*hostile) if pick == 4 else good)


NASTY_TEXT = ["", " ", "gas-1\n", "gas-1\x00", "\ud800", "gas-\udfff", "g" * 64, "g" * 65, "煤气表-1", "gas/1", "-gas", "+", "#"]

hostile_text = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(st.characters(exclude_categories=()) | st.characters(categories=["Cs"]), max_size=70),  # surrogates too
    st.sampled_from([2_000, 70_000, 300_000]).map(lambda n: "x" * n),
)
hostile_number = st.one_of(
    st.integers(min_value=-(10**1000), max_value=10**1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([Raw("NaN"), Raw("-Infinity"), Raw("1e999"), Raw("-0"), Raw("9" * 5000), Raw("1" + "0" * 400 + ".5")]),
)
deep_nesting = (st.integers(1, 40) | st.sampled_from([1_025, 20_000])).map(lambda n: Raw("[" * n + "]" * n) if n % 2 else Raw('{"a":' * n + "1" + "}" * n))
any_json = st.recursive(
    mostly(st.one_of(st.none(), st.booleans(), hostile_number, hostile_text), deep_nesting),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["v", "readings", "meter_id", "\ud800"]) | hostile_text, inner, max_size=4),
    max_leaves=8,
)


def offsets() -> st.SearchStrategy[timezone]:
    return st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)).map(timezone)


def field(good: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a good value of the field, else a hostile one of its kind or anything at all."""
    return mostly(good, hostile, any_json)


meter_ids = field(st.sampled_from(["gas-1", "wat-1", "m" * 64, "gas-new"]), hostile_text)
times = field(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 1, 6), timezones=offsets()).map(datetime.isoformat),
    st.one_of(
        st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00", "2026-01-06T12:09:59Z",
                         "2026-01-06T12:10:01Z", "2026-02-30T00:00:00Z", "2026-01-06T25:00:00Z", "2026-01-06T19:45:00+24:00"]),
        st.datetimes(timezones=offsets()).map(datetime.isoformat),
        hostile_text,
    ),
)
a_reading = st.fixed_dictionaries(
    {"meter_id": meter_ids, "at": times, "register_m3": field(st.floats(0, MAX_REGISTER_M3), hostile_number)},
    optional={"battery_pct": field(st.floats(0, 100), hostile_number),
              "signal_dbm": field(st.floats(-150, 0), hostile_number),
              "status": field(st.sampled_from(["ok", "low_battery", "valve_closed"]), hostile_text),
              "vendor": any_json},
)
a_message = st.fixed_dictionaries(
    {"v": field(st.just(1), hostile_number),
     "readings": field(st.lists(mostly(a_reading, any_json), min_size=1, max_size=12), any_json)},
    optional={"sent_at": times},
)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    text = to_json(draw(mostly(a_message, any_json, deep_nesting)))
    raw = text.encode("utf-8", "surrogatepass")  # only Raw text can hold a bare surrogate; it must not crash us either
    mangle = draw(mostly(st.just("keep"), st.sampled_from(["truncate", "bad-utf8"])))
    if mangle == "truncate":
        return raw[: draw(st.integers(0, len(raw)))]
    if mangle == "bad-utf8":
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + raw[cut:]
    return raw


good_topics = st.sampled_from([f"{PREFIX}/gateways/gw-1/readings", f"{PREFIX}/gateways/{'g' * 64}/readings", f"{PREFIX}/gateways/gw-2/readings"])
topics = mostly(
    good_topics,
    st.builds(lambda gateway, channel: f"{PREFIX}/gateways/{gateway}/{channel}", hostile_text, st.sampled_from(["readings", "status", "x"])),
    hostile_text,
)


def storable(text: str) -> bool:
    return storable_text(text) == text


@FUZZ
@given(topic=topics, payload=payloads())
def test_translating_any_message_never_raises_and_accepts_only_storable_readings(topic, payload):
    route = parse_topic(topic, PREFIX)
    if route is not None:
        assert IDENTIFIER.fullmatch(route.gateway_id) and route.channel in ("readings", "status")

    parsed = parse_readings(route.gateway_id if route else None, payload, REGISTRY, NOW, LIMITS)

    for rejection in parsed.rejections:
        assert storable(rejection.detail) and len(rejection.detail) <= 400, rejection
        assert rejection.meter_id is None or IDENTIFIER.fullmatch(rejection.meter_id), rejection
    assert all(IDENTIFIER.fullmatch(meter_id) for meter_id in parsed.unknown_meters)
    for _, reading in parsed.readings:
        assert IDENTIFIER.fullmatch(reading.meter_id) and IDENTIFIER.fullmatch(reading.household_id)
        assert reading.at.tzinfo is UTC
        assert max(EARLIEST_PLAUSIBLE, NOW - LIMITS.max_age) <= reading.at <= NOW + LIMITS.future_tolerance  # type: ignore[operator]
        assert math.isfinite(reading.register_m3) and 0 <= reading.register_m3 <= MAX_REGISTER_M3
        assert reading.battery_pct is None or 0 <= reading.battery_pct <= 100
        assert reading.signal_dbm is None or -150 <= reading.signal_dbm <= 0
        assert reading.status is None or (storable(reading.status) and reading.status.isprintable() and len(reading.status) <= 32)


@FUZZ
@given(payload=st.one_of(
    st.sampled_from([b'{"state": "online"}', b'{"state": "offline"}']),
    st.builds(lambda state: to_json({"state": state}).encode("utf-8", "surrogatepass"), any_json),
    st.binary(max_size=100),
))
def test_a_status_message_is_a_state_or_a_value_error_naming_the_problem(payload):
    try:
        state = parse_status(payload)
    except ValueError as refused:
        assert storable(str(refused)) and len(str(refused)) <= 400
    else:
        assert state in ("online", "offline")
