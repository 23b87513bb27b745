"""The shift handoff: what happened in the principal's communities since a time (new alerts, those
acknowledged, escalated, resolved, and those still open, each with its decisions), and the notes
outgoing officers left for the incoming ones, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import AlertStatus, AuditAction
from alerts.models import Alert, AlertEvent
from api.auth import Principal
from api.console_view import local_time
from api.history import HistoryFilters, history_query, site_zone
from api.models import ShiftHandoff
from carewatch.directory import Site

DEFAULT_SHIFT = timedelta(hours=12)
"""Without an earlier handoff, the page looks back one shift."""
PER_PART = 200
"""At most this many alerts per part of the report: more would be an outage, not a shift."""
NOTES_SHOWN = 10
BANNER_FOR = timedelta(hours=24)
"""The board shows the newest handoff note this long after it was written."""

PARTS = ("new", "acknowledged", "escalated", "resolved", "still_open")


@dataclass(frozen=True, slots=True)
class ShiftReport:
    since: datetime
    parts: dict[str, list[Alert]]
    """Each of PARTS: the alerts, newest first."""


def _visible_handoffs(principal: Principal, site: str | None) -> object:
    query = select(ShiftHandoff)
    if principal.sites is not None:
        query = query.where(ShiftHandoff.site_id.in_(sorted(principal.sites)))
    if site:
        query = query.where(ShiftHandoff.site_id == site)
    return query


async def handoff_notes(session: AsyncSession, principal: Principal, site: str | None, limit: int = NOTES_SHOWN) -> Sequence[ShiftHandoff]:
    """The newest handoff notes of the principal's communities (of ``site`` if given)."""
    query = _visible_handoffs(principal, site).order_by(ShiftHandoff.written_at.desc(), ShiftHandoff.id.desc())  # type: ignore[attr-defined]
    return (await session.scalars(query.limit(limit))).all()


async def default_since(session: AsyncSession, principal: Principal, site: str | None, now: datetime) -> datetime:
    """The start of the shift the last handoff covers (what the incoming officer needs with its note), or one shift
    back if there was none."""
    [latest] = (await handoff_notes(session, principal, site, limit=1)) or [None]
    return latest.since if latest is not None else now - DEFAULT_SHIFT


async def shift_report(session: AsyncSession, principal: Principal, site: str | None, since: datetime) -> ShiftReport:
    base = history_query(principal, HistoryFilters(site=site), await site_zone(session, site))

    def moved(*actions: AuditAction) -> object:
        return Alert.id.in_(select(AlertEvent.alert_id).where(AlertEvent.action.in_(actions), AlertEvent.at >= since))

    conditions = {
        "new": Alert.created_at >= since,
        "acknowledged": moved(AuditAction.ACKNOWLEDGED),
        "escalated": moved(AuditAction.ESCALATED, AuditAction.FAMILY_UNREACHABLE),
        "resolved": moved(AuditAction.RESOLVED, AuditAction.AUTO_RESOLVED),
        "still_open": Alert.status == AlertStatus.OPEN,
    }
    parts = {name: list((await session.scalars(base.where(condition).limit(PER_PART))).all()) for name, condition in conditions.items()}
    return ShiftReport(since, parts)


@dataclass(frozen=True, slots=True)
class HandoffBanner:
    site_name: str
    author: str
    written: str
    note: str


async def latest_handoff(session: AsyncSession, principal: Principal, now: datetime) -> HandoffBanner | None:
    """The newest note of the principal's communities, for the top of the board (the incoming officer reads it first)."""
    [latest] = (await handoff_notes(session, principal, None, limit=1)) or [None]
    if latest is None or latest.written_at < now - BANNER_FOR:
        return None
    site = await session.get(Site, latest.site_id)
    zone = await site_zone(session, latest.site_id)
    return HandoffBanner(site.name if site is not None and site.name else latest.site_id, latest.author, local_time(latest.written_at, zone), latest.note)
