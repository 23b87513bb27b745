"""What the duty console shows for an alert: plain words, local times, the household by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lessons import lesson_words
from alerts.lifecycle import AlertStatus
from alerts.messages import outcome_words
from alerts.models import Alert
from api.call_sheet import Callee, call_sheets
from api.decisions import SYSTEM_ACTORS, Decision, decisions_of
from carewatch.catalogue import Language, text, words
from carewatch.db import in_lists
from carewatch.directory import Household
from carewatch.domain import Audience
from carewatch.registry import Registry

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
"""For households missing from the directory: the city programmes this serves run on China time."""


@dataclass(frozen=True, slots=True)
class HouseholdLabel:
    """Just what a row needs to name a household, from the directory or the runner's registry."""

    name: str
    address: str
    phone: str
    zone: tzinfo
    in_directory: bool
    site: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionView:
    """One decision as the card says it: "Acknowledged · 张三 · 2026-01-05 09:12 · safe — note"."""

    action: str
    """The audit action's code (acknowledged, resolved), for code; people read ``action_words``."""
    action_words: str
    actor: str
    at: str
    outcome_words: str
    note: str


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: str
    audience: Audience
    status: AlertStatus
    status_words: str
    severity: str
    severity_words: str
    type_words: str
    household_id: str
    household_name: str
    address: str
    phone: str
    in_directory: bool
    onset: str
    raised: str
    opened_at: str
    """ISO wall-clock time the alert was stored: the board counts "time open" from it."""
    explanation: str
    acknowledged_by: str | None
    acknowledged_at: str | None
    site: str | None = None
    assigned_to: str | None = None
    assigned_user_id: int | None = None
    calls: tuple[Callee, ...] = ()
    """Whom to call, in the order to try them (api.call_sheet)."""
    decisions: tuple[DecisionView, ...] = ()
    outcome_words: str = ""
    """What was found, as last stated (the alert's outcome); "" : nothing stated yet."""
    status_at: str = ""
    """Local time of the last change of status (acknowledged, resolved, cleared), "" while open."""

    @property
    def can_acknowledge(self) -> bool:
        return self.status is AlertStatus.OPEN

    @property
    def is_active(self) -> bool:
        return self.status.is_active


async def household_labels(
    session: AsyncSession, household_ids: Sequence[str], registry: Registry | None = None
) -> dict[str, HouseholdLabel]:
    wanted = sorted(set(household_ids))
    found: dict[str, HouseholdLabel] = {}
    for keys in in_lists(wanted):
        rows = await session.scalars(select(Household).where(Household.id.in_(keys)))
        for h in rows:
            found[h.id] = HouseholdLabel(h.name, h.address, h.phone, zone_named(h.timezone), True, h.site_id)
    for household_id in wanted:
        entry = registry.households.get(household_id) if registry is not None and household_id not in found else None
        if entry is not None:
            found[household_id] = HouseholdLabel(entry.name, entry.address, "", entry.profile.timezone, False, entry.site)
    return found


