"""What the duty console shows for an alert: plain words, local times, the household by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import AlertStatus
from alerts.models import Alert
from carewatch.catalogue import Language, text
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

    @property
    def can_acknowledge(self) -> bool:
        return self.status is AlertStatus.OPEN


async def household_labels(
    session: AsyncSession, household_ids: Sequence[str], registry: Registry | None = None
) -> dict[str, HouseholdLabel]:
    wanted = sorted(set(household_ids))
    found: dict[str, HouseholdLabel] = {}
    for start in range(0, len(wanted), 500):
        rows = await session.scalars(select(Household).where(Household.id.in_(wanted[start : start + 500])))
        for h in rows:
            found[h.id] = HouseholdLabel(h.name, h.address, h.phone, _zone(h.timezone), True, h.site_id)
    for household_id in wanted:
        entry = registry.households.get(household_id) if registry is not None and household_id not in found else None
        if entry is not None:
            found[household_id] = HouseholdLabel(entry.name, entry.address, "", entry.profile.timezone, False, entry.site)
    return found


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return DEFAULT_ZONE


def alert_row(alert: Alert, household: HouseholdLabel | None, lang: Language) -> AlertRow:
    zone = household.zone if household is not None else DEFAULT_ZONE
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
    )


def local_time(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
