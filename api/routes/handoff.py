"""The shift handoff page: what happened since a time, and a note from the outgoing officer to the incoming one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import visible_site
from api.auth import Principal
from api.console_view import alert_rows, local_time
from api.deps import AlertReader, AlertWriter, LangDep, ServicesDep, SessionDep
from api.handoff import PARTS, default_since, handoff_notes, shift_report
from api.history import site_zone
from api.models import ShiftHandoff
from api.pages import render
from api.routes.alert_pages import card_context, site_names
from carewatch.catalogue import text

router = APIRouter(include_in_schema=False)
MAX_NOTE = 4000


async def _site(session: AsyncSession, principal: Principal, site: str) -> str | None:
    """The community asked for (404 if it is not the principal's), or None for all of theirs."""
    return (await visible_site(session, principal, site)).id if site else None


def _parse_local(value: str, zone: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone) if value else None
    except ValueError:
        return None


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
    chosen = await _site(session, principal, site)
    names = list(await site_names(session, principal))
    target = chosen or (names[0] if len(names) == 1 else None)
    if target is None or not note.strip():
        return RedirectResponse(f"/handoff?{urlencode({'site': site, 'missing': 1})}", status_code=status.HTTP_303_SEE_OTHER)
    zone = await site_zone(session, target)
    now = services.clock()
    session.add(ShiftHandoff(site_id=target, since=_parse_local(since, zone) or now, written_at=now, author=principal.name, note=note.strip()))
    await session.commit()
    return RedirectResponse(f"/handoff?{urlencode({'site': chosen or ''})}", status_code=status.HTTP_303_SEE_OTHER)
