"""Household contacts in the directory: what the ladder reads at every step, and the people file's import.

The directory (the database) is where a household's elder line and family live at run
time; the integrator API and the bulk import edit them there. A people file named in
settings is imported at start: the contacts it lists are created or brought in line
with it, contacts added through the API are kept, and a household (or site) the
directory does not have yet is added from the file's name, address and time zone,
without meters (it is watched once the registry or the API gives it meters). Sites'
staff, rota and group robots stay in the people file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.people import CareRole, HouseholdContact, HouseholdPeople, PeopleFile, directory_contacts, person_of
from carewatch.db import in_lists
from carewatch.directory import Contact, Household, Site

log = logging.getLogger(__name__)


def contact_values(entry: HouseholdContact) -> dict[str, Any]:
    """The row's columns (not its ids) from a validated contact."""
    data = entry.model_dump(mode="json")
    return {key: data[key] for key in ("role", "name", "relation", "language", "channels", "quiet_hours", "alert_types")}


def contact_row(household_id: str, entry: HouseholdContact) -> Contact:
    return Contact(household_id=household_id, id=entry.id, **contact_values(entry))


def contact_entry(row: Contact) -> HouseholdContact:
    return HouseholdContact.model_validate(
        {"id": row.id, "role": row.role, "name": row.name, "relation": row.relation, "language": row.language,
         "channels": row.channels, "quiet_hours": row.quiet_hours, "alert_types": row.alert_types}
    )


async def contacts_of(session: AsyncSession, household_id: str) -> list[Contact]:
    """The household's contacts, the elder's line first, then by id."""
    rows = (await session.scalars(select(Contact).where(Contact.household_id == household_id).order_by(Contact.id))).all()
    return sorted(rows, key=lambda c: c.role != "elder")


async def household_people(session: AsyncSession, household_id: str) -> HouseholdPeople | None:
    """Whom the ladder contacts about a household, as the directory says now; None if it is not in the directory."""
    household = await session.get(Household, household_id)
    if household is None:
        return None
    elder, family = None, []
    for row in await contacts_of(session, household_id):
        entry = contact_entry(row)
        if entry.role == "elder":
            elder = person_of(entry, CareRole.ELDER)
        else:
            family.append(person_of(entry))
    site = await session.get(Site, household.site_id)
    return HouseholdPeople(
        household.id, household.site_id, household.name, household.address, ZoneInfo(household.timezone), elder, tuple(family),
        phone=household.phone or "", community_phone=site.phone if site is not None and site.phone else "",
    )


async def replace_contacts(session: AsyncSession, household_id: str, entries: Iterable[HouseholdContact]) -> int:
    """Make the household's contacts exactly ``entries`` (in the caller's transaction)."""
    for row in await contacts_of(session, household_id):
        await session.delete(row)
    await session.flush()
    rows = [contact_row(household_id, entry) for entry in entries]
    session.add_all(rows)
    return len(rows)


@dataclass(frozen=True, slots=True)
class PeopleImport:
    contacts: int
    """Contacts written (created or brought in line with the file)."""
    households_added: tuple[str, ...]
    """Households the directory did not have, added from the file (without meters)."""

    def describe(self) -> str:
        text = f"people file: {self.contacts} household contacts imported into the directory"
        if self.households_added:
            text += f"; {len(self.households_added)} households added without meters ({', '.join(self.households_added[:5])}…)"
        return text


async def import_people(session: AsyncSession, people: PeopleFile) -> PeopleImport:
    """Upsert the people file's household contacts into the directory (the caller commits)."""
    ids = list(people.households)
    known: set[str] = set()
    for keys in in_lists(ids):
        known.update((await session.scalars(select(Household.id).where(Household.id.in_(keys)))).all())
    sites = set((await session.scalars(select(Site.id))).all())
    written, added = 0, []
    for household_id, household in sorted(people.households.items()):
        if household_id not in known:
            if household.site not in sites:
                site = people.sites[household.site]
                session.add(Site(id=site.site, name=site.name, timezone=str(site.timezone)))
                sites.add(site.site)
                await session.flush()  # the site row before its household's
            session.add(Household(
                id=household_id, site_id=household.site, name=household.name, address=household.address,
                timezone=str(household.timezone), rules={},
            ))
            added.append(household_id)
            await session.flush()
        for entry in directory_contacts(household):
            await session.merge(contact_row(household_id, entry))
            written += 1
    if added:
        log.warning("households from the people file added to the directory without meters: %s", added[:20])
    return PeopleImport(written, tuple(added))
