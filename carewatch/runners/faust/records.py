"""What a worker keeps per household in its table: the detector state and reading counts.

Stored as pickled bytes (a per-key bytes value), serialised at once when saved, so
the changelog holds exactly the state at that moment — never a later mutation of
the same object sent by Faust's buffered producer afterwards.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

from detectors.household import HouseholdMonitor

STATE_VERSION = 1

MARK_PREFIX = b"\x00next-offset/"
"""Keys of the per-partition marks beside the households' states (a household id never starts with NUL)."""


def mark_key(partition: int) -> bytes:
    """The table key of a readings partition's mark: the offset after the last record judged in it."""
    return MARK_PREFIX + str(partition).encode()


def is_household_key(key: bytes) -> bool:
    return not key.startswith(MARK_PREFIX)


@dataclass(slots=True)
class HouseholdState:
    monitor: HouseholdMonitor
    readings_accepted: int = 0
    """Distinct readings judged: a redelivered reading is a duplicate and not counted again."""
    readings_duplicate: int = 0
    """Readings the gateways or the bridge sent again (same meter, time and register)."""
    offset: int = -1
    """Offset of the newest readings-topic record applied: a household lives in one partition, so a
    record at or below it is Kafka redelivering work already done (after a crash or rebalance)."""

    def dumps(self) -> bytes:
        return pickle.dumps(
            (STATE_VERSION, self.monitor, self.readings_accepted, self.readings_duplicate, self.offset), protocol=5
        )

    @classmethod
    def loads(cls, blob: bytes) -> HouseholdState:
        # Only carewatch workers write the changelog topic (restrict it with ACLs): pickle is trusted here.
        version, *fields = pickle.loads(blob)  # noqa: S301
        if version != STATE_VERSION:
            raise ValueError(f"household state version {version} is not {STATE_VERSION}; rebuild the table")
        return cls(*fields)
