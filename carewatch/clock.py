"""The wall clock, in one place: what the runners, the alert store and the dispatcher read unless a
test or a replay hands them another clock (detectors never read it: their time is in the events)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)
