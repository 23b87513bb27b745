"""The duty rota (alerts/rota.py) in the API and the console: staff of a site read it, supervisors edit it.

Staff are the people file's (``CAREWATCH_PEOPLE_PATH``: their names and channels live there); the rota and its
overrides live in the database. Another site's rota answers 404; editing needs ``directory:write`` (403 otherwise).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.people import DAYS, CareRole, PeopleError, PeopleFile, Person, SiteTeam
from alerts.rota import RotaOverride, RotaShift, on_duty_ids, rota_of
from api.access import delete_owned_row, site_filter, visible_site
from api.auth import Principal
from api.deps import AlertReader, DirectoryWriter, LangDep, Services, ServicesDep, SessionDep
from api.models import Scope
from api.pages import render, site_index
from api.routes.directory import NOT_YOURS
from carewatch.catalogue import Language, text
from carewatch.directory import Site

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/sites/{site_id}/rota", tags=["rota"])
page_router = APIRouter(include_in_schema=False)
MAX_SHIFTS = 200
MAX_OVERRIDE = timedelta(days=92)
MAX_REASON = 500


class ShiftEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    start: time = Field(description="Site time; an end before the start crosses midnight, an end equal to it makes 24 hours")
    end: time
    staff_id: str = Field(max_length=64, description="A duty staff id of this site in the people file")


class RotaBody(BaseModel):
    """The whole weekly table (it replaces the one stored); an empty list goes back to the people file's rota."""

    model_config = ConfigDict(extra="forbid")
    shifts: list[ShiftEntry] = Field(max_length=MAX_SHIFTS)


class ShiftPublic(ShiftEntry):
    model_config = ConfigDict(from_attributes=True)
    id: int


class OverrideCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    first_day: date = Field(description="Site calendar, inclusive")
    last_day: date
    absent_id: str = Field(max_length=64)
    replacement_id: str = Field(max_length=64)
    reason: str = Field(default="", max_length=MAX_REASON)


class OverridePublic(OverrideCreate):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_by: str
    created_at: datetime


class StaffPublic(BaseModel):
    id: str
    name: str


class RotaPublic(BaseModel):
    source: str = Field(description="'database' (edited here), 'people_file' (none here yet), or 'none' (no people file)")
    shifts: list[ShiftPublic]
    overrides: list[OverridePublic]
    on_duty_now: list[StaffPublic]
    staff: list[StaffPublic] = Field(description="Duty staff of the site in the people file: whom shifts may name")


def people_file(services: Services) -> PeopleFile | None:
    """The people file, read again each time so that an edit shows at once; None without one (or unreadable: logged)."""
    path = services.settings.people_path
    if path is None:
        return None
    try:
        return PeopleFile.load(path)
    except PeopleError:
        log.exception("the people file cannot be read: the rota pages show no staff")
        return None


def site_team(services: Services, site_id: str) -> SiteTeam | None:
    """The site's staff from the people file; None if there is no file or it does not list the site."""
    people = people_file(services)
    return people.sites.get(site_id) if people else None


def _staff_problem(team: SiteTeam | None, field: tuple[str, ...], staff_id: str) -> tuple[tuple[str, ...], str] | None:
    if team is None:
        return field, "no people file (CAREWATCH_PEOPLE_PATH) lists this site's staff and their channels: add them there first"
    if staff_id not in {p.id for p in team.with_role(CareRole.DUTY)}:
        return field, f"{staff_id!r} is not duty staff of this site in the people file"
    return None


def _refusal(problems: list[tuple[tuple[str, ...], str]]) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         [{"loc": ["body", *loc], "msg": msg, "type": "value_error"} for loc, msg in problems])


def _names(team: SiteTeam | None, ids: list[str]) -> list[Person | StaffPublic]:
    known = {p.id: p for p in team.staff} if team else {}
    return [known.get(i) or StaffPublic(id=i, name=i) for i in ids]


async def rota_public(session: AsyncSession, site: Site, team: SiteTeam | None, now: datetime) -> RotaPublic:
    """The site's rota, overrides and who is on duty ``now``; ``team``: the site in the people file (None: not there)."""
    shifts, overrides = await rota_of(session, site.id)
    if shifts:
        source, ids = "database", on_duty_ids([s.shift() for s in shifts], overrides, now.astimezone(team.timezone if team else ZoneInfo(site.timezone)))
    elif team is not None:
        source, ids = "people_file", [p.id for p in team.on_duty(now)]
    else:
        source, ids = "none", []
    return RotaPublic(
        source=source, shifts=[ShiftPublic.model_validate(s) for s in shifts], overrides=[OverridePublic.model_validate(o) for o in overrides],
        on_duty_now=[StaffPublic(id=p.id, name=p.name) for p in _names(team, ids)],
        staff=[StaffPublic(id=p.id, name=p.name) for p in (team.with_role(CareRole.DUTY) if team else [])],
    )


