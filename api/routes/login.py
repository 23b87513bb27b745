"""Signing in and out of the console (rate-limited; the login form carries its own CSRF token)."""

from __future__ import annotations

import hmac
import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse, Response

from api.auth import authenticate, end_session, login_name, start_session
from api.deps import CSRF_FIELD, SESSION_COOKIE, LangDep, ServicesDep, get_services
from api.pages import render
from carewatch.catalogue import Language, text

LOGIN_CSRF_COOKIE = "carewatch_login_csrf"

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_page(request: Request, lang: Language, next_path: str, notice: str | None = None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", lang, None,
        {"login_token": token, "next": safe_next(next_path), "notice": notice}, status_code=status_code,
    )
    secure = get_services(request).settings.cookie_secure
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/login")
    return response


@router.get("/login")
async def login_form(request: Request, lang: LangDep, next: str = "/") -> Response:
    return login_page(request, lang, next)


@router.post("/login")
async def login(
    request: Request,
    services: ServicesDep,
    lang: LangDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return login_page(request, lang, next, text("ui.forbidden", lang), status.HTTP_403_FORBIDDEN)
    # The connecting address: uvicorn does not read X-Forwarded-For; create_app does, from trusted proxies only.
    client = request.client.host if request.client else "unknown"
    limiter = services.login_limiter
    wait = limiter.retry_after(username, client)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        response = login_page(request, lang, next, text("ui.too_many_logins", lang, minutes=minutes), status.HTTP_429_TOO_MANY_REQUESTS)
        response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
        return response
    async with services.sessions.begin() as session:
        user = await authenticate(session, login_name(username), password)
        token = await start_session(session, user, services.settings.session_lifetime) if user else None
    if token is None:
        limiter.failed(username, client)
        return login_page(request, lang, next, text("ui.bad_login", lang), status.HTTP_401_UNAUTHORIZED)
    limiter.succeeded(username)
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=services.settings.cookie_secure,
        max_age=int(services.settings.session_lifetime.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, services: ServicesDep) -> Response:
    """Ends the session on the server whether or not the form's CSRF token came along: a sign-out that only
    deleted the cookie would leave a copied cookie valid. A forged cross-site sign-out cannot happen anyway:
    the SameSite=Lax session cookie is not sent with another site's POST."""
    if token := request.cookies.get(SESSION_COOKIE):
        async with services.sessions.begin() as session:
            await end_session(session, token)
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=services.settings.cookie_secure)
    return response
