"""Customer service: take a delivery promise for a new order (a cart to a ZIP).

Calls ``services.promise.promise``, the use case behind ``POST /promise``: the
options per service hold their units until the promise expires, so the agent
can quote the promise id when capturing the order.
"""

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.web import forms
from api.web.render import page, problem_text
from api.web.session import Session, checked_form, require
from models.api import Role
from models.errors import DomError
from models.lifecycle_errors import FieldError, InvalidInput
from models.promise import MAX_LINE_QTY, PromiseLineIn, PromiseRequest
from promise.index import Promise
from services import promise as promising

router = APIRouter(prefix="/console/promise", include_in_schema=False)
Agent = Annotated[Session, Depends(require(Role.CUSTOMER_SERVICE))]
ROWS = 5
ZIP = re.compile(r"^\d{5}$")


def _cart(form: dict[str, str]) -> tuple[list[tuple[int, str, int]], str]:
    """The filled cart rows (row number, SKU, qty) and the ZIP; every bad field named."""
    errors: list[FieldError] = []
    rows = []
    for n in range(1, ROWS + 1):
        try:
            sku = forms.text(form, f"sku_{n}", 64)
            if not sku:
                continue
            forms.ident(sku, f"sku_{n}")
            rows.append((n, sku, forms.integer(form, f"qty_{n}", 1, MAX_LINE_QTY)))
        except InvalidInput as exc:
            errors += exc.errors
    if not rows and not errors:
        errors.append(FieldError("sku_1", "give at least one SKU"))
    try:
        zip_code = forms.text(form, "zip", 10)
    except InvalidInput as exc:
        errors += exc.errors
        zip_code = ""
    if not ZIP.match(zip_code) and not any(e.field == "zip" for e in errors):
        errors.append(FieldError("zip", "five digits, e.g. 02139"))
    if errors:
        raise InvalidInput(errors, "the cart is not valid")
    return rows, zip_code


def _named_by_row(exc: InvalidInput, rows: list[tuple[int, str, int]]) -> InvalidInput:
    """The service names cart lines 'lines.0.sku'; the page names its rows 'sku_1'."""
    renamed = []
    for e in exc.errors:
        found = re.match(r"^lines\.(\d+)\.(\w+)$", e.field)
        field = e.field
        if found and int(found.group(1)) < len(rows):
            field = f"{found.group(2)}_{rows[int(found.group(1))][0]}"
        elif field == "ship_zip":
            field = "zip"
        renamed.append(FieldError(field, e.message))
    return InvalidInput(renamed, exc.title)


def _within(order_by: datetime) -> str:
    """Time left to order for this date, as an agent says it ('2 h 05 min')."""
    minutes = max(0, int((order_by - datetime.now(UTC)).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    text = f"{rest // 60} h {rest % 60:02d} min"
    return f"{days} d {text}" if days else text


def _screen(
    request: Request,
    session: Session,
    form: dict[str, str] | None = None,
    promise: Promise | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    shown = {k: v for k, v in (form or {}).items() if forms.PRINTABLE.match(v) and len(v) <= 64}
    return page(
        request,
        "promise.html",
        session,
        status_code=status_code,
        rows=range(1, ROWS + 1),
        form=shown,
        promise=promise,
        within=_within,
        error=error,
    )


@router.get("", response_class=HTMLResponse)
def screen(request: Request, session: Agent) -> HTMLResponse:
    return _screen(request, session)


@router.post("", response_class=HTMLResponse)
async def take(request: Request, session: Agent) -> HTMLResponse:
    form = await checked_form(request, session)
    rows: list[tuple[int, str, int]] = []
    try:
        rows, zip_code = _cart(form)
        req = PromiseRequest(
            lines=[PromiseLineIn(sku=sku, qty=qty) for _, sku, qty in rows], ship_zip=zip_code
        )
        db = request.app.state.db
        try:
            promise = await run_in_threadpool(promising.promise, db, req)
        except InvalidInput as exc:
            raise _named_by_row(exc, rows) from None
    except (DomError, ValidationError) as exc:
        message, status = problem_text(exc)
        return _screen(request, session, form, error=message, status_code=status)
    return _screen(request, session, form, promise=promise)
