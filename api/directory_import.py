"""Bulk import of a district into the directory: all rows valid and written together, or nothing.

Accepts the registry document v1 (docs/registry.md) extended with optional ``sites`` and
``gateways`` lists, the elder's ``phone``, ``birth_year`` and ``notes`` and the household's
``contacts``, or a CSV with one row per meter (no contacts).  Every row is checked before
anything is written; the report names each bad row and field, so an integrator fixes the file in one pass.

No cap on the households of one import (there was one at 20,000): the checks that span rows
(`Checker`) keep only ids, the database is asked per chunk of rows, and `apply` writes each
table with one ``INSERT … ON CONFLICT DO UPDATE`` per chunk, never an ORM object per row, so the
registry file at start (`api.directory_sync`) is read and written in chunks, in constant memory
but for the ids.  (The API's body is still capped by `api.routes.bulk.MAX_BODY`.)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.contacts import replace_contacts
from alerts.people import HouseholdContact
from carewatch.db import in_lists
from carewatch.directory import DEFAULT_TIMEZONE, Gateway, Household, Meter, RegistryFileApplied, Site
from carewatch.registry import HouseholdEntry, Identifier, ZoneName
from ingest.upsert import Upsert

CHUNK = 500
"""Rows per database look-up and per write statement."""

SiteId = Field(min_length=1, max_length=64, pattern=r"^[^/\s?#%\\]+$")

CSV_COLUMNS = (
    "household_id", "name", "site", "address", "timezone", "gateway_id",
    "meter_id", "kind", "interval_s", "phone", "birth_year", "notes",
)
CSV_REQUIRED = ("household_id", "site", "meter_id", "kind")
HOUSEHOLD_COLUMNS = ("name", "site", "address", "timezone", "gateway_id", "phone", "birth_year", "notes")


class SiteEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    site_id: str = SiteId
    name: str = Field(default="", max_length=200)
    timezone: ZoneName = DEFAULT_TIMEZONE
    phone: str = Field(default="", max_length=40)
    """The community's duty line, as duty staff dial it (digits, spaces, +, -)."""


class GatewayEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    gateway_id: Identifier
    site: str = SiteId
    name: str = Field(default="", max_length=200)


class ElderHousehold(HouseholdEntry):
    """A registry household plus what duty staff need to know about the elder."""

    site: str = SiteId
    name: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=500)
    phone: str = Field(default="", max_length=40)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    notes: str = Field(default="", max_length=4000)
    contacts: list[HouseholdContact] | None = Field(default=None, max_length=50)
    """The elder's line and family (docs/notifications.md); given: they replace the household's contacts;
    left out: the directory's contacts are kept."""

    @field_validator("contacts")
    @classmethod
    def _ids_unique(cls, contacts: list[HouseholdContact] | None) -> list[HouseholdContact] | None:
        ids = [c.id for c in contacts or ()]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"contact id(s) listed twice: {', '.join(twice)}")
        return contacts


@dataclass(frozen=True, slots=True)
class RowError:
    row: str
    """Where in the file: ``households[3]`` (JSON) or ``line 5`` (CSV)."""
    field: str
    message: str
    household_id: str | None = None


@dataclass
class ImportPlan:
    sites: list[SiteEntry] = field(default_factory=list)
    gateways: list[GatewayEntry] = field(default_factory=list)
    households: list[tuple[str, ElderHousehold]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportResult:
    sites_created: int
    gateways_created: int
    households_created: int
    households_updated: int
    meters: int
    contacts: int = 0


class ImportRefused(ValueError):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} row error(s); nothing was imported")
        self.errors = errors


def _errors_of(exc: ValidationError, row: str, household_id: str | None) -> list[RowError]:
    return [
        RowError(row, ".".join(str(part) for part in error["loc"]) or "(row)", error["msg"], household_id)
        for error in exc.errors()
    ]


def parse_json(document: Any) -> ImportPlan:
    plan = ImportPlan()
    if not isinstance(document, dict):
        plan.errors.append(RowError("(document)", "(document)", "expected a JSON object with a 'households' list"))
        return plan
    unknown = set(document) - {"version", "sites", "gateways", "households"}
    if unknown:
        plan.errors.append(RowError("(document)", ", ".join(sorted(unknown)), "unknown top-level field(s)"))
    if document.get("version", 1) != 1:
        plan.errors.append(RowError("(document)", "version", "only version 1 is understood"))
    for key, model, target in (("sites", SiteEntry, plan.sites), ("gateways", GatewayEntry, plan.gateways)):
        entries = document.get(key, [])
        if not isinstance(entries, list):
            plan.errors.append(RowError("(document)", key, "must be a list"))
            continue
        for index, raw in enumerate(entries):
            try:
                target.append(model.model_validate(raw))
            except ValidationError as exc:
                plan.errors.extend(_errors_of(exc, f"{key}[{index}]", None))
    households = document.get("households")
    if not isinstance(households, list):
        plan.errors.append(RowError("(document)", "households", "a list of households is required"))
        return plan
    for index, raw in enumerate(households):
        parse_household(index, raw, plan)
    return plan


