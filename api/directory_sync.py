"""The registry file meets the directory: what `carewatch run` does with CAREWATCH_REGISTRY_PATH at start.

The database directory is the source of truth once the service runs (the API edits it).
A registry file still named in settings is imported at every start as an upsert:
households it lists are created or brought in line with it, fields it leaves out (the
elder's phone, notes, birth year) keep what the directory has, and households it does
not list are left alone. Running it twice changes nothing the second time. A file that
conflicts with the directory (a meter owned by another household, a gateway of another
site) is refused whole, with every conflict named, and the service does not start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from carewatch.directory import Household
from api.directory_import import ElderHousehold, RowError, apply, check, household_values, parse_json
from carewatch.registry import RegistryError, RulesEntry

_DB_COLUMN = {"site": "site_id"}
_KEPT_WHEN_LEFT_OUT = ("site", "name", "address", "timezone", "gateway_id", "phone", "birth_year", "notes")


@dataclass(frozen=True, slots=True)
class FileImport:
    path: Path
    created: int
    updated: int
    unchanged: int

    def describe(self) -> str:
        return f"{self.path}: {self.created} households added, {self.updated} updated, {self.unchanged} unchanged"


def _refusal(path: Path, errors: list[RowError]) -> RegistryError:
    lines = [f"{e.row} {e.field}: {e.message}" for e in errors[:50]]
    more = f"\n  … and {len(errors) - 50} more" if len(errors) > 50 else ""
    return RegistryError(
        f"registry file {path} cannot be imported into the directory; nothing was changed:\n  "
        + "\n  ".join(lines) + more
        + "\n(fix the file, or unset CAREWATCH_REGISTRY_PATH once the directory is kept through the API)"
    )


def _with_directory_values(entry: ElderHousehold, current: Household) -> ElderHousehold:
    """Fields the file leaves out keep what the directory has (e.g. a phone number entered in the console)."""
    kept: dict[str, Any] = {
        name: getattr(current, _DB_COLUMN.get(name, name))
        for name in _KEPT_WHEN_LEFT_OUT
        if name not in entry.model_fields_set
    }
    if "rules" not in entry.model_fields_set:
        kept["rules"] = RulesEntry.model_validate(current.rules or {})
    return entry.model_copy(update=kept)


def _unchanged(entry: ElderHousehold, current: Household) -> bool:
    values = household_values(entry)
    if any(getattr(current, column) != value for column, value in values.items()):
        return False
    meters = {(m.meter_id, m.kind.value, m.interval_s, m.upload_every_s) for m in entry.meters}
    return meters == {(m.id, m.kind, m.interval_s, m.upload_every_s or 0.0) for m in current.meters}


async def import_registry_file(session: AsyncSession, path: Path) -> FileImport | None:
    """Upsert the registry file's households into the directory (the caller commits); None if there is no file."""
    try:
        document = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError as exc:
        raise RegistryError(f"registry file {path} is not valid JSON: {exc}") from exc
    plan = parse_json(document)
    if plan.errors:
        raise _refusal(path, plan.errors)
    ids = [entry.household_id for _, entry in plan.households]
    existing: dict[str, Household] = {}
    for start in range(0, len(ids), 500):
        rows = await session.scalars(
            select(Household).where(Household.id.in_(ids[start : start + 500])).options(selectinload(Household.meters))
        )
        existing.update((h.id, h) for h in rows)
    changed = []
    for row, entry in plan.households:
        current = existing.get(entry.household_id)
        if current is not None:
            entry = _with_directory_values(entry, current)
            if _unchanged(entry, current):
                continue
        changed.append((row, entry))
    plan.households = changed
    await check(session, plan, None)
    if plan.errors:
        raise _refusal(path, plan.errors)
    result = await apply(session, plan)
    return FileImport(path, result.households_created, result.households_updated, len(ids) - len(changed))
