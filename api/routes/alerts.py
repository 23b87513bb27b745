"""The alerts as JSON: list, read with audit trail, acknowledge, resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from alerts.errors import AlertNotFound, IllegalTransition
from alerts.lifecycle import AlertStatus
from alerts.models import Alert
from api.deps import AlertStoreDep
from api.schemas import AckRequest, AlertDetailPublic, AlertPublic, ResolveRequest
from carewatch.domain import AlertType, Audience, Severity

MAX_PAGE = 500

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


@router.get("", response_model=list[AlertPublic])
async def list_alerts(
    store: AlertStoreDep,
    status_: Annotated[list[AlertStatus] | None, Query(alias="status", description="Repeat for several")] = None,
    household_id: str | None = None,
    alert_type: AlertType | None = None,
    severity: Severity | None = None,
    audience: Audience | None = None,
    limit: Annotated[int, Query(ge=1, description=f"At most {MAX_PAGE}; larger values are capped")] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[Alert]:
    """Alerts matching every filter, most severe first, newest first within a severity."""
    return list(
        await store.list(
            status=status_ or None,
            household_id=household_id,
            alert_type=alert_type,
            severity=severity,
            audience=audience,
            limit=min(limit, MAX_PAGE),
            offset=offset,
        )
    )


@router.get("/{alert_id}", response_model=AlertDetailPublic)
async def read_alert(alert_id: str, store: AlertStoreDep) -> Alert:
    try:
        return await store.get(alert_id)
    except AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post("/{alert_id}/acknowledge", response_model=AlertDetailPublic)
async def acknowledge_alert(alert_id: str, request: AckRequest, store: AlertStoreDep) -> Alert:
    try:
        return await store.acknowledge(alert_id, request.actor, request.note)
    except AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except IllegalTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.post("/{alert_id}/resolve", response_model=AlertDetailPublic)
async def resolve_alert(alert_id: str, request: ResolveRequest, store: AlertStoreDep) -> Alert:
    try:
        return await store.resolve(alert_id, request.actor, request.note)
    except AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except IllegalTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
