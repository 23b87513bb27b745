"""Reading what the stream left on Kafka: the workers' table (from its changelog) and the dead letters.

For the demo's summary, operations and tests: it reads topics from the start up to
their current end, so it sees what every worker saved, whichever worker it was.
"""

from __future__ import annotations

from carewatch.kafka import bootstrap_servers, changelog_topic, kafka_url, read_range
from carewatch.settings import Settings
from carewatch.runners.faust.records import is_household_key
from carewatch.runners.state import HouseholdState, loads
from ingest.wire import DeadLetterRecord


async def read_topic(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every (key, value) now in ``topic``, partition by partition, in offset order (carewatch's
    topics all have ``kafka_partitions`` partitions: `ensure_topics` refuses others)."""
    servers = bootstrap_servers(kafka_url(settings))
    return [(r.key, r.value) for p in range(settings.kafka_partitions) for r in await read_range(servers, topic, p)]


async def household_states(settings: Settings) -> dict[str, HouseholdState]:
    """The newest saved state of every household (what a recovering worker would restore)."""
    latest: dict[str, bytes | None] = {}
    for key, value in await read_topic(settings, changelog_topic(settings)):
        if key is not None and is_household_key(key):
            latest[key.decode()] = value
    return {household: loads(blob) for household, blob in latest.items() if blob}


async def dead_letters(settings: Settings) -> list[DeadLetterRecord]:
    return [DeadLetterRecord.decode(value) for _, value in await read_topic(settings, settings.kafka_topic_dead_letters) if value]