async def replace_rota(session: AsyncSession, services: Services, principal: Principal, site: Site, body: RotaBody) -> None:
    team = site_team(services, site.id)
    problems = [p for i, s in enumerate(body.shifts) if (p := _staff_problem(team, ("shifts", str(i), "staff_id"), s.staff_id))]
    if problems:
        raise _refusal(problems)
    await session.execute(delete(RotaShift).where(RotaShift.site_id == site.id))
    now = services.clock()
    session.add_all(RotaShift(site_id=site.id, created_by=principal.name, created_at=now, **s.model_dump()) for s in body.shifts)
    await session.commit()
    log.info("rota replaced", extra={"site_id": site.id, "by": principal.name, "shifts": len(body.shifts)})


async def add_override(session: AsyncSession, services: Services, principal: Principal, site: Site, body: OverrideCreate) -> RotaOverride:
    team = site_team(services, site.id)
    problems = [p for p in (_staff_problem(team, ("absent_id",), body.absent_id), _staff_problem(team, ("replacement_id",), body.replacement_id)) if p]
    if body.absent_id == body.replacement_id:
        problems.append((("replacement_id",), "the replacement must be someone else"))
    if body.last_day < body.first_day:
        problems.append((("last_day",), "last_day must not be before first_day"))
    elif body.last_day - body.first_day > MAX_OVERRIDE:
        problems.append((("last_day",), f"an override lasts at most {MAX_OVERRIDE.days} days: change the weekly rota instead"))
    if problems:
        raise _refusal(problems)
    override = RotaOverride(site_id=site.id, created_by=principal.name, created_at=services.clock(), **body.model_dump())
    session.add(override)
    await session.commit()
    log.info("rota override added", extra={"site_id": site.id, "by": principal.name, "override_id": override.id})
    return override


async def drop_override(session: AsyncSession, principal: Principal, site_id: str, override_id: int) -> None:
    await visible_site(session, principal, site_id)
    await delete_owned_row(session, RotaOverride, override_id, "site_id", site_id, "rota override")
    log.info("rota override removed", extra={"site_id": site_id, "by": principal.name, "override_id": override_id})


@router.get("", response_model=RotaPublic, responses=NOT_YOURS)
async def read_rota(site_id: str, principal: AlertReader, session: SessionDep, services: ServicesDep) -> RotaPublic:
    """The weekly rota, its overrides and who is on duty now."""
    site = await visible_site(session, principal, site_id)
    return await rota_public(session, site, site_team(services, site.id), services.clock())


@router.put("", response_model=RotaPublic, responses=NOT_YOURS)
async def write_rota(site_id: str, body: RotaBody, principal: DirectoryWriter, session: SessionDep, services: ServicesDep) -> RotaPublic:
    site = await visible_site(session, principal, site_id)
    await replace_rota(session, services, principal, site, body)
    return await rota_public(session, site, site_team(services, site.id), services.clock())


@router.post("/overrides", response_model=OverridePublic, status_code=status.HTTP_201_CREATED, responses=NOT_YOURS)
async def create_override(site_id: str, body: OverrideCreate, principal: DirectoryWriter, session: SessionDep, services: ServicesDep) -> RotaOverride:
    return await add_override(session, services, principal, await visible_site(session, principal, site_id), body)


