"""Rendering the console's pages: every page gets its language, words, the signed-in person and the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, status
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import site_filter
from api.auth import Principal
from api.deps import CSRF_FIELD, LANG_COOKIE
from carewatch.catalogue import Language, words
from carewatch.directory import Site

REMEMBER_LANG_S = 365 * 86400

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def page_basics(lang: Language, principal: Principal | None) -> dict[str, Any]:
    """What every page, and every fragment the board's stream sends, is rendered with: the language, its words, the
    signed-in person, and the CSRF token under the field name the server reads (``_forms.html`` puts it in forms)."""
    return {
        "lang": lang,
        "words": words("ui", lang),
        "units": words("unit", lang),
        "principal": principal,
        "csrf_field": CSRF_FIELD,
        "csrf_token": (principal.csrf_token or "") if principal is not None else "",
    }


def render(
    request: Request,
    template: str,
    lang: Language,
    principal: Principal | None,
    context: dict[str, Any] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    page = {**page_basics(lang, principal), "path": request.url.path, **(context or {})}
    response = templates.TemplateResponse(request, template, page, status_code=status_code)
    response.set_cookie(LANG_COOKIE, lang, max_age=REMEMBER_LANG_S, samesite="lax")
    return response


async def site_index(
    request: Request, session: AsyncSession, principal: Principal, lang: Language, page: str, context: dict[str, Any] | None = None
) -> Response:
    """``/{page}``: the communities whose ``page`` the principal may see, or straight to it when there is one."""
    sites = (await session.scalars(site_filter(select(Site), principal, Site.id).order_by(Site.id))).all()
    if len(sites) == 1:
        return RedirectResponse(f"/sites/{sites[0].id}/{page}", status_code=status.HTTP_303_SEE_OTHER)
    return render(request, f"{page}.html", lang, principal, {"sites": sites, "site": None, **(context or {})})
