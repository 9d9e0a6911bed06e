"""A group of captures decided in memory and written with one statement per table.

The group writer (``data.group_writer``) hands ``capture_group`` every capture
queued since its last commit. Inside the writer's one transaction it:

1. reads what the group needs at once: items, stored idempotency keys, taken
   order ids, and the stock rows of every SKU in the group;
2. decides each order in queue order against that in-memory stock
   (``choose_reservation``, all or nothing per order), taking each order's
   units off the map before the next order is decided. An order that fails
   (invalid, id taken, out of stock, promotion used up) fails alone with its own
   error and writes nothing; the others go on;
3. writes the group: one UPDATE of the stock rows, each re-checked for the
   units it gives (``reserve_rows``; a row that moved under us means a
   concurrent writer: the whole transaction runs again), and one INSERT per
   table.

Orders with digital lines are delivered at capture through the row-by-row
``create_order`` after the set-wise part (they are rare). Each new order's
document goes to the read model at commit (``data.commit_cache``).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from data.commit_cache import OrderDoc
from data.group_writer import Failed
from data.lifecycle_repo import LifecycleRepo, now
from models.api import Actor, CaptureOrder, OrderView
from models.lifecycle import OrderStatus
from models.lifecycle_errors import (
    Conflict,
    FieldError,
    IdempotencyMismatch,
    InvalidInput,
    OutOfStock,
    WriteConflict,
)
from models.orders import OrderRecord
from models.reservation import Hold, Need, choose_reservation, sorted_holds
from services.common import Idempotency, candidate_nodes, promotion_of
from services.orders import _capture_errors, _capture_events, _new_order_view, create_order
from services.promise import held_in

S = OrderStatus


@dataclass(frozen=True)
class CaptureRequest:
    """One caller's capture, as queued for the writer: the command, the order row
    it becomes (its id chosen), who captures it and its Idempotency-Key."""

    cmd: CaptureOrder
    order: OrderRecord
    who: Actor
    idempotency: Idempotency | None
    today: date


@dataclass
class _Group:
    """What the group has read, and what it will write."""

    items: dict[str, dict[str, Any]]
    stored: dict[tuple[str, str], Any]
    taken: set[str]
    stock: dict[tuple[str, str], int]
    created_at: Any
    keyed: dict[tuple[str, str], tuple[str, OrderView]] = field(default_factory=dict)
    orders: list[OrderRecord] = field(default_factory=list)
    lines: list[tuple[str, int, str, int, Decimal]] = field(default_factory=list)
    holds: list[tuple[str, int, str, str, int]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    remembered: list[tuple[str, str, str, int, str]] = field(default_factory=list)
    docs: dict[str, OrderDoc] = field(default_factory=dict)


def capture_group(repo: LifecycleRepo, reqs: Sequence[CaptureRequest]) -> list[OrderView | Failed]:
    """Each request's new order (or replayed one), or its own failure; see the module."""
    skus = sorted({ln.sku for r in reqs for ln in r.cmd.lines})
    keys = [(r.idempotency.scope, r.idempotency.key) for r in reqs if r.idempotency]
    items = repo.items(skus)
    stock = repo.stock_of([s for s in skus if not (items.get(s) or {}).get("digital")])
    held = held_in(repo.cache, list(stock))  # units live delivery promises hold
    group = _Group(
        items=items,
        stored=repo.idempotent_many(keys),
        taken=repo.existing_orders([r.order["order_id"] for r in reqs]),
        stock={k: a - held.get(k, 0) for k, a in stock.items()},
        created_at=now(),
    )
    answers: list[OrderView | Failed | None] = []
    digital: list[tuple[int, CaptureRequest]] = []
    for r in reqs:
        answer: OrderView | Failed | None
        try:
            answer = _decide(repo, group, r)
        except (InvalidInput, Conflict) as exc:  # this order alone: nothing of it written
            answer = Failed(exc)
        if answer is None:
            digital.append((len(answers), r))
        answers.append(answer)
    deltas: dict[tuple[str, str], int] = {}
    for _, _, node_id, sku, qty in group.holds:
        deltas[(node_id, sku)] = deltas.get((node_id, sku), 0) + qty
    if not repo.reserve_rows([(n, s, q) for (n, s), q in deltas.items()]):
        # Our snapshot said the units were there: only a concurrent writer explains it.
        raise WriteConflict("stock rows moved under a group of captures")
    repo.insert_captured(group.orders, group.lines, group.holds, group.remembered, group.created_at)
    if group.events:
        repo.add_events_many(group.events)
    repo.order_docs = group.docs  # exactly what changed: the caches follow at commit
    for i, r in digital:  # row by row, after the group's own writes
        answers[i] = _create_whole(repo, r, group)
    if digital:
        repo.order_docs = None  # written row by row: the caches are emptied instead
    return [a for a in answers if a is not None]


def _replayed(group: _Group, r: CaptureRequest) -> OrderView | None:
    """The first response of a key already used (stored, or earlier in this group)."""
    idem = r.idempotency
    if idem is None:
        return None
    key = (idem.scope, idem.key)
    if key in group.keyed:
        request_hash, view = group.keyed[key]
    elif key in group.stored:
        request_hash = group.stored[key]["request_hash"]
        view = OrderView.model_validate_json(group.stored[key]["response"])
    else:
        return None
    if request_hash != idem.request_hash:
        raise IdempotencyMismatch(
            f"Idempotency-Key {idem.key!r} was already used with a different request body"
        )
    return view


