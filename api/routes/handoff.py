"""The shift handoff page: what happened since a time, and a note from the outgoing officer to the incoming one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import visible_site
from api.auth import Principal
from api.console_view import alert_rows, local_time
from api.deps import AlertReader, AlertWriter, LangDep, NowDep, ServicesDep, SessionDep
from api.handoff import PARTS, default_since, handoff_notes, shift_report
from api.history import site_zone
from api.models import ShiftHandoff
from api.pages import render
from api.routes.alert_pages import card_context, site_names
from api.schemas import AlertPublic, HandoffNoteCreate, HandoffNotePublic, HandoffPublic
from carewatch.catalogue import text

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/handoff", tags=["handoff"])
MAX_NOTE = 4000
NOT_YOURS: dict[int | str, dict[str, str]] = {404: {"description": "No such community among yours"}}


async def _site(session: AsyncSession, principal: Principal, site: str) -> str | None:
    """The community asked for (404 if it is not the principal's), or None for all of theirs."""
    return (await visible_site(session, principal, site)).id if site else None


def _parse_local(value: str, zone: Any) -> datetime | None:
    try:
        return _aware(datetime.fromisoformat(value), zone) if value else None
    except ValueError:
        return None


def _naive(value: str) -> datetime | None:
    """The form's local time, to be read in its community's zone (None: empty or not a time)."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None) if value else None
    except ValueError:
        return None


def _aware(moment: datetime, zone: Any) -> datetime:
    """A time with its offset as given; one without is the community's local time."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


async def add_note(
    session: AsyncSession, principal: Principal, site: str, since: datetime | None, note: str, now: datetime
) -> ShiftHandoff | None:
    """Save the note on ``site``'s shift since ``since`` (naive: the community's local time; None: now); ``site`` ""
    means the principal's only community. None when there is no note or no single community to put it on;
    another community's site answers 404."""
    chosen = await _site(session, principal, site)
    names = list(await site_names(session, principal))
    target = chosen or (names[0] if len(names) == 1 else None)
    if target is None or not note.strip():
        return None
    handoff = ShiftHandoff(site_id=target, since=_aware(since, await site_zone(session, target)).astimezone(UTC) if since else now, written_at=now,
                           author=principal.name, note=note.strip())
    session.add(handoff)
    await session.commit()
    return handoff


@router.get("/handoff")
async def handoff_page(
    request: Request, principal: AlertReader, services: ServicesDep, session: SessionDep, lang: LangDep,
    site: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=20, description="The community's local time, YYYY-MM-DDTHH:MM")] = "",
    missing: bool = False,
) -> Response:
    chosen = await _site(session, principal, site)
    zone = await site_zone(session, chosen)
    start = _parse_local(since, zone) or await default_since(session, principal, chosen, services.clock())
    report = await shift_report(session, principal, chosen, start)
    names = await site_names(session, principal)
    notes = await handoff_notes(session, principal, chosen)
    parts = [(name, text(f"ui.handoff_{name}", lang), await alert_rows(session, report.parts[name], lang, services.registry)) for name in PARTS]
    context = {
        **await card_context(session, [row for _, _, rows in parts for row in rows], lang),
        "site": chosen,
        "site_names": names,
        "since_value": start.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "since_words": local_time(start, zone),
        "parts": parts,
        "notes": [(n, names.get(n.site_id, n.site_id), local_time(n.written_at, zone), local_time(n.since, zone)) for n in notes],
        "can_write": principal.kind == "user",
        "notice": text("ui.handoff_need_note", lang) if missing else None,
    }
    return render(request, "handoff.html", lang, principal, context)


@router.post("/handoff")
async def write_handoff(
    principal: AlertWriter, session: SessionDep, services: ServicesDep,
    site: Annotated[str, Form(max_length=64)] = "",
    since: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    """The outgoing officer's note on the shift since ``since`` for a community; the incoming one sees it first."""
    if await add_note(session, principal, site, _naive(since), note, services.clock()) is None:
        return RedirectResponse(f"/handoff?{urlencode({'site': site, 'missing': 1})}", status_code=status.HTTP_303_SEE_OTHER)
    return RedirectResponse(f"/handoff?{urlencode({'site': site})}", status_code=status.HTTP_303_SEE_OTHER)


# ---- the JSON API ---------------------------------------------------------------------------------------


@api_router.get("", response_model=HandoffPublic, responses=NOT_YOURS)
async def read_handoff(
    principal: AlertReader, session: SessionDep, now: NowDep,
    site: Annotated[str, Query(max_length=64, description="One of your communities (default: all of them)")] = "",
    since: Annotated[datetime | None, Query(description="ISO 8601; without an offset, the community's local time. "
                                            "Default: the start of the shift the newest note covers, or 12 hours ago")] = None,
) -> HandoffPublic:
    """What happened in your communities since a time (new alerts, those acknowledged, escalated, resolved, those
    still open) and the newest handoff notes, as the console's handoff page shows them."""
    chosen = await _site(session, principal, site)
    start = _aware(since, await site_zone(session, chosen)) if since else await default_since(session, principal, chosen, now)
    report = await shift_report(session, principal, chosen, start)
    parts = {name: [AlertPublic.model_validate(alert) for alert in report.parts[name]] for name in PARTS}
    notes = [HandoffNotePublic.model_validate(n) for n in await handoff_notes(session, principal, chosen)]
    return HandoffPublic(since=start, site_id=chosen, notes=notes, **parts)


@api_router.post("", response_model=HandoffNotePublic, status_code=status.HTTP_201_CREATED, responses=NOT_YOURS)
async def create_handoff(body: HandoffNoteCreate, principal: AlertWriter, session: SessionDep, now: NowDep) -> ShiftHandoff:
    """Leave the incoming officer a note on a community's shift; the board shows the newest for a day."""
    handoff = await add_note(session, principal, body.site_id or "", body.since, body.note, now)
    if handoff is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{
            "loc": ["body", "site_id"], "type": "value_error",
            "msg": "you look after several communities: say which one the note is about (site_id)"}])
    return handoff