def parse_household(index: int, raw: Any, plan: ImportPlan) -> None:
    """``households[index]`` of a JSON document into ``plan``: its entry, or its errors."""
    household_id = raw.get("household_id") if isinstance(raw, dict) else None
    try:
        plan.households.append((f"households[{index}]", ElderHousehold.model_validate(raw)))
    except ValidationError as exc:
        plan.errors.extend(_errors_of(exc, f"households[{index}]", household_id if isinstance(household_id, str) else None))


def parse_csv(text: str) -> ImportPlan:
    """One row per meter; household columns repeat on each of its meters' rows and must agree."""
    plan = ImportPlan()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a byte-order mark
    header = reader.fieldnames or []
    missing = [column for column in CSV_REQUIRED if column not in header]
    unknown = [column for column in header if column not in CSV_COLUMNS]
    if missing or unknown:
        if missing:
            plan.errors.append(RowError("line 1", ", ".join(missing), "required column(s) missing"))
        if unknown:
            plan.errors.append(RowError("line 1", ", ".join(unknown), f"unknown column(s); known: {', '.join(CSV_COLUMNS)}"))
        return plan
    grouped: dict[str, tuple[str, dict[str, Any]]] = {}
    for line, row in enumerate(reader, start=2):
        if None in row:
            plan.errors.append(RowError(f"line {line}", "(row)", "more values than columns"))
            continue
        values = {k: (v or "").strip() for k, v in row.items()}
        household_id = values["household_id"]
        meter: dict[str, Any] = {"meter_id": values["meter_id"], "kind": values["kind"]}
        if values.get("interval_s"):
            meter["interval_s"] = values["interval_s"]
        household = {k: values[k] for k in HOUSEHOLD_COLUMNS if values.get(k)}
        if household_id in grouped:
            first_line, entry = grouped[household_id]
            for key, value in household.items():
                if entry.get(key, value) != value:
                    plan.errors.append(RowError(f"line {line}", key, f"differs from line {first_line} of the same household", household_id))
            entry["meters"].append(meter)
        else:
            grouped[household_id] = (str(line), {"household_id": household_id, **household, "meters": [meter]})
    for first_line, entry in grouped.values():
        try:
            plan.households.append((f"line {first_line}", ElderHousehold.model_validate(entry)))
        except ValidationError as exc:
            plan.errors.extend(_errors_of(exc, f"line {first_line}", entry["household_id"] or None))
    return plan


