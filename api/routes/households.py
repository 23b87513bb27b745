"""Integrator CRUD for households (with their meters) and their planned absences, per site."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from alerts.contacts import replace_contacts
from api.access import delete_owned_row, site_filter, visible_household
from api.auth import Principal
from api.deps import AbsenceWriter, DirectoryReader, DirectoryWriter, NowDep, Services, ServicesDep, SessionDep
from api.directory_schemas import (
    MAX_PAGE, AbsenceCreate, AbsencePublic, HouseholdCreate, HouseholdDetail, HouseholdPublic, HouseholdUpdate, Page,
    field_error, page,
)
from api.routine_view import RoutinePublic
from api.routes.directory import NOT_YOURS, Limit, Offset, changed, id_taken, meter_public, meter_site, paged, writable_site
from carewatch.directory import Absence, Contact, Gateway, Household, Meter, meter_row
from api.directory_import import household_values
from ingest.summaries import stored_routine
from ingest.usage import last_days

router = APIRouter(prefix="/api/households", tags=["households"])


class UsageHour(BaseModel):
    hour: datetime = Field(description="Start of the UTC hour (of the UTC day, where ``hours`` is 24)")
    kind: str
    used_m3: float
    hours: int = Field(
        default=1, description="1: one hour; 24: a whole UTC day, for days past the hourly retention (CAREWATCH_USAGE_HOURLY_RETENTION)"
    )


@router.get("/{household_id}/usage", response_model=list[UsageHour], responses=NOT_YOURS)
async def household_usage(
    household_id: str, principal: DirectoryReader, session: SessionDep, days: Annotated[int, Query(ge=1, le=31)] = 7
) -> list[UsageHour]:
    """Gas and water used per hour over the ``days`` days up to the newest reading (hours without use are left out);
    per UTC day (``hours`` 24) for days whose hours were rolled up (older than CAREWATCH_USAGE_HOURLY_RETENTION)."""
    await visible_household(session, principal, household_id)
    rows, _ = await last_days(session, household_id, days)
    return [UsageHour(hour=r.hour, kind=r.kind, used_m3=r.used_m3, hours=r.hours) for r in rows]


def household_public(household: Household) -> HouseholdPublic:
    return HouseholdPublic(
        household_id=household.id, site=household.site_id, name=household.name, address=household.address,
        timezone=household.timezone, gateway_id=household.gateway_id, phone=household.phone,
        birth_year=household.birth_year, notes=household.notes, rules=household.rules or {},
        meters=[meter_public(m) for m in household.meters],
    )


async def _check_gateway(session: AsyncSession, gateway_id: str | None, site_id: str) -> None:
    if gateway_id is None:
        return
    gateway = await session.get(Gateway, gateway_id)
    if gateway is None or gateway.site_id != site_id:
        raise field_error(("gateway_id",), f"no gateway {gateway_id!r} in site {site_id!r}: create it there first")


@router.get("", response_model=Page[HouseholdPublic])
async def list_households(
    principal: DirectoryReader, session: SessionDep, site: str | None = None, q: str | None = None,
    limit: Limit = 100, offset: Offset = 0,
) -> dict[str, Any]:
    """Households of your sites; ``q`` matches id, name or address."""
    query = site_filter(select(Household).options(selectinload(Household.meters)), principal, Household.site_id)
    if site is not None:
        query = query.where(Household.site_id == site)
    if q:
        pattern = f"%{q.strip()[:100]}%"
        query = query.where(or_(Household.id.ilike(pattern), Household.name.ilike(pattern), Household.address.ilike(pattern)))
    rows, total = await paged(session, query.order_by(Household.id), limit, offset)
    return page([household_public(h) for h in rows], total, min(limit, MAX_PAGE), offset)


@router.post("", response_model=HouseholdPublic, status_code=status.HTTP_201_CREATED)
async def create_household(body: HouseholdCreate, principal: DirectoryWriter, session: SessionDep, services: ServicesDep) -> HouseholdPublic:
    await writable_site(session, principal, body.site)
    await _check_gateway(session, body.gateway_id, body.site)
    if (existing := await session.get(Household, body.household_id)) is not None:
        raise id_taken(("household_id",), "household", body.household_id, principal, existing.site_id)
    for index, meter in enumerate(body.meters):
        used, owner_site = await meter_site(session, meter.meter_id)
        if used:
            raise id_taken(("meters", str(index), "meter_id"), "meter", meter.meter_id, principal, owner_site)
    household = Household(id=body.household_id, **household_values(body))
    household.meters = [meter_row(m) for m in body.meters]
    session.add(household)
    await session.flush()
    await replace_contacts(session, household.id, body.contacts or ())
    await session.commit()
    await changed(services)
    return household_public(household)


@router.get("/{household_id}", response_model=HouseholdDetail, responses=NOT_YOURS)
async def read_household(household_id: str, principal: DirectoryReader, session: SessionDep) -> HouseholdDetail:
    """The household with its meters and, where the runner has learned it, its routine."""
    household = household_public(await visible_household(session, principal, household_id, meters=True))
    routine = await stored_routine(session, household_id)
    return HouseholdDetail(**household.model_dump(), routine=RoutinePublic.of(routine) if routine else None)


@router.patch("/{household_id}", response_model=HouseholdPublic, responses=NOT_YOURS)
async def update_household(
    household_id: str, body: HouseholdUpdate, principal: DirectoryWriter, session: SessionDep, services: ServicesDep
) -> HouseholdPublic:
    household = await visible_household(session, principal, household_id, meters=True)
    changes = body.model_dump(exclude_unset=True)
    if "site" in changes:
        if changes["site"] is None:
            raise field_error(("site",), "a household always belongs to a site")
        await writable_site(session, principal, changes["site"])
        household.site_id = changes.pop("site")
    if "rules" in changes:
        changes["rules"] = body.rules.model_dump(exclude_none=True) if body.rules else {}
    for key, value in changes.items():
        if value is None and key not in ("gateway_id", "birth_year"):
            raise field_error((key,), f"{key} cannot be null")
        setattr(household, key, value)
    await _check_gateway(session, household.gateway_id, household.site_id)
    await session.commit()
    await changed(services)
    return household_public(household)


@router.delete("/{household_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def delete_household(household_id: str, principal: DirectoryWriter, session: SessionDep, services: ServicesDep) -> Response:
    household = await visible_household(session, principal, household_id)
    await session.execute(delete(Meter).where(Meter.household_id == household_id))
    await session.execute(delete(Absence).where(Absence.household_id == household_id))
    await session.execute(delete(Contact).where(Contact.household_id == household_id))
    await session.delete(household)
    await session.commit()
    await changed(services)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- planned absences -----------------------------------------------------------------------------------


async def list_absences_of(session: AsyncSession, household_id: str, now: datetime) -> list[Absence]:
    """The household's planned absences that have not ended by ``now`` (the console's clock), earliest first."""
    query = select(Absence).where(Absence.household_id == household_id, Absence.ends_at > now).order_by(Absence.starts_at)
    return list((await session.scalars(query)).all())


async def add_absence(session: AsyncSession, services: Services, principal: Principal, household: Household, body: AbsenceCreate) -> Absence:
    """Plan an absence for a household the principal sees (``visible_household``); the runner hears of it."""
    absence = Absence(
        household_id=household.id, starts_at=body.starts_at, ends_at=body.ends_at, note=body.note,
        created_by=principal.name, created_at=services.clock(),
    )
    session.add(absence)
    await session.commit()
    await changed(services)
    return absence


async def clear_absence(session: AsyncSession, services: Services, principal: Principal, household_id: str, absence_id: int) -> None:
    """Drop a planned absence of a household the principal sees (404 otherwise); the runner hears of it."""
    await visible_household(session, principal, household_id)
    await delete_owned_row(session, Absence, absence_id, "household_id", household_id, "absence")
    await changed(services)


@router.get("/{household_id}/absences", response_model=list[AbsencePublic], responses=NOT_YOURS)
async def list_absences(household_id: str, principal: DirectoryReader, session: SessionDep, now: NowDep) -> list[Absence]:
    """Planned absences that have not ended yet, earliest first."""
    await visible_household(session, principal, household_id)
    return await list_absences_of(session, household_id, now)


@router.post("/{household_id}/absences", response_model=AbsencePublic, status_code=status.HTTP_201_CREATED, responses=NOT_YOURS)
async def create_absence(
    household_id: str, body: AbsenceCreate, principal: AbsenceWriter, session: SessionDep, services: ServicesDep
) -> Absence:
    """The detectors hold back inactivity alerts inside the window from now on (safety alerts stay on)."""
    return await add_absence(session, services, principal, await visible_household(session, principal, household_id), body)


@router.delete("/{household_id}/absences/{absence_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def delete_absence(
    household_id: str, absence_id: int, principal: AbsenceWriter, session: SessionDep, services: ServicesDep
) -> Response:
    await clear_absence(session, services, principal, household_id, absence_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
