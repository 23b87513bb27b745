"""The duty console: server-rendered HTML for the people who phone the families."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import AlertNotFound, IllegalTransition, InvalidActor
from alerts.lifecycle import ACTIVE_STATUSES, MAX_ACTOR_LENGTH
from alerts.models import Alert
from api import labels
from api.console_view import alert_row
from api.deps import LANG_COOKIE, OFFICER_COOKIE, Lang, LangDep, Services, ServicesDep, SessionDep
from carewatch.domain import Audience
from ingest.stats import read_stats

log = logging.getLogger(__name__)

REMEMBER_FOR_S = 365 * 86400
CONSOLE_PAGE = 500
"""More active alerts than this would be an outage, not a duty shift; the JSON API pages through them."""

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

router = APIRouter(include_in_schema=False)

Move = Callable[[str, str, str], Awaitable[Alert]]


@router.get("/", response_class=HTMLResponse)
async def console(request: Request, services: ServicesDep, session: SessionDep, lang: LangDep) -> Response:
    response = await _render(request, services, session, lang)
    response.set_cookie(LANG_COOKIE, lang, max_age=REMEMBER_FOR_S, samesite="lax")
    return response


@router.post("/console/alerts/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: str,
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    lang: LangDep,
    actor: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    return await _act(services.store.acknowledge, alert_id, actor, note, request, services, session, lang)


@router.post("/console/alerts/{alert_id}/resolve")
async def resolve(
    alert_id: str,
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    lang: LangDep,
    actor: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    return await _act(services.store.resolve, alert_id, actor, note, request, services, session, lang)


async def _act(
    move: Move,
    alert_id: str,
    actor: str,
    note: str,
    request: Request,
    services: Services,
    session: AsyncSession,
    lang: Lang,
) -> Response:
    words = labels.UI[lang]
    try:
        await move(alert_id, actor, note)
    except InvalidActor:
        notice = words["need_officer"].format(max=MAX_ACTOR_LENGTH)
        return await _render(request, services, session, lang, notice, status.HTTP_422_UNPROCESSABLE_CONTENT)
    except AlertNotFound:
        return await _render(request, services, session, lang, words["not_found"], status.HTTP_404_NOT_FOUND)
    except IllegalTransition as exc:
        notice = words["illegal"].format(status=labels.STATUS[lang][exc.current])
        return await _render(request, services, session, lang, notice, status.HTTP_409_CONFLICT)
    # Post/redirect/get: a reload of the page must not repeat the acknowledgement.
    response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(OFFICER_COOKIE, quote(actor.strip()), max_age=REMEMBER_FOR_S, httponly=True, samesite="lax")
    return response


async def _render(
    request: Request,
    services: Services,
    session: AsyncSession,
    lang: Lang,
    notice: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    active = await services.store.list(status=ACTIVE_STATUSES, limit=CONSOLE_PAGE)
    rows = [alert_row(alert, services.registry, lang) for alert in active]
    stats = await read_stats(session)
    context = {
        "lang": lang,
        "words": labels.UI[lang],
        "notice": notice,
        "care_rows": [row for row in rows if row.audience is Audience.CARE],
        "technician_rows": [row for row in rows if row.audience is Audience.TECHNICIAN],
        "officer": unquote(request.cookies.get(OFFICER_COOKIE, "")),
        "stats": stats,
        "rejected": [(labels.reject_reason(lang, reason), count) for reason, count in sorted(stats.rejected_by_reason.items())],
        "live_status": _live_status(services.status),
        "max_actor_length": MAX_ACTOR_LENGTH,
    }
    return templates.TemplateResponse(request, "console.html", context, status_code=status_code)


def _live_status(provider: Callable[[], dict[str, Any]] | None) -> dict[str, Any]:
    if provider is None:
        return {}
    try:
        return provider()
    except Exception:  # the duty console must still show alerts when the runner's status is broken
        log.exception("live status provider failed")
        return {}
