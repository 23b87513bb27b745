"""Ingest statistics as the console and API show them, read from the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.models import DeadLetter, GatewaySequence, GatewayStatus, HouseholdSummary, IngestCounter, UnknownMeter


@dataclass(frozen=True, slots=True)
class UnknownMeterRow:
    meter_id: str
    gateway_id: str | None
    first_seen: datetime
    last_seen: datetime
    readings: int


@dataclass(frozen=True, slots=True)
class GatewayGapRow:
    """A gateway whose message counter (contract v1.1 ``seq``) shows messages that never arrived, or restarted."""

    gateway_id: str
    messages_missing: int
    resets: int
    duplicates: int
    last_seq: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class IngestStats:
    messages: int
    readings_accepted: int
    readings_duplicate: int
    rejected_by_reason: dict[str, int]
    unknown_meters: list[UnknownMeterRow]
    gateways_offline: list[str]
    gateway_gaps: list[GatewayGapRow] = field(default_factory=list)
    """Gateways with messages missing or counter resets, most missing first (embedded runner only, for now)."""

    @property
    def messages_missing(self) -> int:
        """Readings messages the gateways numbered but carewatch never received."""
        return sum(row.messages_missing for row in self.gateway_gaps)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


async def read_stats(session: AsyncSession) -> IngestStats:
    counters = dict((await session.execute(select(IngestCounter.name, IngestCounter.value))).all())
    # Both runners count readings per household in their states (ingest.summaries); the totals
    # counters hold only what a release before that counted.
    households_accepted, households_duplicate = (
        await session.execute(
            select(
                func.coalesce(func.sum(HouseholdSummary.readings_accepted), 0),
                func.coalesce(func.sum(HouseholdSummary.readings_duplicate), 0),
            )
        )
    ).one()
    by_reason = dict(
        (await session.execute(select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason))).all()
    )
    unknown = (await session.execute(select(UnknownMeter).order_by(UnknownMeter.last_seen.desc()))).scalars().all()
    offline = (
        await session.execute(
            select(GatewayStatus.gateway_id).where(GatewayStatus.state == "offline").order_by(GatewayStatus.gateway_id)
        )
    ).scalars().all()
    gaps = (
        await session.execute(
            select(GatewaySequence)
            .where((GatewaySequence.messages_missing > 0) | (GatewaySequence.resets > 0))
            .order_by(GatewaySequence.messages_missing.desc(), GatewaySequence.gateway_id)
        )
    ).scalars().all()
    return IngestStats(
        messages=counters.get("messages", 0),
        readings_accepted=counters.get("readings_accepted", 0) + households_accepted,
        readings_duplicate=counters.get("readings_duplicate", 0) + households_duplicate,
        rejected_by_reason=by_reason,
        unknown_meters=[
            UnknownMeterRow(u.meter_id, u.gateway_id, u.first_seen, u.last_seen, u.readings) for u in unknown
        ],
        gateways_offline=list(offline),
        gateway_gaps=[
            GatewayGapRow(g.gateway_id, g.messages_missing, g.resets, g.duplicates, g.highest_seq, g.updated_at) for g in gaps
        ],
    )
