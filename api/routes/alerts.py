"""The alerts as JSON: list, read with audit trail, acknowledge, resolve — only those of the caller's sites."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import AlertClosed, AlertNotFound, IllegalTransition
from alerts.lifecycle import AlertStatus
from alerts.models import Alert
from api.access import alert_site, colleague_for, colleagues, list_alerts, visible_alert
from api.acknowledge import acknowledge_all
from api.call_sheet import call_sheets
from api.deps import AlertReader, AlertStoreDep, AlertWriter, SessionDep
from api.models import User
from api.schemas import (
    AckRequest, AlertDetailPublic, AlertPublic, AssignRequest, BulkAckRequest, BulkAckResult, CalleePublic, ColleaguePublic, ResolveRequest,
)
from carewatch.domain import AlertType, Audience, Severity

MAX_PAGE = 500

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
NOT_YOURS: dict[int | str, dict[str, str]] = {404: {"description": "No such alert in your sites"}}


def _moves(refused_when: str) -> dict[int | str, dict[str, str]]:
    """The answers of a route that moves an alert: not yours (404), or not in a state to move (409)."""
    return {**NOT_YOURS, 409: {"description": refused_when}}


@router.get("", response_model=list[AlertPublic])
async def list_alerts_route(
    principal: AlertReader,
    session: SessionDep,
    status_: Annotated[list[AlertStatus] | None, Query(alias="status", description="Repeat for several")] = None,
    household_id: str | None = None,
    alert_type: AlertType | None = None,
    severity: Severity | None = None,
    audience: Audience | None = None,
    limit: Annotated[int, Query(ge=1, description=f"At most {MAX_PAGE}; larger values are capped")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[Alert]:
    """Alerts of your sites matching every filter, most severe first, newest first within a severity."""
    return list(
        await list_alerts(
            session, principal, statuses=status_, household_id=household_id, alert_type=alert_type,
            severity=severity, audience=audience, limit=min(limit, MAX_PAGE), offset=offset,
        )
    )


@router.post("/acknowledge", response_model=BulkAckResult, responses={404: {"description": "One of the alerts is not in your sites: none was taken"}})
async def acknowledge_alerts(request: BulkAckRequest, principal: AlertWriter, session: SessionDep, store: AlertStoreDep) -> BulkAckResult:
    """Take several alerts on with one outcome and note (a planned gas cut, an elder away); each gets its own audit
    entry naming you. Those no longer open are left as they are and listed as skipped."""
    done, skipped = await acknowledge_all(session, store, principal, request.alert_ids, request.note, request.to_outcome())  # type: ignore[arg-type]
    return BulkAckResult(acknowledged=done, skipped=skipped)


async def with_calls(session: AsyncSession, alert: Alert) -> AlertDetailPublic:
    """The alert, its audit trail and the numbers to call, as the console's card shows them."""
    calls = (await call_sheets(session, [alert.household_id])).get(alert.household_id, ())
    return AlertDetailPublic.model_validate(alert).model_copy(
        update={"calls": [CalleePublic(role=c.role, name=c.name, relation=c.relation, number=c.number, tel=c.tel) for c in calls]}
    )


@router.get("/{alert_id}", response_model=AlertDetailPublic, responses=NOT_YOURS)
async def read_alert(alert_id: str, principal: AlertReader, session: SessionDep) -> AlertDetailPublic:
    """The alert with its audit trail and whom to call: the elder, the first family contacts, the community's duty line."""
    return await with_calls(session, await visible_alert(session, principal, alert_id))


@router.post("/{alert_id}/acknowledge", response_model=AlertDetailPublic, responses=_moves("Not open any more"))
async def acknowledge_alert(alert_id: str, request: AckRequest, principal: AlertWriter, session: SessionDep, store: AlertStoreDep) -> Alert:
    """Take the alert on; the audit trail names you (or your API key)."""
    await visible_alert(session, principal, alert_id)
    return await _move(lambda: store.acknowledge(alert_id, principal.name, request.note, request.to_outcome()))


@router.post("/{alert_id}/resolve", response_model=AlertDetailPublic, responses=_moves("Already closed"))
async def resolve_alert(alert_id: str, request: ResolveRequest, principal: AlertWriter, session: SessionDep, store: AlertStoreDep) -> Alert:
    await visible_alert(session, principal, alert_id)
    return await _move(lambda: store.resolve(alert_id, principal.name, request.note, request.to_outcome()))


@router.get("/{alert_id}/colleagues", response_model=list[ColleaguePublic], responses=NOT_YOURS)
async def alert_colleagues(alert_id: str, principal: AlertReader, session: SessionDep) -> list[User]:
    """Whom the alert may be assigned to: active accounts that look after its community (and admins)."""
    alert = await visible_alert(session, principal, alert_id)
    site = await alert_site(session, alert.household_id)
    return (await colleagues(session, [site]))[site]


@router.post("/{alert_id}/assign", response_model=AlertDetailPublic, responses=_moves("Closed already"))
async def assign_alert(
    alert_id: str, request: AssignRequest, principal: AlertWriter, session: SessionDep, store: AlertStoreDep
) -> Alert:
    """Hand an open or acknowledged alert to a colleague; the ladder goes on until someone acknowledges."""
    alert = await visible_alert(session, principal, alert_id)
    colleague = await colleague_for(session, request.user_id, alert) if request.user_id is not None else None
    return await _move(lambda: store.assign(
        alert_id, principal.name, colleague.display_name if colleague else None, colleague.id if colleague else None, request.note,
    ))


async def _move(move: Callable[[], Awaitable[Alert]]) -> Alert:
    try:
        return await move()
    except AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except (IllegalTransition, AlertClosed) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
