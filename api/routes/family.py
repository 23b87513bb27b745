"""The signed link in messages to families and elders: "I have checked on her / I cannot reach her", "I am fine".

No sign-in: the signed token is the credential. Opening the link (GET) changes nothing,
because chat apps fetch links to preview them; only the button (POST) records an answer.
A forged, damaged or expired link gets a clear page that says whom to call instead.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import AlertNotFound
from alerts.family_links import FamilyLinks, LinkClaim, LinkRefused
from alerts.models import Alert
from alerts.notifications import family_links
from alerts.notify_tables import Escalation, OutboxMessage
from alerts.replies import Answer, BadReturnDate, ReplyResult, answer, return_dates
from api.call_sheet import call_sheets
from api.deps import ServicesDep
from api.routes.directory import changed
from carewatch.catalogue import LANGUAGES, Language, language_of, text, words

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
router = APIRouter(include_in_schema=False)

def get_links(services: ServicesDep) -> FamilyLinks:
    return family_links(services.settings, services.clock)  # the clock the ladder stamped the link with


LinksDep = Annotated[FamilyLinks, Depends(get_links)]

CHOICES = {
    "family": [Answer.CHECKED, Answer.UNREACHABLE, Answer.NEED_HELP, Answer.AWAY],
    "elder": [Answer.FINE, Answer.NEED_HELP, Answer.AWAY],
}


@router.get("/f/{token}", response_class=HTMLResponse)
async def open_link(token: str, request: Request, links: LinksDep, services: ServicesDep) -> Response:
    claim, refused = _read(request, links, token)
    if claim is None:
        return refused  # type: ignore[return-value]
    async with services.sessions() as session:
        alert = await session.get(Alert, claim.alert_id)
        language = await _language(session, claim)
    said = words("family", language)
    if alert is None:
        return _page(request, language, said.gone, status.HTTP_404_NOT_FOUND)
    async with services.sessions() as session:
        household = await session.scalar(select(Escalation.household_label).where(Escalation.alert_id == alert.id))
        duty = await _duty_line(session, alert.household_id, language)
    facts = {"household": household or alert.household_id, "type": text(f"alert_type.{alert.alert_type}", language)}
    question = text("family.ask_elder" if claim.role == "elder" else "family.ask_family", language, **facts)
    choices = CHOICES[claim.role]
    if not alert.status.is_active:
        return _page(request, language, said.already, duty=duty)
    async with services.sessions() as session:
        _, earliest, latest = await return_dates(session, alert.household_id, services.store.clock())
    return _page(
        request, language, question, choices=[(c.value, said[c.value]) for c in choices], token=token,
        away=(said.away_until, earliest.isoformat(), latest.isoformat()), duty=duty,
    )


@router.post("/f/{token}", response_class=HTMLResponse)
async def answer_link(
    token: str, request: Request, links: LinksDep, services: ServicesDep, choice: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> Response:
    claim, refused = _read(request, links, token)
    if claim is None:
        return refused  # type: ignore[return-value]
    async with services.sessions() as session:
        language = await _language(session, claim)
        household_id = await session.scalar(select(Alert.household_id).where(Alert.id == claim.alert_id))
        duty = await _duty_line(session, household_id, language) if household_id else None
    said = words("family", language)
    try:
        given = Answer(choice)
        away_until = date.fromisoformat(until) if given is Answer.AWAY and until else None
        result = await answer(services.store, services.sessions, claim, given, away_until)
    except BadReturnDate:
        return _page(request, language, said.bad_return_date, status.HTTP_400_BAD_REQUEST)
    except ValueError:
        return _page(request, language, said.invalid, status.HTTP_400_BAD_REQUEST)
    except AlertNotFound:
        return _page(request, language, said.gone, status.HTTP_404_NOT_FOUND)
    if given is Answer.AWAY:
        await changed(services)  # the planned absence reaches the running monitors
    if result is ReplyResult.ALREADY_HANDLED:
        return _page(request, language, said.already, duty=duty)
    return _page(request, language, said[f"thanks_{given.value}"], duty=duty)  # recorded now or before: the same answer, once


def _read(request: Request, links: FamilyLinks, token: str) -> tuple[LinkClaim | None, Response | None]:
    try:
        return links.read(token), None
    except LinkRefused as refused:
        # Without a valid token we cannot know the reader's language: say it in both.
        key = "expired" if refused.expired else "invalid"
        code = status.HTTP_410_GONE if refused.expired else status.HTTP_400_BAD_REQUEST
        both = "\n".join(text(f"family.{key}", lang) for lang in LANGUAGES)
        return None, templates.TemplateResponse(
            request, "family.html", {"lang": "zh-CN", "title": text("family.title", "zh-CN"), "message": both, "choices": [], "token": ""},
            status_code=code,
        )


async def _duty_line(session: AsyncSession, household_id: str, language: Language) -> tuple[str, str, str] | None:
    """(label, number, tel: link) of the household's community duty line, when the directory has one."""
    sheet = (await call_sheets(session, [household_id])).get(household_id, ())
    line = next((callee for callee in sheet if callee.role == "community"), None)
    return (text("family.duty_line", language), line.number, line.tel) if line else None


async def _language(session: AsyncSession, claim: LinkClaim) -> Language:
    language = await session.scalar(
        select(OutboxMessage.language)
        .where(OutboxMessage.alert_id == claim.alert_id, OutboxMessage.recipient_id == claim.recipient_id)
        .limit(1)
    )
    return language_of(language)


def _page(
    request: Request, language: Language, message: str, status_code: int = status.HTTP_200_OK,
    choices: list[tuple[str, str]] | None = None, token: str = "", away: tuple[str, str, str] | None = None,
    duty: tuple[str, str, str] | None = None,
) -> Response:
    context = {
        "lang": language, "title": text("family.title", language), "message": message, "choices": choices or [], "token": token,
        "away": away, "duty": duty,
    }
    return templates.TemplateResponse(request, "family.html", context, status_code=status_code)
