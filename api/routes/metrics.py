"""`/metrics`: carewatch's Prometheus metrics, for the scraper (docs/operations.md).

Unauthenticated like /livez (counts only: no household, person or alert is named); set
CAREWATCH_METRICS_PUBLIC=false to close it where the console's port is reachable from outside.
What the database holds (open alerts, the outbox and archive backlogs) is counted at scrape time, so every
process that serves the console reports the same numbers.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from alerts.lifecycle import ACTIVE_STATUSES
from alerts.models import Alert
from alerts.notify_tables import MessageStatus, OutboxMessage
from api.deps import ServicesDep, SessionDep
from carewatch import metrics
from ingest.archive import ArchiveOutbox

router = APIRouter(tags=["health"])

BACKLOG = (MessageStatus.HELD, MessageStatus.PENDING, MessageStatus.SENDING)


@router.get("/metrics", response_class=Response)
async def scrape(session: SessionDep, services: ServicesDep) -> Response:
    if not services.settings.metrics_public:
        raise HTTPException(404)
    open_alerts = await session.execute(
        select(Alert.alert_type, Alert.severity, func.count())
        .where(Alert.status.in_(ACTIVE_STATUSES))
        .group_by(Alert.alert_type, Alert.severity)
    )
    metrics.set_open_alerts((str(kind), str(severity), count) for kind, severity, count in open_alerts)
    backlog = dict.fromkeys(map(str, BACKLOG), 0)
    for status, count in await session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.status.in_(BACKLOG)).group_by(OutboxMessage.status)
    ):
        backlog[str(status)] = count
    metrics.set_outbox_backlog(backlog)
    metrics.ARCHIVE_BACKLOG.set(await session.scalar(select(func.count()).select_from(ArchiveOutbox)) or 0)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
