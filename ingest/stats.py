"""Ingest statistics as the console and API show them, read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.models import DeadLetter, GatewayStatus, HouseholdSummary, IngestCounter, UnknownMeter


@dataclass(frozen=True, slots=True)
class UnknownMeterRow:
    meter_id: str
    gateway_id: str | None
    first_seen: datetime
    last_seen: datetime
    readings: int


@dataclass(frozen=True, slots=True)
class IngestStats:
    messages: int
    readings_accepted: int
    readings_duplicate: int
    rejected_by_reason: dict[str, int]
    unknown_meters: list[UnknownMeterRow]
    gateways_offline: list[str]

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
    return IngestStats(
        messages=counters.get("messages", 0),
        readings_accepted=counters.get("readings_accepted", 0) + households_accepted,
        readings_duplicate=counters.get("readings_duplicate", 0) + households_duplicate,
        rejected_by_reason=by_reason,
        unknown_meters=[
            UnknownMeterRow(u.meter_id, u.gateway_id, u.first_seen, u.last_seen, u.readings) for u in unknown
        ],
        gateways_offline=list(offline),
    )
