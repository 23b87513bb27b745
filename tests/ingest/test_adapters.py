"""Each gateway adapter on its format's documented payloads: good, malformed, unknown device.

Tested through ``translate``, the one function both engines call, with the integrations of
docs/gateways.md; the examples come from that page and from the formats' own documentation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from carewatch.domain import RejectReason
from carewatch.integrations import Format, Integration, IntegrationsError, load_integrations
from carewatch.registry import Registry
from carewatch.settings import Settings
from ingest.adapters import onenet, subscriptions
from ingest.subscriber import InboundMessage
from ingest.translate import Translated, translate
from tests.ingest.gateway_docs import examples, fixture

NOW = datetime(2026, 1, 5, 8, 5, tzinfo=UTC)
EXAMPLES = examples()
TTN_TOPIC = "v3/carewatch-gas@ttn/devices/gas-meter-0042/up"
CHIRPSTACK_TOPIC = "application/0b5ea1f8-8c5f-4a0e-9d2b-5c1e0f6a7b3d/device/70b3d57ed0001234/event/up"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = tmp_path_factory.mktemp("integrations") / "integrations.toml"
    path.write_text(EXAMPLES["integrations"], encoding="utf-8")
    return Settings(_env_file=None, integrations_path=path)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.from_document(orjson.loads(EXAMPLES["households"]))


def on(topic: str, payload: bytes | str, settings: Settings, registry: Registry, now: datetime = NOW) -> Translated:
    body = payload.encode() if isinstance(payload, str) else payload
    return translate(InboundMessage(topic, body, 1, 1, now), registry, settings, now)


def contract(translated: Translated) -> list[tuple[str, str, float, float | None]]:
    return [(r.meter_id, r.at.isoformat(), r.register_m3, r.signal_dbm) for _, r in translated.readings]


def reasons(translated: Translated) -> list[RejectReason]:
    return [r.reason for r in translated.refusals]


def edited(example: str, **changes: object) -> bytes:
    document = orjson.loads(example)
    document.update(changes)
    return orjson.dumps(document)


# --- the documented examples become the readings the page says they become ---

def test_a_ttn_uplink_becomes_a_reading_in_m3_from_litres_with_its_strongest_signal(settings, registry):
    translated = on(TTN_TOPIC, EXAMPLES["ttn-uplink"], settings, registry)
    assert translated.gateway_id == "ttn-lijiang"
    assert contract(translated) == [("gas-0042", "2026-01-05T08:00:00.398765+00:00", 12.345, -97.0)]
    assert translated.refusals == ()
    assert [r.battery_pct for _, r in translated.readings] == [80.0], "3.48 V between 3.0 V empty and 3.6 V full"


def test_a_battery_value_that_is_no_percentage_is_left_out_and_the_reading_kept(settings, registry):
    for battery in ("low", None, True):
        uplink = orjson.loads(EXAMPLES["ttn-uplink"])
        uplink["uplink_message"]["decoded_payload"]["battery_v"] = battery
        translated = on(TTN_TOPIC, orjson.dumps(uplink), settings, registry)
        assert [r.battery_pct for _, r in translated.readings] == [None] and translated.refusals == ()


def test_a_chirpstack_up_event_becomes_a_reading_from_pulses(settings, registry):
    translated = on(CHIRPSTACK_TOPIC, EXAMPLES["chirpstack-up"], settings, registry)
    assert contract(translated) == [("water-0043", "2026-01-05T08:00:00.775023+00:00", 51.84, -88.0)]


def test_a_wmbusmeters_telegram_becomes_a_reading_of_total_m3(settings, registry):
    translated = on("wmbusmeters/76348799", EXAMPLES["wmbusmeters"], settings, registry)
    assert contract(translated) == [("water-0044", "2026-01-05T08:00:00+00:00", 6.408, None)]


def test_a_wmbusmeters_status_and_rssi_reach_the_reading_for_the_meter_health_rules(settings, registry):
    documented = on("wmbusmeters/76348799", EXAMPLES["wmbusmeters"], settings, registry)
    tampered = on("wmbusmeters/76348799", edited(EXAMPLES["wmbusmeters"], current_status="TAMPER LEAK", rssi_dbm=-93), settings, registry)
    only_status = on("wmbusmeters/76348799", edited(EXAMPLES["wmbusmeters"], current_status="", status="BURST"), settings, registry)
    long_words = "DRY REVERSED LEAK BURST ERROR_CODE_0042 TAMPER"  # longer than the contract's 32 characters
    crowded = on("wmbusmeters/76348799", edited(EXAMPLES["wmbusmeters"], current_status=long_words, rssi_dbm="strong"), settings, registry)

    [(_, plain)], [(_, flagged)], [(_, burst)], [(_, cut)] = (t.readings for t in (documented, tampered, only_status, crowded))
    assert (plain.status, plain.signal_dbm) == ("DRY", None)
    assert (flagged.status, flagged.signal_dbm) == ("TAMPER LEAK", -93.0)
    assert burst.status == "BURST"
    assert (cut.status, cut.signal_dbm) == ("leak tamper", None)  # the words carewatch acts on; a bad rssi is dropped
    assert all(t.refusals == () for t in (documented, tampered, only_status, crowded))


def test_a_onenet_data_point_becomes_a_reading(settings, registry):
    translated = on("carewatch/v1/push/onenet-gas", EXAMPLES["onenet-push"], settings, registry)
    assert contract(translated) == [("gas-0045", "2026-01-05T08:00:00+00:00", 1234.567, None)]


def test_a_ctwing_data_report_becomes_a_reading(settings, registry):
    translated = on("carewatch/v1/push/ctwing-water", EXAMPLES["ctwing-push"], settings, registry)
    assert contract(translated) == [("water-0046", "2026-01-05T08:00:00+00:00", 56.25, None)]


def test_the_documented_onenet_signatures_are_the_documented_tokens(settings):
    token = next(i.push_token for i in settings.integrations if i.name == "onenet-gas")
    assert onenet.body_is_signed(str(token), orjson.loads(EXAMPLES["onenet-push"]))
    assert onenet.signature_matches(str(token), "q8Zk3vLm", "hello-onenet", "FkLjch1W4NUWE0niNPgRLQ==")
    assert "signature=FkLjch1W4NUWE0niNPgRLQ%3D%3D" in EXAMPLES["onenet-url-check"]


def test_the_subscriber_adds_every_mqtt_integrations_topic_and_the_push_topics(settings):
    assert subscriptions(settings.integrations, "carewatch/v1") == (
        "v3/carewatch-gas@ttn/devices/+/up",
        "application/0b5ea1f8-8c5f-4a0e-9d2b-5c1e0f6a7b3d/device/+/event/up",
        "wmbusmeters/#",
        "carewatch/v1/push/onenet-gas",
        "carewatch/v1/push/ctwing-water",
    )


# --- the formats' own documentation examples ---

def test_the_ttn_documentation_uplink_is_refused_naming_the_missing_register_field(settings, registry):
    translated = on("v3/carewatch-gas@ttn/devices/my-dev-id/up", fixture("ttn_v3_uplink.json"), settings, registry)
    assert reasons(translated) == [RejectReason.SCHEMA_VIOLATION]
    assert "missing field 'volume_l'" in translated.refusals[0].detail
    assert "ttn-lijiang" in translated.refusals[0].detail


def test_the_ttn_documentation_uplink_with_a_register_is_refused_for_its_1970_time(settings, registry):
    uplink = orjson.loads(fixture("ttn_v3_uplink.json"))
    uplink["uplink_message"]["decoded_payload"]["volume_l"] = 100
    translated = on("v3/carewatch-gas@ttn/devices/my-dev-id/up", orjson.dumps(uplink), settings, registry)
    assert reasons(translated) == [RejectReason.TIMESTAMP_IMPLAUSIBLE]


def test_the_chirpstack_documentation_event_without_a_codec_is_refused_naming_object(settings, registry):
    translated = on("application/0b5ea1f8-8c5f-4a0e-9d2b-5c1e0f6a7b3d/device/0101010101010101/event/up",
                    fixture("chirpstack_v4_up.json"), settings, registry)
    assert reasons(translated) == [RejectReason.SCHEMA_VIOLATION]
    assert "missing field 'object'" in translated.refusals[0].detail


def test_the_chirpstack_documentation_event_with_a_codec_reads_its_nanosecond_time_to_the_microsecond(settings, registry):
    event = orjson.loads(fixture("chirpstack_v4_up.json"))
    event["object"] = {"pulses": 100}
    translated = on(CHIRPSTACK_TOPIC, orjson.dumps(event), settings, registry, now=datetime(2022, 7, 18, 10, tzinfo=UTC))
    assert translated.unknown_meters == ("0101010101010101",)  # the documentation's device is not one of ours
    event["deviceInfo"]["devEui"] = "70b3d57ed0001234"
    translated = on(CHIRPSTACK_TOPIC, orjson.dumps(event), settings, registry, now=datetime(2022, 7, 18, 10, tzinfo=UTC))
    assert contract(translated) == [("water-0043", "2022-07-18T09:34:15.775023+00:00", 1.0, -36.0)]


def test_the_wmbusmeters_documentation_telegram_is_refused_for_its_placeholder_time(settings, registry):
    translated = on("wmbusmeters/76348799", fixture("wmbusmeters_multical21.json"), settings, registry)
    assert reasons(translated) == [RejectReason.TIMESTAMP_IMPLAUSIBLE]
    assert translated.refusals[0].meter_id == "water-0044"


def test_the_onenet_fixture_is_signed_and_its_unmapped_device_is_listed_for_provisioning(settings, registry):
    fixture_body = fixture("onenet_push_datapoint.json")
    assert onenet.body_is_signed("onenet-fixture-token", orjson.loads(fixture_body))
    translated = on("carewatch/v1/push/onenet-gas", fixture_body, settings, registry, now=datetime(2016, 6, 17, 4, tzinfo=UTC))
    assert reasons(translated) == [RejectReason.UNKNOWN_METER]
    assert translated.unknown_meters == ("2016617",)


def test_a_ctwing_report_with_only_raw_appdata_is_refused_naming_the_register_path(settings, registry):
    translated = on("carewatch/v1/push/ctwing-water", fixture("ctwing_push_datareport.json"), settings, registry)
    assert reasons(translated) == [RejectReason.SCHEMA_VIOLATION]
    assert "serviceData.cumulative_flow" in translated.refusals[0].detail


# --- malformed and unknown ---

@pytest.mark.parametrize("topic", [TTN_TOPIC, CHIRPSTACK_TOPIC, "wmbusmeters/x", "carewatch/v1/push/onenet-gas", "carewatch/v1/push/ctwing-water"])
def test_a_payload_that_is_not_json_is_a_malformed_json_dead_letter_of_the_integration(topic, settings, registry):
    translated = on(topic, b"{not json", settings, registry)
    assert reasons(translated) == [RejectReason.MALFORMED_JSON]
    assert translated.gateway_id is not None and translated.readings == ()


@pytest.mark.parametrize("topic, example", [(TTN_TOPIC, "ttn-uplink"), (CHIRPSTACK_TOPIC, "chirpstack-up"), ("wmbusmeters/1", "wmbusmeters")])
def test_an_unmapped_device_is_listed_for_provisioning_under_its_device_id(topic, example, settings, registry):
    document = orjson.loads(EXAMPLES[example])
    if example == "ttn-uplink":
        document["end_device_ids"]["device_id"] = "eui-70b3d57ed005ffff"
    elif example == "chirpstack-up":
        document["deviceInfo"]["devEui"] = "70b3d57ed005ffff"
    else:
        document["id"] = "70b3d57ed005ffff"
    translated = on(topic, orjson.dumps(document), settings, registry)
    assert reasons(translated) == [RejectReason.UNKNOWN_METER]
    assert translated.unknown_meters in (("eui-70b3d57ed005ffff",), ("70b3d57ed005ffff",))


def test_a_ttn_uplink_without_a_payload_formatter_names_decoded_payload(settings, registry):
    uplink = orjson.loads(EXAMPLES["ttn-uplink"])
    del uplink["uplink_message"]["decoded_payload"]
    translated = on(TTN_TOPIC, orjson.dumps(uplink), settings, registry)
    assert "missing field 'uplink_message.decoded_payload'" in translated.refusals[0].detail


def test_a_register_that_is_not_a_number_is_a_schema_violation(settings, registry):
    translated = on("wmbusmeters/1", edited(EXAMPLES["wmbusmeters"], total_m3="six"), settings, registry)
    assert reasons(translated) == [RejectReason.SCHEMA_VIOLATION]
    assert "'total_m3'" in translated.refusals[0].detail


def test_a_negative_register_is_refused_by_the_contracts_own_range_check(settings, registry):
    translated = on("wmbusmeters/1", edited(EXAMPLES["wmbusmeters"], total_m3=-1.5), settings, registry)
    assert reasons(translated) == [RejectReason.INVALID_VALUE]


def test_a_foreign_time_ahead_of_the_clock_is_refused_as_in_the_contract(settings, registry):
    translated = on("wmbusmeters/1", edited(EXAMPLES["wmbusmeters"], timestamp="2026-01-06T08:00:00Z"), settings, registry)
    assert reasons(translated) == [RejectReason.TIMESTAMP_IN_FUTURE]


def test_onenet_online_messages_and_other_streams_hold_no_reading_and_no_refusal(settings, registry):
    body = {"msg": [{"type": 2, "dev_id": 523698741, "status": 1, "login_type": 10, "at": 1767600000000},
                    {"type": 1, "dev_id": 523698741, "ds_id": "battery", "at": 1767600000000, "value": 87}], "nonce": "n", "msg_signature": "s"}
    translated = on("carewatch/v1/push/onenet-gas", orjson.dumps(body), settings, registry)
    assert translated.readings == () and translated.refusals == ()


def test_one_bad_data_point_in_a_onenet_batch_costs_only_itself(settings, registry):
    good = {"type": 1, "dev_id": 523698741, "ds_id": "volume", "at": 1767600000000, "value": 1234.567}
    bad = {**good, "at": "yesterday"}
    translated = on("carewatch/v1/push/onenet-gas", orjson.dumps({"msg": [bad, good]}), settings, registry)
    assert contract(translated) == [("gas-0045", "2026-01-05T08:00:00+00:00", 1234.567, None)]
    assert [(r.reason, r.index) for r in translated.refusals] == [(RejectReason.SCHEMA_VIOLATION, 0)]
    assert translated.readings_seen == 2


def test_ctwing_messages_other_than_data_reports_hold_no_reading(settings, registry):
    report = edited(EXAMPLES["ctwing-push"], messageType="deviceOnlineOfflineReport")
    translated = on("carewatch/v1/push/ctwing-water", report, settings, registry)
    assert translated.readings == () and translated.refusals == ()


def test_a_meter_of_a_household_on_another_gateway_is_refused_as_on_the_wrong_gateway(settings, registry):
    on_onenet_only = Registry.from_document({"version": 1, "households": [
        {"household_id": "hh-0042", "gateway_id": "onenet-gas", "meters": [{"meter_id": "gas-0042", "kind": "gas"}]}]})
    translated = on(TTN_TOPIC, EXAMPLES["ttn-uplink"], settings, on_onenet_only)
    assert reasons(translated) == [RejectReason.METER_ON_WRONG_GATEWAY]


def test_contract_topics_are_not_taken_by_integrations(settings, registry):
    body = orjson.dumps({"v": 1, "readings": [{"meter_id": "gas-0042", "at": "2026-01-05T08:00:00+08:00", "register_m3": 1.0}]})
    translated = on("carewatch/v1/gateways/gw-1/readings", body, settings, registry)
    assert translated.gateway_id == "gw-1" and len(translated.readings) == 1


# --- the integrations file ---

@pytest.mark.parametrize("entry, complaint", [
    ('name = "a"\nformat = "ttn_v3"\nregister_field = "v"', "needs the MQTT 'topic'"),
    ('name = "a"\nformat = "onenet"\nregister_field = "v"', "needs a 'push_token'"),
    ('name = "a"\nformat = "onenet"\nregister_field = "v"\npush_token = "0123456789abcdef"\ntopic = "x"', "remove 'topic'"),
    ('name = "a"\nformat = "ttn_v3"\ntopic = "t"', "needs 'register_field'"),
    ('name = "a"\nformat = "wmbusmeters"\ntopic = "t"\nunit = "pulses"', "'pulse_m3'"),
    ('name = "a b"\nformat = "wmbusmeters"\ntopic = "t"', "integration.0.name"),
    ('name = "a"\nformat = "wmbusmeters"\ntopic = "t"\nbattery_volts = [3.6, 3.0]\nbattery_field = "b"', "0 < empty < full"),
    ('name = "a"\nformat = "wmbusmeters"\ntopic = "t"\nbattery_volts = [3.0, 3.6]', "needs 'battery_field'"),
])
def test_a_wrong_integration_is_refused_when_the_file_is_read_naming_the_problem(entry, complaint, tmp_path: Path):
    path = tmp_path / "integrations.toml"
    path.write_text(f"[[integration]]\n{entry}\n", encoding="utf-8")
    with pytest.raises(IntegrationsError, match="invalid integrations file") as raised:
        load_integrations(path)
    assert complaint in str(raised.value)


def test_two_integrations_of_one_name_are_refused(tmp_path: Path):
    path = tmp_path / "integrations.toml"
    path.write_text('[[integration]]\nname = "a"\nformat = "wmbusmeters"\ntopic = "t"\n' * 2, encoding="utf-8")
    with pytest.raises(IntegrationsError, match="'a' listed twice|a listed twice"):
        load_integrations(path)


def test_the_push_formats_are_the_ones_that_arrive_by_http():
    assert {f for f in Format if f.is_push} == {Format.ONENET, Format.CTWING}
    assert Integration(name="p", format=Format.ONENET, register_field="v", push_token="x" * 16).mqtt_topic("cw") == "cw/push/p"