def _decide(repo: LifecycleRepo, group: _Group, r: CaptureRequest) -> OrderView | None:
    """One order of the group: its view once queued for writing; None: it has digital
    lines and is created row by row afterwards. Raises its own error."""
    if (first := _replayed(group, r)) is not None:
        return first
    errors, items = _capture_errors(repo, r.cmd, r.today, group.items)
    if errors:
        raise InvalidInput(errors, "the order is not valid")
    order_id = r.order["order_id"]
    if order_id in group.taken:
        raise Conflict(f"order {order_id!r} already exists")
    if any(items[ln.sku].get("digital") for ln in r.cmd.lines):
        group.taken.add(order_id)
        return None
    lines = [
        (i + 1, ln.sku, ln.qty, Decimal(str(items[ln.sku]["price"])))
        for i, ln in enumerate(r.cmd.lines)
    ]
    order: OrderRecord = {**r.order, "created_at": group.created_at}
    needs = [Need(no, sku, qty) for no, sku, qty, _ in lines]
    nodes = candidate_nodes(repo, order["service"], order["ship_zip"], order["pickup_node_id"])
    mine = {(n, s): group.stock.get((n, s), 0) for s in {x.sku for x in needs} for n in nodes}
    holds = choose_reservation(
        needs, nodes, mine, ship_complete=order["ship_complete"], max_packages=order["max_packages"]
    )
    if holds is None and not r.cmd.allow_backorder:
        raise _out_of_stock(needs, nodes, mine, order)
    promo = order["promo_code"]
    if promo and not repo.use_promotion(promo):
        raise InvalidInput([FieldError("promo_code", f"promotion {promo} has been used up")])
    order["status"] = (S.VALIDATED if holds is not None else S.BACKORDERED).value
    view = _new_order_view(repo, order, lines, holds or [], promotion_of(repo, promo))
    _queue_writes(repo, group, r, order, lines, holds, view)
    return view


def _queue_writes(
    repo: LifecycleRepo,
    group: _Group,
    r: CaptureRequest,
    order: OrderRecord,
    lines: list[tuple[int, str, int, Decimal]],
    holds: list[Hold] | None,
    view: OrderView,
) -> None:
    order_id = order["order_id"]
    for node_id, sku, qty in sorted_holds(holds or []):
        group.stock[(node_id, sku)] -= qty
    group.taken.add(order_id)
    group.orders.append(order)
    group.lines.extend((order_id, no, sku, qty, price) for no, sku, qty, price in lines)
    group.holds.extend((order_id, h.line_no, h.node_id, h.sku, h.qty) for h in holds or [])
    if holds is None:  # backordered: its demand is open and nothing holds it
        for _, sku, qty, _ in lines:
            repo.unheld_changes[sku] = repo.unheld_changes.get(sku, 0) + qty
    group.events.extend(
        (order_id, *e) for e in _capture_events(r.who, lines, holds, order["promo_code"])
    )
    body = view.model_dump_json()
    group.docs[order_id] = OrderDoc(body.encode(), view.version)
    if r.idempotency:
        idem = r.idempotency
        group.keyed[(idem.scope, idem.key)] = (idem.request_hash, view)
        group.remembered.append((idem.scope, idem.key, idem.request_hash, idem.status, body))


def _out_of_stock(
    needs: list[Need], nodes: list[str], avail: dict[tuple[str, str], int], order: OrderRecord
) -> OutOfStock:
    """The refusal, with each line's shortfall: units ordered and units available to it
    at the order's nodes (lines of one SKU share them)."""
    per_sku: dict[str, int] = {}
    for n in needs:
        per_sku[n.sku] = per_sku.get(n.sku, 0) + n.qty
    have = {s: sum(max(0, avail.get((node, s), 0)) for node in nodes) for s in per_sku}
    short = [n for n in needs if per_sku[n.sku] > have[n.sku]] or list(needs)
    skus = sorted({n.sku for n in short})
    why = (
        f"not enough available stock to reserve the whole order (SKUs {', '.join(skus)})"
        if any(per_sku[s] > have[s] for s in per_sku)
        else "the order's stock is not at one node and it ships complete or in one package"
    )
    shortfall: list[dict[str, object]] = [
        {"line_no": n.line_no, "sku": n.sku, "qty": n.qty, "available": have[n.sku]} for n in short
    ]
    return OutOfStock(f"{why}; nothing was created", skus, shortfall)


def _create_whole(repo: LifecycleRepo, r: CaptureRequest, group: _Group) -> OrderView:
    """An order with digital lines: created row by row (its errors abort the group,
    whose orders are then each captured alone; the commit empties the caches)."""
    items = group.items
    lines = [
        (i + 1, ln.sku, ln.qty, Decimal(str(items[ln.sku]["price"])))
        for i, ln in enumerate(r.cmd.lines)
    ]
    digital = {ln.sku for ln in r.cmd.lines if items[ln.sku].get("digital")}
    view = create_order(repo, r.cmd, {**r.order, "created_at": now()}, lines, r.who, digital)
    if r.idempotency:
        r.idempotency.remember(repo, view)
    return view
