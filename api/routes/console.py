"""The duty console's alert board: live over server-sent events, acknowledge with an outcome, resolve."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import AlertClosed, AlertNotFound, IllegalTransition
from alerts.lifecycle import ACTIVE_STATUSES, AlertStatus
from alerts.models import Alert
from alerts.silences import silenced_alerts
from alerts.outcomes import MAX_OUTCOME_DETAIL, FalseAlarmReason, InvalidOutcome, Outcome, OutcomeKind
from api.access import NotAColleague, colleague_for, colleagues, list_alerts, visible_alert
from api.acknowledge import acknowledge_all
from api.auth import Principal
from api.console_view import AlertRow, alert_rows, shown_time
from api.handoff import latest_handoff
from api.deps import AlertReader, AlertWriter, LangDep, Services, ServicesDep, SessionDep
from api.ingest_view import visible_stats
from api.ladder_view import LadderView, ladder_views
from api.pages import page_basics, render, templates
from api.routes.login import safe_next
from api.routes.rota import board_on_duty
from api.routes.silences import board_silences
from carewatch.catalogue import Language, text, words
from carewatch.domain import Audience

log = logging.getLogger(__name__)

CONSOLE_PAGE = 500
"""More active alerts than this would be an outage, not a duty shift; the JSON API pages through them."""
STREAM_FOR_S = 600.0
"""A stream ends after this long and the browser reconnects: sign-out and expiry take effect, proxies stay happy."""
HEARTBEAT_S = 15.0
OUTCOME_CHOICES = (
    "safe", "unwell", "hospitalised", "unreachable", "false_alarm:away", "false_alarm:meter_fault", "false_alarm:other",
)
"""The console's one-click outcomes: a kind, and for a false alarm its reason."""
BULK_MAX = CONSOLE_PAGE
"""At most this many alerts in one bulk acknowledgement (the board shows no more)."""

router = APIRouter(include_in_schema=False)


async def board_context(session: AsyncSession, services: Services, principal: Principal, lang: Language) -> dict[str, Any]:
    active = await list_alerts(session, principal, statuses=ACTIVE_STATUSES, limit=CONSOLE_PAGE)
    rows = await alert_rows(session, active, lang, services.registry)
    care = [row for row in rows if row.audience is Audience.CARE]
    ladders = await ladder_views(session, [alert.id for alert in active], lang)
    team = await colleagues(session, {row.site for row in rows})
    # Open alerts raised under a site silence are listed apart, so a planned gas cut does not flood the board.
    silenced = await silenced_alerts(session, [row.id for row in rows if row.status is AlertStatus.OPEN])
    silences = await board_silences(session, principal, lang, services.clock())
    in_force = ",".join(f"{v['silence'].id}-{v['until']}" for v in silences)  # a silence set, ended or expired redraws the board
    return {
        "open_rows": [row for row in care if row.status is AlertStatus.OPEN and row.id not in silenced],
        "in_hand_rows": [row for row in care if row.status is not AlertStatus.OPEN],
        "technician_rows": [row for row in rows if row.audience is Audience.TECHNICIAN and row.id not in silenced],
        "silenced_rows": [row for row in rows if row.id in silenced],
        "silences": silences,
        "outcomes": [(choice, text(f"ui.outcome_{choice}", lang)) for choice in OUTCOME_CHOICES],
        "ladders": ladders,
        "colleagues": team,
        "fingerprint": fingerprint(active, ladders) + (f"-{hashlib.sha256(in_force.encode()).hexdigest()[:8]}" if in_force else ""),
    }


