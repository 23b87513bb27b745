"""The console's devices page: every meter of a site with its health (last heard, battery, signal, flags).

For technicians: device faults, never about the elder.  The health comes from ``meter_health``, which
both runners fill from their household states (ingest/summaries.py); a meter with no row yet is shown
as never heard.  Another site's page answers 404 (api/access.py).
"""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import and_, select

from api.access import visible_site
from api.console_view import local_time
from api.deps import DirectoryReader, LangDep, SessionDep
from api.pages import render, site_index
from carewatch.catalogue import words
from carewatch.directory import Household, Meter
from ingest.models import MeterHealthRow

router = APIRouter(include_in_schema=False)
MAX_DEVICES = 2000


class DeviceOrder(StrEnum):
    HEARD = "heard"
    """Longest unheard first (never heard at the top): the meters to visit."""
    BATTERY = "battery"
    """Lowest battery first (meters that never reported a battery at the end)."""


@router.get("/devices")
async def devices_index(request: Request, principal: DirectoryReader, session: SessionDep, lang: LangDep) -> Response:
    return await site_index(request, session, principal, lang, "devices")


@router.get("/sites/{site_id}/devices")
async def site_devices(
    site_id: str, request: Request, principal: DirectoryReader, session: SessionDep, lang: LangDep,
    sort: DeviceOrder = DeviceOrder.HEARD,
) -> Response:
    site = await visible_site(session, principal, site_id)
    health = and_(MeterHealthRow.meter_id == Meter.id, MeterHealthRow.household_id == Meter.household_id)
    query = (
        select(Meter, Household, MeterHealthRow)
        .join(Household, Household.id == Meter.household_id)
        .outerjoin(MeterHealthRow, health)
        .where(Household.site_id == site.id)
    )
    if sort is DeviceOrder.BATTERY:
        query = query.order_by(MeterHealthRow.battery_pct.asc().nulls_last(), Meter.id)
    else:
        query = query.order_by(MeterHealthRow.heard_at.asc().nulls_first(), Meter.id)
    zone = ZoneInfo(site.timezone)
    devices = [
        (meter, household, row, None if row is None or row.heard_at is None else local_time(row.heard_at, zone))
        for meter, household, row in (await session.execute(query.limit(MAX_DEVICES))).all()
    ]
    context = {"site": site, "devices": devices, "sort": sort.value, "flag_words": words("meter_flag", lang)}
    return render(request, "devices.html", lang, principal, context)
