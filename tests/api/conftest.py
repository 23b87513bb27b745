"""The app over a real SQLite file, with alerts stored the way detectors store them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.store import AlertStore
from api.app import create_app
from carewatch.db import make_engine, make_sessions
from carewatch.domain import AlertType, Detection, Explanation, Severity, Transition
from carewatch.registry import Registry
from carewatch.schema import create_schema

ONSET = datetime(2025, 3, 1, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai

EXPLANATIONS = {
    AlertType.NO_GAS_24H: Explanation(
        zh="自昨天15:30起24小时内未使用燃气（用量0.000立方米）。", en="No gas used for 24 h since 15:30 yesterday (0.000 m³)."
    ),
    AlertType.METER_SILENT: Explanation(zh="燃气表已4个周期未上报。", en="Gas meter has not reported for 4 intervals."),
    AlertType.GAS_CONTINUOUS: Explanation(zh="燃气已连续使用3小时。", en="Gas has been flowing for 3 hours."),
}


def detection(
    household_id: str = "hh-001",
    alert_type: AlertType = AlertType.NO_GAS_24H,
    *,
    severity: Severity = Severity.CRITICAL,
    onset: datetime = ONSET,
    at: datetime | None = None,
) -> Detection:
    return Detection(
        household_id=household_id,
        alert_type=alert_type,
        transition=Transition.RAISED,
        onset=onset,
        at=at or onset + timedelta(hours=24),
        severity=severity,
        explanation=EXPLANATIONS[alert_type],
        meter_ids=("gas-001",),
        facts={"used_m3": 0.0},
    )


@pytest.fixture
def make_detection() -> Callable[..., Detection]:
    return detection


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'carewatch.db'}")
    await create_schema(engine)
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture
def store(sessions: async_sessionmaker[AsyncSession]) -> AlertStore:
    return AlertStore(sessions)


@pytest.fixture
def registry() -> Registry:
    return Registry.from_document(
        {
            "households": [
                {
                    "household_id": "hh-001",
                    "name": "张桂兰",
                    "address": "幸福路12号3单元401",
                    "meters": [{"meter_id": "gas-001", "kind": "gas"}, {"meter_id": "water-001", "kind": "water"}],
                },
                {
                    "household_id": "hh-002",
                    "name": "<script>alert('x')</script>",
                    "timezone": "Europe/London",
                    "meters": [{"meter_id": "gas-002", "kind": "gas"}],
                },
            ]
        }
    )


@pytest.fixture
def live_status() -> dict[str, Any]:
    return {}


@pytest.fixture
async def client(
    sessions: async_sessionmaker[AsyncSession], registry: Registry, live_status: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(sessions=sessions, registry=registry, status=lambda: live_status)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
