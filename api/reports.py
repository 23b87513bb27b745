"""A supervisor's monthly report of one community: what was raised, what people found, how fast they answered.

Per alert type: how many alerts, by outcome (what the person who acknowledged or resolved it found; "not
stated", "still open" or "cleared by the detector" otherwise) and the false-alarm share among those with an
outcome.  How fast: from the alert being stored to the first person answering it (acknowledged, or resolved
by a person) and to the first message delivered to a family member, as median and 90th percentile.
The month is the community's local calendar month; alerts count in the month they were stored.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.lifecycle import AlertStatus
from alerts.models import Alert
from alerts.notify_tables import MessageStatus, OutboxMessage
from alerts.outcomes import OutcomeKind
from carewatch.directory import Household, Site

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
NOT_STATED = "not_stated"
STILL_OPEN = "still_open"
CLEARED = "cleared"
OUTCOME_COLUMNS = (*(kind.value for kind in OutcomeKind), NOT_STATED, CLEARED, STILL_OPEN)
"""The report's outcome columns, in order: what people found, then the alerts nobody stated an outcome for."""


class BadMonth(ValueError):
    """The month is not YYYY-MM."""


@dataclass(frozen=True, slots=True)
class Spread:
    """How long something took over a month's alerts, in minutes."""

    count: int
    median_min: float | None
    p90_min: float | None

    @classmethod
    def of(cls, minutes: Sequence[float]) -> Spread:
        """Median and 90th percentile (nearest rank) of the minutes.

        >>> Spread.of([1, 2, 3, 4, 5, 6, 7, 8, 9, 100])
        Spread(count=10, median_min=5.5, p90_min=9.0)
        >>> Spread.of([])
        Spread(count=0, median_min=None, p90_min=None)
        """
        if not minutes:
            return cls(0, None, None)
        ordered = sorted(minutes)
        p90 = ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]
        return cls(len(ordered), round(float(statistics.median(ordered)), 1), round(float(p90), 1))


@dataclass(frozen=True, slots=True)
class TypeRow:
    alert_type: str
    by_outcome: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())

    @property
    def with_outcome(self) -> int:
        return sum(self.by_outcome.get(kind.value, 0) for kind in OutcomeKind)

    @property
    def false_alarm_share(self) -> float | None:
        """False alarms among the alerts someone stated an outcome for; None when nobody did."""
        stated = self.with_outcome
        return round(self.by_outcome.get(OutcomeKind.FALSE_ALARM.value, 0) / stated, 3) if stated else None


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    site_id: str
    month: str
    rows: tuple[TypeRow, ...]
    first_response: Spread
    family_contact: Spread

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)


def month_window(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC, for the community's zone.

    >>> month_window("2026-12", ZoneInfo("Asia/Shanghai"))
    (datetime.datetime(2026, 11, 30, 16, 0, tzinfo=datetime.timezone.utc), datetime.datetime(2026, 12, 31, 16, 0, tzinfo=datetime.timezone.utc))
    """
    found = MONTH.match(month)
    if found is None:
        raise BadMonth(f"month {month!r} must be YYYY-MM, e.g. 2026-12")
    year, number = int(found[1]), int(found[2])
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def this_month(zone: ZoneInfo, now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(zone).strftime("%Y-%m")


def _outcome_column(alert: Alert) -> str:
    if alert.outcome is not None:
        return alert.outcome.value
    if alert.status.is_active:
        return STILL_OPEN
    return CLEARED if alert.status is AlertStatus.AUTO_RESOLVED else NOT_STATED


def _first_response(alert: Alert) -> datetime | None:
    answered = [alert.acknowledged_at]
    if alert.status is AlertStatus.RESOLVED:
        answered.append(alert.resolved_at)
    found = [at for at in answered if at is not None]
    return min(found) if found else None


def _minutes(since: datetime, until: datetime) -> float:
    return max((until - since).total_seconds() / 60, 0.0)


async def monthly_report(session: AsyncSession, site: Site, month: str) -> MonthlyReport:
    start, end = month_window(month, ZoneInfo(site.timezone))
    of_the_month = (
        select(Alert)
        .join(Household, Household.id == Alert.household_id)
        .where(Household.site_id == site.id, Alert.created_at >= start, Alert.created_at < end)
    )
    alerts = (await session.scalars(of_the_month)).all()
    counts: dict[str, Counter[str]] = {}
    for alert in alerts:
        counts.setdefault(alert.alert_type.value, Counter())[_outcome_column(alert)] += 1
    rows = tuple(TypeRow(kind, dict(counts[kind])) for kind in sorted(counts, key=lambda k: (-sum(counts[k].values()), k)))
    responses = [_minutes(a.created_at, at) for a in alerts if (at := _first_response(a)) is not None]
    created = {alert.id: alert.created_at for alert in alerts}
    family = await session.execute(
        select(OutboxMessage.alert_id, func.min(OutboxMessage.sent_at))
        .where(
            # The month's alerts by the same query, not by their ids: a bad month holds more than a statement
            # may bind (PostgreSQL: 32,767).
            OutboxMessage.alert_id.in_(of_the_month.with_only_columns(Alert.id)), OutboxMessage.recipient_role == "family",
            OutboxMessage.status == MessageStatus.SENT, OutboxMessage.sent_at.is_not(None),
        )
        .group_by(OutboxMessage.alert_id)
    ) if created else []
    reached = [_minutes(created[alert_id], sent) for alert_id, sent in family if sent is not None]
    return MonthlyReport(site.id, month, rows, Spread.of(responses), Spread.of(reached))
