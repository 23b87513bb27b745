"""The console's household pages: the elder, their contacts, planned absences, a week of use, alert history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from alerts.contacts import contacts_of
from alerts.lifecycle import AlertStatus
from alerts.models import Alert
from api.access import site_filter, visible_household
from api.auth import Principal
from api.console_view import alert_row, audit_words, local_time
from api.deps import AbsenceWriter, DirectoryReader, LangDep, Services, ServicesDep, SessionDep
from api.directory_schemas import AbsenceCreate
from api.models import Scope
from api.pages import render
from api.routes.households import add_absence, clear_absence, list_absences_of
from api.usage_chart import hourly_chart
from carewatch.catalogue import Language, text, words
from carewatch.domain import AlertType
from carewatch.directory import Household, Site
from ingest.models import MeterHealthRow
from ingest.summaries import stored_meter_health, stored_routine
from ingest.usage import last_days

router = APIRouter(include_in_schema=False)
HISTORY = 50


@router.get("/households")
async def households_page(
    request: Request, principal: DirectoryReader, session: SessionDep, lang: LangDep,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    query = site_filter(select(Household), principal, Household.site_id).order_by(Household.site_id, Household.id)
    if q.strip():
        pattern = f"%{q.strip()}%"
        query = query.where(or_(Household.id.ilike(pattern), Household.name.ilike(pattern), Household.address.ilike(pattern)))
    households = (await session.scalars(query.limit(500))).all()
    site_names = dict((await session.execute(select(Site.id, Site.name).where(Site.id.in_({h.site_id for h in households})))).all())
    return render(request, "households.html", lang, principal, {"households": households, "site_names": site_names, "q": q})


@router.get("/households/{household_id}")
async def household_page(
    household_id: str, request: Request, principal: DirectoryReader, services: ServicesDep, session: SessionDep, lang: LangDep
) -> Response:
    return await _household_page(household_id, request, principal, services, session, lang)


async def _household_page(
    household_id: str, request: Request, principal: Principal, services: Services, session: AsyncSession, lang: Language,
    notice: str | None = None, status_code: int = status.HTTP_200_OK,
) -> Response:
    household = await visible_household(session, principal, household_id, meters=True)
    zone = ZoneInfo(household.timezone)
    rows, end = await last_days(session, household_id, 7)
    alerts = (
        await session.scalars(
            select(Alert).where(Alert.household_id == household_id, Alert.alert_type != AlertType.CHECK_IN)
            .options(selectinload(Alert.events)).order_by(Alert.raised_at.desc()).limit(HISTORY)
        )
    ).all()
    check_ins = (
        await session.scalars(
            select(Alert).where(Alert.household_id == household_id, Alert.alert_type == AlertType.CHECK_IN)
            .order_by(Alert.raised_at.desc()).limit(HISTORY)
        )
    ).all()
    site = await session.get(Site, household.site_id)
    health = await stored_meter_health(session, household_id)
    now = services.clock()
    context: dict[str, Any] = {
        "household": household,
        "site": site,
        "age": (now.year - household.birth_year) if household.birth_year else None,
        "absences": [(a, local_time(a.starts_at, zone), local_time(a.ends_at, zone)) for a in await list_absences_of(session, household_id, now)],
        "chart": hourly_chart(rows, end or now, zone),
        "history": [(alert_row(a, None, lang), [(e, local_time(e.at, zone)) for e in a.events]) for a in alerts],
        "check_ins": [(local_time(a.raised_at, zone), check_in_answer(a, zone, lang), a.explanation(lang)) for a in check_ins],
        "contacts": await _contacts(session, household_id),
        "routine": await stored_routine(session, household_id),
        "meter_health": [(m, health.get(m.id), _heard(health.get(m.id), zone)) for m in household.meters],
        "flag_words": words("meter_flag", lang),
        **audit_words(lang),
        "notice": notice,
        "can_set_absence": principal.can(Scope.ABSENCES_WRITE),
    }
    return render(request, "household.html", lang, principal, context, status_code)


def check_in_answer(alert: Alert, zone: ZoneInfo, lang: Language) -> str:
    """How a check-in ended, in words: the elder's answer, use seen, no answer (family and staff told), or still open."""
    if alert.status.is_active:
        return text("ui.check_in_open", lang)
    ended = (alert.facts or {}).get("ended")
    if alert.status is AlertStatus.RESOLVED:
        who = (alert.resolved_by or "").removeprefix("elder: ")
        return text("ui.check_in_fine", lang, who=who, at=local_time(alert.resolved_at, zone) if alert.resolved_at else "")
    at = local_time(alert.cleared_at, zone) if alert.cleared_at else ""
    key = f"ui.check_in_{ended}" if ended in ("used", "unanswered", "superseded") else "ui.check_in_closed"
    return text(key, lang, at=at)


def _heard(row: MeterHealthRow | None, zone: ZoneInfo) -> str | None:
    """When the meter's newest reading was taken, in the household's time; None: never heard."""
    return None if row is None or row.heard_at is None else local_time(row.heard_at, zone)


async def _contacts(session: AsyncSession, household_id: str) -> list[tuple[str, str, str, list[str]]]:
    """(name, relation, role, phone numbers) of the household's contacts in the directory, the elder's line first."""
    return [
        (c.name, c.relation, c.role, [ch["address"] for ch in c.channels if ch["kind"] in ("sms", "voice")])
        for c in await contacts_of(session, household_id)
    ]


@router.post("/households/{household_id}/absences")
async def set_absence(
    household_id: str, request: Request, principal: AbsenceWriter, services: ServicesDep, session: SessionDep, lang: LangDep,
    starts_at: Annotated[str, Form(max_length=40)] = "",
    ends_at: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    household = await visible_household(session, principal, household_id)
    zone = ZoneInfo(household.timezone)
    try:
        # The form's datetime-local fields are the household's local time.
        body = AbsenceCreate(starts_at=_local(starts_at, zone), ends_at=_local(ends_at, zone), note=note)
    except (ValueError, ValidationError):
        return await _household_page(household_id, request, principal, services, session, lang,
                                    text("ui.bad_absence", lang), status.HTTP_422_UNPROCESSABLE_CONTENT)
    await add_absence(session, services, principal, household, body)
    return RedirectResponse(f"/households/{household_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/households/{household_id}/absences/{absence_id}/clear")
async def remove_absence(
    household_id: str, absence_id: int, principal: AbsenceWriter, session: SessionDep, services: ServicesDep
) -> Response:
    await clear_absence(session, services, principal, household_id, absence_id)
    return RedirectResponse(f"/households/{household_id}", status_code=status.HTTP_303_SEE_OTHER)


def _local(value: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=zone)

