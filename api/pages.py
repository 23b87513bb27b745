"""Rendering the console's pages: every page gets its language, words, the signed-in person and the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, status
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from api.auth import Principal
from api.deps import CSRF_FIELD, LANG_COOKIE
from carewatch.catalogue import Language, words

REMEMBER_LANG_S = 365 * 86400

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def render(
    request: Request,
    template: str,
    lang: Language,
    principal: Principal | None,
    context: dict[str, Any] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    page = {
        "lang": lang,
        "words": words("ui", lang),
        "units": words("unit", lang),
        "principal": principal,
        "csrf_field": CSRF_FIELD,
        "csrf_token": principal.csrf_token if principal is not None else "",
        "path": request.url.path,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, page, status_code=status_code)
    response.set_cookie(LANG_COOKIE, lang, max_age=REMEMBER_LANG_S, samesite="lax")
    return response
