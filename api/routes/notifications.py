"""What the ladder sent: outbox messages with every delivery attempt (HTML and JSON), read-only.

Staff see the messages of the households of their sites. In the demo the page also
lists what the local catchers received (mail and HTTP), so a person can open them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.catchers import caught_http, caught_mail
from alerts.notify_tables import AttemptResult, MessageStatus, OutboxMessage
from alerts.outbox import attempts_for
from api.auth import Principal
from api.console_view import DEFAULT_ZONE, local_time, shown_time
from api.deps import AlertReader, LangDep, ServicesDep, SessionDep
from api.pages import render
from carewatch.catalogue import words
from carewatch.directory import Household

router = APIRouter(tags=["notifications"])
MAX_PAGE = 500


class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: int
    started_at: datetime
    finished_at: datetime
    result: AttemptResult
    detail: str


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    idempotency_key: str
    alert_id: str
    household_id: str
    purpose: str
    recipient_id: str
    recipient_name: str
    recipient_role: str
    channel: str
    address: str
    language: str
    subject: str
    body: str
    status: MessageStatus
    hold_until: datetime | None
    created_at: datetime
    attempts: int
    sent_at: datetime | None
    last_error: str
    delivery_attempts: list[AttemptPublic] = []


async def _visible_messages(
    session: AsyncSession, principal: Principal, alert_id: str | None, status_: MessageStatus | None, limit: int
) -> list[MessagePublic]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(min(limit, MAX_PAGE))
    if principal.sites is not None:
        query = query.where(
            OutboxMessage.household_id.in_(select(Household.id).where(Household.site_id.in_(sorted(principal.sites))))
        )
    if alert_id is not None:
        query = query.where(OutboxMessage.alert_id == alert_id)
    if status_ is not None:
        query = query.where(OutboxMessage.status == status_)
    rows = (await session.scalars(query)).all()
    tries = await attempts_for(session, [row.id for row in rows])
    return [
        MessagePublic.model_validate(row).model_copy(
            update={"address": shown_address(row.channel, row.address),
                    "delivery_attempts": [AttemptPublic.model_validate(a) for a in tries[row.id]]}
        )
        for row in rows
    ]


def shown_address(channel: str, address: str) -> str:
    """Robot and webhook URLs carry their keys: show where they go, never the key."""
    if channel in ("email", "sms", "voice"):
        return address
    parts = urlsplit(address)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


@router.get("/api/notifications", response_model=list[MessagePublic])
async def list_notifications(
    principal: AlertReader,
    session: SessionDep,
    alert_id: str | None = None,
    status_: Annotated[MessageStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, description=f"At most {MAX_PAGE}")] = 100,
) -> list[MessagePublic]:
    """Outbox messages of your sites, newest first, each with its delivery attempts."""
    return await _visible_messages(session, principal, alert_id, status_, limit)


@router.get("/notifications", response_class=HTMLResponse, include_in_schema=False)
async def notifications_page(
    request: Request,
    principal: AlertReader,
    session: SessionDep,
    services: ServicesDep,
    lang: LangDep,
    alert_id: str | None = None,
    status_: Annotated[MessageStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1)] = 200,
) -> Response:
    messages = await _visible_messages(session, principal, alert_id, status_, limit)
    catcher = services.settings.catcher_dir if principal.sites is None else None  # caught mail spans every site
    context: dict[str, Any] = {
        "messages": messages,
        "alert_id": alert_id,
        "status": status_.value if status_ else "",
        "statuses": [s.value for s in MessageStatus],
        "counts": {s.value: sum(m.status is s for m in messages) for s in MessageStatus},
        "mail": [(key, mail) for key, mail in caught_mail(catcher)] if catcher else [],
        "http": caught_http(catcher, 50) if catcher else [],
        "catcher_dir": catcher,
        "said": words("notifications", lang),
        "status_words": words("message_status", lang),
        "step_words": words("ladder_step", lang),
        "role_words": words("recipient_role", lang),
        "channel_words": words("channel", lang),
        "attempt_words": words("attempt_result", lang),
        "when": lambda moment: local_time(moment, DEFAULT_ZONE),
        "when_caught": shown_time,  # the catchers' times (ISO, a mail's Date header), on the same clock and in the same words
    }
    return render(request, "notifications.html", lang, principal, context)


@router.get("/notifications/mail/{key}", response_class=PlainTextResponse, include_in_schema=False)
async def caught_message(key: str, principal: AlertReader, services: ServicesDep) -> str:
    """One mail the demo's catcher received, as text (headers and body)."""
    catcher = services.settings.catcher_dir
    found = dict(caught_mail(catcher, limit=100_000)) if catcher and principal.sites is None else {}
    if key not in found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no caught mail {key!r}")
    mail = found[key]
    headers = "\n".join(f"{name}: {value}" for name, value in mail.items())
    body = mail.get_body(preferencelist=("plain",))
    return f"{headers}\n\n{body.get_content() if body else ''}"
