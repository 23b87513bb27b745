"""Writes what ingest learned from a batch (dead letters, counters, unknown meters,
gateway status) into the caller's transaction, so it commits with the alerts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carewatch.domain import Reading, RejectReason
from ingest.gaps import SequenceState
from ingest.models import DeadLetter, GatewaySequence, GatewayStatus, IngestCounter, UnknownMeter
from ingest.payload import storable_text
from ingest.upsert import Upsert

COUNTERS = ("messages", "readings_accepted", "readings_duplicate", "readings_rejected")


@dataclass(frozen=True, slots=True)
class DeadLetterEntry:
    received_at: datetime
    topic: str
    gateway_id: str | None
    reason: RejectReason
    detail: str
    payload: bytes
    meter_id: str | None = None
    reading_index: int | None = None


@dataclass
class BatchRecord:
    """Everything a batch of messages contributes to ingest's own tables."""

    counters: Counter[str] = field(default_factory=Counter)
    dead_letters: list[DeadLetterEntry] = field(default_factory=list)
    unknown_meters: list[tuple[str, str | None, datetime]] = field(default_factory=list)
    gateway_states: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    accepted: list[Reading] = field(default_factory=list)
    """Readings accepted in this batch (hourly use is booked from them: ingest.usage)."""
    sequences: list[tuple[str, int, datetime]] = field(default_factory=list)
    """(gateway, seq, received at) of each readings message that carried a seq, in the order received."""

    def reject(self, entry: DeadLetterEntry) -> None:
        self.dead_letters.append(entry)
        if entry.reading_index is not None or entry.reason is not RejectReason.PROCESSING_ERROR:
            self.counters["readings_rejected"] += 1


_STATUSES = Upsert(GatewayStatus)
_SEQUENCES = Upsert(GatewaySequence)
_UNKNOWN_METERS = Upsert(
    UnknownMeter,
    lambda new: {
        "gateway_id": new.gateway_id,
        "last_seen": case((new.last_seen > UnknownMeter.last_seen, new.last_seen), else_=UnknownMeter.last_seen),
        "readings": UnknownMeter.readings + new.readings,
    },
)
_ADD_TO_COUNTERS = Upsert(IngestCounter, lambda new: {"value": IngestCounter.value + new.value})
"""Every counter a batch moved in one statement (an UPDATE per counter was an executemany: on SQLite three trips to
aiosqlite's thread, an upsert one; ``ensure_counters`` has made the rows, so each adds to its row)."""


def _storable_id(text: str | None) -> str | None:
    return None if text is None else storable_text(text, 64)


async def ensure_counters(session: AsyncSession) -> None:
    present = set((await session.execute(select(IngestCounter.name))).scalars())
    session.add_all(IngestCounter(name=name, value=0) for name in COUNTERS if name not in present)


async def write_batch(session: AsyncSession, record: BatchRecord) -> None:
    await _ADD_TO_COUNTERS.write(session, [{"name": name, "value": n} for name, n in record.counters.items() if n])
    # A dead letter's text may quote anything a gateway sent or an exception said: escaped and cut
    # to the columns, so the record of a refusal can always be kept (the payload is kept verbatim).
    session.add_all(
        DeadLetter(
            received_at=e.received_at,
            topic=storable_text(e.topic, 256),
            gateway_id=_storable_id(e.gateway_id),
            meter_id=_storable_id(e.meter_id),
            reading_index=e.reading_index,
            reason=e.reason.value,
            detail=storable_text(e.detail),
            payload=e.payload,
        )
        for e in record.dead_letters
    )
    await _note_unknown_meters(session, record.unknown_meters)
    await _STATUSES.write(
        session, [{"gateway_id": g, "state": state, "changed_at": at} for g, (state, at) in record.gateway_states.items()]
    )
    await _follow_sequences(session, record.sequences)


async def _note_unknown_meters(session: AsyncSession, sightings: list[tuple[str, str | None, datetime]]) -> None:
    """Each unknown meter once per batch: its readings added, its newest gateway and sighting kept."""
    rows: dict[str, dict[str, Any]] = {}
    for meter_id, gateway_id, seen_at in sightings:
        row = rows.get(meter_id)
        if row is None:
            rows[meter_id] = {"meter_id": meter_id, "gateway_id": gateway_id, "first_seen": seen_at, "last_seen": seen_at, "readings": 1}
        else:
            row["gateway_id"] = gateway_id
            row["last_seen"] = max(row["last_seen"], seen_at)
            row["readings"] += 1
    await _UNKNOWN_METERS.write(session, list(rows.values()))


async def _follow_sequences(session: AsyncSession, sequences: list[tuple[str, int, datetime]]) -> None:
    """Fold the batch's seqs into each gateway's stored counter state (ingest.gaps): one read, one write."""
    by_gateway: dict[str, list[tuple[int, datetime]]] = {}
    for gateway_id, seq, received_at in sequences:
        by_gateway.setdefault(gateway_id, []).append((seq, received_at))
    if not by_gateway:
        return
    table = GatewaySequence.__table__.c
    stored = await session.execute(select(GatewaySequence.__table__).where(table.gateway_id.in_(sorted(by_gateway))))
    states = {
        row.gateway_id: SequenceState(
            row.highest_seq, tuple((low, high) for low, high in orjson.loads(row.open_gaps)),
            row.messages_missing, row.resets, row.duplicates,
        )
        for row in stored
    }
    rows = []
    for gateway_id, seen in by_gateway.items():
        state = states.get(gateway_id)
        for seq, _ in seen:
            state = SequenceState.first(seq) if state is None else state.observe(seq)
        assert state is not None  # seen is never empty
        rows.append({
            "gateway_id": gateway_id, "highest_seq": state.highest, "open_gaps": orjson.dumps(state.open_gaps).decode(),
            "messages_missing": state.missing, "resets": state.resets, "duplicates": state.duplicates,
            "updated_at": seen[-1][1],
        })
    await _SEQUENCES.write(session, rows)


async def prune_dead_letters(session: AsyncSession, received_before: datetime) -> int:
    """Forget dead letters received before ``received_before`` (the retention setting); how many went."""
    result = await session.execute(delete(DeadLetter).where(DeadLetter.received_at < received_before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def probe_write(session: AsyncSession) -> None:
    """A write that changes nothing: raises when the database takes no writes (down, read-only, full),
    where a SELECT would still pass."""
    await session.execute(update(IngestCounter).where(IngestCounter.name == "messages").values(value=IngestCounter.value))
