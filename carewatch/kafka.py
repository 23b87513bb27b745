"""Kafka plumbing shared by the bridge, the Faust workers and the alert service.

Only the Kafka protocol is assumed: any cluster (or a Kafka-compatible broker) at
``CAREWATCH_KAFKA_URL`` works unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from carewatch.retrying import until_it_works
from carewatch.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class KafkaUnavailable(ConnectionError):
    """The Kafka cluster cannot be reached or refuses what carewatch needs; the message says which."""


def bootstrap_servers(url: str) -> str:
    """``kafka://h1:9092,h2:9092`` (or ``h1:9092,...``) → ``h1:9092,h2:9092``.

    >>> bootstrap_servers("kafka://127.0.0.1:9092,10.0.0.2:9093")
    '127.0.0.1:9092,10.0.0.2:9093'
    """
    hosts = []
    for part in url.split(","):
        part = part.strip()
        parsed = urlsplit(part if "://" in part else f"kafka://{part}")
        if parsed.scheme not in ("kafka", "tcp") or not parsed.hostname:
            raise ValueError(f"Kafka URL {url!r} must look like kafka://host:port[,host:port...]")
        hosts.append(f"{parsed.hostname}:{parsed.port or 9092}")
    return ",".join(hosts)


def faust_broker(url: str) -> str:
    """The same servers in Faust's notation (``kafka://h1:9092;kafka://h2:9092``)."""
    return ";".join(f"kafka://{host}" for host in bootstrap_servers(url).split(","))


def partition_of(key: str, partitions: int) -> int:
    """The partition the Kafka default partitioner (murmur2, as in the Java client) gives a key.

    The bridge keys readings by household, so this is where a household's readings
    and its detector state live; the absence sweep uses it for households that
    have not reported yet.

    >>> partition_of("hh-0001", 8) == partition_of("hh-0001", 8)
    True
    """
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True, slots=True)
class Topics:
    readings: str
    detections: str
    dead_letters: str
    gateway_status: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Topics:
        return cls(
            settings.kafka_topic_readings,
            settings.kafka_topic_detections,
            settings.kafka_topic_dead_letters,
            settings.kafka_topic_gateway_status,
        )

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.readings, self.detections, self.dead_letters, self.gateway_status))


STATE_TABLE = "household-state"
"""The workers' Faust table of household states."""


def changelog_topic(settings: Settings) -> str:
    """The state table's changelog topic, as Faust names it."""
    return f"{settings.stream_app_id}-{STATE_TABLE}-changelog"


def summaries_topic(settings: Settings) -> str:
    """The workers' household summaries (reading counts and learned routine), compacted: the newest per household."""
    return f"{settings.stream_app_id}-household-summaries"


def answers_topic(settings: Settings) -> str:
    """What people said that the workers' monitors must hear (the elders' answers to check-ins, the outcomes
    that teach), published by the alert service keyed by household: co-partitioned with the readings topic
    (same partition count, same key), so the worker that holds a household's state consumes it."""
    return f"{settings.stream_app_id}-answers"


def kafka_url(settings: Settings) -> str:
    if not settings.kafka_url:
        raise KafkaUnavailable("CAREWATCH_KAFKA_URL is not set (e.g. kafka://localhost:9092)")
    return settings.kafka_url


async def ensure_topics(settings: Settings, timeout: float = 30.0) -> None:
    """Create carewatch's topics if missing; refuse existing ones with another partition count.

    The partition count fixes where each household's readings and state live, so it
    must match ``CAREWATCH_KAFKA_PARTITIONS`` everywhere (the answers topic is co-partitioned with the
    readings: Faust gives a worker the same partitions of both).  The workers' changelog (compacted,
    as Faust would make it) and their summaries topic (compacted too) are made here, so the
    alert service can follow the summaries before any worker ran.
    """
    servers = bootstrap_servers(kafka_url(settings))
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=int(timeout * 1000))
    try:
        await _start_within(admin, servers, timeout)
        compacted = {topic: {"cleanup.policy": "compact"} for topic in (changelog_topic(settings), summaries_topic(settings))}
        wanted = [*Topics.from_settings(settings), answers_topic(settings), *compacted]
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, settings.kafka_partitions, settings.kafka_replication, topic_configs=compacted.get(name, {}))
            for name in wanted
            if name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created them meanwhile
        described = await admin.describe_topics(wanted)
        for topic in described:
            count = len(topic.get("partitions") or [])
            if count and count != settings.kafka_partitions:
                raise KafkaUnavailable(
                    f"topic {topic['topic']!r} has {count} partitions but CAREWATCH_KAFKA_PARTITIONS is "
                    f"{settings.kafka_partitions}; set it to {count} or recreate the topic"
                )
    finally:
        await admin.close()


