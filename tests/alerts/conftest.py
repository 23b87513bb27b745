"""The alert store on both supported backends: a SQLite file and a real PostgreSQL.

PostgreSQL comes from CAREWATCH_TEST_POSTGRES_URL (default: the local server with
trust auth); each test run creates its own database and drops it afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.store import AlertStore
from carewatch.domain import AlertType, Detection, Explanation, Severity, Transition


class FakeClock:
    """Wall clock for the store that tests can read and move."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def sessions(sqlite_or_postgres_sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """The alert store is tested on SQLite and on PostgreSQL."""
    return sqlite_or_postgres_sessions


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def store(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> AlertStore:
    return AlertStore(sessions, clock=clock)


ONSET = datetime(2025, 3, 1, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai


def detection(
    household_id: str = "hh-001",
    alert_type: AlertType = AlertType.NO_GAS_24H,
    transition: Transition = Transition.RAISED,
    *,
    onset: datetime = ONSET,
    at: datetime | None = None,
    severity: Severity = Severity.CRITICAL,
    explanation: Explanation | None = None,
) -> Detection:
    """A detection as a detector would emit it; ``at`` defaults to 24 h after onset, the explanation names the alert."""
    verb = "raised" if transition is Transition.RAISED else "cleared"
    return Detection(
        household_id=household_id,
        alert_type=alert_type,
        transition=transition,
        onset=onset,
        at=at or onset + timedelta(hours=24),
        severity=severity,
        explanation=explanation or Explanation(zh=f"{household_id} {alert_type.value} 已{verb}", en=f"{household_id} {alert_type.value} {verb}"),
        meter_ids=("gas-001",),
        facts={"used_m3": 0.0},
    )


@pytest.fixture
def make_detection() -> Callable[..., Detection]:
    return detection
