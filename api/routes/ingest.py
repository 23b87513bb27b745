"""What ingest accepted and refused, for the duty console and for provisioning."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import DirectoryWriter, IngestReader, SessionDep
from api.schemas import IngestStatsPublic, UnknownMeterPublic
from carewatch.directory import Gateway
from ingest.stats import read_stats

router = APIRouter(prefix="/api/ingest", tags=["ingest"])


@router.get("/stats", response_model=IngestStatsPublic)
async def ingest_stats(session: SessionDep, principal: IngestReader) -> IngestStatsPublic:
    stats = await read_stats(session)
    return IngestStatsPublic(
        messages=stats.messages,
        readings_accepted=stats.readings_accepted,
        readings_duplicate=stats.readings_duplicate,
        rejected=stats.rejected,
        rejected_by_reason=stats.rejected_by_reason,
        unknown_meter_count=len(stats.unknown_meters),
        gateways_offline=stats.gateways_offline,
    )


@router.get("/unknown-meters", response_model=list[UnknownMeterPublic])
async def unknown_meters(session: SessionDep, principal: DirectoryWriter) -> list[UnknownMeterPublic]:
    """Meters that report but are not in the directory, most recently heard first (through your sites' gateways)."""
    stats = await read_stats(session)
    rows = stats.unknown_meters
    if principal.sites is not None:
        yours = set((await session.scalars(select(Gateway.id).where(Gateway.site_id.in_(sorted(principal.sites))))).all())
        rows = [row for row in rows if row.gateway_id in yours]
    return [UnknownMeterPublic.model_validate(row) for row in rows]
