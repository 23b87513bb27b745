"""What one trickle message costs the database: a live gateway sends one message at a time, and each is its own
batch and its own commit (issue 13).  Counted, not timed: the statements the commit issues, and on SQLite the
round trips to aiosqlite's thread (each is a hand-over between the event loop and that thread)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiosqlite.core
import orjson
import pytest
from sqlalchemy import event, select

from carewatch.registry import Registry
from carewatch.runners.embedded.pipeline import Pipeline
from carewatch.settings import Settings
from ingest.models import GatewaySequence, IngestCounter
from ingest.subscriber import InboundMessage

SEEN = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
REGISTRY = Registry.from_document({"version": 1, "households": [
    {"household_id": "hh-1", "gateway_id": "gw-1", "meters": [
        {"meter_id": "gas-1", "kind": "gas", "interval_s": 900}, {"meter_id": "wat-1", "kind": "water", "interval_s": 900},
    ]},
]})


def upload(seq: int) -> InboundMessage:
    """An hourly upload: four readings of each meter, as the simulator's gateways send them (a little use an hour)."""
    start = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(hours=seq)
    readings = [
        {"meter_id": meter, "at": (start + timedelta(minutes=15 * i)).isoformat(), "register_m3": 100 + seq / 100}
        for meter in ("gas-1", "wat-1") for i in range(4)
    ]
    body = {"v": 1, "seq": seq, "readings": readings}
    return InboundMessage("carewatch/v1/gateways/gw-1/readings", orjson.dumps(body), 1, 1, SEEN + timedelta(hours=seq))


async def test_a_one_message_commit_takes_few_statements_and_round_trips(sqlite_or_postgres_sessions, monkeypatch):
    sessions = sqlite_or_postgres_sessions
    settings = Settings(_env_file=None, clock="event", environment="development")  # type: ignore[call-arg]
    pipeline = Pipeline(registry=REGISTRY, sessions=sessions, settings=settings, clock=lambda: SEEN)
    await pipeline.start()
    await pipeline.handle([upload(1)])  # the first: the rows are inserted; the next ones update them

    engine = sessions.kw["bind"].sync_engine
    statements: list[str] = []
    round_trips: list[str] = []
    handing_over = aiosqlite.core.Connection._execute

    async def counted(connection, function, *args, **kwargs):  # type: ignore[no-untyped-def]
        round_trips.append(function.__name__)
        if function.__name__ in ("execute", "executemany", "_execute_fetchall"):  # SQLite's statements, by any path
            statements.append(" ".join(str(args[0]).split()[:3]))
        return await handing_over(connection, function, *args, **kwargs)

    def issued(_connection, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()[:3]))

    if engine.dialect.name == "sqlite":
        monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    else:
        event.listen(engine, "before_cursor_execute", issued)
    try:
        await pipeline.handle([upload(2)])
    finally:
        monkeypatch.undo()
        if engine.dialect.name != "sqlite":
            event.remove(engine, "before_cursor_execute", issued)

    assert pipeline.states["hh-1"].readings_accepted == 16, "both uploads were judged and committed"
    async with sessions() as session:
        counted_messages = await session.scalar(select(IngestCounter.value).where(IngestCounter.name == "messages"))
        sequence = await session.get(GatewaySequence, "gw-1")
    assert counted_messages == 2 and sequence is not None and sequence.highest_seq == 2
    # A gateway's seq and each meter's usage cursor are read; counters, seq, cursors, hourly use, the household's
    # state, its summary and its meters' health are written: one statement each, whatever the batch holds.
    assert len(statements) == 9, "; ".join(statements)
    if engine.dialect.name == "sqlite":
        # Through SQLAlchemy's aiosqlite adapter a statement is three trips (a cursor, the statement, closing the
        # cursor), a read four (the fetch); the upserts (counters too) go to the driver in one trip each, and the
        # commit is one more (no rollback after it: nothing is left open).  Before: 31 trips, a rollback included.
        assert len(round_trips) <= 16, f"{len(round_trips)} round trips to SQLite's thread: {round_trips}"
