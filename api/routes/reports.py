"""A supervisor's monthly report per community (api/reports.py): a page with a chart, a CSV and the JSON behind them.

For supervisors and admins (the `reports:read` permission); another community's report answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel

from api.access import visible_site
from api.deps import LangDep, NowDep, ReportReader, SessionDep
from api.history_export import as_csv
from api.pages import render, site_index
from api.reports import OUTCOME_COLUMNS, BadMonth, MonthlyReport, Spread, monthly_report, this_month
from carewatch.catalogue import Language, text, words
from carewatch.directory import Site

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["reports"])


class SpreadPublic(BaseModel):
    count: int
    median_min: float | None
    p90_min: float | None


class TypeRowPublic(BaseModel):
    alert_type: str
    total: int
    by_outcome: dict[str, int]
    false_alarm_share: float | None


class MonthlyReportPublic(BaseModel):
    site_id: str
    month: str
    total: int
    rows: list[TypeRowPublic]
    first_response: SpreadPublic
    family_contact: SpreadPublic


async def _report(
    session: SessionDep, principal: ReportReader, site_id: str, month: str | None, now: datetime | None = None
) -> tuple[Site, MonthlyReport]:
    """``month`` None: the month ``now`` falls in (the console's clock) in the site's calendar."""
    site = await visible_site(session, principal, site_id)
    try:
        return site, await monthly_report(session, site, month or this_month(ZoneInfo(site.timezone), now))
    except BadMonth as bad:
        raise HTTPException(422, str(bad)) from None


def _spread(spread: Spread) -> SpreadPublic:
    return SpreadPublic(count=spread.count, median_min=spread.median_min, p90_min=spread.p90_min)


@api_router.get("/sites/{site_id}/reports/{month}", response_model=MonthlyReportPublic)
async def report_json(site_id: str, month: str, session: SessionDep, principal: ReportReader) -> MonthlyReportPublic:
    """One community's month (YYYY-MM, its local calendar): alerts by type and outcome, false-alarm share per type,
    minutes to the first person answering and to the first message delivered to a family member (median, p90)."""
    _, report = await _report(session, principal, site_id, month)
    return MonthlyReportPublic(
        site_id=report.site_id, month=report.month, total=report.total,
        rows=[TypeRowPublic(alert_type=r.alert_type, total=r.total, by_outcome=r.by_outcome, false_alarm_share=r.false_alarm_share) for r in report.rows],
        first_response=_spread(report.first_response), family_contact=_spread(report.family_contact),
    )


@router.get("/reports")
async def reports_index(request: Request, principal: ReportReader, session: SessionDep, lang: LangDep) -> Response:
    return await site_index(request, session, principal, lang, "reports", {"said": words("report", lang)})


@router.get("/sites/{site_id}/reports")
async def report_page(
    site_id: str, request: Request, principal: ReportReader, session: SessionDep, lang: LangDep, now: NowDep,
    month: Annotated[str | None, Query()] = None,
) -> Response:
    site, report = await _report(session, principal, site_id, month, now)
    context = {
        "site": site, "report": report, "columns": _columns(lang), "types": words("alert_type", lang), "said": words("report", lang),
        "bars": _bars(report), "minutes": lambda value: _minutes(value, lang),
    }
    return render(request, "reports.html", lang, principal, context)


@router.get("/sites/{site_id}/reports/{month}.csv")
async def report_csv(site_id: str, month: str, principal: ReportReader, session: SessionDep, lang: LangDep) -> Response:
    site, report = await _report(session, principal, site_id, month)
    heading = [text("report.alert_type", lang), text("report.total", lang), *(label for _, label in _columns(lang)), text("report.false_alarm_share", lang)]
    cells = [
        [text(f"alert_type.{row.alert_type}", lang), str(row.total), *(str(row.by_outcome.get(key, 0)) for key, _ in _columns(lang)),
         "" if row.false_alarm_share is None else f"{row.false_alarm_share:.1%}"]
        for row in report.rows
    ]
    name = f"carewatch-report-{site.id}-{report.month}.csv"
    return Response(as_csv(heading, cells), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _columns(lang: Language) -> list[tuple[str, str]]:
    return [(key, text(f"report.outcome_{key}", lang)) for key in OUTCOME_COLUMNS]


def _bars(report: MonthlyReport) -> list[tuple[str, int, int, float]]:
    """Per type: (type, total, false alarms, width in % of the largest total), for the chart."""
    largest = max((row.total for row in report.rows), default=0) or 1
    return [(row.alert_type, row.total, row.by_outcome.get("false_alarm", 0), 100 * row.total / largest) for row in report.rows]


def _minutes(value: float | None, lang: Language) -> str:
    if value is None:
        return "—"
    if value < 60:
        return text("unit.minutes", lang, minutes=round(value))
    hours, minutes = divmod(round(value), 60)
    return text("unit.hours_minutes" if minutes else "unit.hours", lang, hours=hours, minutes=minutes)
