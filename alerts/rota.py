"""The duty rota kept in the database: a weekly table per site, and overrides for a date range (who replaces whom).

Supervisors edit it in the console (api/routes/rota.py). Staff are named by their id in the people file
(``CAREWATCH_PEOPLE_PATH``), which still holds their names and channels: the rota says *when*, the file says
*how to reach them*. A site with no rota rows in the database keeps the people file's rota, so a deployment
that never edits the rota behaves as before.

Overrides apply by the site's local calendar day (``first_day`` to ``last_day`` inclusive): during them the
absent member's shifts go to the replacement (sick leave, a swap).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time

from sqlalchemy import Date, ForeignKey, Integer, String, Text, Time, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from alerts.lifecycle import MAX_ACTOR_LENGTH
from alerts.people import Person, Shift, SiteTeam
from carewatch.db import Base, UTCDateTime

log = logging.getLogger(__name__)


class RotaShift(Base):
    """One weekly shift: on ``weekday`` (0 = Monday) from ``start`` to ``end`` (site time; end ≤ start crosses midnight)."""

    __tablename__ = "rota_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)
    staff_id: Mapped[str] = mapped_column(String(64))
    """The people file's staff id of this site."""
    created_by: Mapped[str] = mapped_column(String(MAX_ACTOR_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def shift(self) -> Shift:
        return Shift(self.staff_id, frozenset({self.weekday}), self.start, self.end)


class RotaOverride(Base):
    """From ``first_day`` to ``last_day`` (site calendar, inclusive) ``replacement_id`` takes ``absent_id``'s shifts."""

    __tablename__ = "rota_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    absent_id: Mapped[str] = mapped_column(String(64))
    replacement_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(MAX_ACTOR_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


async def rota_of(session: AsyncSession, site_id: str) -> tuple[Sequence[RotaShift], Sequence[RotaOverride]]:
    shifts = (await session.scalars(select(RotaShift).where(RotaShift.site_id == site_id)
                                    .order_by(RotaShift.weekday, RotaShift.start, RotaShift.id))).all()
    overrides = (await session.scalars(select(RotaOverride).where(RotaOverride.site_id == site_id)
                                       .order_by(RotaOverride.first_day, RotaOverride.id))).all()
    return shifts, overrides


def on_duty_ids(shifts: Sequence[Shift], overrides: Sequence[RotaOverride], local: datetime) -> list[str]:
    """Staff ids on duty at ``local`` (site time), after the overrides of that day, in rota order without repeats.

    >>> from datetime import date, time
    >>> from zoneinfo import ZoneInfo
    >>> week = [Shift("li", frozenset({0}), time(8), time(20)), Shift("wang", frozenset({0}), time(20), time(8))]
    >>> monday_noon = datetime(2026, 12, 7, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    >>> on_duty_ids(week, [], monday_noon)
    ['li']
    >>> sick = RotaOverride(first_day=date(2026, 12, 7), last_day=date(2026, 12, 8), absent_id="li", replacement_id="zhao")
    >>> on_duty_ids(week, [sick], monday_noon)
    ['zhao']
    """
    swaps = {o.absent_id: o.replacement_id for o in overrides if o.first_day <= local.date() <= o.last_day}
    ids: list[str] = []
    for shift in shifts:
        if shift.covers(local):
            staff = swaps.get(shift.staff_id, shift.staff_id)
            if staff not in ids:
                ids.append(staff)
    return ids


async def on_duty(session: AsyncSession, site: SiteTeam, at: datetime) -> list[Person] | None:
    """Who is on duty at ``at`` by the database rota; None when the site has none there (use the people file's)."""
    rows, overrides = await rota_of(session, site.site)
    if not rows:
        return None
    ids = on_duty_ids([row.shift() for row in rows], overrides, at.astimezone(site.timezone))
    staff = {member.id: member for member in site.staff}
    unknown = [i for i in ids if i not in staff]
    if unknown:
        log.error("site %s: the rota names %s, not staff of the people file; they cannot be paged", site.site, unknown)
    return [staff[i] for i in ids if i in staff]
