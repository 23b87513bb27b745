"""The console's pages about alerts past and present: one alert with its decisions and audit trail,
the alert history (filters, pages, CSV and XLSX export), and the same history as JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import AlertStatus
from alerts.outcomes import FalseAlarmReason, OutcomeKind
from api.access import colleagues, visible_alert, visible_household, visible_site
from api.auth import Principal
from api.console_view import DEFAULT_ZONE, AlertRow, alert_rows, audit_words, household_labels, local_time
from api.decisions import decisions_of
from api.deps import AlertReader, LangDep, ServicesDep, SessionDep
from api.directory_schemas import Page
from api.history import HistoryFilters, find_history
from api.history_export import as_csv, as_xlsx, headings, records
from api.ladder_view import ladder_views
from api.pages import render
from api.routes.console import OUTCOME_CHOICES
from carewatch.catalogue import Language, text
from carewatch.directory import Household, Site
from carewatch.domain import AlertType, Severity

HISTORY_PAGE = 50
EXPORT_MAX = 20_000
"""An export holds at most this many alerts (a year of a large district); narrow the filters for more."""
MAX_API_PAGE = 500

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/alert-history", tags=["alerts"])


def _choice(enum: Any, value: str, field: str) -> Any:
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            [{"loc": ["query", field], "msg": f"not one of {[m.value for m in enum]}", "type": "enum"}]) from None


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            [{"loc": ["query", field], "msg": "a date as YYYY-MM-DD", "type": "date"}]) from None


async def history_filters(
    principal: AlertReader,
    session: SessionDep,
    site: Annotated[str, Query(max_length=64)] = "",
    alert_type: Annotated[str, Query(max_length=64)] = "",
    outcome: Annotated[str, Query(max_length=32)] = "",
    status_: Annotated[str, Query(alias="status", max_length=32)] = "",
    household_id: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10, description="First day, YYYY-MM-DD, the community's local time")] = "",
    until: Annotated[str, Query(max_length=10, description="Last day, included")] = "",
    q: Annotated[str, Query(max_length=100, description="Words in the notes people wrote")] = "",
) -> HistoryFilters:
    """The filters of the page, its exports and the API; another site's site or household answers 404."""
    if site:
        await visible_site(session, principal, site)
    if household_id and principal.sites is not None:
        await visible_household(session, principal, household_id)
    return HistoryFilters(
        site=site or None, alert_type=_choice(AlertType, alert_type, "alert_type"), outcome=_choice(OutcomeKind, outcome, "outcome"),
        status=_choice(AlertStatus, status_, "status"), household_id=household_id or None,
        since=_day(since, "since"), until=_day(until, "until"), q=q.strip(),
    )


Filters = Annotated[HistoryFilters, Depends(history_filters)]


async def site_names(session: AsyncSession, principal: Principal) -> dict[str, str]:
    query = select(Site.id, Site.name).order_by(Site.id)
    if principal.sites is not None:
        query = query.where(Site.id.in_(sorted(principal.sites)))
    return {site_id: name or site_id for site_id, name in (await session.execute(query)).all()}