class Checker:
    """The checks that span rows and the database, fed households a chunk at a time (``rows``), then
    ``finish``: errors go to the plan given to each call, or to ``errors``.  It keeps ids only (household →
    row, meter → household, gateway → site), so a city's registry is checked in constant memory but for them.
    ``allowed_sites`` None: every site. ``reserved_gateway`` says why a gateway id may not be used (carewatch's
    own MQTT identities), or None."""

    def __init__(
        self,
        allowed_sites: Collection[str] | None = None,
        reserved_gateway: Callable[[str], str | None] = lambda gateway_id: None,
    ) -> None:
        self.allowed_sites = allowed_sites
        self.reserved_gateway = reserved_gateway
        self.errors: list[RowError] = []
        self.seen: dict[str, str] = {}
        """Household → the row that names it first."""
        self._meter_owner: dict[str, str] = {}
        self._gateway_sites: dict[str, tuple[str, str]] = {}
        """Gateway → (site, row) of the first household that names it."""
        self._taken_meters: list[tuple[str, str, str, str]] = []
        """(row, meter, importing household, household owning it in the directory): fine if that one is imported too."""
        self._stored_gateways: dict[str, str] = {}
        self._declared_gateways: dict[str, str] = {}

    def declared(self, sites: list[SiteEntry], gateways: list[GatewayEntry]) -> None:
        """The document's own sites and gateways (before or after its households: checked in ``finish``)."""
        for index, gateway in enumerate(gateways):
            if reason := self.reserved_gateway(gateway.gateway_id):
                self.errors.append(RowError(f"gateways[{index}]", "gateway_id", reason))
        self._allowed([(f"sites[{i}]", site.site_id) for i, site in enumerate(sites)])
        self._allowed([(f"gateways[{i}]", gateway.site) for i, gateway in enumerate(gateways)])
        self._declared_gateways.update((g.gateway_id, g.site) for g in gateways)

    def _allowed(self, rows: list[tuple[str, str]]) -> None:
        if self.allowed_sites is not None:
            for row, site in rows:
                if site not in self.allowed_sites:
                    self.errors.append(RowError(row, "site", f"{site!r} is not one of the sites this key or account may change"))

    async def rows(self, session: AsyncSession, households: list[tuple[str, ElderHousehold]]) -> None:
        for row, household in households:
            if household.gateway_id is not None and (reason := self.reserved_gateway(household.gateway_id)):
                self.errors.append(RowError(row, "gateway_id", reason))
            if household.household_id in self.seen:
                self.errors.append(RowError(row, "household_id", f"also in {self.seen[household.household_id]}", household.household_id))
            self.seen.setdefault(household.household_id, row)
            for index, meter in enumerate(household.meters):
                owner = self._meter_owner.setdefault(meter.meter_id, household.household_id)
                if owner != household.household_id:
                    self.errors.append(RowError(row, f"meters.{index}.meter_id", f"{meter.meter_id!r} also belongs to {owner!r}", household.household_id))
            if household.gateway_id is not None:
                self._gateway_sites.setdefault(household.gateway_id, (household.site, row))
        self._allowed([(row, h.site) for row, h in households])
        # Meters already owned by a household this import may not replace (known only at the end: `finish`).
        wanted = {m.meter_id: (row, h.household_id) for row, h in households for m in h.meters}
        for meter_id, owner in await _pairs(session, Meter.id, Meter.household_id, wanted):
            row, household_id = wanted[meter_id]
            if owner != household_id:
                self._taken_meters.append((row, meter_id, household_id, owner))
        gateways = {h.gateway_id for _, h in households if h.gateway_id is not None} - set(self._stored_gateways)
        self._stored_gateways.update(await _pairs(session, Gateway.id, Gateway.site_id, gateways))
        for row, household in households:
            if household.gateway_id is None:
                continue
            site = self._gateway_sites[household.gateway_id][0]
            if site != household.site:
                self.errors.append(RowError(row, "gateway_id", f"gateway {household.gateway_id!r} belongs to site {site!r}, not {household.site!r}", household.household_id))

    def finish(self) -> list[RowError]:
        """The checks that needed every row: meters taken from households the import leaves alone, gateways
        that belong to another site (declared in the document, else in the directory)."""
        for row, meter_id, household_id, owner in self._taken_meters:
            if owner not in self.seen:
                self.errors.append(RowError(row, "meters.meter_id", f"{meter_id!r} already belongs to household {owner!r}", household_id))
        for gateway_id, (site, row) in self._gateway_sites.items():
            declared = self._declared_gateways.get(gateway_id) or self._stored_gateways.get(gateway_id)
            if declared is not None and declared != site:
                self.errors.append(RowError(row, "gateway_id", f"gateway {gateway_id!r} belongs to site {declared!r}, not {site!r}"))
        return self.errors


async def check(
    session: AsyncSession,
    plan: ImportPlan,
    allowed_sites: Collection[str] | None,
    reserved_gateway: Callable[[str], str | None] = lambda gateway_id: None,
) -> None:
    """Cross-row and database checks of a whole plan; adds to ``plan.errors`` (`Checker`, in one go)."""
    checker = Checker(allowed_sites, reserved_gateway)
    checker.declared(plan.sites, plan.gateways)
    for start in range(0, len(plan.households), CHUNK):
        await checker.rows(session, plan.households[start : start + CHUNK])
    plan.errors.extend(checker.finish())


_SITES = Upsert(Site)
_GATEWAYS = Upsert(Gateway)
_HOUSEHOLDS = Upsert(Household)
_METERS = Upsert(Meter)