@router.delete("/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def delete_override(site_id: str, override_id: int, principal: DirectoryWriter, session: SessionDep) -> Response:
    await drop_override(session, principal, site_id, override_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- the console ----------------------------------------------------------------------------------------


async def board_on_duty(session: AsyncSession, services: Services, principal: Principal) -> list[tuple[str, list[str]]]:
    """For the board: each of the principal's sites with the names of whoever is on duty now (sites with no rota left out)."""
    sites = (await session.scalars(site_filter(select(Site), principal, Site.id).order_by(Site.id))).all()
    people = people_file(services)  # once per board, not once per site
    shown = []
    for site in sites:
        rota = await rota_public(session, site, people.sites.get(site.id) if people else None, services.clock())
        if rota.source != "none":
            shown.append((site.name or site.id, [p.name for p in rota.on_duty_now]))
    return shown


async def _page(request: Request, session: AsyncSession, services: Services, principal: Principal, lang: Language, site: Site,
                notice: str | None = None, status_code: int = status.HTTP_200_OK) -> Response:
    now = services.clock()
    rota = await rota_public(session, site, site_team(services, site.id), now)
    names = {s.id: s.name for s in rota.staff} | {p.id: p.name for p in rota.on_duty_now}
    context = {"site": site, "rota": rota, "names": names, "days": [text(f"ui.weekday_{d}", lang) for d in DAYS],
               "can_edit": principal.can(Scope.DIRECTORY_WRITE), "notice": notice,
               "today": now.astimezone(ZoneInfo(site.timezone)).date().isoformat()}  # the site's calendar day, as overrides are read
    return render(request, "rota.html", lang, principal, context, status_code)


@page_router.get("/rota")
async def rota_index(request: Request, principal: AlertReader, session: SessionDep, lang: LangDep) -> Response:
    return await site_index(request, session, principal, lang, "rota")


@page_router.get("/sites/{site_id}/rota")
async def rota_page(site_id: str, request: Request, principal: AlertReader, session: SessionDep, services: ServicesDep, lang: LangDep) -> Response:
    return await _page(request, session, services, principal, lang, await visible_site(session, principal, site_id))


def _notice(refusal: HTTPException, lang: Language) -> str:
    fields = {str(p["loc"][-1]) for p in refusal.detail} if isinstance(refusal.detail, list) else set()
    keys = ["rota_bad_staff" for f in ("staff_id", "absent_id") if f in fields] + (["rota_bad_replacement"] if "replacement_id" in fields else [])
    keys += ["rota_bad_days"] if "last_day" in fields else []
    return " ".join(text(f"ui.{k}", lang) for k in dict.fromkeys(keys)) or str(refusal.detail)


@page_router.post("/sites/{site_id}/rota/shifts")
async def add_shift_from_console(
    site_id: str, request: Request, principal: DirectoryWriter, session: SessionDep, services: ServicesDep, lang: LangDep,
    weekday: Annotated[int, Form(ge=0, le=6)], start: Annotated[time, Form()], end: Annotated[time, Form()],
    staff_id: Annotated[str, Form(max_length=64)],
) -> Response:
    site = await visible_site(session, principal, site_id)
    shifts, _ = await rota_of(session, site.id)
    entries = [ShiftEntry(weekday=s.weekday, start=s.start, end=s.end, staff_id=s.staff_id) for s in shifts]
    try:
        await replace_rota(session, services, principal, site, RotaBody(shifts=[*entries, ShiftEntry(weekday=weekday, start=start, end=end, staff_id=staff_id)]))
    except HTTPException as refusal:
        return await _page(request, session, services, principal, lang, site, _notice(refusal, lang), refusal.status_code)
    return RedirectResponse(f"/sites/{site.id}/rota", status_code=status.HTTP_303_SEE_OTHER)


@page_router.post("/sites/{site_id}/rota/shifts/{shift_id}/delete")
async def delete_shift_from_console(site_id: str, shift_id: int, principal: DirectoryWriter, session: SessionDep) -> Response:
    await visible_site(session, principal, site_id)
    await delete_owned_row(session, RotaShift, shift_id, "site_id", site_id, "rota shift")
    log.info("rota shift removed", extra={"site_id": site_id, "by": principal.name, "shift_id": shift_id})
    return RedirectResponse(f"/sites/{site_id}/rota", status_code=status.HTTP_303_SEE_OTHER)


@page_router.post("/sites/{site_id}/rota/overrides")
async def add_override_from_console(
    site_id: str, request: Request, principal: DirectoryWriter, session: SessionDep, services: ServicesDep, lang: LangDep,
    first_day: Annotated[date, Form()], last_day: Annotated[date, Form()],
    absent_id: Annotated[str, Form(max_length=64)], replacement_id: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
) -> Response:
    site = await visible_site(session, principal, site_id)
    try:
        await add_override(session, services, principal, site, OverrideCreate(
            first_day=first_day, last_day=last_day, absent_id=absent_id, replacement_id=replacement_id, reason=reason))
    except HTTPException as refusal:
        return await _page(request, session, services, principal, lang, site, _notice(refusal, lang), refusal.status_code)
    return RedirectResponse(f"/sites/{site.id}/rota", status_code=status.HTTP_303_SEE_OTHER)


@page_router.post("/sites/{site_id}/rota/overrides/{override_id}/delete")
async def delete_override_from_console(site_id: str, override_id: int, principal: DirectoryWriter, session: SessionDep) -> Response:
    await drop_override(session, principal, site_id, override_id)
    return RedirectResponse(f"/sites/{site_id}/rota", status_code=status.HTTP_303_SEE_OTHER)
