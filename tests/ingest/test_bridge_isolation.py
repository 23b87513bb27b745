"""The Kafka bridge keeps a message it fails on as that message's dead letter, and goes on with the others."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from carewatch.domain import RejectReason
from carewatch.registry import Registry
from carewatch.settings import Settings
from ingest.bridge import KafkaBridge
from ingest.subscriber import InboundMessage
from ingest.wire import DeadLetterRecord

DOCUMENT = {"version": 1, "households": [{"household_id": "hh-1", "gateway_id": "gw-1", "meters": [{"meter_id": "gas-1", "kind": "gas"}]}]}


class RegistryWithAFault(Registry):
    """A bug of ours on one meter's look-up."""

    def meter(self, meter_id):  # type: ignore[no-untyped-def]
        if meter_id == "gas-2":
            raise RuntimeError("look-up failed")
        return super().meter(meter_id)


def message(meter_id: str) -> InboundMessage:
    body = {"v": 1, "readings": [{"meter_id": meter_id, "at": "2026-01-05T08:00:00+08:00", "register_m3": 1.0}]}
    return InboundMessage("carewatch/v1/gateways/gw-1/readings", orjson.dumps(body), 1, 1, datetime(2026, 1, 5, tzinfo=UTC))


def test_a_fault_on_one_message_becomes_its_dead_letter_and_the_next_message_is_forwarded():
    registry = RegistryWithAFault(list(Registry.from_document(DOCUMENT).households.values()))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    bridge = KafkaBridge(settings=settings, registry=registry, producer=None, clock=lambda: datetime(2026, 1, 5, 1, tzinfo=UTC))  # type: ignore[arg-type]

    faulty = bridge.translate_isolated(message("gas-2"))
    good = bridge.translate_isolated(message("gas-1"))

    assert [r.topic for r in faulty] == [settings.kafka_topic_dead_letters]
    dead = DeadLetterRecord.decode(faulty[0].value)
    assert dead.reason is RejectReason.PROCESSING_ERROR and "look-up failed" in dead.detail
    assert [r.topic for r in good] == [settings.kafka_topic_readings]


def test_the_bridge_counts_each_record_by_what_it_says_of_its_reading():
    registry = Registry.from_document(DOCUMENT)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    bridge = KafkaBridge(settings=settings, registry=registry, producer=None, clock=lambda: datetime(2026, 1, 5, 1, tzinfo=UTC))  # type: ignore[arg-type]

    forwarded = bridge.translate(message("gas-1"))
    unknown = bridge.translate(message("gas-9"))
    garbage = bridge.translate(InboundMessage("carewatch/v1/gateways/gw-1/readings", b"{", 1, 1, datetime(2026, 1, 5, tzinfo=UTC)))

    assert [r.counted_as for r in forwarded] == [("forwarded", "", "contract")]
    assert [r.counted_as for r in unknown] == [("rejected", "unknown_meter", "contract")]
    assert [r.counted_as for r in garbage] == [("refused", "malformed_json", "contract")]