async def apply(session: AsyncSession, plan: ImportPlan, *, known_sites: set[str] | None = None,
                known_gateways: set[str] | None = None) -> ImportResult:
    """Write a checked plan into the caller's transaction: households are created or replaced whole.

    One ``INSERT … ON CONFLICT DO UPDATE`` per table and chunk of rows (`ingest.upsert`).  Sites and gateways
    the document declares are created or updated; those its households name only are created if missing.
    ``known_sites`` / ``known_gateways``: ids already made sure of by an earlier chunk of the same import
    (they are added to)."""
    if plan.errors:
        raise ImportRefused(plan.errors)
    # Its upserts may reach SQLite's driver without a statement SQLAlchemy's session sees (`ingest.upsert`).
    await session.execute(delete(RegistryFileApplied))
    known_sites = set() if known_sites is None else known_sites
    known_gateways = set() if known_gateways is None else known_gateways
    declared_sites = {s.site_id: s for s in plan.sites}
    implied_sites = {h.site for _, h in plan.households} - set(declared_sites) - known_sites
    present_sites = set(await _existing(session, Site.id, [*declared_sites, *implied_sites]))
    await _SITES.write(session, [
        {"id": s.site_id, "name": s.name, "timezone": s.timezone, "phone": s.phone} for s in declared_sites.values()
    ])
    await _SITES.write(session, [
        {"id": site, "name": site, "timezone": DEFAULT_TIMEZONE, "phone": ""} for site in sorted(implied_sites - present_sites)
    ])
    known_sites.update(declared_sites, implied_sites)
    declared_gateways = {g.gateway_id: g for g in plan.gateways}
    implied_gateways = {
        h.gateway_id: h.site for _, h in plan.households if h.gateway_id is not None
    }
    for gateway_id in [*declared_gateways, *known_gateways]:
        implied_gateways.pop(gateway_id, None)
    present_gateways = set(await _existing(session, Gateway.id, [*declared_gateways, *implied_gateways]))
    await _GATEWAYS.write(session, [{"id": g.gateway_id, "site_id": g.site, "name": g.name} for g in declared_gateways.values()])
    await _GATEWAYS.write(session, [
        {"id": gateway_id, "site_id": site, "name": ""}
        for gateway_id, site in sorted(implied_gateways.items()) if gateway_id not in present_gateways
    ])
    known_gateways.update(declared_gateways, implied_gateways)

    ids = [h.household_id for _, h in plan.households]
    present_households = set(await _existing(session, Household.id, ids))
    meters = contacts = 0
    for start in range(0, len(plan.households), CHUNK):
        chunk = [entry for _, entry in plan.households[start : start + CHUNK]]
        await session.execute(delete(Meter).where(Meter.household_id.in_([e.household_id for e in chunk])))
        await _HOUSEHOLDS.write(session, [{"id": e.household_id, **household_values(e)} for e in chunk])
        rows = [
            {"id": m.meter_id, "household_id": e.household_id, "kind": m.kind.value, "interval_s": m.interval_s,
             "upload_every_s": m.upload_every_s}
            for e in chunk for m in e.meters
        ]
        await _METERS.write(session, rows)
        meters += len(rows)
    for _, entry in plan.households:
        if entry.contacts is not None:
            contacts += await replace_contacts(session, entry.household_id, entry.contacts)
    await session.flush()
    return ImportResult(
        sites_created=len((set(declared_sites) | implied_sites) - present_sites),
        gateways_created=len((set(declared_gateways) | set(implied_gateways)) - present_gateways),
        households_created=len(set(ids) - present_households),
        households_updated=len(present_households),
        meters=meters,
        contacts=contacts,
    )


def household_values(entry: ElderHousehold) -> dict[str, Any]:
    """The household's own columns (not its id or meters) from a validated entry."""
    return {
        "site_id": entry.site,
        "name": entry.name,
        "address": entry.address,
        "timezone": entry.timezone,
        "gateway_id": entry.gateway_id,
        "phone": entry.phone,
        "birth_year": entry.birth_year,
        "notes": entry.notes,
        "rules": entry.rules.model_dump(exclude_none=True),
    }


async def _existing(session: AsyncSession, column: Any, wanted: Iterable[str]) -> list[str]:
    keys = list(wanted)
    found: list[str] = []
    for run in in_lists(keys, CHUNK):
        found.extend((await session.scalars(select(column).where(column.in_(run)))).all())
    return found


async def _pairs(session: AsyncSession, key: Any, value: Any, wanted: Iterable[str]) -> list[tuple[str, str]]:
    """(key, value) of the stored rows whose ``key`` is one of ``wanted``, asked ``CHUNK`` keys at a time."""
    keys = list(wanted)
    found: list[tuple[str, str]] = []
    for run in in_lists(keys, CHUNK):
        found.extend((k, v) for k, v in await session.execute(select(key, value).where(key.in_(run))))
    return found


async def import_document(
    session: AsyncSession, document: Any, allowed_sites: Collection[str] | None = None
) -> ImportResult:
    """Parse, check and apply a JSON district document in the caller's transaction (raises ImportRefused)."""
    plan = parse_json(document)
    await check(session, plan, allowed_sites)
    return await apply(session, plan)
