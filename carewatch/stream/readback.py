"""Reading what the stream left on Kafka: the workers' table (from its changelog) and the dead letters.

For the demo's summary, operations and tests: it reads topics from the start up to
their current end, so it sees what every worker saved, whichever worker it was.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from carewatch.kafka import bootstrap_servers, kafka_url
from carewatch.settings import Settings
from carewatch.stream.records import HouseholdState
from carewatch.stream.tables import changelog_topic
from ingest.wire import DeadLetterRecord


async def read_topic(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every (key, value) now in ``topic``, partition by partition, in offset order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers(kafka_url(settings)), enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[tuple[bytes | None, bytes | None]] = []
        for tp in partitions:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                records += [(r.key, r.value) for r in batch.get(tp, ()) if r.offset < ends[tp]]
        return records
    finally:
        await consumer.stop()


async def household_states(settings: Settings) -> dict[str, HouseholdState]:
    """The newest saved state of every household (what a recovering worker would restore)."""
    latest: dict[str, bytes | None] = {}
    for key, value in await read_topic(settings, changelog_topic(settings)):
        if key is not None:
            latest[key.decode()] = value
    return {household: HouseholdState.loads(blob) for household, blob in latest.items() if blob}


async def dead_letters(settings: Settings) -> list[DeadLetterRecord]:
    return [DeadLetterRecord.decode(value) for _, value in await read_topic(settings, settings.kafka_topic_dead_letters) if value]
