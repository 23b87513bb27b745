"""docs/asyncapi.yaml is a valid AsyncAPI 3 document, and its payload schemas take what gateways send.

The AsyncAPI 3.0.0 JSON Schema is vendored from the @asyncapi/specs npm package (6.11.1,
tests/data/asyncapi/, Apache-2.0 with its LICENSE): the test needs no network.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker

from gateway_sim import SimConfig, Simulation

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
ASYNCAPI_3 = orjson.loads((Path(__file__).parent / "data" / "asyncapi" / "3.0.0.json").read_bytes())


def payload_schema(message: str) -> Draft7Validator:
    schema = DOCUMENT["components"]["schemas"][f"{message}Payload"]
    return Draft7Validator(schema, format_checker=FormatChecker())


def test_the_document_is_valid_asyncapi_3():
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft7Validator(ASYNCAPI_3).iter_errors(DOCUMENT)]
    assert errors == []


def test_the_vendored_schema_refuses_a_broken_document():
    """The check has teeth: AsyncAPI 2's operation word is no AsyncAPI 3 document."""
    broken = orjson.loads(orjson.dumps(DOCUMENT))
    broken["operations"]["publishReadings"]["action"] = "publish"  # AsyncAPI 2's word, gone in 3
    assert not Draft7Validator(ASYNCAPI_3).is_valid(broken)


def test_the_channels_are_the_contracts_topics():
    addresses = {name: channel["address"] for name, channel in DOCUMENT["channels"].items()}
    assert addresses == {
        "readings": "carewatch/v1/gateways/{gateway_id}/readings",
        "status": "carewatch/v1/gateways/{gateway_id}/status",
    }


def test_every_message_the_simulator_publishes_fits_its_payload_schema():
    messages = list(Simulation(SimConfig(households=4, days=1.0, seed=5)).messages())
    assert {m.kind for m in messages} == {"readings", "status"}
    validators = {"readings": payload_schema("readings"), "status": payload_schema("status")}
    for message in messages:
        errors = [e.message for e in validators[message.kind].iter_errors(orjson.loads(message.payload))]
        assert errors == [], (message.topic, message.payload[:200])
    assert any(b'"seq"' in m.payload for m in messages if m.kind == "readings")  # v1.1's field is covered


@pytest.mark.parametrize(
    "payload",
    [
        {"readings": [{"meter_id": "gas-1", "at": "2026-01-05T07:45:00+08:00", "register_m3": 1.0}]},  # no v
        {"v": 2, "readings": [{"meter_id": "gas-1", "at": "2026-01-05T07:45:00+08:00", "register_m3": 1.0}]},
        {"v": 1, "seq": -1, "readings": [{"meter_id": "gas-1", "at": "2026-01-05T07:45:00+08:00", "register_m3": 1.0}]},
        {"v": 1, "seq": 2**53, "readings": [{"meter_id": "gas-1", "at": "2026-01-05T07:45:00+08:00", "register_m3": 1.0}]},
        {"v": 1, "readings": []},
        {"v": 1, "readings": [{"meter_id": "-gas", "at": "2026-01-05T07:45:00+08:00", "register_m3": 1.0}]},
        {"v": 1, "readings": [{"meter_id": "gas-1", "at": "2026-01-05T07:45:00+08:00", "register_m3": -1}]},
        {"v": 1, "readings": [{"meter_id": "gas-1", "register_m3": 1.0}]},
    ],
)
def test_the_readings_schema_refuses_what_the_contract_refuses(payload):
    assert not payload_schema("readings").is_valid(payload)
