"""When a household's count of readings is off, say where: from the topics themselves.

Each changelog record of a household holds its count of accepted readings and the offset of
the newest readings-topic record applied.  Between two consecutive records the count must
grow by the household's readings in that range of offsets; a record that grows by less was
judged on older state than the previous record (a stale table), and readings after the last
record's offset were never judged.
"""

from __future__ import annotations

from carewatch.kafka import bootstrap_servers, changelog_topic, kafka_url, read_range
from carewatch.settings import Settings
from carewatch.runners.state import loads
from ingest.wire import DeadLetterRecord


async def _records(settings: Settings, topic: str, key: bytes) -> list[tuple[int, int, bytes]]:
    """(partition, offset, value) of every record of ``topic`` with this key."""
    servers = bootstrap_servers(kafka_url(settings))
    return [
        (partition, record.offset, record.value)
        for partition in range(settings.kafka_partitions)
        for record in await read_range(servers, topic, partition)
        if record.key == key
    ]


async def count_story(settings: Settings, household_id: str) -> str:
    key = household_id.encode()
    readings = [offset for _, offset, _ in await _records(settings, settings.kafka_topic_readings, key)]
    saves = await _records(settings, changelog_topic(settings), key)
    lines = [f"{household_id}: {len(readings)} readings on Kafka, {len(saves)} saves in the changelog"]
    previous_count, previous_offset = 0, -1
    for partition, changelog_offset, blob in saves:
        if not blob:
            continue
        state = loads(blob)
        expected = sum(1 for o in readings if previous_offset < o <= state.offset)
        grown = state.readings_accepted - previous_count
        if grown != expected and state.offset != previous_offset:
            lines.append(
                f"  changelog[{partition}]@{changelog_offset}: count {previous_count}→{state.readings_accepted} "
                f"(+{grown}) for readings offsets ({previous_offset}, {state.offset}] holding {expected} "
                f"(duplicates so far {state.readings_duplicate})"
            )
        previous_count, previous_offset = state.readings_accepted, state.offset
    for _, offset, blob in await _records(settings, settings.kafka_topic_dead_letters, key):
        record = DeadLetterRecord.decode(blob)
        lines.append(f"  dead letter @{offset}: {record.source} {record.reason.value}: {record.detail}")
    unjudged = [o for o in readings if o > previous_offset]
    if unjudged:
        lines.append(f"  never judged: readings at offsets {unjudged[:10]}{'…' if len(unjudged) > 10 else ''}")
    return "\n".join(lines)


async def count_mismatches(settings: Settings, counted: dict[str, int], expected: dict[str, int]) -> str:
    """'' when the counts agree; otherwise the story of each household that is off."""
    off = sorted(h for h in set(counted) | set(expected) if counted.get(h) != expected.get(h))
    stories = [f"{h}: counted {counted.get(h)} of {expected.get(h)}\n{await count_story(settings, h)}" for h in off[:5]]
    return "\n".join(stories)
