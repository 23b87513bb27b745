"""The worker's table: household id → `HouseholdState` (`carewatch.runners.state`), backed by a changelog topic.

Keys and values are bytes (raw serialiser), so recovery from the changelog gives
back exactly what was saved and Faust never guesses a codec.  `HouseholdJudge` sees it
through `ChangelogTable`: the two calls of the `StateTable` protocol it needs (a save returns
once the record is handed to the producer, with what resolves once Kafka acknowledged it).
"""

from __future__ import annotations

from collections.abc import Awaitable

import faust

from carewatch.kafka import STATE_TABLE
from carewatch.runners.faust.adapter import save_to_changelog
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


class ChangelogTable:
    """A Faust table as a `StateTable`: read a value, save one and wait for Kafka's acknowledgement."""

    __slots__ = ("table",)

    def __init__(self, table: faust.Table) -> None:
        self.table = table

    def get(self, key: bytes) -> bytes | None:
        return self.table.get(key)

    async def save(self, partition: int, key: bytes, value: bytes) -> Awaitable[None]:
        return await save_to_changelog(self.table, partition, key, value)
