"""Templates, the navigation each role sees, and turning domain errors into messages."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from api.problems import status_of
from api.web.session import Session
from models.api import Role
from models.errors import DomError
from models.lifecycle_errors import InvalidInput

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
R = Role
# Pages load nothing but this server's files (inline style attributes draw the charts).
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'"
)

# Screens, and the roles that see each in the navigation (admins see all).
SCREENS: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("Control tower", "/console/tower", (R.SCHEDULER, R.ANALYST)),
    ("Orders", "/console/orders", (R.CUSTOMER_SERVICE,)),
    ("Inventory", "/console/inventory", (R.MERCHANDISER, R.ANALYST)),
    ("Node work", "/console/node", (R.NODE,)),
)


def home_of(role: Role) -> str | None:
    for _, url, roles in SCREENS:
        if role is Role.ADMIN or role in roles:
            return url
    return None


def _money(value: Any) -> str:
    if value is None:
        return "—"
    return f"${Decimal(str(value)):,.2f}"


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d\u00a0%H:%M")  # never wrapped inside a date
    if isinstance(value, date):
        return value.isoformat()
    return "—" if value is None else str(value)


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{float(value):,.{digits}f}"


def _detail(value: Any, key: str = "") -> str:
    """An event detail for people: '2 → 3' for a changed quantity, lists without quotes."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if key.endswith("qty") and len(value) == 2:
            return f"{value[0]} → {value[1]}"
        return (
            ", ".join(_detail(v) for v in value)
            if value and not isinstance(value[0], list)
            else "; ".join("(" + _detail(v) + ")" for v in value)
        )
    if isinstance(value, dict):
        return ", ".join(f"{k} {_detail(v)}" for k, v in value.items() if v is not None)
    return str(value)


templates.env.filters.update(money=_money, when=_when, num=_num, detail=_detail)
templates.env.globals["status_class"] = lambda s: str(s or "").replace("_", "-")


def page(
    request: Request,
    name: str,
    session: Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    nav = []
    if session is not None:
        nav = [(t, u) for t, u, roles in SCREENS if session.can(*roles)]
    response = templates.TemplateResponse(
        request,
        name,
        {"session": session, "nav": nav, "path": request.url.path, **context},
        status_code=status_code,
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def problem_text(exc: Exception) -> tuple[str, int]:
    """A domain or validation error as one readable line, and its HTTP status."""
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors()[:6]:
            where = ".".join(str(p) for p in e.get("loc", ())) or "form"
            parts.append(f"{where}: {e.get('msg')}")
        return "; ".join(parts), 422
    if isinstance(exc, InvalidInput):
        return str(exc), 422
    if isinstance(exc, DomError):
        return str(exc), status_of(exc)
    raise exc