def zone_named(name: str) -> tzinfo:
    """The zone of a directory entry; a name the system does not know falls back to China time."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return DEFAULT_ZONE


def alert_row(
    alert: Alert, household: HouseholdLabel | None, lang: Language,
    calls: tuple[Callee, ...] = (), decisions: tuple[Decision, ...] = (),
) -> AlertRow:
    zone = household.zone if household is not None else DEFAULT_ZONE
    closed_at = alert.resolved_at or alert.acknowledged_at
    return AlertRow(
        id=alert.id,
        audience=alert.audience,
        status=alert.status,
        status_words=text(f"status.{alert.status}", lang),
        severity=alert.severity.value,
        severity_words=text(f"severity.{alert.severity}", lang),
        type_words=text(f"alert_type.{alert.alert_type}", lang),
        household_id=alert.household_id,
        household_name=household.name if household is not None else "",
        address=household.address if household is not None else "",
        phone=household.phone if household is not None else "",
        in_directory=household is not None and household.in_directory,
        onset=local_time(alert.onset, zone),
        raised=local_time(alert.raised_at, zone),
        opened_at=alert.created_at.isoformat(),
        explanation=alert.explanation(lang),
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=local_time(alert.acknowledged_at, zone) if alert.acknowledged_at else None,
        site=household.site if household is not None else None,
        assigned_to=alert.assigned_to,
        assigned_user_id=alert.assigned_user_id,
        calls=calls,
        decisions=tuple(decision_view(d, zone, lang) for d in decisions),
        outcome_words=stated_outcome(alert, lang),
        status_at=local_time(closed_at, zone) if closed_at else "",
    )


def decision_view(decision: Decision, zone: tzinfo, lang: Language) -> DecisionView:
    return DecisionView(
        decision.action.value, text(f"audit_action.{decision.action}", lang), decision.actor, local_time(decision.at, zone),
        outcome_words(lang, decision.outcome, decision.outcome_reason), decision.note,
    )


def stated_outcome(alert: Alert, lang: Language) -> str:
    """The alert's outcome in words, with the detail of a false alarm "for another reason"."""
    said = outcome_words(lang, alert.outcome, alert.outcome_reason)
    return f"{said}: {alert.outcome_detail}" if said and alert.outcome_detail else said


async def alert_rows(
    session: AsyncSession, alerts: Sequence[Alert], lang: Language, registry: Registry | None = None
) -> list[AlertRow]:
    """The rows for ``alerts``, each with its household's name, numbers to call and the decisions made."""
    household_ids = [a.household_id for a in alerts]
    households = await household_labels(session, household_ids, registry)
    sheets = await call_sheets(session, household_ids)
    decided = await decisions_of(session, [a.id for a in alerts])
    return [
        alert_row(a, households.get(a.household_id), lang, sheets.get(a.household_id, ()), decided.get(a.id, ())) for a in alerts
    ]


def shown_time(value: object, zone: tzinfo = DEFAULT_ZONE) -> str:
    """``local_time`` of a moment that comes as a datetime, an ISO string (the runner's live status, the HTTP
    catcher's log) or a mail's Date header; anything else (none, not a time) as it is.

    >>> shown_time("2026-01-05T00:30:00+00:00"), shown_time("soon"), shown_time(None)
    ('2026-01-05 08:30', 'soon', '')
    """
    moment = getattr(value, "datetime", value)  # a parsed mail Date header carries its moment
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return local_time(moment, zone)
    return "" if value is None else str(value)


def local_time(moment: datetime, zone: tzinfo) -> str:
    """``moment`` on the clock of ``zone`` (a household's, a community's); where that clock is not China time's at
    that moment (a household in another zone), with its UTC offset, so a page that mixes zones is never misread.

    >>> from datetime import UTC
    >>> local_time(datetime(2025, 3, 1, 7, 30, tzinfo=UTC), DEFAULT_ZONE)
    '2025-03-01 15:30'
    >>> local_time(datetime(2025, 7, 1, 7, 30, tzinfo=UTC), ZoneInfo("Europe/London"))
    '2025-07-01 08:30 UTC+1'
    >>> local_time(datetime(2025, 7, 1, 7, 30, tzinfo=UTC), ZoneInfo("Asia/Kolkata"))
    '2025-07-01 13:00 UTC+5:30'
    """
    local = moment.astimezone(zone)
    shown = local.strftime("%Y-%m-%d %H:%M")
    offset = local.utcoffset()
    if offset is None or offset == moment.astimezone(DEFAULT_ZONE).utcoffset():
        return shown
    minutes = int(offset.total_seconds()) // 60
    hours, rest = divmod(abs(minutes), 60)
    return f"{shown} UTC{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")


def audit_words(lang: Language) -> dict[str, Any]:
    """What ``audit_list`` (``_alert_card.html``) reads to tell an alert's audit trail in ``lang``: the actions, the
    system actors by name, outcomes and what the detectors learned."""
    return {
        "action_words": words("audit_action", lang),
        "system_actors": {actor: text(f"system_actor.{actor}", lang) for actor in SYSTEM_ACTORS},
        "outcome_words": partial(outcome_words, lang),
        "lesson_words": partial(lesson_words, lang=lang),
    }
