"""Customer service: search orders, the order page, and its actions.

Actions call the same use cases as ``PATCH /orders/{id}``, ``POST .../cancel``,
``.../hold``, ``.../release-hold`` and ``.../returns``. Changes carry the
version the page was drawn from as If-Match, so an agent working from a stale
page is told the order moved on (412) instead of overwriting someone else's change.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.web import forms
from api.web.render import page, problem_text
from api.web.session import Session, checked_form, require
from data.lifecycle_db import Database
from models.api import (
    Actor,
    Address,
    CancelOrder,
    ChangeOrder,
    LineQty,
    ReturnRequest,
    Role,
)
from models.errors import DomError
from models.lifecycle import Command, can
from models.lifecycle_errors import NotFound
from services import console, orders, returns

router = APIRouter(prefix="/console/orders", include_in_schema=False)
R = Role
Reader = Annotated[Session, Depends(require(R.CUSTOMER_SERVICE, R.ANALYST, R.SCHEDULER))]
Agent = Annotated[Session, Depends(require(R.CUSTOMER_SERVICE))]
DONE = {
    "qty": "Quantity changed.",
    "address": "Address changed.",
    "cancel_line": "Units cancelled.",
    "cancel": "Order cancelled.",
    "hold": "Order put on hold.",
    "release": "Hold released.",
    "return": "Return authorised.",
}


@router.get("", response_class=HTMLResponse)
def search(request: Request, session: Reader) -> Response:
    q = request.query_params
    error = ""
    text = q.get("q", "")[:200]
    status = q.get("status") or None
    if status is not None and status not in console.statuses():
        error, status = f"unknown status {status[:30]!r}", None
    if not forms.PRINTABLE.match(text):
        error, text = "the search text has control characters", ""
    results = console.search_orders(request.app.state.db, console.OrderSearch(text, status))
    if len(results) == 1 and text and not status and not error:
        return RedirectResponse(f"/console/orders/{results[0]['order_id']}", status_code=303)
    return page(
        request,
        "orders.html",
        session,
        status_code=422 if error else 200,
        results=results,
        q=text,
        status=status or "",
        statuses=console.statuses(),
        error=error,
        limit=console.SEARCH_LIMIT,
    )


def _order_page(
    request: Request,
    session: Session,
    order_id: str,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    try:
        forms.ident(order_id, "order_id")
        view = console.order_page(request.app.state.db, order_id)
    except DomError:
        return page(request, "not_found.html", session, 404, what=f"order {order_id[:64]!r}")
    status = view.order.status
    done = request.query_params.get("done", "")
    return page(
        request,
        "order.html",
        session,
        status_code=status_code,
        v=view,
        error=error,
        notice=DONE.get(done, ""),
        agent=session.can(R.CUSTOMER_SERVICE),
        may={
            "change": can(Command.CHANGE, status),
            "cancel": can(Command.CANCEL, status),
            "hold": can(Command.HOLD, status),
            "unhold": can(Command.UNHOLD, status),
            "return": can(Command.RETURN, status),
        },
    )


@router.get("/{order_id}", response_class=HTMLResponse)
def order(request: Request, order_id: str, session: Reader) -> HTMLResponse:
    return _order_page(request, session, order_id)


# A form's use case: built from the fields (may raise), run later with the store and actor.
Call = Callable[[Database, Actor], Any]


async def _act(
    request: Request,
    session: Session,
    order_id: str,
    done: str,
    build: Callable[[dict[str, str]], Call],
) -> Response:
    """Check CSRF, build the use case from the form, run it; PRG on success."""
    form = await checked_form(request, session)
    try:
        forms.ident(order_id, "order_id")
        call = build(form)
        await run_in_threadpool(call, request.app.state.db, session.actor)
    except (DomError, ValidationError) as exc:
        if isinstance(exc, NotFound):
            return page(request, "not_found.html", session, 404, what=f"order {order_id!r}")
        message, status = problem_text(exc)
        return await run_in_threadpool(_order_page, request, session, order_id, message, status)
    return RedirectResponse(f"/console/orders/{order_id}?done={done}", status_code=303)


def _reason(form: dict[str, str]) -> str | None:
    return forms.text(form, "reason") or None


def _line(form: dict[str, str], least: int) -> LineQty:
    return LineQty(
        line_no=forms.integer(form, "line_no", 0, 1_000_000),
        qty=forms.integer(form, "qty", least, 100_000),
    )


@router.post("/{order_id}/qty")
async def change_qty(request: Request, order_id: str, session: Agent) -> Response:
    def build(form: dict[str, str]) -> Call:
        cmd = ChangeOrder(lines=[_line(form, 0)], reason=_reason(form))
        etag = forms.version(form)
        return lambda db, actor: orders.change(db, order_id, cmd, actor, etag)

    return await _act(request, session, order_id, "qty", build)


@router.post("/{order_id}/address")
async def change_address(request: Request, order_id: str, session: Agent) -> Response:
    def build(form: dict[str, str]) -> Call:
        address = Address(
            name=forms.text(form, "name") or None,
            line1=forms.text(form, "line1"),
            city=forms.text(form, "city"),
            state=forms.text(form, "state", 2),
            zip=forms.text(form, "zip", 5),
        )
        cmd = ChangeOrder(ship_to=address, reason=_reason(form))
        etag = forms.version(form)
        return lambda db, actor: orders.change(db, order_id, cmd, actor, etag)

    return await _act(request, session, order_id, "address", build)


@router.post("/{order_id}/cancel-line")
async def cancel_line(request: Request, order_id: str, session: Agent) -> Response:
    def build(form: dict[str, str]) -> Call:
        cmd = CancelOrder(lines=[_line(form, 1)], reason=_reason(form))
        etag = forms.version(form)
        return lambda db, actor: orders.cancel(db, order_id, cmd, actor, etag)

    return await _act(request, session, order_id, "cancel_line", build)


@router.post("/{order_id}/cancel")
async def cancel(request: Request, order_id: str, session: Agent) -> Response:
    def build(form: dict[str, str]) -> Call:
        cmd = CancelOrder(reason=_reason(form))
        etag = forms.version(form)
        return lambda db, actor: orders.cancel(db, order_id, cmd, actor, etag)

    return await _act(request, session, order_id, "cancel", build)


@router.post("/{order_id}/hold")
async def hold(request: Request, order_id: str, session: Agent) -> Response:
    def build(form: dict[str, str]) -> Call:
        reason = _reason(form)
        return lambda db, actor: orders.hold(db, order_id, reason, actor)

    return await _act(request, session, order_id, "hold", build)


@router.post("/{order_id}/release-hold")
async def release_hold(request: Request, order_id: str, session: Agent) -> Response:
    return await _act(
        request,
        session,
        order_id,
        "release",
        lambda form: lambda db, actor: orders.unhold(db, order_id, actor),
    )


@router.post("/{order_id}/return")
async def authorise_return(request: Request, order_id: str, session: Agent) -> Response:
    def build(form: dict[str, str]) -> Call:
        req = ReturnRequest(lines=[_line(form, 1)], reason=_reason(form))
        return lambda db, actor: returns.authorize(db, order_id, req, actor)

    return await _act(request, session, order_id, "return", build)
