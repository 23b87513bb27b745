"""Bulk import of a district into the directory: all rows valid and written together, or nothing.

Accepts the registry document v1 (docs/registry.md) extended with optional ``sites`` and
``gateways`` lists, the elder's ``phone``, ``birth_year`` and ``notes`` and the household's
``contacts``, or a CSV with one row per meter (no contacts).  Every row is checked before
anything is written; the report names each bad row and field, so an integrator fixes the file in one pass.
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
from carewatch.directory import DEFAULT_TIMEZONE, Gateway, Household, Meter, Site, meter_row
from carewatch.registry import HouseholdEntry, Identifier, ZoneName

MAX_ROWS = 20_000
"""A district is a few thousand households; larger files are split by the integrator."""

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
        household_id = raw.get("household_id") if isinstance(raw, dict) else None
        try:
            plan.households.append((f"households[{index}]", ElderHousehold.model_validate(raw)))
        except ValidationError as exc:
            plan.errors.extend(_errors_of(exc, f"households[{index}]", household_id if isinstance(household_id, str) else None))
    return plan


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


async def check(
    session: AsyncSession,
    plan: ImportPlan,
    allowed_sites: Collection[str] | None,
    reserved_gateway: Callable[[str], str | None] = lambda gateway_id: None,
) -> None:
    """Cross-row and database checks; adds to ``plan.errors``. ``allowed_sites`` None: every site.
    ``reserved_gateway`` says why a gateway id may not be used (carewatch's own MQTT identities), or None."""
    for row, gateway_id in [(f"gateways[{i}]", g.gateway_id) for i, g in enumerate(plan.gateways)] + [
        (row, h.gateway_id) for row, h in plan.households if h.gateway_id is not None
    ]:
        if reason := reserved_gateway(gateway_id):
            plan.errors.append(RowError(row, "gateway_id", reason))
    if len(plan.households) > MAX_ROWS:
        plan.errors.append(RowError("(document)", "households", f"at most {MAX_ROWS} households per import"))
    seen: dict[str, str] = {}
    meter_owner: dict[str, str] = {}
    for row, household in plan.households:
        if household.household_id in seen:
            plan.errors.append(RowError(row, "household_id", f"also in {seen[household.household_id]}", household.household_id))
        seen.setdefault(household.household_id, row)
        for index, meter in enumerate(household.meters):
            owner = meter_owner.setdefault(meter.meter_id, household.household_id)
            if owner != household.household_id:
                plan.errors.append(RowError(row, f"meters.{index}.meter_id", f"{meter.meter_id!r} also belongs to {owner!r}", household.household_id))
    if allowed_sites is not None:
        for row, site in [(f"sites[{i}]", s.site_id) for i, s in enumerate(plan.sites)] + [
            (row, h.site) for row, h in plan.households
        ] + [(f"gateways[{i}]", g.site) for i, g in enumerate(plan.gateways)]:
            if site not in allowed_sites:
                plan.errors.append(RowError(row, "site", f"{site!r} is not one of the sites this key or account may change"))
    # Meters already owned by a household this import does not replace.
    wanted = list(meter_owner)
    for start in range(0, len(wanted), 500):
        rows = await session.execute(select(Meter.id, Meter.household_id).where(Meter.id.in_(wanted[start : start + 500])))
        for meter_id, household_id in rows:
            if household_id != meter_owner[meter_id] and household_id not in seen:
                row = seen[meter_owner[meter_id]]
                plan.errors.append(RowError(row, "meters.meter_id", f"{meter_id!r} already belongs to household {household_id!r}", meter_owner[meter_id]))
    # A gateway sits in one site; the import must not move it silently.
    gateway_sites = {g.gateway_id: g.site for g in plan.gateways}
    existing = dict((await session.execute(select(Gateway.id, Gateway.site_id))).all()) if plan.households else {}
    for row, household in plan.households:
        if household.gateway_id is None:
            continue
        site = gateway_sites.get(household.gateway_id) or existing.get(household.gateway_id)
        if site is not None and site != household.site:
            plan.errors.append(RowError(row, "gateway_id", f"gateway {household.gateway_id!r} belongs to site {site!r}, not {household.site!r}", household.household_id))
        gateway_sites.setdefault(household.gateway_id, household.site)


async def apply(session: AsyncSession, plan: ImportPlan) -> ImportResult:
    """Write a checked plan into the caller's transaction: households are created or replaced whole."""
    if plan.errors:
        raise ImportRefused(plan.errors)
    sites = {s.site_id: s for s in plan.sites}
    for _, household in plan.households:
        sites.setdefault(household.site, SiteEntry(site_id=household.site, name=household.site))
    gateways = {g.gateway_id: g for g in plan.gateways}
    for _, household in plan.households:
        if household.gateway_id is not None:
            gateways.setdefault(household.gateway_id, GatewayEntry(gateway_id=household.gateway_id, site=household.site))

    present_sites = set(await _existing(session, Site.id, sites))
    for site in sites.values():
        if site.site_id in present_sites:
            if site in plan.sites:  # declared: its name and zone are updated
                await session.merge(Site(id=site.site_id, name=site.name, timezone=site.timezone, phone=site.phone))
        else:
            session.add(Site(id=site.site_id, name=site.name, timezone=site.timezone, phone=site.phone))
    await session.flush()
    present_gateways = set(await _existing(session, Gateway.id, gateways))
    for gateway in gateways.values():
        if gateway.gateway_id not in present_gateways:
            session.add(Gateway(id=gateway.gateway_id, site_id=gateway.site, name=gateway.name))
        elif gateway in plan.gateways:
            existing = await session.get(Gateway, gateway.gateway_id)
            assert existing is not None
            existing.site_id, existing.name = gateway.site, gateway.name
    await session.flush()

    ids = [h.household_id for _, h in plan.households]
    present_households = set(await _existing(session, Household.id, ids))
    for start in range(0, len(ids), 500):
        await session.execute(delete(Meter).where(Meter.household_id.in_(ids[start : start + 500])))
    meters = contacts = 0
    for _, entry in plan.households:
        values = household_values(entry)
        if entry.household_id in present_households:
            household = await session.get(Household, entry.household_id)
            assert household is not None
            for key, value in values.items():
                setattr(household, key, value)
        else:
            session.add(Household(id=entry.household_id, **values))
        session.add_all(meter_row(m, entry.household_id) for m in entry.meters)
        meters += len(entry.meters)
    await session.flush()
    for _, entry in plan.households:
        if entry.contacts is not None:
            contacts += await replace_contacts(session, entry.household_id, entry.contacts)
    await session.flush()
    return ImportResult(
        sites_created=len(set(sites) - present_sites),
        gateways_created=len(set(gateways) - present_gateways),
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
    for start in range(0, len(keys), 500):
        found.extend((await session.scalars(select(column).where(column.in_(keys[start : start + 500])))).all())
    return found


async def import_document(
    session: AsyncSession, document: Any, allowed_sites: Collection[str] | None = None
) -> ImportResult:
    """Parse, check and apply a JSON district document in the caller's transaction (raises ImportRefused)."""
    plan = parse_json(document)
    await check(session, plan, allowed_sites)
    return await apply(session, plan)
