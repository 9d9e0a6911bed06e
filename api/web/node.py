"""Store and DC associates (node keys): the node's work queue, pickups, returns to receive.
A drop-ship vendor's key sees its purchase orders there: acknowledge, ship or reject.

Every action calls ``fulfilment.act`` / ``fulfilment.reject`` / ``returns.receive``
with the associate's own actor, so the same rule as the API holds: a node key
acts only on its own node's work (another node's work item is refused, 403).
Admins pick a node with ``?node=``.
"""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

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
    ReceiveReturn,
    RejectRequest,
    ReturnCondition,
    Role,
    ShipRequest,
)
from models.errors import DomError
from models.lifecycle import WorkAction
from models.lifecycle_errors import FieldError, Forbidden, InvalidInput
from services import console, fulfilment, returns

router = APIRouter(prefix="/console/node", include_in_schema=False)
Associate = Annotated[Session, Depends(require(Role.NODE))]
ACTIONS = {
    "acknowledge": WorkAction.ACKNOWLEDGE,
    "pick": WorkAction.PICK,
    "pack": WorkAction.PACK,
    "ship": WorkAction.SHIP,
    "ready": WorkAction.READY,
    "picked-up": WorkAction.HAND_OVER,
}
DONE = {
    "acknowledge": "Purchase order acknowledged.",
    "pick": "Picked.",
    "pack": "Packed.",
    "ship": "Shipped and invoiced.",
    "ready": "Ready for pickup.",
    "picked-up": "Handed over and invoiced.",
    "reject": "Rejected; the units were re-sourced or backordered.",
    "receive": "Return received.",
}
REASONS = ("short_pick", "damaged", "other")


def _node_of(session: Session, raw: str | None) -> str | None:
    """The associate's node; an admin names one (or sees none until they do)."""
    if session.actor.role is Role.NODE:
        return session.actor.node_id
    return raw if raw and forms.ID.match(raw) else None


def _screen(
    request: Request, session: Session, node_id: str | None, error: str = "", status: int = 200
) -> HTMLResponse:
    db = request.app.state.db
    asked = request.query_params.get("node")
    if session.actor.role is Role.NODE and asked and asked != session.actor.node_id:
        return page(
            request,
            "forbidden.html",
            session,
            403,
            message=f"a {session.actor.node_id} associate sees only {session.actor.node_id}'s work",
        )
    queue = console.node_queue(db, session.actor, node_id) if node_id else {}
    return page(
        request,
        "node.html",
        session,
        status_code=status,
        node_id=node_id,
        queue=queue,
        pickups=[w for w in queue.get("ready_for_pickup", [])],
        awaiting=console.returns_awaiting(db) if node_id else [],
        nodes=[n["node_id"] for n in console.nodes(db)] if session.actor.role is Role.ADMIN else [],
        reasons=REASONS,
        error=error,
        notice=DONE.get(request.query_params.get("done", ""), ""),
    )


@router.get("", response_class=HTMLResponse)
def queue(request: Request, session: Associate) -> HTMLResponse:
    return _screen(request, session, _node_of(session, request.query_params.get("node")))


def _back(session: Session, node_id: str | None, done: str) -> str:
    extra = f"&node={quote(node_id)}" if node_id and session.actor.role is Role.ADMIN else ""
    return f"/console/node?done={done}{extra}"


def _as_node(session: Session, node_id: str | None) -> Actor:
    """Admins act as an associate of the node they picked (same scoping as a node key)."""
    if session.actor.role is Role.NODE or node_id is None:
        return session.actor
    return session.actor.model_copy(update={"role": Role.NODE, "node_id": node_id})


async def _do(
    request: Request,
    session: Session,
    done: str,
    work: Callable[[dict[str, str], Database, Actor, str | None], None],
) -> Response:
    """Check CSRF, act as the session's node associate, PRG; errors shown on the queue."""
    form = await checked_form(request, session)
    node_id = _node_of(session, form.get("node"))
    try:
        await run_in_threadpool(
            work, form, request.app.state.db, _as_node(session, node_id), node_id
        )
    except Forbidden as exc:
        return page(request, "forbidden.html", session, 403, message=str(exc))
    except (DomError, ValidationError) as exc:
        message, status = problem_text(exc)
        return await run_in_threadpool(_screen, request, session, node_id, message, status)
    return RedirectResponse(_back(session, node_id, done), status_code=303)


@router.post("/work/{work_item_id}/{action}")
async def act(request: Request, work_item_id: str, action: str, session: Associate) -> Response:
    def work(form: dict[str, str], db: Database, actor: Actor, node_id: str | None) -> None:
        forms.ident(work_item_id, "work_item_id")
        if action == "reject":
            reason = forms.choice(form, "reason", REASONS)
            fulfilment.reject(db, work_item_id, RejectRequest(reason=reason), actor)  # type: ignore[arg-type]
        elif action in ACTIONS:
            ship = None
            if action == "ship":
                ship = ShipRequest(
                    carrier=forms.text(form, "carrier", 40),
                    tracking_number=forms.text(form, "tracking_number", 40),
                )
            fulfilment.act(db, work_item_id, ACTIONS[action], actor, ship)
        else:
            raise InvalidInput([FieldError("action", f"one of {', '.join([*ACTIONS, 'reject'])}")])

    return await _do(request, session, action if action in DONE else "", work)


@router.post("/returns/{return_id}/receive")
async def receive_return(request: Request, return_id: str, session: Associate) -> Response:
    def work(form: dict[str, str], db: Database, actor: Actor, node_id: str | None) -> None:
        forms.ident(return_id, "return_id")
        if node_id is None:
            raise InvalidInput([FieldError("node", "pick the node receiving the return")])
        condition = forms.choice(form, "condition", ("sellable", "damaged"))
        lines = returns.get_return(db, return_id).lines
        req = ReceiveReturn(
            node_id=node_id,
            conditions=[
                ReturnCondition(line_no=ln.line_no, condition=condition)  # type: ignore[arg-type]
                for ln in lines
            ],
        )
        returns.receive(db, return_id, req, actor)

    return await _do(request, session, "receive", work)
