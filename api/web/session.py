"""Console sign-in: an API key becomes a signed session cookie; forms carry a CSRF token.

The cookie holds the key's SHA-256 (what the store keeps), a per-session CSRF
token and nothing else, signed with ``DOM_WEB_SECRET`` (itsdangerous); it is
HttpOnly and SameSite=Strict, so scripts cannot read it and other sites
cannot send it. Each request looks the key up again (the repository caches a
known key for a few seconds), so a revoked key ends its sessions within
seconds. Every POST must echo the session's CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``); the sign-in form uses a
double-submit token from a short-lived cookie instead.
"""

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData

from api.deps import DEFAULT_CHANNEL
from models.api import Actor, Role
from models.lifecycle_errors import Unauthenticated
from services import console

SESSION_COOKIE = "dom_session"
LOGIN_CSRF_COOKIE = "dom_login_csrf"
MAX_AGE_S = 12 * 3600
MAX_FORM_FIELDS = 200


class LoginRequired(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class NotAllowed(Exception):
    """Signed in, but this screen or action is not for the caller's role."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token (or with another one)."""


class BadForm(Exception):
    """The body could not be read as a form."""


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf: str

    def can(self, *roles: Role) -> bool:
        return self.actor.role is Role.ADMIN or self.actor.role in roles


def _signer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    secret = getattr(state.settings, "web_secret", None)
    if not secret:
        if not getattr(state, "web_secret", None):
            state.web_secret = secrets.token_urlsafe(32)
        secret = state.web_secret
    return URLSafeTimedSerializer(secret, salt="dom-console-session")


def new_session_cookie(request: Request, key: str) -> str:
    """Sign in: the cookie value for a key (raises Unauthenticated for a bad key)."""
    digest = console.key_hash(key)
    console.session_actor(request.app.state.db, digest)
    return _signer(request).dumps({"k": digest, "c": secrets.token_urlsafe(24)})


def current(request: Request) -> Session | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or len(raw) > 1000:
        return None
    try:
        data = _signer(request).loads(raw, max_age=MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("k"), str):
        return None
    try:
        actor = console.session_actor(request.app.state.db, data["k"])
    except Unauthenticated:
        return None
    # Actions are recorded under the role's channel, as the API does without X-Channel.
    actor = actor.model_copy(update={"channel": DEFAULT_CHANNEL.get(actor.role)})
    return Session(actor=actor, csrf=str(data.get("c", "")))


def require(*roles: Role) -> Callable[[Request], Session]:
    """Dependency: the signed-in session, if its role may see this screen (admins may)."""

    def dependency(request: Request) -> Session:
        session = current(request)
        if session is None:
            raise LoginRequired()
        if not session.can(*roles):
            raise NotAllowed()
        return session

    return dependency


async def read_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except Exception as exc:  # noqa: BLE001 - any parser failure is the sender's problem
        raise BadForm(str(exc)[:200]) from None


def _same(given: Any, expected: str) -> bool:
    return (
        isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(given.encode(), expected.encode())
    )


async def checked_form(request: Request, session: Session) -> dict[str, str]:
    """The POSTed form as text fields, after its CSRF token is checked."""
    form = await read_form(request)
    token = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not _same(token, session.csrf):
        raise CsrfRefused()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def login_token_ok(form: FormData, request: Request) -> bool:
    return _same(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE, ""))
