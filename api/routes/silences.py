"""Site silences (alerts/silences.py) in the API and the console: staff of a site read them, supervisors set and end them.

Another site's silences answer 404 (api/access.py); setting or ending one needs ``directory:write``
(supervisors, admins, integrator keys given it): duty staff get 403.  Every refusal names its field.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.silences import MAX_REASON, SAFETY_TYPES, SiteSilence, silence_problems, silences_of
from api.access import owned_row, site_filter, visible_site
from api.auth import Principal
from api.console_view import local_time
from api.deps import AlertReader, DirectoryWriter, LangDep, NowDep, SessionDep
from api.history import site_zone
from api.models import Scope
from api.pages import render, site_index
from api.routes.directory import NOT_YOURS
from carewatch.catalogue import Language, text, words
from carewatch.directory import Household, Site
from carewatch.domain import AlertType

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/sites/{site_id}/silences", tags=["silences"])
page_router = APIRouter(include_in_schema=False)
MAX_HOUSEHOLDS = 2000
ENDED_SHOWN = timedelta(days=7)
"""The console lists silences that ended within this long, so the officer sees what was silenced lately."""


class SilenceCreate(BaseModel):
    """A planned silence: which households (none named: the whole site), which alert types, when, and why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    household_ids: list[str] | None = Field(default=None, max_length=MAX_HOUSEHOLDS, description="Left out: every household of the site")
    alert_types: list[AlertType] = Field(max_length=len(AlertType), description="At least one")
    include_safety: bool = Field(default=False, description="Needed to silence gas_continuous or water_continuous")
    starts_at: AwareDatetime = Field(description="Event time: the wall clock in production, simulated time in a replay or the demo")
    ends_at: AwareDatetime = Field(description="At most 14 days after starts_at; it expires by itself")
    reason: str = Field(max_length=MAX_REASON, description="Required: why (e.g. the district's gas supply is cut for repairs)")


class SilencePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: str
    household_ids: list[str] | None
    alert_types: list[str]
    include_safety: bool
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime
    ended_at: datetime | None = Field(description="Set when someone ended it early")
    ended_by: str | None


def _refusal(problems: list[tuple[str, str]]) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         [{"loc": ["body", field], "msg": message, "type": "value_error"} for field, message in problems])


async def _household_problems(session: AsyncSession, site_id: str, household_ids: list[str] | None) -> list[tuple[str, str]]:
    """Named households must be the site's (one of another site is refused like an unknown one: nobody learns it exists)."""
    if household_ids is None:
        return []
    if not household_ids:
        return [("household_ids", "an empty list silences nobody: leave household_ids out to silence the whole site")]
    known = set((await session.scalars(select(Household.id).where(Household.site_id == site_id, Household.id.in_(household_ids)))).all())
    unknown = [h for h in household_ids if h not in known]
    return [("household_ids", f"not households of site {site_id!r}: {', '.join(unknown[:10])}")] if unknown else []


async def add_silence(session: AsyncSession, principal: Principal, site: Site, body: SilenceCreate, now: datetime) -> SiteSilence:
    """Check and store a silence for a site the principal sees; 422 naming every problem's field."""
    problems = silence_problems(body.alert_types, body.include_safety, body.starts_at, body.ends_at, body.reason)
    problems += await _household_problems(session, site.id, body.household_ids)
    if problems:
        raise _refusal(problems)
    silence = SiteSilence(
        site_id=site.id, household_ids=sorted(set(body.household_ids)) if body.household_ids else None,
        alert_types=sorted({t.value for t in body.alert_types}), include_safety=body.include_safety,
        starts_at=body.starts_at, ends_at=body.ends_at, reason=body.reason, created_by=principal.name, created_at=now,
    )
    session.add(silence)
    await session.commit()
    log.info("site silence set", extra={"silence_id": silence.id, "site_id": site.id, "by": principal.name,
                                         "alert_types": silence.alert_types, "until": silence.ends_at.isoformat()})
    return silence


