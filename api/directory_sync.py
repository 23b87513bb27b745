"""The registry file meets the directory: what `carewatch run` does with CAREWATCH_REGISTRY_PATH at start.

The database directory is the source of truth once the service runs (the API edits it).
A registry file still named in settings is imported at every start as an upsert:
households it lists are created or brought in line with it, fields it leaves out (the
elder's phone, notes, birth year) keep what the directory has, and households it does
not list are left alone. Running it twice changes nothing the second time. A file that
conflicts with the directory (a meter owned by another household, a gateway of another
site) is refused whole, with every conflict named, and the service does not start.

The file is streamed (ijson), ``CHUNK`` households at a time: each chunk is validated, compared
with the directory (one query for the chunk), checked (`api.directory_import.Checker`) and, while
no error was found, written; errors are collected to the end, and then the whole import is
refused (the caller's transaction, never committed, leaves the directory as it was).  Memory
does not grow with the file, but for the households' and meters' ids; a restart with an
unchanged file reads it once and writes nothing.  The top-level ``sites`` and ``gateways`` lists
of the district format are read in a pass of their own, only when the file names them.

At start (`sync_registry_file`) even that reading is skipped when it cannot change anything: the digest
of the file last applied whole is kept in the directory (`carewatch.directory.RegistryFileApplied`,
written in the import's transaction, deleted by any write to the directory since), and a file with
that digest is only hashed, not compared (at 300,000 households the comparison was about 30 % of a
restart: docs/runbook.md 1.7).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from itertools import islice
from pathlib import Path
from typing import IO, Any

import ijson
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from carewatch.directory import Household, RegistryFileApplied
from api.directory_import import (
    Checker, ElderHousehold, GatewayEntry, ImportPlan, RowError, SiteEntry, apply, household_values, parse_household,
)
from carewatch.registry import RegistryError, RulesEntry
from ingest.upsert import Upsert

CHUNK = 2000
"""Households validated, compared with the directory and written together."""
_VERSION_AT_HEAD = re.compile(rb'^\s*\{\s*"version"\s*:\s*(-?\d+)\s*[,}]')

IMPORT_RULES = 1
"""Bump when what applying a file does to the directory changes without a new carewatch version: every
file is then compared once more.  Part of `file_digest`, with carewatch's version."""
_READ_BYTES = 1 << 20
_APPLIED = Upsert(RegistryFileApplied)

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


@dataclass(frozen=True, slots=True)
class AlreadyApplied:
    """The registry file is the one last applied, and the directory was not written since: nothing to compare."""

    path: Path
    applied_at: datetime

    def describe(self) -> str:
        return f"{self.path}: unchanged since it was applied at {self.applied_at:%Y-%m-%d %H:%M:%S} UTC; not compared with the directory"


def file_digest(path: Path) -> str:
    """sha256 of the file's bytes (read a block at a time) and of the rules applying it follows."""
    digest = hashlib.sha256(f"carewatch {version('carewatch')} registry import rules {IMPORT_RULES}\n".encode())
    with path.open("rb") as handle:
        while block := handle.read(_READ_BYTES):
            digest.update(block)
    return digest.hexdigest()


async def sync_registry_file(session: AsyncSession, path: Path) -> FileImport | AlreadyApplied | None:
    """What `carewatch run` does with its registry file (the caller commits): `import_registry_file`, unless the
    file is the one last applied and the directory was not written since; None if there is no file.

    The digest is taken before the import reads the file: a file replaced meanwhile is compared again next time."""
    try:
        digest = file_digest(path)
    except FileNotFoundError:
        return None
    applied = await session.get(RegistryFileApplied, 1)
    if applied is not None and applied.sha256 == digest:
        return AlreadyApplied(path, applied.applied_at)
    imported = await import_registry_file(session, path)  # deletes the row when it writes to the directory
    if imported is not None:
        # An upsert: two services starting on the same directory at once both succeed, as they did before.
        await _APPLIED.write(session, [{"id": 1, "sha256": digest, "applied_at": datetime.now(UTC)}])
    return imported


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


