"""Every Faust and aiokafka internal the worker relies on, and nothing else.

Faust's public API does not cover four things the worker needs: writing a table value outside a
stream's event, saving a changelog record and waiting for Kafka's acknowledgement without its
one-record-at-a-time buffer, sending a record of bytes without Faust's per-message machinery, and
asking the consumer what it holds.  Each function below names the
upstream behaviour it works around.  Written against faust-streaming 0.15.3 (pinned in
pyproject.toml): on an upgrade, check this module against the new version; no other module of
carewatch reaches past Faust's or aiokafka's public API (`tests/runners/test_faust_adapter.py`
fails otherwise).
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Awaitable, Sequence
from types import SimpleNamespace
from typing import Any

import faust
from faust.streams import _current_event
from faust.types import TP


class _InPartition:
    """What Faust's RocksDB store reads of the "current event" when a value is set: its partition."""

    __slots__ = ("message", "__weakref__")

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


def put_in_partition(table: faust.Table, partition: int, key: bytes, value: bytes) -> None:
    """``table.data[key] = value`` in the given partition, also outside any event.

    Works around: Faust's RocksDB store (`RocksDBStore._set`) takes the partition from the stream's
    current event, a private context variable set per event of ``async for``, which a timer's sweep
    or a batch of readings (``Stream.take_events``) does not have: it failed an assertion and crashed
    the worker.  The memory store ignores it.
    """
    stand_in = _InPartition(partition)
    token = _current_event.set(weakref.ref(stand_in))  # type: ignore[arg-type]
    try:
        table.data[key] = value
    finally:
        _current_event.reset(token)


async def save_to_changelog(table: faust.Table, partition: int, key: bytes, value: bytes) -> Awaitable[None]:
    """Set ``key`` in the table and hand its changelog record to the producer; returns what resolves
    once Kafka acknowledged the record (handing over waits only while the producer's batch is full).

    Works around `Table.send_changelog`: it queues records to a buffer that hands them to the
    producer one at a time, throttles the consumer once 100 wait ("producer buffer full"), and wraps
    each in Faust's per-message machinery, which costs more than the record.  So the bytes go
    straight to the app's transport producer (the table's codecs are raw), and then this does what
    `Table._on_changelog_sent` does: note the changelog offset in the store (RocksDB keeps it to
    know what it holds after a restart).
    """
    put_in_partition(table, partition, key, value)
    delivered: asyncio.Future[Any] = await table.app.producer.send(
        table.changelog_topic.get_topic_name(), key, value, partition, None, None
    )
    # A callback, not a coroutine awaiting the future: it runs before whoever awaits the acknowledgement
    # resumes (callbacks run in the order added), and costs no task per record.
    delivered.add_done_callback(functools.partial(_persisted, table))
    return delivered


async def send_raw(app: faust.App, topic: str, key: bytes, value: bytes) -> Awaitable[Any]:
    """Hand a record of bytes to the app's producer; returns what resolves once Kafka acknowledged it
    (handing over waits only while the producer's batch for its partition is full).

    Works around `Topic.send`: per record it builds a `PendingMessage` and a `FutureMessage`, runs
    the sensors before and after, chains a callback onto the producer's future and logs a debug
    line: with a summary sent for every state saved, ≈ 5 % of the worker's busy time in a py-spy
    profile of `benchmarks/stream_throughput.py` (uploads of 48), for records that are already
    bytes (raw serialisers) and need none of it.
    """
    return await app.producer.send(topic, key, value, None, None, None)


def _persisted(table: faust.Table, delivered: asyncio.Future[Any]) -> None:
    if not delivered.cancelled() and delivered.exception() is None:
        metadata = delivered.result()
        table.data.set_persisted_offset(metadata.topic_partition, metadata.offset)


def assigned_partitions(app: faust.App, topic: str) -> list[TP]:
    """The partitions of ``topic`` this worker holds as active (not standby), in order.

    Works around: Faust has no public call for a worker's own assignment outside the
    ``on_partitions_assigned`` signal, whose sets a timer would have to track across rebalances;
    the assignor knows it (`PartitionAssignor.assigned_actives`).
    """
    return sorted(tp for tp in app.assignor.assigned_actives() if tp.topic == topic)


async def partition_ends(app: faust.App, partitions: Sequence[TP]) -> dict[TP, int]:
    """Each partition's end offset as Kafka holds it now (one ListOffsets request per leader).

    Works around: Faust exposes partition ends only on its transport consumer.  Not its
    `Consumer.highwater`, the end as the last fetch response saw it: a partition the consumer has
    not fetched lately (Faust stops fetching a partition whose buffer is full) keeps an old end
    there, so a sweep took a partition with records still to come for caught up, and in a replay
    for idle, ticking its households ahead of their readings (a storm of false meter_silent in the
    Faust demo, one run in two on the loaded 2-core machine).
    """
    if not partitions:
        return {}
    return dict(await app.consumer.highwaters(*partitions))


def without_spinner(worker: faust.Worker) -> None:
    """Start the worker without its terminal spinner.

    Works around: for the spinner `mode.Worker` sets the root logger to DEBUG and leaves it there,
    so every debug line of aiokafka and Faust (several per record produced) builds a LogRecord that
    is then dropped (≈3 % of the worker's busy time in a py-spy profile).  Its constructor has no
    switch for it; the attribute does.
    """
    worker.spinner = None
