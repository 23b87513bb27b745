"""Whom the officer calls about an alert, on the card where the call is decided: the elder, the first
family contacts, the community's duty line, each a ``tel:`` link.

Read from the directory (households, their contacts, sites) in a few queries for a whole board.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carewatch.db import in_lists
from carewatch.directory import Contact, Household, Site

FAMILY_ON_CARD = 2
"""The first family contacts (by id, as the ladder orders them); the household page lists them all."""
PHONE_CHANNELS = ("sms", "voice")
_NOT_DIALLED = re.compile(r"[^\d+]")

CalleeRole = Literal["elder", "family", "community"]


@dataclass(frozen=True, slots=True)
class Callee:
    """One number to call, and whose it is."""

    role: CalleeRole
    name: str
    relation: str
    number: str

    @property
    def tel(self) -> str:
        """The ``tel:`` URI, dialled without the separators people write:

        >>> Callee("community", "北苑社区", "", "0532-8000 1234").tel
        'tel:053280001234'
        """
        return "tel:" + _NOT_DIALLED.sub("", self.number)


def phone_of(channels: Iterable[dict[str, str]]) -> str:
    """The first SMS or voice number among a contact's channels ("" if it has none)."""
    return next((c["address"] for c in channels if c.get("kind") in PHONE_CHANNELS and c.get("address")), "")


async def call_sheets(session: AsyncSession, household_ids: Sequence[str]) -> dict[str, tuple[Callee, ...]]:
    """For each household of the directory among ``household_ids``: elder, first family contacts, community line."""
    wanted = sorted(set(household_ids))
    households: dict[str, Household] = {}
    contacts: dict[str, list[Contact]] = {}
    for chunk in in_lists(wanted):
        households.update({h.id: h for h in await session.scalars(select(Household).where(Household.id.in_(chunk)))})
        for contact in await session.scalars(select(Contact).where(Contact.household_id.in_(chunk)).order_by(Contact.household_id, Contact.id)):
            contacts.setdefault(contact.household_id, []).append(contact)
    site_ids = sorted({h.site_id for h in households.values()})
    sites = {s.id: s for s in await session.scalars(select(Site).where(Site.id.in_(site_ids)))} if site_ids else {}
    return {
        household.id: sheet(household, contacts.get(household.id, []), sites.get(household.site_id)) for household in households.values()
    }


def sheet(household: Household, contacts: Sequence[Contact], site: Site | None) -> tuple[Callee, ...]:
    """The household's numbers in the order an officer tries them; people without a number are left out."""
    elder_line = next((c for c in contacts if c.role == "elder"), None)
    elder_number = household.phone or (phone_of(elder_line.channels) if elder_line else "")
    calls: list[Callee] = []
    if elder_number:
        calls.append(Callee("elder", household.name or (elder_line.name if elder_line else ""), "", elder_number))
    family = [(c, phone_of(c.channels)) for c in contacts if c.role != "elder"]
    calls += [Callee("family", c.name, c.relation, number) for c, number in family if number][:FAMILY_ON_CARD]
    if site is not None and site.phone:
        calls.append(Callee("community", site.name or site.id, "", site.phone))
    return tuple(calls)
