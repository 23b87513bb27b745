"""Per-site access for every object route: another site's object answers 404, as if it did not exist.

Saying 404 rather than 403 keeps one community's staff from learning which ids exist elsewhere.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, TypeVar, Unpack

from fastapi import HTTPException, status
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from alerts.lifecycle import AlertStatus
from alerts.models import Alert
from alerts.store import AlertFilters, alerts_query
from api.auth import Principal
from api.models import Role, User, UserSite
from carewatch.directory import Gateway, Household, Meter, Site

Row = TypeVar("Row")


def not_found(what: str, key: object) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no {what} {key!r} among the sites you may see")


async def owned_row(session: AsyncSession, model: type[Row], row_id: int, owner: str, owner_id: str, what: str) -> Row:
    """The row ``row_id`` of ``model`` if its ``owner`` column (``site_id``, ``household_id``) is ``owner_id``; 404
    otherwise, so an id of another community's row answers as one that does not exist. Check the owner is visible first."""
    row = await session.get(model, row_id)
    if row is None or getattr(row, owner) != owner_id:
        raise not_found(what, row_id)
    return row


async def delete_owned_row(session: AsyncSession, model: type[Any], row_id: int, owner: str, owner_id: str, what: str) -> None:
    """Delete and commit the row ``row_id`` of ``model`` that belongs to ``owner_id`` (see owned_row), or 404."""
    await session.delete(await owned_row(session, model, row_id, owner, owner_id, what))
    await session.commit()


def site_filter(query: Select[Any], principal: Principal, column: Any) -> Select[Any]:
    """Restrict ``query`` to rows whose site ``column`` the principal sees."""
    if principal.sites is None:
        return query
    return query.where(column.in_(sorted(principal.sites)))


async def visible_site(session: AsyncSession, principal: Principal, site_id: str) -> Site:
    site = await session.get(Site, site_id)
    if site is None or not principal.sees(site.id):
        raise not_found("site", site_id)
    return site


async def visible_household(session: AsyncSession, principal: Principal, household_id: str, *, meters: bool = False) -> Household:
    options = [selectinload(Household.meters)] if meters else []
    household = await session.get(Household, household_id, options=options)
    if household is None or not principal.sees(household.site_id):
        raise not_found("household", household_id)
    return household


async def visible_gateway(session: AsyncSession, principal: Principal, gateway_id: str) -> Gateway:
    gateway = await session.get(Gateway, gateway_id)
    if gateway is None or not principal.sees(gateway.site_id):
        raise not_found("gateway", gateway_id)
    return gateway


async def visible_meter(session: AsyncSession, principal: Principal, meter_id: str) -> tuple[Meter, Household]:
    row = (
        await session.execute(select(Meter, Household).join(Household, Household.id == Meter.household_id).where(Meter.id == meter_id))
    ).one_or_none()
    if row is None or not principal.sees(row[1].site_id):
        raise not_found("meter", meter_id)
    return row[0], row[1]


async def alert_site(session: AsyncSession, household_id: str) -> str | None:
    return await session.scalar(select(Household.site_id).where(Household.id == household_id))


async def visible_alert(session: AsyncSession, principal: Principal, alert_id: str) -> Alert:
    alert = await session.get(Alert, alert_id, options=[selectinload(Alert.events)])
    if alert is None or not principal.sees(await alert_site(session, alert.household_id)):
        raise not_found("alert", alert_id)
    return alert


class NotAColleague(HTTPException):
    """The account named to take an alert does not exist, is inactive, or does not look after the alert's site."""

    def __init__(self, user_id: int) -> None:
        super().__init__(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["body", "user_id"], "msg": f"no active colleague {user_id} who looks after this alert's community",
              "type": "value_error"}],
        )


async def colleagues(session: AsyncSession, site_ids: Collection[str | None]) -> dict[str | None, list[User]]:
    """For each site, the active accounts that see it (admins see every site), by name: whom its alerts may go to."""
    users = (await session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name, User.id))).all()
    wanted = sorted({site for site in site_ids if site is not None})
    members: dict[int, set[str]] = {}
    if wanted:
        for user_id, site_id in await session.execute(select(UserSite.user_id, UserSite.site_id).where(UserSite.site_id.in_(wanted))):
            members.setdefault(user_id, set()).add(site_id)
    return {
        site: [u for u in users if u.role is Role.ADMIN or (site is not None and site in members.get(u.id, ()))]
        for site in set(site_ids)
    }


async def colleague_for(session: AsyncSession, user_id: int, alert: Alert) -> User:
    """The account ``user_id`` if it may take ``alert`` (active, and sees its site); NotAColleague otherwise."""
    site = await alert_site(session, alert.household_id)
    for user in (await colleagues(session, [site]))[site]:
        if user.id == user_id:
            return user
    raise NotAColleague(user_id)


async def list_alerts(
    session: AsyncSession,
    principal: Principal,
    *,
    statuses: Collection[AlertStatus] | None = None,
    limit: int = 100,
    offset: int = 0,
    **filters: Unpack[AlertFilters],
) -> Sequence[Alert]:
    """Alerts the principal sees, most severe first and newest first within a severity (as the store orders them)."""
    query = alerts_query(statuses=statuses or None, **filters)  # no statuses asked for: any status
    if principal.sites is not None:
        query = query.where(Alert.household_id.in_(select(Household.id).where(Household.site_id.in_(sorted(principal.sites)))))
    return (await session.scalars(query.limit(limit).offset(offset))).all()
