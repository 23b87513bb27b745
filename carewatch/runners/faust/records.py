"""The per-partition marks a worker keeps in its table beside the households' states.

A household's value is its `carewatch.runners.state.HouseholdState` (`dumps`), serialised at
once when saved, so the changelog holds exactly the state at that moment — never a later
mutation of the same object sent by Faust's buffered producer afterwards.
"""

from __future__ import annotations

MARK_PREFIX = b"\x00next-offset/"
"""Keys of the per-partition marks beside the households' states (a household id never starts with NUL)."""


def mark_key(partition: int) -> bytes:
    """The table key of a readings partition's mark: the offset after the last record judged in it."""
    return MARK_PREFIX + str(partition).encode()


def is_household_key(key: bytes) -> bool:
    return not key.startswith(MARK_PREFIX)
