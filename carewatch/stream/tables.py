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

from carewatch.settings import Settings

STATE_TABLE = "household-state"


def household_state_table(app: faust.App, settings: Settings) -> faust.Table:
    return app.Table(
        STATE_TABLE,
        default=None,
        key_type=bytes,  # bytes keys and values: Faust picks the raw serialiser, also for recovery
        value_type=bytes,
        partitions=settings.kafka_partitions,
        help="Detector state and reading counts per household (pickled HouseholdState).",
    )


MARK_PREFIX = b"\x00next-offset/"
"""Keys of the per-partition marks beside the households' states (a household id never starts with NUL)."""


def mark_key(partition: int) -> bytes:
    """The table key of a readings partition's mark: the offset after the last record judged in it."""
    return MARK_PREFIX + str(partition).encode()


def is_household_key(key: bytes) -> bool:
    return not key.startswith(MARK_PREFIX)


def changelog_topic(settings: Settings) -> str:
    """The table's changelog topic as Faust names it."""
    return f"{settings.stream_app_id}-{STATE_TABLE}-changelog"


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
