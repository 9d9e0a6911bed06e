"""Inventory (merchandisers, analysts): one SKU across the network; receipts, adjustments.

Receipts and adjustments call ``inventory.receive`` / ``inventory.adjust``, the
use cases behind ``POST /inventory/receipts`` and ``/inventory/adjustments``;
an adjustment needs a reason, which goes to the stock ledger.
"""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.web import charts, forms, usmap
from api.web.render import page, problem_text
from api.web.session import Session, checked_form, require
from models.api import Adjustment, Receipt, Role
from models.errors import DomError
from models.lifecycle_errors import FieldError, InvalidInput
from services import console, inventory

router = APIRouter(prefix="/console/inventory", include_in_schema=False)
Viewer = Annotated[Session, Depends(require(Role.MERCHANDISER, Role.ANALYST))]
Merchandiser = Annotated[Session, Depends(require(Role.MERCHANDISER))]
DONE = {"receipt": "Receipt recorded.", "adjustment": "Adjustment recorded."}


def _screen(
    request: Request, session: Session, sku: str, error: str = "", status_code: int = 200
) -> HTMLResponse:
    db = request.app.state.db
    if sku and not forms.ID.match(sku):
        error, sku, status_code = "a SKU is letters, digits and . _ : - (1 to 64)", "", 422
    network = console.sku_network(db, sku) if sku else None
    alerts = console.open_alerts(db, sku=sku) if network is not None else None
    dots = []
    if network is not None:
        available = {s.node_id: float(s.available) for s in network.stock}
        dots = charts.node_dots(
            network.nodes, {n.node_id: available.get(n.node_id, 0.0) for n in network.nodes}
        )
    return page(
        request,
        "inventory.html",
        session,
        status_code=status_code,
        sku=sku,
        network=network,
        totals={
            k: sum(getattr(s, k) for s in network.stock)
            for k in ("on_hand", "reserved", "safety_stock", "in_transit", "available")
        }
        if network
        else {},
        dots=dots,
        alerts=alerts,
        states=usmap.states() if network else [],
        suggestions=console.busiest_skus(db),
        nodes=[n["node_id"] for n in console.nodes(db)],
        error=error,
        notice=DONE.get(request.query_params.get("done", ""), ""),
        can_move=session.can(Role.MERCHANDISER),
    )


@router.get("", response_class=HTMLResponse)
def screen(request: Request, session: Viewer) -> HTMLResponse:
    return _screen(request, session, request.query_params.get("sku", "")[:64].strip())


async def _move(request: Request, session: Session, kind: str) -> Response:
    form = await checked_form(request, session)
    sku = forms.text(form, "sku", 64) if forms.PRINTABLE.match(form.get("sku", "")) else ""
    try:
        node_id = forms.ident(forms.text(form, "node_id", 64), "node_id")
        forms.ident(sku, "sku")
        db = request.app.state.db
        if kind == "receipt":
            receipt = Receipt(
                node_id=node_id,
                sku=sku,
                qty=forms.integer(form, "qty", 1, 100_000),
                reference=forms.text(form, "reference") or None,
            )
            await run_in_threadpool(inventory.receive, db, receipt, session.actor)
        else:
            reason = forms.text(form, "reason")
            if not reason:
                raise InvalidInput([FieldError("reason", "say why the count changed")])
            adj = Adjustment(
                node_id=node_id,
                sku=sku,
                delta=forms.integer(form, "delta", -1_000_000, 1_000_000),
                reason=reason,
            )
            await run_in_threadpool(inventory.adjust, db, adj, session.actor)
    except (DomError, ValidationError) as exc:
        message, status = problem_text(exc)
        shown = sku if forms.ID.match(sku) else ""
        return await run_in_threadpool(_screen, request, session, shown, message, status)
    return RedirectResponse(f"/console/inventory?sku={quote(sku)}&done={kind}", status_code=303)


@router.post("/receipts")
async def receipt(request: Request, session: Merchandiser) -> Response:
    return await _move(request, session, "receipt")


@router.post("/adjustments")
async def adjustment(request: Request, session: Merchandiser) -> Response:
    return await _move(request, session, "adjustment")
