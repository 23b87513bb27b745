"""Site silences: a planned event (a district's gas cut for repairs) keeps alerts from climbing the ladder.

A silence names a site, optionally a list of its households, the alert types it covers, a time window
and a reason. An alert raised under an active silence is still stored (nothing is lost: it stays on the
board, apart, and in the history), but its ladder is stopped at once with a reason naming the silence,
and its audit trail says so (``AuditAction.SILENCED``).

The window is in **event time**: the detection's ``at`` is compared with ``starts_at``/``ends_at``.
That is the wall clock in production, and the simulated time in a replay or ``carewatch demo``.
A silence expires by itself when its window ends (nothing has to run); ending one early stores who
and when (``ended_at``/``ended_by``) and it covers nothing at or after that moment.

Safety alerts (gas or water left on) are never silenced unless the silence says ``include_safety``
and names the type: matching checks that again, so a row written around the API's validation still
cannot hide one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from alerts.lifecycle import MAX_ACTOR_LENGTH, AuditAction
from alerts.models import AlertEvent
from carewatch.db import Base, UTCDateTime, in_lists
from carewatch.directory import Household
from carewatch.domain import AlertType

SAFETY_TYPES = frozenset({AlertType.GAS_CONTINUOUS, AlertType.WATER_CONTINUOUS})
"""Gas or water left on: silenced only when a silence explicitly includes safety alerts."""
MAX_SILENCE = timedelta(days=14)
"""The longest window a silence may have: a forgotten silence must not hide a site for months."""
MAX_REASON = 500


class SiteSilence(Base):
    """One planned silence of a site (or some of its households) for some alert types."""

    __tablename__ = "site_silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    household_ids: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    """None: every household of the site."""
    alert_types: Mapped[list[str]] = mapped_column(JSON)
    include_safety: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    """Event time (see the module's docstring)."""
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(MAX_ACTOR_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """Set when someone ended it early; it covers nothing from then on."""
    ended_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR_LENGTH), default=None)

    @property
    def until(self) -> datetime:
        """When it stops covering alerts: its end, or the moment it was ended early."""
        return min(self.ends_at, self.ended_at) if self.ended_at is not None else self.ends_at

    def covers(self, household_id: str, alert_type: AlertType, at: datetime) -> bool:
        """Whether an alert of ``alert_type`` in ``household_id`` detected at event time ``at`` is silenced.

        >>> from datetime import UTC
        >>> cut = SiteSilence(site_id="donghu", household_ids=None, alert_types=["no_gas_24h", "gas_continuous"],
        ...                   include_safety=False, starts_at=datetime(2026, 12, 7, 0, 0, tzinfo=UTC),
        ...                   ends_at=datetime(2026, 12, 7, 8, 0, tzinfo=UTC), ended_at=None, reason="停气检修")
        >>> cut.covers("hh-001", AlertType.NO_GAS_24H, datetime(2026, 12, 7, 3, 0, tzinfo=UTC))
        True
        >>> cut.covers("hh-001", AlertType.GAS_CONTINUOUS, datetime(2026, 12, 7, 3, 0, tzinfo=UTC))  # not without include_safety
        False
        >>> cut.covers("hh-001", AlertType.NO_GAS_24H, datetime(2026, 12, 7, 8, 0, tzinfo=UTC))  # expired by itself
        False
        """
        if not self.starts_at <= at < self.until:
            return False
        if alert_type.value not in self.alert_types:
            return False
        if alert_type in SAFETY_TYPES and not self.include_safety:
            return False
        return self.household_ids is None or household_id in self.household_ids

    def describe(self) -> str:
        """How the audit trail and the ladder's stop reason name it."""
        return f"silence #{self.id} ({self.reason})"


