"""Several alerts taken on at once with one outcome and note, for the console's board and the JSON API alike."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import AlertClosed, IllegalTransition
from alerts.outcomes import Outcome
from alerts.store import AlertStore
from api.access import visible_alert
from api.auth import Principal


async def acknowledge_all(
    session: AsyncSession, store: AlertStore, principal: Principal, alert_ids: Iterable[str], note: str, outcome: Outcome
) -> tuple[list[str], list[str]]:
    """Acknowledge each alert (duplicates once), each with its own audit entry naming the principal.

    Every alert must be one the principal sees, or none is taken (the 404 of ``visible_alert``); those no
    longer open are left as they are, since someone else's decision stands. Returns (acknowledged, skipped)."""
    wanted = list(dict.fromkeys(a for a in alert_ids if a))
    for alert_id in wanted:
        await visible_alert(session, principal, alert_id)
    done: list[str] = []
    skipped: list[str] = []
    for alert_id in wanted:
        try:
            await store.acknowledge(alert_id, principal.name, note, outcome)
            done.append(alert_id)
        except (IllegalTransition, AlertClosed):
            skipped.append(alert_id)
    return done, skipped
