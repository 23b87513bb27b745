"""The elders' answers to check-ins, read back for the detectors.

A check-in (``AlertType.CHECK_IN``) that a person closed as safe — the elder's "I'm fine" through the
answer link, or staff who heard from her — is an answer the household's monitor must hear: it ends
the check-in quietly and teaches the routine.  The runners read them here and hand them to the
monitors as ``CheckInAnswer`` events; the alert store stays the one record of what was answered.
On the scaled-out path a worker's monitor that heard one says so, and the check-in's audit trail
records it (`AuditAction.HEARD`): the alert service offers only answers without that entry
(``unheard``, alerts.heard); the embedded pipeline reads them all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import AlertStatus, AuditAction
from alerts.models import Alert, without_entry
from alerts.outcomes import OutcomeKind
from carewatch.domain import AlertType, CheckInAnswer, CheckInReply

LOOK_EVERY_S = 2.0
"""How often the runners (the embedded pipeline, the Faust path's alert service) read the answers and outcomes."""
LOOK_BACK = timedelta(days=2)
"""Answers and outcomes given this long before a runner started still reach the monitors (given while it was down)."""


async def answered_check_ins(session: AsyncSession, since: datetime, *, unheard: bool = False) -> list[CheckInAnswer]:
    """Check-ins resolved as safe at or after ``since`` (wall clock), oldest answer first; ``unheard``:
    only those no worker's monitor has said it heard (no ``heard`` entry)."""
    query = select(Alert.id, Alert.household_id, Alert.resolved_at).where(
        Alert.alert_type == AlertType.CHECK_IN,
        Alert.status == AlertStatus.RESOLVED,
        Alert.outcome == OutcomeKind.SAFE,
        Alert.resolved_at >= since,
    )
    if unheard:
        query = query.where(without_entry(AuditAction.HEARD))
    rows = await session.execute(query.order_by(Alert.resolved_at, Alert.id))
    return [CheckInAnswer(household_id, alert_id, at, CheckInReply.FINE) for alert_id, household_id, at in rows if at is not None]