async def _start_within(admin: AIOKafkaAdminClient, servers: str, timeout: float) -> None:
    """Start ``admin``, trying every half second while Kafka refuses connections, for ``timeout`` seconds."""
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(KafkaConnectionError), wait=wait_fixed(0.5), stop=stop_after_delay(timeout), reraise=True
        ):
            with attempt:
                await admin.start()
    except KafkaConnectionError as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {servers}: {exc}") from exc


async def group_lag(settings: Settings, group_id: str, topics: Iterable[str]) -> int:
    """Records of ``topics`` that consumer group ``group_id`` has not committed yet."""
    servers = bootstrap_servers(kafka_url(settings))
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    probe = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await admin.start()
    await probe.start()
    try:
        partitions = [
            TopicPartition(topic, p) for topic in topics for p in (probe.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            await probe.topics()  # refresh metadata once
            partitions = [
                TopicPartition(topic, p) for topic in topics for p in (probe.partitions_for_topic(topic) or ())
            ]
        ends = await probe.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
        return sum(
            max(0, ends[tp] - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0))
            for tp in partitions
        )
    finally:
        await probe.stop()
        await admin.close()


async def wait_until_consumed(
    settings: Settings, group_id: str, topics: Iterable[str], timeout: float = 120.0, what: str = "consumers"
) -> None:
    """Wait until the group has committed everything now in ``topics`` (lag 0)."""
    topics = list(topics)
    deadline = time.monotonic() + timeout
    lag = -1
    while time.monotonic() < deadline:
        lag = await group_lag(settings, group_id, topics)
        if lag == 0:
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"{what} ({group_id}) still had {lag} records of {topics} to process after {timeout:.0f} s")


async def read_range(
    servers: str, topic: str, partition: int, start: int = 0, end: int | None = None, timeout: float = 30.0
) -> list[ConsumerRecord]:
    """The records of one partition at offsets [start, end), from the first one Kafka still keeps
    (``end`` None: up to the partition's end now).  No consumer group: nothing is committed."""
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        kept_from = (await consumer.beginning_offsets([tp]))[tp]
        if end is None:
            end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, max(start, kept_from))
        records: list[ConsumerRecord] = []
        async with asyncio.timeout(timeout):
            while await consumer.position(tp) < end:
                fetched = await consumer.getmany(tp, timeout_ms=500)
                records += [record for record in fetched.get(tp, ()) if record.offset < end]
        return records
    finally:
        await consumer.stop()


class BatchConsumer:
    """At-least-once consumer of ``topics``: each batch of records to ``handle``, then their offsets committed.

    A crash between ``handle`` and the commit delivers the batch again, so ``handle`` must be
    idempotent.  ``run`` starts the consumer and stops it (leaving its group) when cancelled.
    """

    def __init__(self, *topics: str, bootstrap_servers: str, group_id: str, max_batch: int = 500) -> None:
        self.topics = topics
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.max_batch = max_batch

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        """Consume until cancelled (made here, so a task cancelled before it ran leaves no consumer open)."""
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:
            await consumer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_batch)
                records = [record for partition in batches.values() for record in partition]
                if records:
                    await self.handle(records)
                    await consumer.commit()
        finally:
            await consumer.stop()


async def until_stored(store: Callable[[], Awaitable[T]], what: str) -> T:
    """Retry ``store`` until the database takes it: offsets are held meanwhile, Kafka keeps the rest."""

    def refused(error: BaseException, wait: float) -> None:
        log.error("could not store %s; retrying in %.1f s", what, wait, exc_info=error)

    return await until_it_works(store, refused)
