"""The directory in the database: sites (communities, 社区), gateways, households, meters, contacts, planned absences.

It replaces the registry JSON file as the source of truth; ``load_registry`` builds the
pipeline's in-memory ``Registry`` from it, through the same validation as the file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from pydantic import ValidationError

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, delete, event, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, UOWTransaction, mapped_column, relationship, selectinload

from carewatch.db import Base, UTCDateTime
from carewatch.domain import MeterKind
from carewatch.registry import MeterEntry, RegisteredHousehold, Registry, RegistryError, RulesEntry, known_zone
from detectors.config import AwayWindow, HouseholdProfile, MeterProfile, RuleConfig

DEFAULT_TIMEZONE = "Asia/Shanghai"


class Site(Base):
    """A community (社区) whose households one team of duty staff looks after."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    phone: Mapped[str] = mapped_column(String(40), default="", server_default=text("''"))
    """The community's duty line (社区电话): on every alert card, and named in the messages to elders and families."""


class Gateway(Base):
    """A meter gateway; it publishes to carewatch/v1/gateways/<id>/… with its own MQTT credentials."""

    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(300), default=None)
    """Mosquitto's PBKDF2-SHA512 form ($7$…); the password itself is shown once and never stored."""
    credentials_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Household(Base):
    """An elder living alone, where their meters are, and who looks after them."""

    __tablename__ = "households"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    """The elder's name, as duty staff address them."""
    address: Mapped[str] = mapped_column(String(500), default="")
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    gateway_id: Mapped[str | None] = mapped_column(ForeignKey("gateways.id", ondelete="RESTRICT"), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    birth_year: Mapped[int | None] = mapped_column(Integer, default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    """What duty staff should know: health, habits, who has a key."""
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Per-household detector threshold overrides (docs/registry.md)."""

    meters: Mapped[list[Meter]] = relationship(
        back_populates="household", order_by="Meter.id", lazy="raise_on_sql", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Meter(Base):
    __tablename__ = "meters"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    interval_s: Mapped[float] = mapped_column(Float, default=900.0)
    upload_every_s: Mapped[float] = mapped_column(Float, default=0.0)
    """0: each reading is sent as taken; 86400: an NB-IoT meter's daily batch (docs/registry.md)."""

    household: Mapped[Household] = relationship(back_populates="meters", lazy="raise_on_sql")


class Absence(Base):
    """A planned absence (hospital stay, visiting family): quiet meters then are expected, not alarming."""

    __tablename__ = "household_absences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Contact(Base):
    """Someone the ladder contacts about a household: a family member, or the elder's own line.

    Validated as ``alerts.people.HouseholdContact`` on the way in (API, bulk import, the people file).
    """

    __tablename__ = "household_contacts"

    household_id: Mapped[str] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Unique within the household; it names the person in message keys and family links."""
    role: Mapped[str] = mapped_column(String(8), default="family")
    name: Mapped[str] = mapped_column(String(128))
    relation: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    channels: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    """``[{"kind": "sms", "address": "+86…"}, …]``; every one is used."""
    quiet_hours: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True), default=None)
    """``{"start": "22:00", "end": "07:00"}`` in the household's time zone, or None."""
    alert_types: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), default=None)
    """None: every care alert."""


class RegistryFileApplied(Base):
    """The registry file last applied whole to the directory, by digest (`api.directory_sync.sync_registry_file`).

    A start whose file has this digest skips comparing it with the directory: nothing written since could
    differ from what that comparison would find, because every write to the directory's tables through a
    SQLAlchemy session deletes this row (`_directory_written`, `_directory_flushed`) and `api.directory_import.apply`
    deletes it too.  A row written outside carewatch (psql) is not seen: delete this row then."""

    __tablename__ = "registry_file_applied"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Always 1: a deployment has one registry file."""
    sha256: Mapped[str] = mapped_column(String(64))
    """Of the file's bytes and of what else decides what applying it does (`api.directory_sync.file_digest`)."""
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)


DIRECTORY_TABLES = frozenset({"sites", "gateways", "households", "meters", "household_contacts"})
"""What applying the registry file compares with and writes: a change to any of them makes the file worth comparing again."""
_FORGET_APPLIED_FILE = delete(RegistryFileApplied.__table__)


