"""The signed link in messages to families and elders: "I have checked on her / I cannot reach her", "I am fine".

No sign-in: the signed token is the credential. Opening the link (GET) changes nothing,
because chat apps fetch links to preview them; only the button (POST) records an answer.
A forged, damaged or expired link gets a clear page that says whom to call instead.
"""

from __future__ import annotations

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
from alerts.messages import TYPE_LABEL
from alerts.notify_tables import Escalation, OutboxMessage
from alerts.replies import Answer, ReplyResult, answer
from api.deps import ServicesDep

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
router = APIRouter(include_in_schema=False)

WORDS = {
    "zh-CN": {
        "title": "社区关爱确认", "checked": "我已联系上，老人平安", "unreachable": "我联系不上老人", "fine": "我很好，不用担心",
        "ask_family": "系统发现{household}{type}。请在联系老人后告诉我们结果：",
        "ask_elder": "您好，系统发现您家{type}。如果您一切都好，请点下面的按钮：",
        "thanks_checked": "谢谢！已记录老人平安，值班人员不会再打扰您。",
        "thanks_unreachable": "已收到。我们已立即通知社区值班人员跟进，必要时会上门探视。",
        "thanks_fine": "谢谢您！已记录您平安。",
        "already": "这条提醒已经有人处理过了，谢谢您的关心。",
        "expired": "这个链接已过期。如需帮助，请直接拨打社区值班电话。",
        "invalid": "这个链接无效（可能不完整或被改动过）。请使用短信中的完整链接，或直接拨打社区值班电话。",
        "gone": "找不到这条提醒。如需帮助，请直接拨打社区值班电话。",
    },
    "en": {
        "title": "Community care check", "checked": "I reached her or him: all is well", "unreachable": "I cannot reach her or him",
        "fine": "I am fine, no need to worry",
        "ask_family": "We noticed: {household}, {type}. Once you have been in touch, please tell us:",
        "ask_elder": "Hello, we noticed {type} at your home. If you are all right, please press the button:",
        "thanks_checked": "Thank you. We recorded that all is well; duty staff will not disturb you again about this.",
        "thanks_unreachable": "Received. Duty staff have been told at once and will follow up, with a home visit if needed.",
        "thanks_fine": "Thank you. We recorded that you are well.",
        "already": "Someone has already handled this alert. Thank you for caring.",
        "expired": "This link has expired. If you need help, please call the community duty line directly.",
        "invalid": "This link is not valid (it may be cut short or altered). Use the whole link from the message, or call the community duty line.",
        "gone": "We cannot find this alert. If you need help, please call the community duty line directly.",
    },
}


def get_links(services: ServicesDep) -> FamilyLinks:
    return family_links(services.settings)


LinksDep = Annotated[FamilyLinks, Depends(get_links)]


@router.get("/f/{token}", response_class=HTMLResponse)
async def open_link(token: str, request: Request, links: LinksDep, services: ServicesDep) -> Response:
    claim, refused = _read(request, links, token)
    if claim is None:
        return refused  # type: ignore[return-value]
    async with services.sessions() as session:
        alert = await session.get(Alert, claim.alert_id)
        language = await _language(session, claim)
    words = WORDS[language]
    if alert is None:
        return _page(request, "zh-CN", words["gone"], status.HTTP_404_NOT_FOUND)
    async with services.sessions() as session:
        household = await session.scalar(select(Escalation.household_label).where(Escalation.alert_id == alert.id))
    facts = {"household": household or alert.household_id, "type": TYPE_LABEL[language].get(alert.alert_type, alert.alert_type.value)}
    question = words["ask_elder" if claim.role == "elder" else "ask_family"].format(**facts)
    choices = [Answer.FINE] if claim.role == "elder" else [Answer.CHECKED, Answer.UNREACHABLE]
    if not alert.status.is_active:
        return _page(request, language, words["already"])
    return _page(request, language, question, choices=[(c.value, words[c.value]) for c in choices], token=token)


@router.post("/f/{token}", response_class=HTMLResponse)
async def answer_link(
    token: str, request: Request, links: LinksDep, services: ServicesDep, choice: Annotated[str, Form()] = ""
) -> Response:
    claim, refused = _read(request, links, token)
    if claim is None:
        return refused  # type: ignore[return-value]
    async with services.sessions() as session:
        language = await _language(session, claim)
    words = WORDS[language]
    try:
        given = Answer(choice)
        result = await answer(services.store, services.sessions, claim, given)
    except ValueError:
        return _page(request, language, words["invalid"], status.HTTP_400_BAD_REQUEST)
    except AlertNotFound:
        return _page(request, language, words["gone"], status.HTTP_404_NOT_FOUND)
    if result is ReplyResult.ALREADY_HANDLED:
        return _page(request, language, words["already"])
    return _page(request, language, words[f"thanks_{given.value}"])  # recorded now or before: the same answer, once


def _read(request: Request, links: FamilyLinks, token: str) -> tuple[LinkClaim | None, Response | None]:
    try:
        return links.read(token), None
    except LinkRefused as refused:
        # Without a valid token we cannot know the reader's language: say it in both.
        key = "expired" if refused.expired else "invalid"
        code = status.HTTP_410_GONE if refused.expired else status.HTTP_400_BAD_REQUEST
        text = f"{WORDS['zh-CN'][key]}\n{WORDS['en'][key]}"
        return None, templates.TemplateResponse(
            request, "family.html", {"lang": "zh-CN", "title": WORDS["zh-CN"]["title"], "message": text, "choices": [], "token": ""},
            status_code=code,
        )


async def _language(session: AsyncSession, claim: LinkClaim) -> str:
    language = await session.scalar(
        select(OutboxMessage.language)
        .where(OutboxMessage.alert_id == claim.alert_id, OutboxMessage.recipient_id == claim.recipient_id)
        .limit(1)
    )
    return "en" if (language or "").startswith("en") else "zh-CN"


def _page(
    request: Request, language: str, message: str, status_code: int = status.HTTP_200_OK,
    choices: list[tuple[str, str]] | None = None, token: str = "",
) -> Response:
    context = {"lang": language, "title": WORDS[language]["title"], "message": message, "choices": choices or [], "token": token}
    return templates.TemplateResponse(request, "family.html", context, status_code=status_code)