@router.get("/history")
async def history_page(
    request: Request, principal: AlertReader, services: ServicesDep, session: SessionDep, lang: LangDep, filters: Filters,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    alerts, total = await find_history(session, principal, filters, HISTORY_PAGE, (page - 1) * HISTORY_PAGE)
    query = filters.as_query()
    pages = max(1, -(-total // HISTORY_PAGE))
    context = {
        "rows": await alert_rows(session, alerts, lang, services.registry),
        "filters": filters,
        "total": total,
        "page": page,
        "pages": pages,
        "previous_url": f"/history?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
        "next_url": f"/history?{urlencode({**query, 'page': page + 1})}" if page < pages else None,
        "export_query": urlencode(query),
        "site_names": await site_names(session, principal),
        "choices": {
            "alert_type": [(t.value, text(f"alert_type.{t.value}", lang)) for t in AlertType],
            "outcome": [(o.value, text(f"outcome.{o.value}", lang)) for o in OutcomeKind],
            "status": [(s.value, text(f"status.{s.value}", lang)) for s in AlertStatus],
        },
    }
    return render(request, "history.html", lang, principal, context)


async def _export_rows(session: AsyncSession, principal: Principal, filters: HistoryFilters, lang: Language, services: Any) -> list[list[str]]:
    alerts, _ = await find_history(session, principal, filters, EXPORT_MAX, 0)
    return records(await alert_rows(session, alerts, lang, services.registry), await site_names(session, principal))


def _download(body: bytes, media_type: str, suffix: str, now: datetime) -> Response:
    name = f"carewatch-alerts-{now.astimezone(DEFAULT_ZONE):%Y%m%d-%H%M}.{suffix}"
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/history/export.csv")
async def export_csv(principal: AlertReader, services: ServicesDep, session: SessionDep, lang: LangDep, filters: Filters) -> Response:
    cells = await _export_rows(session, principal, filters, lang, services)
    return _download(as_csv(headings(lang), cells), "text/csv; charset=utf-8", "csv", services.clock())


@router.get("/history/export.xlsx")
async def export_xlsx(principal: AlertReader, services: ServicesDep, session: SessionDep, lang: LangDep, filters: Filters) -> Response:
    cells = await _export_rows(session, principal, filters, lang, services)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(as_xlsx(headings(lang), cells, text("ui.alert_history", lang)), xlsx, "xlsx", services.clock())


async def card_context(session: AsyncSession, rows: list[AlertRow], lang: Language) -> dict[str, Any]:
    """What the alert card (_alert_card.html) needs besides its rows: ladders, colleagues, the outcomes to choose."""
    return {
        "ladders": await ladder_views(session, [row.id for row in rows], lang),
        "colleagues": await colleagues(session, {row.site for row in rows}),
        "outcomes": [(choice, text(f"ui.outcome_{choice}", lang)) for choice in OUTCOME_CHOICES],
    }


@router.get("/alerts/{alert_id}")
async def alert_page(
    alert_id: str, request: Request, principal: AlertReader, services: ServicesDep, session: SessionDep, lang: LangDep
) -> Response:
    """One alert: the card (numbers to call, decisions, ladder, actions while active) and its whole audit trail."""
    alert = await visible_alert(session, principal, alert_id)
    [row] = await alert_rows(session, [alert], lang, services.registry)
    label = (await household_labels(session, [alert.household_id], services.registry)).get(alert.household_id)
    zone = label.zone if label is not None else DEFAULT_ZONE
    context = {
        "row": row,
        **await card_context(session, [row], lang),
        "events": [(e, local_time(e.at, zone)) for e in alert.events],
        **audit_words(lang),
        "back": f"/alerts/{alert.id}",
    }
    return render(request, "alert.html", lang, principal, context)


# ---- the JSON API ---------------------------------------------------------------------------------------


class DecisionPublic(BaseModel):
    action: str
    actor: str
    at: datetime
    outcome: OutcomeKind | None
    outcome_reason: FalseAlarmReason | None
    note: str


class AlertHistoryPublic(BaseModel):
    alert_id: str
    household_id: str
    site: str | None
    alert_type: AlertType
    severity: Severity
    status: AlertStatus
    onset: datetime
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: OutcomeKind | None
    outcome_reason: FalseAlarmReason | None
    outcome_detail: str
    decisions: list[DecisionPublic]


@api_router.get("", response_model=Page[AlertHistoryPublic], responses={404: {"description": "No such site or household in your sites"}})
async def alert_history(
    principal: AlertReader, session: SessionDep, filters: Filters,
    limit: Annotated[int, Query(ge=1, description=f"At most {MAX_API_PAGE}; larger values are capped")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Alerts of your sites, newest first, with every decision people made; the console's history filters."""
    limit = min(limit, MAX_API_PAGE)
    alerts, total = await find_history(session, principal, filters, limit, offset)
    sites = await _sites_of(session, [a.household_id for a in alerts])
    decided = await decisions_of(session, [a.id for a in alerts])
    items = [
        AlertHistoryPublic(
            alert_id=a.id, household_id=a.household_id, site=sites.get(a.household_id), alert_type=a.alert_type, severity=a.severity,
            status=a.status, onset=a.onset, raised_at=a.raised_at, acknowledged_at=a.acknowledged_at, acknowledged_by=a.acknowledged_by,
            resolved_at=a.resolved_at, resolved_by=a.resolved_by, outcome=a.outcome, outcome_reason=a.outcome_reason,
            outcome_detail=a.outcome_detail or "",
            decisions=[DecisionPublic(action=d.action.value, actor=d.actor, at=d.at, outcome=d.outcome, outcome_reason=d.outcome_reason,
                                      note=d.note) for d in decided.get(a.id, ())],
        )
        for a in alerts
    ]
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + limit if offset + limit < total else None}


async def _sites_of(session: AsyncSession, household_ids: list[str]) -> dict[str, str]:
    if not household_ids:
        return {}
    return dict((await session.execute(select(Household.id, Household.site_id).where(Household.id.in_(sorted(set(household_ids)))))).all())


__all__ = ["AlertRow", "api_router", "router"]
