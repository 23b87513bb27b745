"""The worker's table: household id → pickled `HouseholdState`, backed by a changelog topic.

Keys and values are bytes (raw serialiser), so recovery from the changelog gives
back exactly what was saved and Faust never guesses a codec.
"""

from __future__ import annotations

import faust

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


def changelog_topic(settings: Settings) -> str:
    """The table's changelog topic as Faust names it."""
    return f"{settings.stream_app_id}-{STATE_TABLE}-changelog"
