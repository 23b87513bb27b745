"""Outbox, dispatcher and channels over a real SQLite file and real receivers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.notify_tables import DeliveryAttempt, OutboxMessage
from alerts.outbox import NewMessage, enqueue
from alerts.store import AlertStore
from carewatch.db import make_engine, make_sessions
from tests.alerts.conftest import FakeClock, detection
from tests.notify.receivers import HttpReceiver, http_receiver

ALERT = detection()


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    await AlertStore(sessions).apply([ALERT])  # messages belong to an alert
    yield sessions
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=0.3) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver



def message(n: int, channel: str, address: str, **fields: object) -> NewMessage:
    return NewMessage(
        idempotency_key=f"{ALERT.alert_id}|test|{n}", alert_id=ALERT.alert_id, household_id=ALERT.household_id,
        purpose="notify_family", recipient_id=f"r{n}", recipient_name=f"收件人{n}", recipient_role="family",
        channel=channel, address=address, language="zh-CN", subject=f"主题{n}", body=f"正文{n}",
        **fields,  # type: ignore[arg-type]
    )


async def write(sessions: async_sessionmaker[AsyncSession], messages: Sequence[NewMessage], now: datetime) -> None:
    async with sessions.begin() as session:
        await enqueue(session, messages, now)


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def attempts(sessions: async_sessionmaker[AsyncSession]) -> list[DeliveryAttempt]:
    async with sessions() as session:
        return list((await session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))).all())