@event.listens_for(Session, "do_orm_execute")
def _directory_written(state: ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE statement on a directory table (the API, an import) forgets the applied file."""
    written = state.is_insert or state.is_update or state.is_delete
    if written and getattr(state.statement, "table", None) is not None and state.statement.table.name in DIRECTORY_TABLES:  # type: ignore[attr-defined]
        state.session.connection().execute(_FORGET_APPLIED_FILE)


@event.listens_for(Session, "after_flush")
def _directory_flushed(session: Session, _flush: UOWTransaction) -> None:
    """A directory row added, changed or deleted as an ORM object (the API's routes) forgets the applied file."""
    for changed in (session.new, session.dirty, session.deleted):
        if any(getattr(row, "__tablename__", None) in DIRECTORY_TABLES for row in changed):
            session.connection().execute(_FORGET_APPLIED_FILE)
            return


def meter_row(entry: MeterEntry, household_id: str | None = None) -> Meter:
    """A validated registry meter as a row (``household_id`` None: set through ``Household.meters``)."""
    row = Meter(id=entry.meter_id, kind=entry.kind.value, interval_s=entry.interval_s, upload_every_s=entry.upload_every_s)
    if household_id is not None:
        row.household_id = household_id
    return row


def household_entry(household: Household) -> dict[str, Any]:
    """One household in registry document v1 form (docs/registry.md); meters must be loaded."""
    return {
        "household_id": household.id,
        "name": household.name,
        "site": household.site_id,
        "address": household.address,
        "timezone": household.timezone,
        "gateway_id": household.gateway_id,
        "meters": [
            {"meter_id": m.id, "kind": m.kind, "interval_s": m.interval_s, "upload_every_s": m.upload_every_s or 0.0}
            for m in household.meters
        ],
        "rules": household.rules or {},
    }


async def registry_document(session: AsyncSession) -> dict[str, Any]:
    """The whole directory as a registry document v1 (households without meters are left out: nothing to watch)."""
    households = (
        await session.scalars(select(Household).options(selectinload(Household.meters)).order_by(Household.id))
    ).all()
    return {"version": 1, "households": [household_entry(h) for h in households if h.meters]}


AWAY_MEMORY = timedelta(days=35)
"""Absences that ended longer ago than this are left out of the detectors' profiles: the learned
detectors remember 28 days, and must still know which of those days the elder was away."""


async def away_windows(session: AsyncSession, since: datetime) -> dict[str, tuple[AwayWindow, ...]]:
    """Planned absences ending after ``since``, per household, earliest first."""
    rows = await session.scalars(select(Absence).where(Absence.ends_at > since).order_by(Absence.starts_at, Absence.id))
    windows: dict[str, list[AwayWindow]] = {}
    for absence in rows:
        windows.setdefault(absence.household_id, []).append(AwayWindow(absence.starts_at, absence.ends_at))
    return {household_id: tuple(found) for household_id, found in windows.items()}


async def load_registry(session: AsyncSession, defaults: RuleConfig | None = None, now: datetime | None = None) -> Registry:
    """The pipeline's registry, read from the directory with each household's planned absences (those ended
    within ``AWAY_MEMORY`` of ``now``) in its profile.

    Two queries (households, meters), streamed, no ORM object per row: its cost is reading the directory once.
    What the directory holds was validated on the way in (API, import: the registry file's models); here each
    distinct rules override is validated once more (``RulesEntry``) and each time zone resolved once, and a
    value that does not pass names its household (``RegistryError``)."""
    base = defaults or RuleConfig()
    away = await away_windows(session, (now or datetime.now(UTC)) - AWAY_MEMORY)
    meters: dict[str, list[MeterProfile]] = {}
    rows = await session.stream(
        select(Meter.household_id, Meter.id, Meter.kind, Meter.interval_s, Meter.upload_every_s)
        .order_by(Meter.household_id, Meter.id).execution_options(yield_per=5000)
    )
    async for household_id, meter_id, kind, interval_s, upload_every_s in rows:
        meters.setdefault(household_id, []).append(MeterProfile(meter_id, MeterKind(kind), interval_s, upload_every_s or 0.0))
    rules_of: dict[bytes, RuleConfig] = {}
    zones: dict[str, ZoneInfo] = {}
    households = []
    rows = await session.stream(
        select(Household.id, Household.name, Household.site_id, Household.address, Household.timezone,
               Household.gateway_id, Household.rules).order_by(Household.id).execution_options(yield_per=5000)
    )
    async for household_id, name, site, address, timezone, gateway_id, rules in rows:
        found = meters.pop(household_id, None)
        if not found:
            continue  # nothing to watch
        key = orjson.dumps(rules or {}, option=orjson.OPT_SORT_KEYS)
        try:
            if key not in rules_of:
                rules_of[key] = RulesEntry.model_validate(rules or {}).apply(base)
            if timezone not in zones:
                zones[timezone] = ZoneInfo(known_zone(timezone))
        except (ValidationError, ValueError) as exc:
            raise RegistryError(f"household {household_id!r} in the directory: {exc}") from exc
        profile = HouseholdProfile(
            household_id, tuple(found), rules_of[key], zones[timezone], away.get(household_id, ()), gateway_id
        )
        households.append(RegisteredHousehold(profile, name, site, address, gateway_id))
    return Registry(households)