async def end_silence(session: AsyncSession, principal: Principal, site_id: str, silence_id: int, now: datetime) -> SiteSilence:
    """End a silence early: it covers nothing from now on; who and when are kept on it. 409 if it is over already."""
    await visible_site(session, principal, site_id)
    silence = await owned_row(session, SiteSilence, silence_id, "site_id", site_id, "silence")
    if silence.ended_at is not None or silence.ends_at <= now:
        raise HTTPException(status.HTTP_409_CONFLICT, f"silence {silence_id} is over already")
    silence.ended_at, silence.ended_by = now, principal.name
    await session.commit()
    log.info("site silence ended early", extra={"silence_id": silence_id, "site_id": site_id, "by": principal.name})
    return silence


@router.get("", response_model=list[SilencePublic], responses=NOT_YOURS)
async def list_silences(site_id: str, principal: AlertReader, session: SessionDep, now: NowDep, past: bool = False) -> list[SiteSilence]:
    """The site's silences that are not over yet (``past=true``: every one), earliest first."""
    await visible_site(session, principal, site_id)
    return list(await silences_of(session, [site_id], ended_since=None if past else now))


@router.post("", response_model=SilencePublic, status_code=status.HTTP_201_CREATED, responses=NOT_YOURS)
async def create_silence(site_id: str, body: SilenceCreate, principal: DirectoryWriter, session: SessionDep, now: NowDep) -> SiteSilence:
    """Alerts raised in the window are stored but notify nobody; safety types need ``include_safety``."""
    return await add_silence(session, principal, await visible_site(session, principal, site_id), body, now)