class _Scanned:
    """The file as ijson reads it, noting whether it names the top-level keys read in passes of their own."""

    KEYS = (b'"households"', b'"sites"', b'"gateways"', b'"version"')

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.seen: set[bytes] = set()
        self._tail = b""

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        window = self._tail + data
        self.seen.update(key for key in self.KEYS if key in window)
        self._tail = data[-16:]
        return data


def _chunks(items: Iterator[Any]) -> Iterator[list[tuple[int, Any]]]:
    numbered = enumerate(items)
    while chunk := list(islice(numbered, CHUNK)):
        yield chunk


async def import_registry_file(session: AsyncSession, path: Path) -> FileImport | None:
    """Upsert the registry file's households into the directory (the caller commits); None if there is no file."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return None
    checker = Checker()
    errors: list[RowError] = []
    created = updated = unchanged = households = 0
    known_sites: set[str] = set()
    known_gateways: set[str] = set()
    with handle:
        head = handle.read(256)
        handle.seek(0)
        scanned = _Scanned(handle)
        try:
            for chunk in _chunks(ijson.items(scanned, "households.item", use_float=True)):
                households += len(chunk)
                plan = ImportPlan()
                for index, raw in chunk:
                    parse_household(index, raw, plan)
                errors += plan.errors
                changed = await _changed(session, plan.households)
                session.expunge_all()  # nothing of the chunk is kept in the session
                unchanged += len(plan.households) - len(changed)
                await checker.rows(session, changed)
                if errors or checker.errors or not changed:
                    continue  # refused in the end: go on only to name every error
                result = await apply(session, ImportPlan(households=changed), known_sites=known_sites, known_gateways=known_gateways)
                created, updated = created + result.households_created, updated + result.households_updated
            declared = _declared(path, scanned.seen, head, errors)
        except ijson.JSONError as exc:
            raise RegistryError(f"registry file {path} is not valid JSON: {exc}") from exc
    if households == 0 and b'"households"' not in scanned.seen:
        errors.append(RowError("(document)", "households", "a list of households is required"))
    checker.declared(declared.sites, declared.gateways)
    errors += checker.finish()
    if errors:
        raise _refusal(path, errors)
    if declared.sites or declared.gateways:
        await apply(session, declared, known_sites=known_sites, known_gateways=known_gateways)
    return FileImport(path, created, updated, unchanged)


def _declared(path: Path, seen: set[bytes], head: bytes, errors: list[RowError]) -> ImportPlan:
    """The file's version and its own sites and gateways, each read in a pass of its own when the file names it."""
    declared = ImportPlan()
    if (at_head := _VERSION_AT_HEAD.match(head)) is not None:
        versions = [int(at_head.group(1))]
    elif b'"version"' in seen:
        with path.open("rb") as handle:
            versions = list(ijson.items(handle, "version", use_float=True))
    else:
        versions = []
    if any(version != 1 for version in versions):
        errors.append(RowError("(document)", "version", "only version 1 is understood"))
    for key, model, target in (("sites", SiteEntry, declared.sites), ("gateways", GatewayEntry, declared.gateways)):
        if f'"{key}"'.encode() not in seen:
            continue
        with path.open("rb") as handle:
            for index, raw in enumerate(ijson.items(handle, f"{key}.item", use_float=True)):
                try:
                    target.append(model.model_validate(raw))  # type: ignore[attr-defined]
                except ValidationError as exc:
                    errors.extend(
                        RowError(f"{key}[{index}]", ".".join(str(p) for p in e["loc"]) or "(row)", e["msg"]) for e in exc.errors()
                    )
    return declared


async def _changed(session: AsyncSession, entries: list[tuple[str, ElderHousehold]]) -> list[tuple[str, ElderHousehold]]:
    """The entries that would change the directory, with what the file leaves out taken from it (one query)."""
    ids = [entry.household_id for _, entry in entries]
    rows = await session.scalars(select(Household).where(Household.id.in_(ids)).options(selectinload(Household.meters)))
    existing = {h.id: h for h in rows}
    changed = []
    for row, entry in entries:
        current = existing.get(entry.household_id)
        if current is not None:
            entry = _with_directory_values(entry, current)
            if _unchanged(entry, current):
                continue
        changed.append((row, entry))
    return changed
