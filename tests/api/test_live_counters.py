"""The board's side panels (ingest counters, the runner's live status) refresh over the live stream."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carewatch.domain import RejectReason
from ingest.records import BatchRecord, DeadLetterEntry, ensure_counters, write_batch
from tests.api.conftest import detection
from tests.api.live import board_events


async def ingest_batch(sessions: async_sessionmaker[AsyncSession], accepted: int, rejected: int) -> None:
    """What the pipeline commits for a batch, through ingest's own writer."""
    record = BatchRecord()
    record.counters["messages"] += 1
    record.counters["readings_accepted"] += accepted
    for index in range(rejected):
        record.reject(DeadLetterEntry(datetime.now(UTC), "carewatch/v1/gateways/gw-north/readings", "gw-north",
                                      RejectReason.UNKNOWN_METER, "meter 'gas-x' is not in the household registry", b"{}", "gas-x", index))
    async with sessions.begin() as session:
        await ensure_counters(session)
        await write_batch(session, record)


def counter(parts: dict[str, str], name: str) -> str:
    html = parts["ingest"]
    start = html.index(f'data-counter="{name}">') + len(f'data-counter="{name}">')
    return html[start : html.index("<", start)]


async def test_ingest_counters_and_live_status_arrive_as_they_change(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession], live_status: dict[str, Any]
):
    live_status.update({"readings": 0, "event_time": "2026-01-05T08:00:00+08:00"})
    async with board_events(app, sessions) as events:
        first = orjson.loads((await events.next("counters")).data)
        assert counter(first, "readings_accepted") == "0"
        assert '<dd data-key="event_time">2026-01-05 08:00</dd>' in first["live"]

        await ingest_batch(sessions, accepted=120, rejected=2)
        second = orjson.loads((await events.next("counters")).data)
        assert (counter(second, "messages"), counter(second, "readings_accepted"), counter(second, "rejected")) == ("1", "120", "2")
        assert "Unknown meter: 2" in second["ingest"]

        live_status.update({"readings": 122, "event_time": "2026-01-05T09:00:00+08:00"})
        third = orjson.loads((await events.next("counters")).data)
        assert '<dd data-key="readings">122</dd>' in third["live"] and "2026-01-05 09:00" in third["live"]


async def test_counters_are_not_resent_while_nothing_changes(app: FastAPI, sessions: async_sessionmaker[AsyncSession]):
    """With a fast poll, an unchanged panel must not be re-sent every tick (a night of idle tablets)."""
    app.state.services.settings.board_poll_interval = timedelta(seconds=0.05)
    async with board_events(app, sessions) as events:
        await events.next("counters")
        await ingest_batch(sessions, accepted=1, rejected=0)
        changed = orjson.loads((await events.next("counters")).data)  # the very next one is the change, not a repeat
        assert counter(changed, "readings_accepted") == "1"


async def test_the_page_itself_shows_the_same_panels(client: httpx.AsyncClient, sessions, live_status):
    await ingest_batch(sessions, accepted=7, rejected=0)
    live_status["event_time"] = "2026-01-05T10:00:00+08:00"
    page = (await client.get("/")).text
    assert '<dd data-counter="readings_accepted">7</dd>' in page
    assert '<dl class="live" id="live"' in page and '<dd data-key="event_time">2026-01-05 10:00</dd>' in page


async def test_cards_that_arrive_over_the_stream_carry_the_sessions_csrf_token(app: FastAPI, sessions, store):
    """The streamed rows are rendered with what every page gets (api.pages.page_basics): the token under the field
    name the server reads, so an officer can act on a card the stream brought."""
    await store.apply([detection("hh-001")])
    async with board_events(app, sessions) as events:
        board = (await events.next("board")).data
    assert 'action="/console/alerts/' in board
    assert len(set(re.findall(r'name="csrf_token" value="([^"]+)"', board))) == 1
    assert 'name=""' not in board
