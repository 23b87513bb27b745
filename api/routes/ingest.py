"""What ingest accepted and refused, for the duty console and for provisioning."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.schemas import IngestStatsPublic, UnknownMeterPublic
from ingest.stats import read_stats

router = APIRouter(prefix="/api/ingest", tags=["ingest"])


@router.get("/stats", response_model=IngestStatsPublic)
async def ingest_stats(session: SessionDep) -> IngestStatsPublic:
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
async def unknown_meters(session: SessionDep) -> list[UnknownMeterPublic]:
    """Meters that report but are not in the registry, most recently heard first."""
    stats = await read_stats(session)
    return [UnknownMeterPublic.model_validate(row) for row in stats.unknown_meters]
