"""Integrator CRUD for a household's contacts: its family and the elder's own line, whom the ladder contacts.

The ladder reads them from the directory at every step, so a change here reaches the next message
without a restart.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import ValidationError
from sqlalchemy import select

from alerts.contacts import contact_entry, contact_row, contact_values
from alerts.people import HouseholdContact
from api.access import not_found, visible_household
from api.deps import DirectoryReader, DirectoryWriter, SessionDep
from api.directory_schemas import MAX_PAGE, ContactCreate, ContactPublic, ContactUpdate, Page, field_error, page
from api.routes.directory import NOT_YOURS, Limit, Offset, paged
from carewatch.directory import Contact

router = APIRouter(prefix="/api/households", tags=["contacts"])


def contact_public(row: Contact) -> ContactPublic:
    return ContactPublic(household_id=row.household_id, **contact_entry(row).model_dump())


async def _contact(session: SessionDep, household_id: str, contact_id: str) -> Contact:
    row = await session.get(Contact, (household_id, contact_id))
    if row is None:
        raise not_found("contact", contact_id)
    return row


@router.get("/{household_id}/contacts", response_model=Page[ContactPublic], responses=NOT_YOURS)
async def list_contacts(
    household_id: str, principal: DirectoryReader, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    """The household's contacts, the elder's line first."""
    await visible_household(session, principal, household_id)
    query = select(Contact).where(Contact.household_id == household_id).order_by((Contact.role != "elder"), Contact.id)
    rows, total = await paged(session, query, limit, offset)
    return page([contact_public(c) for c in rows], total, min(limit, MAX_PAGE), offset)


@router.post("/{household_id}/contacts", response_model=ContactPublic, status_code=status.HTTP_201_CREATED, responses=NOT_YOURS)
async def create_contact(household_id: str, body: ContactCreate, principal: DirectoryWriter, session: SessionDep) -> ContactPublic:
    await visible_household(session, principal, household_id)
    if await session.get(Contact, (household_id, body.id)) is not None:
        what = "the elder's line" if body.role == "elder" else f"contact {body.id!r}"
        raise field_error(("id",), f"{what} exists already in this household: change it with PATCH", status.HTTP_409_CONFLICT)
    row = contact_row(household_id, body)
    session.add(row)
    await session.commit()
    return contact_public(row)


@router.get("/{household_id}/contacts/{contact_id}", response_model=ContactPublic, responses=NOT_YOURS)
async def read_contact(household_id: str, contact_id: str, principal: DirectoryReader, session: SessionDep) -> ContactPublic:
    await visible_household(session, principal, household_id)
    return contact_public(await _contact(session, household_id, contact_id))


@router.patch("/{household_id}/contacts/{contact_id}", response_model=ContactPublic, responses=NOT_YOURS)
async def update_contact(
    household_id: str, contact_id: str, body: ContactUpdate, principal: DirectoryWriter, session: SessionDep
) -> ContactPublic:
    await visible_household(session, principal, household_id)
    row = await _contact(session, household_id, contact_id)
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "relation", "language", "channels"):
        if key in changes and changes[key] is None:
            raise field_error((key,), f"{key} cannot be null")
    try:  # the whole contact is checked again: an elder's line takes no alert types, for one
        entry = HouseholdContact.model_validate({**contact_entry(row).model_dump(), **changes})
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, [{**e, "loc": ["body", *e["loc"]]} for e in errors]
        ) from None
    for key, value in contact_values(entry).items():
        setattr(row, key, value)
    await session.commit()
    return contact_public(row)


@router.delete("/{household_id}/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS)
async def delete_contact(household_id: str, contact_id: str, principal: DirectoryWriter, session: SessionDep) -> Response:
    await visible_household(session, principal, household_id)
    await session.delete(await _contact(session, household_id, contact_id))
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