@router.delete("/{silence_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def delete_silence(site_id: str, silence_id: int, principal: DirectoryWriter, session: SessionDep, now: NowDep) -> Response:
    """End the silence early (it stays listed with ``past=true``, with who ended it)."""
    await end_silence(session, principal, site_id, silence_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- the console ----------------------------------------------------------------------------------------


def silence_view(silence: SiteSilence, zone: tzinfo, lang: Language, now: datetime) -> dict[str, object]:
    """What a banner or a row says about a silence, in the reader's words and the site's time."""
    names = words("alert_type", lang)
    return {
        "silence": silence,
        "types": "、".join(names.get(t, t) for t in silence.alert_types) if lang == "zh-CN" else ", ".join(names.get(t, t) for t in silence.alert_types),
        "starts": local_time(silence.starts_at, zone),
        "until": local_time(silence.until, zone),
        "ends": local_time(silence.ends_at, zone),
        "ended": local_time(silence.ended_at, zone) if silence.ended_at else None,
        "active": silence.starts_at <= now < silence.until,
        "over": silence.until <= now,
    }


async def board_silences(session: AsyncSession, principal: Principal, lang: Language, now: datetime) -> list[dict[str, object]]:
    """The silences in force now in the principal's sites, for the board's banners."""
    sites = (await session.execute(site_filter(select(Site.id, Site.name, Site.timezone), principal, Site.id))).all()
    zones = {site_id: (name or site_id, await site_zone(session, site_id)) for site_id, name, _ in sites}
    return [
        {**silence_view(s, zones[s.site_id][1], lang, now), "site_name": zones[s.site_id][0]}
        for s in await silences_of(session, list(zones), at=now)
    ]


def _parse_local(value: str, zone: tzinfo) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone) if value else None
    except ValueError:
        return None


async def _page(request: Request, session: AsyncSession, principal: Principal, lang: Language, site: Site, now: datetime,
                notice: str | None = None, status_code: int = status.HTTP_200_OK, kept: dict[str, object] | None = None) -> Response:
    """The site's silences and, for supervisors, the form (``kept``: what was typed into a refused one, shown again)."""
    zone = await site_zone(session, site.id)
    silences = [silence_view(s, zone, lang, now) for s in await silences_of(session, [site.id], ended_since=now - ENDED_SHOWN)]
    households = (await session.execute(select(Household.id, Household.name).where(Household.site_id == site.id).order_by(Household.id))).all()
    start = now.astimezone(zone).replace(second=0, microsecond=0)
    context = {
        "site": site, "silences": silences, "households": households, "notice": notice,
        "alert_types": [(t.value, t in SAFETY_TYPES) for t in AlertType],
        "type_names": words("alert_type", lang),
        "can_edit": principal.can(Scope.DIRECTORY_WRITE),
        "form": {"starts_at": start.strftime("%Y-%m-%dT%H:%M"), "ends_at": (start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
                 "alert_types": [], "household_ids": [], "include_safety": False, "reason": ""} | (kept or {}),
    }
    return render(request, "silences.html", lang, principal, context, status_code)


@page_router.get("/silences")
async def silences_index(request: Request, principal: AlertReader, session: SessionDep, lang: LangDep) -> Response:
    return await site_index(request, session, principal, lang, "silences")


@page_router.get("/sites/{site_id}/silences")
async def site_silences_page(site_id: str, request: Request, principal: AlertReader, session: SessionDep, lang: LangDep, now: NowDep) -> Response:
    return await _page(request, session, principal, lang, await visible_site(session, principal, site_id), now)


FIELD_NOTICE = {"alert_types": "silence_need_types", "include_safety": "silence_need_safety", "ends_at": "silence_bad_window",
                "starts_at": "silence_bad_window", "reason": "silence_need_reason", "household_ids": "silence_bad_households"}
"""The console's words for each field the API would name in a 422."""


@page_router.post("/sites/{site_id}/silences")
async def set_silence_from_console(
    site_id: str, request: Request, principal: DirectoryWriter, session: SessionDep, lang: LangDep, now: NowDep,
    starts_at: Annotated[str, Form(max_length=20)] = "",
    ends_at: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
    alert_types: Annotated[list[str] | None, Form()] = None,
    household_ids: Annotated[list[str] | None, Form()] = None,
    include_safety: Annotated[bool, Form()] = False,
) -> Response:
    site = await visible_site(session, principal, site_id)
    zone = await site_zone(session, site.id)
    starts, ends = _parse_local(starts_at, zone), _parse_local(ends_at, zone)
    kept = {"starts_at": starts_at, "ends_at": ends_at, "alert_types": alert_types or [], "household_ids": household_ids or [],
            "include_safety": include_safety, "reason": reason}
    known_types = [AlertType(t) for t in alert_types or () if t in {a.value for a in AlertType}]
    if starts is None or ends is None:
        return await _page(request, session, principal, lang, site, now, text("ui.silence_bad_window", lang), status.HTTP_422_UNPROCESSABLE_CONTENT, kept)
    try:
        body = SilenceCreate(household_ids=household_ids or None, alert_types=known_types, include_safety=include_safety,
                             starts_at=starts, ends_at=ends, reason=reason)
        await add_silence(session, principal, site, body, now)
    except (HTTPException, ValidationError) as refusal:
        problems = refusal.errors() if isinstance(refusal, ValidationError) else refusal.detail
        fields = [str(p["loc"][1] if p["loc"][0] == "body" else p["loc"][0]) for p in problems] if isinstance(problems, list) else []
        keys = dict.fromkeys(FIELD_NOTICE.get(field, "silence_not_saved") for field in fields) or {"silence_not_saved": None}
        notice = " ".join(text(f"ui.{key}", lang) for key in keys)
        return await _page(request, session, principal, lang, site, now, notice, status.HTTP_422_UNPROCESSABLE_CONTENT, kept)
    return RedirectResponse(f"/sites/{site.id}/silences", status_code=status.HTTP_303_SEE_OTHER)


@page_router.post("/sites/{site_id}/silences/{silence_id}/end")
async def end_silence_from_console(
    site_id: str, silence_id: int, request: Request, principal: DirectoryWriter, session: SessionDep, lang: LangDep, now: NowDep
) -> Response:
    try:
        await end_silence(session, principal, site_id, silence_id, now)
    except HTTPException as refusal:
        if refusal.status_code != status.HTTP_409_CONFLICT:
            raise
        site = await visible_site(session, principal, site_id)
        return await _page(request, session, principal, lang, site, now, text("ui.silence_over", lang), refusal.status_code)
    return RedirectResponse(f"/sites/{site_id}/silences", status_code=status.HTTP_303_SEE_OTHER)
