"""What ingest accepted and refused, for the duty console and for provisioning."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DirectoryWriter, IngestReader, SessionDep
from api.ingest_view import visible_stats
from api.schemas import GatewayGapPublic, IngestStatsPublic, UnknownMeterPublic

router = APIRouter(prefix="/api/ingest", tags=["ingest"])


@router.get("/stats", response_model=IngestStatsPublic)
async def ingest_stats(session: SessionDep, principal: IngestReader) -> IngestStatsPublic:
    """What ingest accepted and refused; staff of some sites see only their gateways' (totals are the district's)."""
    stats = await visible_stats(session, principal)
    return IngestStatsPublic(
        messages=stats.messages,
        readings_accepted=stats.readings_accepted,
        readings_duplicate=stats.readings_duplicate,
        rejected=stats.rejected,
        rejected_by_reason=stats.rejected_by_reason,
        unknown_meter_count=len(stats.unknown_meters),
        gateways_offline=stats.gateways_offline,
        messages_missing=stats.messages_missing,
        gateway_gaps=[GatewayGapPublic.model_validate(row) for row in stats.gateway_gaps],
    )


@router.get("/unknown-meters", response_model=list[UnknownMeterPublic])
async def unknown_meters(session: SessionDep, principal: DirectoryWriter) -> list[UnknownMeterPublic]:
    """Meters that report but are not in the directory, most recently heard first (through your sites' gateways)."""
    return [UnknownMeterPublic.model_validate(row) for row in (await visible_stats(session, principal)).unknown_meters]
