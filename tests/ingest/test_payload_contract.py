"""MQTT contract v1: every class of bad input gets its own clear reason; good readings survive."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from carewatch.domain import IDENTIFIER, MeterKind, RejectReason
from carewatch.registry import Registry
from carewatch.settings import Settings
from ingest.payload import Limits, parse_readings, parse_status, parse_topic, storable_text

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
REGISTRY = Registry.from_document(
    {
        "version": 1,
        "households": [
            {
                "household_id": "hh-1",
                "gateway_id": "gw-1",
                "meters": [{"meter_id": "gas-1", "kind": "gas"}, {"meter_id": "wat-1", "kind": "water"}],
            }
        ],
    }
)


def reading(**overrides: object) -> dict[str, object]:
    return {"meter_id": "gas-1", "at": "2026-01-06T19:45:00+08:00", "register_m3": 1234.567} | overrides


def message(*readings: object, **envelope: object) -> bytes:
    """JSON as a gateway may write it, careless or hostile: lone surrogates and NUL escaped, big integers kept."""
    return json.dumps({"v": 1, "readings": list(readings)} | envelope).encode()


def parse(payload: bytes, gateway: str | None = "gw-1", limits: Limits = Limits()):  # type: ignore[no-untyped-def]
    return parse_readings(gateway, payload, REGISTRY, NOW, limits)


def only_rejection(payload: bytes, **kwargs: object):  # type: ignore[no-untyped-def]
    parsed = parse(payload, **kwargs)  # type: ignore[arg-type]
    assert not parsed.readings
    assert len(parsed.rejections) == 1, parsed.rejections
    return parsed.rejections[0]


def test_readings_that_share_a_time_are_each_checked_in_full():
    # A message's times are parsed once (its meters are read at the same instants): a refused one still refuses
    # every reading that carries it, and a shared good time does not let another field's problem through.
    late = "2026-01-06T21:00:00+08:00"  # an hour ahead of the receiver's clock
    parsed = parse(message(
        reading(at=late), reading(meter_id="wat-1", at=late),
        reading(), reading(meter_id="wat-1", register_m3=-1.0), reading(meter_id="wat-1", battery_pct=101.5),
        reading(meter_id="wat-1", signal_dbm=float("nan")), reading(meter_id="wat-1", register_m3=7),
    ))
    assert [(r.index, r.reason) for r in parsed.rejections] == [
        (0, RejectReason.TIMESTAMP_IN_FUTURE), (1, RejectReason.TIMESTAMP_IN_FUTURE), (3, RejectReason.INVALID_VALUE),
        (4, RejectReason.INVALID_VALUE), (5, RejectReason.INVALID_VALUE),
    ]
    assert [(index, r.meter_id, r.at, r.register_m3) for index, r in parsed.readings] == [
        (2, "gas-1", datetime(2026, 1, 6, 11, 45, tzinfo=UTC), 1234.567),
        (6, "wat-1", datetime(2026, 1, 6, 11, 45, tzinfo=UTC), 7.0),
    ]
    assert type(parsed.readings[1][1].register_m3) is float


def test_a_valid_batch_becomes_normalised_readings():
    parsed = parse(message(reading(battery_pct=87, signal_dbm=-93, status="ok"), reading(meter_id="wat-1", register_m3=5)))
    assert parsed.rejections == ()
    (_, gas), (_, water) = parsed.readings
    assert gas.household_id == "hh-1" and gas.kind is MeterKind.GAS
    assert gas.at == datetime(2026, 1, 6, 11, 45, tzinfo=UTC)
    assert gas.register_m3 == 1234.567 and gas.battery_pct == 87 and gas.signal_dbm == -93 and gas.status == "ok"
    assert type(gas.battery_pct) is float and type(gas.signal_dbm) is float  # whole numbers in JSON, floats in a Reading
    assert water.kind is MeterKind.WATER and water.register_m3 == 5.0


def test_extra_vendor_fields_are_ignored():
    parsed = parse(message(reading(vendor={"x": 1}), sent_at="2026-01-06T20:00:00+08:00", vendor="acme"))
    assert len(parsed.readings) == 1 and parsed.rejections == ()


@pytest.mark.parametrize(
    ("payload", "reason", "names"),
    [
        (b"{not json", RejectReason.MALFORMED_JSON, "not valid UTF-8 JSON"),
        (b"\xff\xfe", RejectReason.MALFORMED_JSON, "not valid UTF-8 JSON"),
        (b"[1, 2]", RejectReason.SCHEMA_VIOLATION, "must be a JSON object"),
        (orjson.dumps({"readings": [reading()]}), RejectReason.SCHEMA_VIOLATION, "missing field 'v'"),
        (orjson.dumps({"v": 2, "readings": [reading()]}), RejectReason.UNSUPPORTED_VERSION, "version 2"),
        (orjson.dumps({"v": 1}), RejectReason.SCHEMA_VIOLATION, "'readings' must be a non-empty array"),
        (orjson.dumps({"v": 1, "readings": []}), RejectReason.SCHEMA_VIOLATION, "non-empty array"),
        (orjson.dumps({"v": 1, "readings": {"a": 1}}), RejectReason.SCHEMA_VIOLATION, "non-empty array"),
    ],
)
def test_whole_message_problems_reject_the_message_with_their_reason(payload, reason, names):
    rejection = only_rejection(payload)
    assert rejection.reason is reason
    assert names in rejection.detail
    assert rejection.index is None


def test_oversized_payload_is_refused_before_parsing():
    rejection = only_rejection(message(*[reading()] * 10), limits=Limits(max_payload_bytes=200))
    assert rejection.reason is RejectReason.OVERSIZED_PAYLOAD
    assert "limit is 200" in rejection.detail


def test_too_many_readings_in_one_message_are_refused():
    rejection = only_rejection(message(*[reading()] * 3), limits=Limits(max_readings=2))
    assert rejection.reason is RejectReason.TOO_MANY_READINGS


def test_a_message_on_a_wrong_topic_is_refused():
    assert only_rejection(message(reading()), gateway=None).reason is RejectReason.BAD_TOPIC


def refused_beside_a_good_reading(bad: dict[str, object], reason: RejectReason, names: str):  # type: ignore[no-untyped-def]
    """Parses a good reading and a bad one: the good one is kept; the bad one's rejection (for ``reason``,
    its detail naming ``names``) is returned."""
    parsed = parse(message(reading(meter_id="wat-1"), reading(**bad)))
    assert [r.meter_id for _, r in parsed.readings] == ["wat-1"]
    (rejection,) = parsed.rejections
    assert rejection.reason is reason
    assert names in rejection.detail
    return rejection


@pytest.mark.parametrize(
    ("bad", "reason", "names"),
    [
        ({"meter_id": None}, RejectReason.SCHEMA_VIOLATION, "'meter_id' must be a str"),
        ({"meter_id": "gas/1"}, RejectReason.SCHEMA_VIOLATION, "not a valid id"),
        ({"at": 1767700000}, RejectReason.SCHEMA_VIOLATION, "'at' must be a str"),
        ({"at": "yesterday"}, RejectReason.SCHEMA_VIOLATION, "not an ISO 8601 time"),
        ({"at": "2026-01-06T19:45:00"}, RejectReason.SCHEMA_VIOLATION, "no UTC offset"),
        ({"register_m3": "12.5"}, RejectReason.SCHEMA_VIOLATION, "'register_m3' must be a number"),
        ({"register_m3": True}, RejectReason.SCHEMA_VIOLATION, "'register_m3' must be a number"),
        ({"register_m3": -0.001}, RejectReason.INVALID_VALUE, "register_m3"),
        ({"register_m3": 1e12}, RejectReason.INVALID_VALUE, "register_m3"),
        ({"battery_pct": 140}, RejectReason.INVALID_VALUE, "battery_pct"),
        ({"battery_pct": True}, RejectReason.SCHEMA_VIOLATION, "'battery_pct' must be a number"),
        ({"signal_dbm": False}, RejectReason.SCHEMA_VIOLATION, "'signal_dbm' must be a number"),
        ({"signal_dbm": 12}, RejectReason.INVALID_VALUE, "signal_dbm"),
        ({"status": "x" * 40}, RejectReason.SCHEMA_VIOLATION, "status"),
        ({"at": "2026-01-06T12:30:00+00:00"}, RejectReason.TIMESTAMP_IN_FUTURE, "ahead of the receiver's clock"),
        ({"at": "1970-01-01T00:00:00+00:00"}, RejectReason.TIMESTAMP_IMPLAUSIBLE, "before 2010"),
        ({"meter_id": "gas-999"}, RejectReason.UNKNOWN_METER, "not in the household registry"),
    ],
)
def test_a_bad_reading_is_refused_alone_and_the_good_one_is_kept(bad, reason, names):
    rejection = refused_beside_a_good_reading(bad, reason, names)
    assert rejection.index == 1
    assert rejection.detail.startswith("readings[1]: ")


@pytest.mark.parametrize(
    ("bad", "reason", "names"),
    [
        ({"at": "0001-01-01T00:00:00+14:00"}, RejectReason.TIMESTAMP_IMPLAUSIBLE, "before 2010"),
        ({"at": "9999-12-31T23:59:59-14:00"}, RejectReason.TIMESTAMP_IN_FUTURE, "ahead of the receiver's clock"),
        ({"register_m3": 10**400}, RejectReason.INVALID_VALUE, "'register_m3' = 1000000000"),
        ({"register_m3": -(10**400)}, RejectReason.INVALID_VALUE, "register_m3"),
        ({"battery_pct": 10**400}, RejectReason.INVALID_VALUE, "battery_pct"),
        ({"signal_dbm": -(10**30)}, RejectReason.INVALID_VALUE, "signal_dbm"),
        ({"meter_id": "gas-1\n"}, RejectReason.SCHEMA_VIOLATION, "not a valid id"),
        ({"meter_id": "gas-1\x00"}, RejectReason.SCHEMA_VIOLATION, "not a valid id"),
        ({"meter_id": "gas-\ud800"}, RejectReason.SCHEMA_VIOLATION, "not a valid id"),
        ({"meter_id": "g" * 65}, RejectReason.SCHEMA_VIOLATION, "not a valid id"),
        ({"status": "ok\x00"}, RejectReason.SCHEMA_VIOLATION, "status"),
        ({"status": "\ud800"}, RejectReason.SCHEMA_VIOLATION, "status"),
    ],
)
def test_a_value_no_clock_or_database_can_hold_is_refused_with_its_reason(bad, reason, names):
    rejection = refused_beside_a_good_reading(bad, reason, names)
    assert rejection.meter_id is None or IDENTIFIER.fullmatch(rejection.meter_id), "only a valid id is kept as meter_id"
    assert storable_text(rejection.detail) == rejection.detail and len(rejection.detail) < 300


def test_readings_older_than_the_configured_age_are_implausible():
    limits = Limits(max_age=timedelta(days=30))
    (rejection,) = parse(message(reading(at="2025-12-06T11:00:00+00:00")), limits=limits).rejections
    assert rejection.reason is RejectReason.TIMESTAMP_IMPLAUSIBLE
    assert "older than 30 days" in rejection.detail
    assert len(parse(message(reading(at="2025-12-08T12:00:00+00:00")), limits=limits).readings) == 1


@pytest.mark.parametrize("depth", [33, 1_100, 20_000])
def test_deep_nesting_is_refused_before_parsing(depth):
    deep = b"[" * depth + b"]" * depth
    for payload in (deep, b'{"v":1,"readings":[{"meter_id":"gas-1","vendor":' + deep + b"}]}"):
        rejection = only_rejection(payload)
        assert rejection.reason is RejectReason.OVERSIZED_PAYLOAD
        assert "nests" in rejection.detail and "the limit is 32" in rejection.detail


def test_brackets_inside_strings_are_not_nesting():
    parsed = parse(message(reading(vendor={"note": "[{" * 100 + '\\"' + "]" * 40})))
    assert len(parsed.readings) == 1 and parsed.rejections == ()


def test_the_default_limits_are_the_settings_limits():
    assert Limits.from_settings(Settings(_env_file=None)) == Limits()  # type: ignore[call-arg]


def test_a_contract_sized_batch_with_the_longest_ids_fits_the_payload_limit():
    meter_ids = [f"{'m' * 63}{digit}" for digit in range(10)]
    registry = Registry.from_document(
        {"version": 1, "households": [{"household_id": "h" * 64, "gateway_id": "g" * 64,
                                       "meters": [{"meter_id": m, "kind": "gas"} for m in meter_ids]}]}
    )
    readings = [
        reading(meter_id=m, at=f"2026-01-0{1 + step // 96}T{step % 96 // 4:02}:{step % 4 * 15:02}:00.123456+08:00",
                register_m3=1_234_567.891 + step, battery_pct=87.5, signal_dbm=-93.25, status="low_battery")
        for m in meter_ids
        for step in range(100)
    ]
    payload = message(*readings, sent_at="2026-01-05T08:00:03.000000+08:00")
    assert len(payload) > 64 * 1024
    parsed = parse_readings("g" * 64, payload, registry, NOW)
    assert parsed.rejections == ()
    assert len(parsed.readings) == 1000


def test_missing_required_fields_are_named():
    for field in ("meter_id", "at", "register_m3"):
        item = reading()
        del item[field]
        (rejection,) = parse(message(item)).rejections
        assert rejection.reason is RejectReason.SCHEMA_VIOLATION
        assert f"missing field {field!r}" in rejection.detail


def test_nan_and_infinity_are_invalid_values_not_malformed_json():
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        payload = b'{"v":1,"readings":[{"meter_id":"gas-1","at":"2026-01-06T19:45:00+08:00","register_m3":' + literal + b"}]}"
        rejection = only_rejection(payload)
        assert rejection.reason is RejectReason.INVALID_VALUE, literal


def test_unknown_meters_are_listed_for_provisioning():
    parsed = parse(message(reading(meter_id="gas-new"), reading(meter_id="wat-new")))
    assert parsed.unknown_meters == ("gas-new", "wat-new")


def test_a_meter_reported_by_another_gateway_is_refused():
    (rejection,) = parse(message(reading()), gateway="gw-2").rejections
    assert rejection.reason is RejectReason.METER_ON_WRONG_GATEWAY
    assert "belongs to gateway 'gw-1'" in rejection.detail


def test_a_reading_slightly_ahead_of_the_clock_is_tolerated():
    parsed = parse(message(reading(at="2026-01-06T12:05:00+00:00")))
    assert len(parsed.readings) == 1


def test_topics_name_the_gateway_and_channel():
    assert parse_topic("carewatch/v1/gateways/gw-1/readings", "carewatch/v1").gateway_id == "gw-1"  # type: ignore[union-attr]
    assert parse_topic("carewatch/v1/gateways/gw-1/status", "carewatch/v1").channel == "status"  # type: ignore[union-attr]
    for wrong in ("carewatch/v1/gateways/gw-1", "carewatch/v1/gateways/gw 1/readings", "other/gateways/gw-1/readings",
                  "carewatch/v1/gateways/gw-1/readings/extra", "carewatch/v1/gateways/gw-1\n/readings",
                  "carewatch/v1/gateways/gw-1\x00/readings", f"carewatch/v1/gateways/{'g' * 65}/status"):
        assert parse_topic(wrong, "carewatch/v1") is None, wrong


def test_status_payloads_are_checked():
    assert parse_status(b'{"state":"offline"}') == "offline"
    with pytest.raises(ValueError, match="online"):
        parse_status(b'{"state":"sleepy"}')
    with pytest.raises(ValueError, match="not JSON"):
        parse_status(b"offline")


def test_storable_text_escapes_what_a_database_refuses():
    assert storable_text("gas-1\x00\ud800 ok 煤气") == "gas-1\\x00\\ud800 ok 煤气"
    assert storable_text("x" * 300, limit=256) == "x" * 255 + "…"


def test_the_gateways_message_counter_is_optional_and_read_when_sent():
    assert parse(message(reading())).seq is None, "a v1 gateway sends no seq"
    parsed = parse(message(reading(), seq=42))
    assert parsed.seq == 42 and len(parsed.readings) == 1
    assert parse(message(reading(), seq=0)).seq == 0
    assert parse(message(reading(), seq=2**53 - 1)).seq == 2**53 - 1


@pytest.mark.parametrize(
    "seq, reason",
    [
        (-1, RejectReason.INVALID_VALUE),
        (2**53, RejectReason.INVALID_VALUE),
        (10**400, RejectReason.INVALID_VALUE),
        (1.5, RejectReason.SCHEMA_VIOLATION),
        (3.0, RejectReason.SCHEMA_VIOLATION),
        ("7", RejectReason.SCHEMA_VIOLATION),
        (True, RejectReason.SCHEMA_VIOLATION),
        ([1], RejectReason.SCHEMA_VIOLATION),
    ],
    ids=["negative", "beyond-2^53", "400-digits", "fraction", "float", "string", "boolean", "array"],
)
def test_a_bad_message_counter_refuses_the_message_and_names_it(seq, reason):
    # The stdlib writes integers of any size (orjson stops at 64 bits), as a hostile gateway might.
    payload = json.dumps({"v": 1, "seq": seq, "readings": [reading()]}).encode()
    refused = only_rejection(payload)
    assert refused.reason is reason and "'seq'" in refused.detail
