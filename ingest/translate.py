"""One MQTT message → what it means to carewatch: accepted readings, refusals, or a gateway's status.

Both engines call `translate`: the embedded runner judges the readings and stores the refusals
as dead letters in its batch's transaction; the Kafka bridge sends the readings to the readings
topic and the refusals to the dead-letter topic.  So a change to the MQTT contract is made here,
once, and both engines take the same message the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from carewatch.domain import GatewayState, Reading, RejectReason
from carewatch.integrations import Integration
from carewatch.registry import Registry
from carewatch.settings import Settings
from ingest.adapters import adapter_for, integration_for
from ingest.payload import CONTRACT_VERSION, Limits, Rejection, parse_readings, parse_status, parse_topic
from ingest.subscriber import InboundMessage


@dataclass(frozen=True, slots=True)
class Translated:
    """What one MQTT message holds, validated against the contract and the registry."""

    gateway_id: str | None
    """From the topic; None when the topic is not a gateway's."""
    readings: tuple[tuple[int, Reading], ...] = ()
    """Accepted readings with their position in the message."""
    refusals: tuple[Rejection, ...] = ()
    """The whole message (index None) or single readings, each with its reason: dead letters."""
    unknown_meters: tuple[str, ...] = ()
    """Meters the registry does not know (listed for provisioning; their readings are refused)."""
    status: str | None = None
    """A status message's state ("online" / "offline"); None for readings."""
    seq: int | None = None
    """The gateway's message counter, when its readings message carries one (contract v1.1: gap counting)."""
    payload_format: str = "contract"
    """How the payload was written: carewatch's contract, or the integration's format its adapter read."""

    def gateway_state(self, received_at: datetime) -> GatewayState | None:
        """A status message as the detectors' event (None for readings), timed when it was received: the
        runner tells it to each household of the gateway at its own clock (`carewatch.runners.engine.gateway_heard`)."""
        if self.status is None or self.gateway_id is None:
            return None
        return GatewayState(self.gateway_id, self.status == "online", received_at)

    @property
    def readings_seen(self) -> int:
        """Readings the message carried, accepted or refused one by one (a message refused whole holds none)."""
        return len(self.readings) + sum(r.index is not None for r in self.refusals)


def translate(message: InboundMessage, registry: Registry, settings: Settings, now: datetime) -> Translated:
    """Validate one message; never raises for what a gateway sent (every problem is a refusal).

    A message on an integration's topic goes through its adapter first (ingest/adapters)."""
    integration = integration_for(message.topic, settings.integrations, settings.mqtt_topic_prefix)
    if integration is not None:
        return _translate_foreign(integration, message, registry, settings, now)
    topic = parse_topic(message.topic, settings.mqtt_topic_prefix)
    gateway_id = topic.gateway_id if topic else None
    if topic is not None and topic.channel == "status":
        try:
            return Translated(gateway_id, status=parse_status(message.payload))
        except ValueError as exc:
            return Translated(gateway_id, refusals=(Rejection(RejectReason.SCHEMA_VIOLATION, str(exc)),))
    parsed = parse_readings(gateway_id, message.payload, registry, now, Limits.from_settings(settings))
    return Translated(
        gateway_id, tuple(parsed.readings), tuple(parsed.rejections), tuple(parsed.unknown_meters), seq=parsed.seq
    )


def _translate_foreign(
    integration: Integration, message: InboundMessage, registry: Registry, settings: Settings, now: datetime
) -> Translated:
    """The adapter's contract readings, validated as a contract v1 message from the integration's gateway id."""
    limits = Limits.from_settings(settings)
    if len(message.payload) > limits.max_payload_bytes:
        detail = f"payload is {len(message.payload)} bytes; the limit is {limits.max_payload_bytes}"
        return Translated(
            integration.name, refusals=(Rejection(RejectReason.OVERSIZED_PAYLOAD, detail),), payload_format=integration.format
        )
    adapted = adapter_for(integration)(message.topic, message.payload, now)
    if not adapted.readings:
        return Translated(integration.name, refusals=adapted.refusals, payload_format=integration.format)
    contract = orjson.dumps({"v": CONTRACT_VERSION, "readings": list(adapted.readings)})
    parsed = parse_readings(integration.name, contract, registry, now, limits)
    return Translated(
        integration.name, parsed.readings, adapted.refusals + parsed.rejections, parsed.unknown_meters,
        payload_format=integration.format,
    )