def silence_problems(
    alert_types: Collection[AlertType], include_safety: bool, starts_at: datetime, ends_at: datetime, reason: str
) -> list[tuple[str, str]]:
    """What is wrong with a silence, as (field, message) pairs; empty: it may be stored.

    >>> from datetime import UTC
    >>> start = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    >>> [field for field, _ in silence_problems([AlertType.WATER_CONTINUOUS], False, start, start + timedelta(days=15), " ")]
    ['include_safety', 'ends_at', 'reason']
    >>> silence_problems([AlertType.NO_GAS_24H], False, start, start + timedelta(hours=8), "停气检修")
    []
    """
    problems = []
    if not alert_types:
        problems.append(("alert_types", "name at least one alert type to silence"))
    unsafe = sorted(t.value for t in SAFETY_TYPES & set(alert_types))
    if unsafe and not include_safety:
        problems.append(("include_safety", f"{', '.join(unsafe)} are safety alerts (gas or water left on): "
                                           "set include_safety to true to silence them, or leave them out"))
    if ends_at <= starts_at:
        problems.append(("ends_at", "ends_at must be after starts_at"))
    elif ends_at - starts_at > MAX_SILENCE:
        problems.append(("ends_at", f"a silence lasts at most {MAX_SILENCE.days} days: make it shorter"))
    if not reason.strip():
        problems.append(("reason", "say why the site is silenced (e.g. the gas supply is cut for repairs)"))
    return problems


class SilencesInForce:
    """The silences that may cover a batch of alerts, read once for the batch: a mass event (a district's gas off)
    raises thousands of alerts together, and reading the directory and the silences for each cost two statements an
    alert (≈ 40 % of raising one)."""

    def __init__(self, sites: Mapping[str, str], silences: Iterable[SiteSilence]) -> None:
        self._sites = sites
        """Each household's site (a household outside the directory is not here: it is never silenced)."""
        self._by_site: dict[str, list[SiteSilence]] = {}
        for silence in silences:  # oldest first, as `silences_of` gives them
            self._by_site.setdefault(silence.site_id, []).append(silence)

    @classmethod
    async def read(cls, session: AsyncSession, alerts: Sequence[tuple[str, datetime]]) -> SilencesInForce:
        """For these (household, event time) pairs: their sites, and their sites' silences not over before the
        earliest of them (`covering` checks each window)."""
        if not alerts:
            return cls({}, [])
        sites: dict[str, str] = {}
        for keys in in_lists(sorted({household_id for household_id, _ in alerts})):
            sites.update((await session.execute(select(Household.id, Household.site_id).where(Household.id.in_(keys)))).all())
        if not sites:
            return cls(sites, [])
        return cls(sites, await silences_of(session, set(sites.values()), ended_since=min(at for _, at in alerts)))

    def covering(self, household_id: str, alert_type: AlertType, at: datetime) -> SiteSilence | None:
        """The silence (oldest first) under which this alert is raised, if any."""
        site_id = self._sites.get(household_id)
        for silence in self._by_site.get(site_id, ()) if site_id is not None else ():
            if silence.covers(household_id, alert_type, at):
                return silence
        return None


async def silences_of(
    session: AsyncSession, site_ids: Iterable[str] | None, *, at: datetime | None = None, ended_since: datetime | None = None
) -> Sequence[SiteSilence]:
    """Silences of the sites (None: all), earliest first: those active at ``at``, or those whose window has not
    ended before ``ended_since`` (what the console lists), or all of them."""
    query = select(SiteSilence).order_by(SiteSilence.starts_at, SiteSilence.id)
    if site_ids is not None:
        query = query.where(SiteSilence.site_id.in_(sorted(site_ids)))
    if at is not None:
        query = query.where(SiteSilence.starts_at <= at, SiteSilence.ends_at > at,
                            or_(SiteSilence.ended_at.is_(None), SiteSilence.ended_at > at))
    if ended_since is not None:
        query = query.where(SiteSilence.ends_at > ended_since, or_(SiteSilence.ended_at.is_(None), SiteSilence.ended_at > ended_since))
    return (await session.scalars(query)).all()


async def silenced_alerts(session: AsyncSession, alert_ids: Collection[str]) -> dict[str, str]:
    """Of these alerts, those raised under a silence, with the audit trail's note naming it."""
    if not alert_ids:
        return {}
    rows = await session.execute(
        select(AlertEvent.alert_id, AlertEvent.note).where(AlertEvent.alert_id.in_(sorted(alert_ids)), AlertEvent.action == AuditAction.SILENCED)
    )
    return {alert_id: note for alert_id, note in rows}
