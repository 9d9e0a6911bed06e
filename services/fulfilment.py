"""Work at the node: pick, pack, ship (invoice), deliver, pickup hand-over, reject.

Shipping (or handing over a pickup) consumes the stock: on hand and reserved
both drop by the units, and the shipment is invoiced. A rejected work item
corrects the node's stock and re-sources the rejected units at once to another
node (a new work item) or, if none has them, puts them back as open demand of
a backordered order for the next sourcing run.
"""

from datetime import datetime
from typing import Any

from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from models.api import (
    Actor,
    InvoiceLineView,
    InvoiceView,
    Page,
    RejectRequest,
    Role,
    ShipRequest,
    WorkItemView,
    WorkLine,
)
from models.lifecycle import (
    OrderStatus,
    WorkAction,
    WorkItemStatus,
    order_status_from_work,
    work_item_next,
    work_kind,
)
from models.lifecycle_errors import FieldError, Forbidden, InvalidInput, NotFound
from models.orders import WorkItemRecord
from models.reservation import Need
from services.common import bill, load_order, move, new_id, reserve_open_demand
from services.pagination import MAX_LIMIT, decode_cursor, encode_cursor

S = OrderStatus
W = WorkItemStatus


def _visible(item: WorkItemRecord | None, work_item_id: str, actor: Actor) -> WorkItemRecord:
    """A node associate sees only their node's work; others see none of a missing one."""
    if item is None:
        raise NotFound(f"no work item {work_item_id!r}")
    if actor.role is Role.NODE and item["node_id"] != actor.node_id:
        raise Forbidden(f"work item {work_item_id} belongs to another node")
    return item


def work_item_view(repo: LifecycleRepo, work_item_id: str) -> WorkItemView:
    item = repo.work_item(work_item_id)
    if item is None:
        raise NotFound(f"no work item {work_item_id!r}")
    inv = repo.invoice_for_work_item(work_item_id)
    invoice = None
    if inv is not None:
        invoice = InvoiceView(
            invoice_id=inv["invoice_id"],
            order_id=inv["order_id"],
            work_item_id=work_item_id,
            lines=[InvoiceLineView(**ln) for ln in repo.invoice_lines(inv["invoice_id"])],
            subtotal=inv["subtotal"],
            discount=inv["discount"],
            shipping=inv["shipping"],
            tax=inv["tax"],
            total=inv["total"],
        )
    fields: dict[str, Any] = {
        k: v for k, v in item.items() if k in WorkItemView.model_fields and k != "lines"
    }
    return WorkItemView(
        **fields,
        lines=[WorkLine(**ln) for ln in repo.work_item_lines(work_item_id)],
        invoice=invoice,
    )


def get_work_item(db: Database, work_item_id: str, actor: Actor) -> WorkItemView:
    def work(repo: LifecycleRepo) -> WorkItemView:
        _visible(repo.work_item(work_item_id), work_item_id, actor)
        return work_item_view(repo, work_item_id)

    return db.read(work)


