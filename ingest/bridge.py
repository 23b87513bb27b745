"""`carewatch ingest`: the MQTT → Kafka bridge of the scaled-out deployment.

Per batch of MQTT messages: validate (MQTT contract v1), send the readings to the
readings topic, one record per household per message (an upload: `ingest.wire.encode_upload`)
keyed by household, and the refusals to the dead-letter topic with their reason, wait until
Kafka acknowledged every record (acks=all), and only then acknowledge the MQTT messages.
A gateway's status goes to the gateway-status topic (keyed by gateway) and, for the detectors,
to the readings topic once per household registered to the gateway, keyed by the household
(`ingest.wire.encode_gateway_status`): its monitor hears it in order with its readings.
A crash before that makes the MQTT broker deliver them again (persistent session); a reading
sent twice is recognised as a duplicate by the worker's detectors, so nothing is lost and
nothing is counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from carewatch import metrics
from carewatch.clock import wall_clock
from carewatch.domain import Reading, RejectReason
from carewatch.kafka import Topics, bootstrap_servers, ensure_topics, kafka_url
from carewatch.registry import Registry
from carewatch.retrying import until_it_works
from carewatch.settings import Settings
from ingest.adapters import subscriptions
from ingest.payload import Rejection
from ingest.subscriber import BrokerAddress, InboundMessage, MqttSubscriber
from ingest.translate import translate
from ingest.wire import DeadLetterRecord, GatewayStatusRecord, encode_gateway_status, encode_upload

log = logging.getLogger(__name__)

MAX_BATCH = 500



@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: bytes
    value: bytes
    readings: int = 0
    """MQTT readings this record accounts for: those of an upload, 1 for a refused reading, else 0."""
    counted_as: tuple[str, str, str] | None = None
    """(outcome, reason, payload format) in the metrics once Kafka took it: "forwarded" or "rejected" for a
    reading, "refused" for a message refused whole; None for a gateway status."""


class KafkaBridge:
    def __init__(
        self,
        *,
        settings: Settings,
        registry: Registry,
        producer: AIOKafkaProducer,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.producer = producer
        self.clock = clock
        self.topics = Topics.from_settings(settings)
        self.messages_forwarded = 0
        self.readings_seen = 0
        """Readings taken from MQTT messages, accepted or refused (whole-message refusals hold none)."""
        self.readings_sent = 0
        self.records_sent = 0
        """Uploads on the readings topic: one per household per MQTT message (a gateway's status records not counted)."""
        self.dead_letters_sent = 0

    async def run(self, subscriber: MqttSubscriber) -> None:
        """Forward until cancelled."""
        while True:
            batch = await subscriber.next_batch(MAX_BATCH)
            outgoing = [record for message in batch for record in self.translate_isolated(message)]
            await self._send_all(outgoing)
            for message in batch:
                subscriber.ack(message)
            if batch:
                oldest = min(message.received_at for message in batch)
                metrics.INGEST_LAG.observe((datetime.now(UTC) - oldest).total_seconds())
            self.messages_forwarded += len(batch)

    def translate_isolated(self, message: InboundMessage) -> list[Outgoing]:
        """`translate`, with a fault of ours on one message kept as that message's dead letter alone."""
        try:
            return self.translate(message)
        except Exception as exc:
            log.exception("could not translate a message on %r", message.topic)
            return [self._dead_letter(message, None, Rejection(RejectReason.PROCESSING_ERROR, f"bridge error: {exc!r}"), "unknown")]

    def translate(self, message: InboundMessage) -> list[Outgoing]:
        """The Kafka records one MQTT message becomes."""
        translated = translate(message, self.registry, self.settings, self.clock())
        gateway_id = translated.gateway_id
        status = translated.gateway_state(message.received_at)
        if status is not None:
            record = GatewayStatusRecord(status.gateway_id, status.state, message.received_at)
            return [Outgoing(self.topics.gateway_status, status.gateway_id.encode(), record.encode())] + [
                Outgoing(self.topics.readings, household_id.encode(), encode_gateway_status(household_id, status))
                for household_id in self.registry.households_on(status.gateway_id)
            ]
        records = [self._dead_letter(message, gateway_id, r, translated.payload_format) for r in translated.refusals]
        forwarded = ("forwarded", metrics.NO_REASON, translated.payload_format)
        uploads: dict[str, list[Reading]] = {}
        for _, reading in translated.readings:  # in the message's order, one upload per household
            uploads.setdefault(reading.household_id, []).append(reading)
        records += [
            Outgoing(self.topics.readings, household_id.encode(), encode_upload(household_id, gateway_id, readings),
                     len(readings), forwarded)
            for household_id, readings in uploads.items()
        ]
        return records

    def _dead_letter(self, message: InboundMessage, gateway_id: str | None, refusal: Rejection, payload_format: str) -> Outgoing:
        """The dead-letter record of a refused message (index None) or of one refused reading in it."""
        record = DeadLetterRecord(
            message.received_at, "bridge", message.topic, refusal.reason, refusal.detail, message.payload,
            gateway_id, refusal.meter_id, refusal.index,
        )
        one_reading = refusal.index is not None
        counted_as = ("rejected" if one_reading else "refused", str(refusal.reason), payload_format)
        return Outgoing(self.topics.dead_letters, (gateway_id or "unknown-gateway").encode(), record.encode(), int(one_reading), counted_as)

    async def _send_all(self, outgoing: Sequence[Outgoing]) -> None:
        """Send every record and wait for Kafka's acknowledgements; retry the lot until it is taken.

        A retry may write some records twice: the worker's detectors treat a repeated
        reading as a duplicate, and a repeated dead letter is only a repeated report.
        """

        async def send() -> None:
            pending = [await self.producer.send(r.topic, r.value, key=r.key) for r in outgoing]
            await asyncio.gather(*pending)

        def refused(error: BaseException, wait: float) -> None:
            log.error("Kafka did not take %d records; retrying in %.1f s", len(outgoing), wait, exc_info=error)

        await until_it_works(send, refused)
        self.readings_seen += sum(r.readings for r in outgoing)
        self.readings_sent += sum(r.readings for r in outgoing if r.topic == self.topics.readings)
        self.records_sent += sum(r.topic == self.topics.readings and r.readings > 0 for r in outgoing)
        self.dead_letters_sent += sum(r.topic == self.topics.dead_letters for r in outgoing)
        counted: Counter[tuple[str, str, str]] = Counter()
        for r in outgoing:
            if r.counted_as is not None:  # readings for a reading's outcome, messages for a message refused whole
                counted[r.counted_as] += 1 if r.counted_as[0] == "refused" else r.readings
        metrics.count_readings({key: n for key, n in counted.items() if key[0] != "refused"})
        metrics.count_refused_messages({(reason, fmt): n for (outcome, reason, fmt), n in counted.items() if outcome == "refused"})


@asynccontextmanager
async def running_bridge(
    settings: Settings, registry: Registry, broker: BrokerAddress, client_id: str | None = None
) -> AsyncIterator[tuple[KafkaBridge, asyncio.Task[None]]]:
    """A started bridge: Kafka producer, persistent MQTT session, forwarding task."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers(kafka_url(settings)),
        acks="all",
        linger_ms=5,
        max_batch_size=settings.kafka_producer_batch_bytes,
        request_timeout_ms=30_000,
    )
    await producer.start()
    bridge = KafkaBridge(settings=settings, registry=registry, producer=producer)
    # MQTT 5 session expiry needs a v5 broker; the embedded amqtt speaks 3.1.1 only (expiry None there).
    expiry = int(settings.mqtt_session_expiry.total_seconds()) if settings.mqtt_session_expiry else None
    subscriber = MqttSubscriber(
        broker, client_id or settings.mqtt_client_id, settings.mqtt_topic_prefix, session_expiry_s=expiry,
        extra_topics=subscriptions(settings.integrations, settings.mqtt_topic_prefix),
        keepalive_s=int(settings.mqtt_keepalive.total_seconds()),
    )
    try:
        await subscriber.start()
        forwarding = asyncio.create_task(bridge.run(subscriber), name="carewatch-bridge")
        try:
            yield bridge, forwarding
        finally:
            forwarding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forwarding
            await subscriber.stop()
    finally:
        await producer.stop()


async def run_bridge(settings: Settings, registry: Registry) -> None:
    """`carewatch ingest`: forward until cancelled or until forwarding fails."""
    assert settings.mqtt_url, "checked by the CLI"
    await ensure_topics(settings)
    async with running_bridge(settings, registry, BrokerAddress.from_url(settings.mqtt_url)) as (bridge, forwarding):
        log.warning("bridging %s → %s (%d households)", settings.mqtt_url, settings.kafka_url, len(registry))
        await forwarding
