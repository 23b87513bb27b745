"""The worker's table: household id → pickled `HouseholdState`, backed by a changelog topic.

Keys and values are bytes (raw serialiser), so recovery from the changelog gives
back exactly what was saved and Faust never guesses a codec.
"""

from __future__ import annotations

import weakref
from types import SimpleNamespace
from typing import Any

import faust
from faust.streams import _current_event

from carewatch.kafka import STATE_TABLE
from carewatch.settings import Settings


def household_state_table(app: faust.App, settings: Settings) -> faust.Table:
    return app.Table(
        STATE_TABLE,
        default=None,
        key_type=bytes,  # bytes keys and values: Faust picks the raw serialiser, also for recovery
        value_type=bytes,
        partitions=settings.kafka_partitions,
        help="Detector state and reading counts per household (pickled HouseholdState).",
    )


class _InPartition:
    """What Faust's RocksDB store reads of the "current event" when a value is set: its partition."""

    __slots__ = ("message", "__weakref__")

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


def put(table: Any, partition: int, key: bytes, value: bytes) -> None:
    """``table.data[key] = value`` in the given partition, also outside any event.

    The RocksDB store takes the partition from Faust's current event (a context variable set
    per event of a stream), which a timer's sweep or a batch of readings (``take_events``) does
    not have: it failed an assertion and crashed the worker.  The memory store ignores it.
    """
    stand_in = _InPartition(partition)
    token = _current_event.set(weakref.ref(stand_in))  # type: ignore[arg-type]
    try:
        table.data[key] = value
    finally:
        _current_event.reset(token)