def list_work_items(
    db: Database,
    actor: Actor,
    node_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[WorkItemView]:
    if actor.role is Role.NODE:
        if node_id and node_id != actor.node_id:
            raise Forbidden(f"a {actor.node_id} associate sees only {actor.node_id}'s work")
        node_id = actor.node_id
    limit = max(1, min(limit, MAX_LIMIT))
    after = decode_cursor(cursor, datetime, str)

    def work(repo: LifecycleRepo) -> Page[WorkItemView]:
        ids = repo.work_page(
            node_id, status, (str(after[0]), str(after[1])) if after else None, limit + 1
        )
        views = [work_item_view(repo, i) for i in ids[:limit]]
        nxt = None
        if len(ids) > limit:
            nxt = encode_cursor([views[-1].created_at.isoformat(), views[-1].work_item_id])
        return Page[WorkItemView](items=views, next_cursor=nxt)

    return db.read(work)


def _sync_order(repo: LifecycleRepo, order_id: str, actor: Actor, event: str, details: Any) -> None:
    """Move the order to what its work items (and open demand) now say."""
    order = repo.order_row(order_id)
    assert order is not None
    if repo.open_lines(order_id):
        return  # units wait for stock: the order stays backordered / sourced
    target = order_status_from_work(repo.work_statuses(order_id))
    if target is None:
        return
    move(repo, order_id, order["status"], target, actor, event, details)


def act(
    db: Database,
    work_item_id: str,
    action: WorkAction,
    actor: Actor,
    ship: ShipRequest | None = None,
) -> WorkItemView:
    """Pick, pack, ship, deliver, ready-for-pickup or hand over one work item."""

    def work(repo: LifecycleRepo) -> WorkItemView:
        item = _visible(repo.work_item(work_item_id), work_item_id, actor)
        target = work_item_next(action, item["status"], item["kind"], f"work item {work_item_id}")
        columns: dict[str, Any] = {"status": target.value}
        details: dict[str, Any] = {"work_item_id": work_item_id, "node_id": item["node_id"]}
        lines = repo.work_item_lines(work_item_id)
        if target in (W.SHIPPED, W.PICKED_UP):
            if target is W.SHIPPED:
                assert ship is not None
                weight = ship.weight_lb
                if weight is None:
                    items = repo.items(ln["sku"] for ln in lines)
                    weight = round(
                        sum(float(items[ln["sku"]]["weight_lb"]) * ln["qty"] for ln in lines), 3
                    )
                columns.update(
                    carrier=ship.carrier, tracking_number=ship.tracking_number, weight_lb=weight
                )
                details.update(
                    carrier=ship.carrier, tracking_number=ship.tracking_number, weight_lb=weight
                )
            _consume(repo, item, lines, actor)
            exchange = repo.exchange_replacing(item["order_id"])
            if exchange is None:
                details["invoice_id"] = _invoice(repo, item, lines)
            else:  # a replacement is paid for by its exchange's settlement
                details["settled_by_exchange"] = exchange["exchange_id"]
        repo.update_work_item(work_item_id, **columns)
        repo.bump_version(item["order_id"])
        _sync_order(repo, item["order_id"], actor, target.value, details)
        return work_item_view(repo, work_item_id)

    return db.write(work)


def _consume(
    repo: LifecycleRepo, item: WorkItemRecord, lines: list[dict[str, Any]], actor: Actor
) -> None:
    """The units leave the building: off hand and off reserved, in (node, sku) order."""
    per_sku: dict[str, int] = {}
    for ln in lines:
        per_sku[ln["sku"]] = per_sku.get(ln["sku"], 0) + ln["qty"]
        repo.take_released(item["order_id"], ln["line_no"], item["node_id"], ln["qty"])
        repo.update_line_state(item["order_id"], ln["line_no"], shipped_qty=ln["qty"])
    for sku, qty in sorted(per_sku.items()):
        repo.change_stock(
            item["node_id"],
            sku,
            on_hand=-qty,
            reserved=-qty,
            kind="pickup" if item["kind"] == "pickup" else "shipment",
            reference=item["work_item_id"],
            actor=actor.name,
        )


def _invoice(repo: LifecycleRepo, item: WorkItemRecord, lines: list[dict[str, Any]]) -> str:
    """Bill what left: line prices, the promotion's share, shipping once, tax."""
    shipped: dict[int, int] = {}
    for ln in lines:
        shipped[ln["line_no"]] = shipped.get(ln["line_no"], 0) + ln["qty"]
    order = load_order(repo, item["order_id"])
    first = not repo.has_shipment_invoice(item["order_id"])
    return bill(repo, order, item["work_item_id"], shipped, shipping=first)


def reject(db: Database, work_item_id: str, req: RejectRequest, actor: Actor) -> WorkItemView:
    """The node cannot fulfil (part of) a work item: fix stock, re-source or backorder."""

    def work(repo: LifecycleRepo) -> WorkItemView:
        item = _visible(repo.work_item(work_item_id), work_item_id, actor)
        work_item_next(WorkAction.REJECT, item["status"], item["kind"], f"work item {work_item_id}")
        lines = {ln["line_no"]: ln for ln in repo.work_item_lines(work_item_id)}
        wanted = _rejected_qty(req, lines)
        _give_back(repo, item, lines, wanted, req.reason, actor)
        whole = sum(wanted.values()) == sum(v["qty"] for v in lines.values())
        repo.update_work_item(
            work_item_id,
            reject_reason=req.reason,
            **({"status": W.REJECTED.value} if whole else {}),
        )
        details: dict[str, Any] = {
            "work_item_id": work_item_id,
            "node_id": item["node_id"],
            "reason": req.reason,
            "lines": [[ln, q] for ln, q in sorted(wanted.items())],
        }
        _resource(repo, item, lines, wanted, details, actor)
        return work_item_view(repo, work_item_id)

    return db.write(work)


def _rejected_qty(req: RejectRequest, lines: dict[int, dict[str, Any]]) -> dict[int, int]:
    """Units rejected per line: the lines asked for, else the whole work item."""
    if req.lines is None:
        return {ln: v["qty"] for ln, v in lines.items()}
    errors = []
    wanted: dict[int, int] = {}
    for i, lq in enumerate(req.lines):
        have = lines.get(lq.line_no)
        if have is None:
            errors.append(FieldError(f"lines.{i}.line_no", "not a line of this work item"))
        elif not 1 <= lq.qty <= have["qty"]:
            errors.append(FieldError(f"lines.{i}.qty", f"between 1 and {have['qty']}"))
        else:
            wanted[lq.line_no] = wanted.get(lq.line_no, 0) + lq.qty
    if errors or not wanted:
        raise InvalidInput(errors or [FieldError("lines", "nothing to reject")])
    return wanted


def _give_back(
    repo: LifecycleRepo,
    item: WorkItemRecord,
    lines: dict[int, dict[str, Any]],
    wanted: dict[int, int],
    reason: str,
    actor: Actor,
) -> None:
    """Take the rejected units off the work item and its holds; fix the node's stock."""
    work_item_id, order_id, node_id = item["work_item_id"], item["order_id"], item["node_id"]
    per_sku: dict[str, int] = {}
    for line_no, qty in wanted.items():
        sku = lines[line_no]["sku"]
        per_sku[sku] = per_sku.get(sku, 0) + qty
        repo.take_released(order_id, line_no, node_id, qty)
        repo.update_line_state(order_id, line_no, released_qty=-qty)
        repo.set_work_line_qty(work_item_id, line_no, lines[line_no]["qty"] - qty)
    for sku, qty in sorted(per_sku.items()):
        # Short pick: the units are not there. Damaged: they go to the damaged bucket.
        # Other: the stock is right but the node cannot do it; only the hold is released.
        gone = qty if reason in ("short_pick", "damaged") else 0
        repo.change_stock(
            node_id,
            sku,
            on_hand=-gone,
            reserved=-qty,
            kind=f"reject:{reason}",
            reference=work_item_id,
            actor=actor.name,
        )
        if reason == "damaged":
            repo.add_damaged(node_id, sku, qty)


def _resource(
    repo: LifecycleRepo,
    item: WorkItemRecord,
    lines: dict[int, dict[str, Any]],
    wanted: dict[int, int],
    details: dict[str, Any],
    actor: Actor,
) -> None:
    """Reserve the rejected units elsewhere (new work items, released) or backorder them."""
    order_id = item["order_id"]
    order = load_order(repo, order_id)
    needs = [Need(ln, lines[ln]["sku"], q) for ln, q in sorted(wanted.items())]
    exclude = frozenset({item["node_id"]})
    holds = reserve_open_demand(repo, order, needs, exclude=exclude, released=True)
    if holds is None:
        open_qty = {r["line_no"]: r["qty"] for r in repo.open_lines(order_id)}
        for ln, q in wanted.items():
            repo.set_open_qty(order_id, ln, lines[ln]["sku"], open_qty.get(ln, 0) + q)
        repo.bump_version(order_id)
        move(repo, order_id, order["status"], S.BACKORDERED, actor, "work_item_rejected", details)
        return
    by_node: dict[str, list[tuple[int, str, int]]] = {}
    for h in holds:
        by_node.setdefault(h.node_id, []).append((h.line_no, h.sku, h.qty))
        repo.update_line_state(order_id, h.line_no, released_qty=h.qty)
    new_items = []
    node_kind = {n["node_id"]: n["kind"] for n in repo.nodes()}
    for node, rows in sorted(by_node.items()):
        wid = new_id("wi")
        kind = work_kind(order["service"], node_kind.get(node, "")).value
        repo.insert_work_item(wid, order_id, node, kind, rows)
        new_items.append(wid)
    details["resourced_to"] = new_items
    repo.bump_version(order_id)
    status = order["status"]
    repo.add_event(
        order_id, "work_item_rejected", actor.name, actor.channel, status, status, details
    )
    _sync_order(repo, order_id, actor, "resourced", {"work_items": new_items})
