"""The alert history: every alert of the principal's sites, filtered by site, type, outcome, status,
household, a date range (in the community's local time) and words of the notes people wrote.

One query for the console page, its CSV and XLSX exports and the JSON API, so the three always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import AlertStatus
from alerts.models import Alert, AlertEvent
from alerts.outcomes import OutcomeKind
from api.auth import Principal
from api.console_view import DEFAULT_ZONE, zone_named
from api.decisions import SYSTEM_ACTORS
from carewatch.directory import Household, Site
from carewatch.domain import AlertType

MAX_NOTE_SEARCH = 100


@dataclass(frozen=True, slots=True)
class HistoryFilters:
    """Each filter given must match; ``since`` and ``until`` are whole days, both included."""

    site: str | None = None
    alert_type: AlertType | None = None
    outcome: OutcomeKind | None = None
    status: AlertStatus | None = None
    household_id: str | None = None
    since: date | None = None
    until: date | None = None
    q: str = ""
    """Words in a note a person wrote (acknowledging, resolving, assigning) or in a false alarm's detail."""

    def as_query(self) -> dict[str, str]:
        """The filters given, as the page's query string (for paging and export links)."""
        values = {"site": self.site, "alert_type": self.alert_type, "outcome": self.outcome, "status": self.status,
                  "household_id": self.household_id, "since": self.since, "until": self.until, "q": self.q}
        return {name: str(value) for name, value in values.items() if value not in (None, "")}


def _like(words: str) -> str:
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def site_zone(session: AsyncSession, site: str | None) -> tzinfo:
    """The zone the date range is read in: the chosen community's, else the programme's (China time)."""
    if site:
        zone_name = await session.scalar(select(Site.timezone).where(Site.id == site))
        if zone_name:
            return zone_named(zone_name)
    return DEFAULT_ZONE


def history_query(principal: Principal, filters: HistoryFilters, zone: tzinfo) -> Select[tuple[Alert]]:
    """The alerts matching ``filters`` among the principal's sites, newest first."""
    query = select(Alert)
    households = select(Household.id)
    if principal.sites is not None:
        households = households.where(Household.site_id.in_(sorted(principal.sites)))
    if filters.site:
        households = households.where(Household.site_id == filters.site)
    if principal.sites is not None or filters.site:
        query = query.where(Alert.household_id.in_(households))
    exact: dict[str, Any] = {"alert_type": filters.alert_type, "outcome": filters.outcome, "status": filters.status,
                             "household_id": filters.household_id}
    for column, value in exact.items():
        if value is not None:
            query = query.where(getattr(Alert, column) == value)
    if filters.since is not None:
        query = query.where(Alert.raised_at >= datetime.combine(filters.since, time(), zone))
    if filters.until is not None:
        query = query.where(Alert.raised_at < datetime.combine(filters.until + timedelta(days=1), time(), zone))
    words = filters.q.strip()[:MAX_NOTE_SEARCH]
    if words:
        pattern = _like(words)
        noted = select(AlertEvent.alert_id).where(AlertEvent.note.ilike(pattern, escape="\\"), AlertEvent.actor.not_in(SYSTEM_ACTORS))
        query = query.where(or_(Alert.id.in_(noted), Alert.outcome_detail.ilike(pattern, escape="\\")))
    return query.order_by(Alert.raised_at.desc(), Alert.id)


async def find_history(
    session: AsyncSession, principal: Principal, filters: HistoryFilters, limit: int, offset: int
) -> tuple[list[Alert], int]:
    """One page of the history and how many alerts match in all."""
    query = history_query(principal, filters, await site_zone(session, filters.site))
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.scalars(query.limit(limit).offset(offset))).all()
    return list(rows), int(total or 0)
