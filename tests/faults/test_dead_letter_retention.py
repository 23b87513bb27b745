"""Dead letters are kept for a configured time, not forever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import Pipeline
from carewatch.settings import Settings
from ingest.models import DeadLetter
from ingest.subscriber import InboundMessage

NOW = datetime(2026, 6, 1, tzinfo=UTC)


async def test_dead_letters_past_their_retention_are_deleted_and_younger_ones_kept(sessions):
    settings = Settings(_env_file=None, dead_letter_retention=timedelta(days=90))  # type: ignore[call-arg]
    pipeline = Pipeline(registry=Registry([]), sessions=sessions, settings=settings, clock=lambda: NOW)
    await pipeline.start()
    topic = "carewatch/v1/gateways/gw-1/readings"
    await pipeline.handle([
        InboundMessage(topic, b"old garbage", 1, 1, NOW - timedelta(days=91)),
        InboundMessage(topic, b"recent garbage", 2, 1, NOW - timedelta(days=89)),
    ])

    assert await pipeline.prune() == 1
    async with sessions() as session:
        kept = (await session.execute(select(DeadLetter.payload))).scalars().all()
    assert kept == [b"recent garbage"]
