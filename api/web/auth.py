"""Sign in, sign out, and the landing redirect."""

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.web.render import home_of, page
from api.web.session import (
    LOGIN_CSRF_COOKIE,
    MAX_AGE_S,
    SESSION_COOKIE,
    Session,
    checked_form,
    current,
    login_token_ok,
    new_session_cookie,
    read_form,
    require,
)
from models.api import Role
from models.lifecycle_errors import Unauthenticated

router = APIRouter(include_in_schema=False)


def _next(raw: object) -> str:
    """Only a console path may follow sign-in (no open redirect)."""
    value = raw if isinstance(raw, str) else ""
    return value if value.startswith("/console/") and "//" not in value and len(value) < 300 else ""


@router.get("/")
def root(request: Request) -> Response:
    session = current(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    target = home_of(session.actor.role)
    if target is None:
        return page(request, "no_screens.html", session, status_code=403)
    return RedirectResponse(target, status_code=303)


def _login_page(request: Request, error: str = "", status_code: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        None,
        status_code=status_code,
        csrf=token,
        error=error,
        next=_next(request.query_params.get("next")),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=600, httponly=True, samesite="strict", path="/login"
    )
    return response


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    if not login_token_ok(form, request):
        return _login_page(request, "The form expired; please sign in again.", 403)
    key = form.get("api_key")
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        return _login_page(request, "Enter your API key.", 422)
    try:
        cookie = await run_in_threadpool(new_session_cookie, request, key.strip())
    except Unauthenticated:
        return _login_page(request, "Unknown or revoked API key.", 401)
    session_target = _next(form.get("next")) or "/"
    response = RedirectResponse(session_target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, session: Annotated[Session, Depends(require(*Role))]
) -> Response:
    await checked_form(request, session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def login_redirect(request: Request) -> Response:
    target = "/login?next=" + quote(request.url.path)
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
