"""What the duty console shows for an alert: plain words, local times, the household by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from alerts.lifecycle import AlertStatus
from alerts.models import Alert
from api import labels
from api.deps import Lang
from carewatch.domain import Audience
from carewatch.registry import Registry

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
"""For households missing from the registry: the city programmes this serves run on China time."""


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
    onset: str
    raised: str
    explanation: str
    acknowledged_by: str | None
    acknowledged_at: str | None

    @property
    def can_acknowledge(self) -> bool:
        return self.status is AlertStatus.OPEN


def alert_row(alert: Alert, registry: Registry | None, lang: Lang) -> AlertRow:
    household = registry.households.get(alert.household_id) if registry is not None else None
    zone = household.profile.timezone if household is not None else DEFAULT_ZONE
    return AlertRow(
        id=alert.id,
        audience=alert.audience,
        status=alert.status,
        status_words=labels.STATUS[lang][alert.status],
        severity=alert.severity.value,
        severity_words=labels.SEVERITY[lang][alert.severity],
        type_words=labels.ALERT_TYPE[lang][alert.alert_type],
        household_id=alert.household_id,
        household_name=household.name if household is not None else "",
        address=household.address if household is not None else "",
        onset=local_time(alert.onset, zone),
        raised=local_time(alert.raised_at, zone),
        explanation=alert.explanation(lang),
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=local_time(alert.acknowledged_at, zone) if alert.acknowledged_at else None,
    )


def local_time(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