def fingerprint(alerts: list[Alert] | Any, ladders: Mapping[str, LadderView] | None = None) -> str:
    """Changes whenever an alert the board shows appears, moves or leaves, or its ladder moves."""
    digest = hashlib.sha256()
    for alert in alerts:
        ladder = ladders.get(alert.id) if ladders else None
        digest.update(f"{alert.id}|{alert.status}|{alert.updated_at.isoformat()}|{ladder.signature if ladder else ''}\n".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ConsoleCall:
    """One request to the console: who asked, over which session, in which language; it answers with the board."""

    request: Request
    principal: Principal
    services: Services
    session: AsyncSession
    lang: Language

    async def board_page(self, notice: str | None = None, status_code: int = status.HTTP_200_OK) -> Response:
        context = {
            **await board_context(self.session, self.services, self.principal, self.lang),
            **await counters_context(self.session, self.services, self.principal, self.lang),
            "latest_handoff": await latest_handoff(self.session, self.principal, self.services.clock()),
            "on_duty": await board_on_duty(self.session, self.services, self.principal),
            "clock": board_clock(self.services),
            "notice": notice,
        }
        return render(self.request, "board.html", self.lang, self.principal, context, status_code)

    async def refuse(self, key: str, status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT) -> Response:
        """The board again, with the notice ``ui.<key>`` saying why the action was not taken."""
        return await self.board_page(text(f"ui.{key}", self.lang), status_code)


async def _reading_call(
    request: Request, principal: AlertReader, services: ServicesDep, session: SessionDep, lang: LangDep
) -> ConsoleCall:
    return ConsoleCall(request, principal, services, session, lang)


async def _writing_call(
    request: Request, principal: AlertWriter, services: ServicesDep, session: SessionDep, lang: LangDep
) -> ConsoleCall:
    return ConsoleCall(request, principal, services, session, lang)


ReadingCall = Annotated[ConsoleCall, Depends(_reading_call)]
WritingCall = Annotated[ConsoleCall, Depends(_writing_call)]
Note = Annotated[str, Form(max_length=2000)]
BackTo = Annotated[str, Form(max_length=2000)]
"""Where the browser goes after the action (a path of ours: see safe_next)."""


@router.get("/")
async def board(call: ReadingCall) -> Response:
    return await call.board_page()


async def counters_context(session: AsyncSession, services: Services, principal: Principal, lang: Language) -> dict[str, Any]:
    """The ingest counters (of the principal's sites) and the runner's live status, as the board's side panels show them."""
    stats = await visible_stats(session, principal)
    return {
        "stats": stats,
        "rejected": [(words("reject_reason", lang).get(reason, reason), count) for reason, count in sorted(stats.rejected_by_reason.items())],
        "live_status": _live_status(services.status),
        "live_words": words("live_status", lang),
    }


def board_clock(services: Services) -> dict[str, Any]:
    """The console's now and its pace (simulated seconds per wall second: 1 but in the console demo), from which the
    board counts "time open" between events; the browser's own clock would be a different time in the demo."""
    return {"now": services.clock().isoformat(), "pace": float(getattr(services.clock, "pace", 1.0))}


def _clock_event(services: Services) -> str:
    return f"event: clock\ndata: {orjson.dumps(board_clock(services)).decode()}\n\n"


def _counters_event(context: dict[str, Any], lang: Language) -> str:
    """The side panels as one JSON ``counters`` event (no id: the board's id says which rows the browser has)."""
    page = {"words": words("ui", lang), "lang": lang}
    parts = {name: templates.get_template(f"_{name}.html").render({**context, **page}) for name in ("live", "ingest")}
    return f"event: counters\ndata: {orjson.dumps(parts).decode()}\n\n"


@router.get("/console/board/stream")
async def board_stream(
    request: Request, principal: AlertReader, services: ServicesDep, lang: LangDep, since: str = ""
) -> StreamingResponse:
    """Server-sent events: a ``board`` event with the board's rows whenever they change, and a ``counters`` event
    with the ingest counters and live status whenever those do (at most once per poll interval)."""
    poll = services.settings.board_poll_interval.total_seconds()

    async def events() -> AsyncIterator[str]:
        started = last_beat = time.monotonic()
        shown = request.headers.get("last-event-id") or since
        counters_shown = ""
        pace_shown: float | None = None
        yield f"retry: {int(max(poll, 1.0) * 2000)}\n\n"
        while time.monotonic() - started < STREAM_FOR_S:
            pace = float(getattr(services.clock, "pace", 1.0))
            if pace != pace_shown:  # the console demo slowed down or sped up: the board counts on from the new pace
                pace_shown = pace
                yield _clock_event(services)
            async with services.sessions() as session:
                context = await board_context(session, services, principal, lang)
                counters = _counters_event(await counters_context(session, services, principal, lang), lang)
            if counters != counters_shown:
                counters_shown = counters
                yield counters
                last_beat = time.monotonic()
            if context["fingerprint"] != shown:
                shown = context["fingerprint"]
                fragment = templates.get_template("_board.html").render({**context, **page_basics(lang, principal)})
                yield f"event: board\nid: {shown}\n" + "".join(f"data: {line}\n" for line in fragment.splitlines()) + "\n"
                last_beat = time.monotonic()
            elif time.monotonic() - last_beat > HEARTBEAT_S:
                yield ": still here\n\n"
                last_beat = time.monotonic()
            if await request.is_disconnected():
                return
            await asyncio.sleep(poll)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def _outcome_of(outcome: str, note: str) -> Outcome | str:
    """The outcome chosen on a form, or the key of the notice that says why it cannot be taken."""
    if outcome not in OUTCOME_CHOICES:
        return "need_outcome"
    kind, _, reason = outcome.partition(":")
    try:
        return Outcome(OutcomeKind(kind), FalseAlarmReason(reason) if reason else None,
                       note.strip()[:MAX_OUTCOME_DETAIL] if reason == FalseAlarmReason.OTHER else "")
    except InvalidOutcome:  # a false alarm "for another reason" without saying which
        return "need_other_detail"


@router.post("/console/alerts/acknowledge")
async def acknowledge_selected(
    call: WritingCall,
    alert_id: Annotated[list[str], Form(max_length=BULK_MAX)] = [],  # noqa: B006 - FastAPI copies the default
    outcome: Annotated[str, Form(max_length=40)] = "", note: Note = "", back: BackTo = "/",
) -> Response:
    """Acknowledge the selected alerts with one outcome and note; each gets its own audit entry.

    Every alert must be the officer's (else 404 and none is taken); those no longer open are left as
    they are and the board says how many."""
    found = _outcome_of(outcome, note)
    if isinstance(found, str):
        return await call.refuse(found)
    if not any(alert_id):
        return await call.refuse("need_selection")
    try:
        done, skipped = await acknowledge_all(call.session, call.services.store, call.principal, alert_id, note.strip(), found)
    except HTTPException:
        return await call.refuse("not_found", status.HTTP_404_NOT_FOUND)
    if skipped:
        return await call.board_page(text("ui.bulk_partly", call.lang, done=len(done), skipped=len(skipped)), status.HTTP_409_CONFLICT)
    return RedirectResponse(safe_next(back), status_code=status.HTTP_303_SEE_OTHER)


@router.post("/console/alerts/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: str, call: WritingCall, outcome: Annotated[str, Form(max_length=40)] = "", note: Note = "", back: BackTo = "/"
) -> Response:
    found = _outcome_of(outcome, note)
    if isinstance(found, str):
        return await call.refuse(found)
    return await _act(call, alert_id, back, lambda: call.services.store.acknowledge(alert_id, call.principal.name, note.strip(), found))


@router.post("/console/alerts/{alert_id}/resolve")
async def resolve(alert_id: str, call: WritingCall, note: Note = "", back: BackTo = "/") -> Response:
    return await _act(call, alert_id, back, lambda: call.services.store.resolve(alert_id, call.principal.name, note.strip()))


@router.post("/console/alerts/{alert_id}/assign")
async def assign(
    alert_id: str, call: WritingCall, user_id: Annotated[str, Form(max_length=20)] = "", note: Note = "", back: BackTo = "/"
) -> Response:
    """Hand the alert to a colleague of its community ("" : to nobody)."""

    async def move() -> Alert:
        alert = await visible_alert(call.session, call.principal, alert_id)
        colleague = await colleague_for(call.session, int(user_id), alert) if user_id.strip() else None
        return await call.services.store.assign(
            alert_id, call.principal.name, colleague.display_name if colleague else None, colleague.id if colleague else None, note.strip()
        )

    if user_id.strip() and not user_id.strip().isdigit():
        return await call.refuse("bad_assignee")
    return await _act(call, alert_id, back, move)


async def _act(call: ConsoleCall, alert_id: str, back: str, move: Callable[[], Awaitable[Alert]]) -> Response:
    try:
        await visible_alert(call.session, call.principal, alert_id)
        await move()
    except Exception as exc:  # turned into a notice on the board; anything else is re-raised
        if isinstance(exc, (IllegalTransition, AlertClosed)):
            notice = text("ui.illegal", call.lang, status=text(f"status.{exc.current}", call.lang))
            return await call.board_page(notice, status.HTTP_409_CONFLICT)
        if isinstance(exc, NotAColleague):
            return await call.refuse("bad_assignee", exc.status_code)
        if isinstance(exc, AlertNotFound) or getattr(exc, "status_code", None) == status.HTTP_404_NOT_FOUND:
            return await call.refuse("not_found", status.HTTP_404_NOT_FOUND)
        raise
    # Post/redirect/get: a reload of the page must not repeat the acknowledgement.
    return RedirectResponse(safe_next(back), status_code=status.HTTP_303_SEE_OTHER)


LIVE_TIMES = frozenset({"event_time"})
"""The live status's moments, shown as local time like every other time on the console (the status has them in ISO)."""


def _live_status(provider: Callable[[], dict[str, Any]] | None) -> dict[str, Any]:
    if provider is None:
        return {}
    try:
        status_ = provider()
    except Exception:  # the duty console must still show alerts when the runner's status is broken
        log.exception("live status provider failed")
        return {}
    return {key: shown_time(value) if key in LIVE_TIMES and value is not None else value for key, value in status_.items()}


__all__ = ["AlertRow", "router"]
