"""Use cases of an order before it reaches the nodes: capture, change, cancel, hold,
and reading orders and their timelines.

Each use case validates first (nothing written), then does all its writes in
one ``Database.write`` transaction, which may run again after a conflict.
"""

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from data.commit_cache import MAX_DOCS, OrderDoc
from data.geo import zip_table
from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo, now
from models.api import (
    Actor,
    Address,
    CancelOrder,
    CaptureOrder,
    ChangeOrder,
    EventView,
    LineView,
    OrderQuery,
    OrderView,
    Page,
    Placement,
)
from models.commerce import Promotion, money, promotion_problem, quote
from models.enums import Service
from models.lifecycle import (
    Command,
    OrderStatus,
    check_transition,
    order_status_from_work,
    require,
)
from models.lifecycle_errors import (
    Conflict,
    FieldError,
    InvalidInput,
    OutOfStock,
    PreconditionFailed,
    PreconditionRequired,
)
from models.orders import LineState, OrderRecord
from models.reservation import Hold, Need, sorted_holds
from promise.index import CartLine
from services import promise as promising
from services.common import (
    Idempotency,
    load_order,
    move,
    new_id,
    order_header,
    order_view,
    promotion_of,
    release_reservations,
    reserve_open_demand,
    totals_of,
    whole_view,
)
from services.digital import deliver_digital
from services.pagination import MAX_LIMIT, decode_cursor, encode_cursor

DEFAULT_DUE_DAYS: dict[Service, int] = {
    Service.GROUND: 5,
    Service.TWO_DAY: 2,
    Service.NEXT_DAY: 1,
    Service.PICKUP: 1,
}
S = OrderStatus


def _address_errors(addr: Address, prefix: str) -> list[FieldError]:
    """The ZIP must be a real US ZIP and lie in the state given."""
    state = zip_table().state_of(addr.zip)
    if state is None:
        return [FieldError(f"{prefix}.zip", f"{addr.zip} is not a known US ZIP code")]
    if state != addr.state.upper():
        return [
            FieldError(f"{prefix}.state", f"ZIP {addr.zip} is in {state}, not {addr.state.upper()}")
        ]
    return []


def _capture_errors(
    repo: LifecycleRepo,
    cmd: CaptureOrder,
    today: date,
    items: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[FieldError], dict[str, dict[str, Any]]]:
    """Every rule-breaking field of a capture, and the items it orders (with prices);
    ``items`` when the caller has read them already (a group of captures)."""
    errors: list[FieldError] = []
    if items is None:
        items = repo.items(line.sku for line in cmd.lines)
    for i, line in enumerate(cmd.lines):
        if line.sku not in items:
            errors.append(FieldError(f"lines.{i}.sku", f"unknown SKU {line.sku!r}"))
    if cmd.service is Service.PICKUP:
        if cmd.ship_to is not None:
            errors.append(FieldError("ship_to", "pickup orders have no ship-to address"))
        if not cmd.pickup_node_id:
            errors.append(FieldError("pickup_node_id", "required when service is pickup"))
        else:
            node = repo.node(cmd.pickup_node_id)
            if node is None:
                errors.append(FieldError("pickup_node_id", f"unknown node {cmd.pickup_node_id!r}"))
            elif not node["pickup_enabled"]:
                errors.append(
                    FieldError("pickup_node_id", f"{cmd.pickup_node_id} does not offer pickup")
                )
    else:
        if cmd.pickup_node_id:
            errors.append(FieldError("pickup_node_id", "only pickup orders name a pickup node"))
        if cmd.ship_to is None:
            errors.append(FieldError("ship_to", f"required for {cmd.service.value} orders"))
        else:
            errors.extend(_address_errors(cmd.ship_to, "ship_to"))
    if cmd.promo_code:
        promo = promotion_of(repo, cmd.promo_code)
        if promo is None:
            errors.append(FieldError("promo_code", f"unknown promotion code {cmd.promo_code!r}"))
        elif not errors:
            subtotal = sum(
                (Decimal(str(items[ln.sku]["price"])) * ln.qty for ln in cmd.lines), Decimal(0)
            )
            problem = promotion_problem(promo, subtotal, today)
            if problem:
                errors.append(FieldError("promo_code", problem))
    return errors, items


def capture(
    db: Database,
    cmd: CaptureOrder,
    actor: Actor,
    idempotency: Idempotency | None = None,
    today: date | None = None,
) -> OrderView:
    """Validate, then create the order and reserve its stock in one transaction.

    With an Idempotency-Key seen before (same body), the first order comes back.
    """
    today = today or date.today()
    order = order_row(cmd, cmd.order_id or new_id("ord"))
    who = actor.model_copy(update={"channel": cmd.channel.value})
    # The state machine is checked here once: a capture walks created -> validated
    # (-> backordered) inside one transaction and is written with its last status.
    check_transition(S.CREATED, S.VALIDATED)
    check_transition(S.VALIDATED, S.BACKORDERED)
    if cmd.promise is None:
        # Validated, decided and written with the other queued captures, set-wise.
        from services.capture_group import CaptureRequest, capture_group

        request = CaptureRequest(cmd, order, who, idempotency, today)
        return cast(OrderView, db.write_batch(capture_group, request))
    if idempotency and (first := db.read(idempotency.replay)):
        return OrderView.model_validate_json(first)
    errors, items = db.read(lambda r: _capture_errors(r, cmd, today))
    if errors:
        raise InvalidInput(errors, "the order is not valid")
    lines = [
        (i + 1, ln.sku, ln.qty, Decimal(str(items[ln.sku]["price"])))
        for i, ln in enumerate(cmd.lines)
    ]
    digital = {sku for sku, item in items.items() if item.get("digital")}
    claimed = _claim_promise(db, cmd, digital)
    if claimed is not None:
        order["due_days"] = claimed.due_days  # the planner's days for the promised packages

    def work(repo: LifecycleRepo) -> OrderView:
        if idempotency and (first := idempotency.replay(repo)):
            return OrderView.model_validate_json(first)
        view = create_order(
            repo, cmd, {**order, "created_at": now()}, lines, who, digital, claimed=claimed
        )
        if idempotency:
            idempotency.remember(repo, view)
        return view

    assert claimed is not None  # a capture without a promise went set-wise above
    try:
        view = db.write_grouped(work)
    except BaseException:
        promising.settle(db, claimed, used=False)
        raise
    promising.settle(db, claimed, used=True)
    return view


def _claim_promise(
    db: Database, cmd: CaptureOrder, digital: Collection[str]
) -> promising.PromisedCapture | None:
    """The quoted promise, claimed for this order (checked to be its own), or None.
    The promise covers the physical lines: a digital line needs no stock and no hold."""
    if cmd.promise is None:
        return None
    if cmd.service is Service.PICKUP:
        raise InvalidInput([FieldError("promise", "pickup orders do not quote a promise")])
    physical = [(no, ln) for no, ln in enumerate(cmd.lines, 1) if ln.sku not in digital]
    cart = [CartLine(ln.sku, ln.qty) for _, ln in physical]
    if not cart:
        raise InvalidInput(
            [
                FieldError(
                    "promise",
                    "an order of digital lines only is delivered at capture: it quotes no promise",
                )
            ]
        )
    ship_zip = cmd.ship_to.zip if cmd.ship_to else None
    quote_ = cmd.promise
    return promising.claim_for_order(
        db,
        quote_.promise_id,
        quote_.fallback,
        cart,
        ship_zip,
        cmd.service.value,
        line_nos=[no for no, _ in physical],
    )


def order_row(cmd: CaptureOrder, order_id: str) -> OrderRecord:
    """The order header as stored, from the capture command."""
    addr = cmd.ship_to
    return {
        "order_id": order_id,
        "channel": cmd.channel.value,
        "ship_zip": addr.zip if addr else None,
        "service": cmd.service.value,
        "due_days": cmd.due_days if cmd.due_days is not None else DEFAULT_DUE_DAYS[cmd.service],
        "ship_complete": cmd.ship_complete,
        "max_packages": cmd.max_packages,
        "pickup_node_id": cmd.pickup_node_id,
        "customer_email": cmd.customer.email,
        "customer_name": cmd.customer.name,
        "phone": cmd.customer.phone,
        "ship_name": addr.name if addr else None,
        "ship_line1": addr.line1 if addr else None,
        "ship_city": addr.city if addr else None,
        "ship_state": addr.state.upper() if addr else None,
        "promo_code": cmd.promo_code.upper() if cmd.promo_code else None,
    }


def create_order(
    repo: LifecycleRepo,
    cmd: CaptureOrder,
    order: OrderRecord,
    lines: list[tuple[int, str, int, Decimal]],
    who: Actor,
    digital: Collection[str] = (),
    reserve: bool = True,
    claimed: promising.PromisedCapture | None = None,
) -> OrderView:
    """Reserve (a quoted promise: what it held), then write the order, its lines, its
    promise and its first events; digital lines are delivered at once
    (``services.digital``) and reserve nothing, nor are they in a promise.
    ``reserve=False`` (an exchange waiting for its return) writes the order backordered."""
    needs = [Need(no, sku, qty) for no, sku, qty, _ in lines if sku not in digital]
    if claimed is None:
        holds = reserve_open_demand(repo, order, needs) if reserve else None
    else:
        holds = _reserve_promised(repo, order, claimed)
        repo.record_order_promise(
            order["order_id"],
            claimed.promise_id,
            claimed.service,
            claimed.promised_date,
            claimed.promised_at,
            claimed.packages,
        )
    if holds is None and not cmd.allow_backorder:
        skus = sorted({n.sku for n in needs})
        raise OutOfStock(
            "not enough available stock to reserve the whole order "
            f"(SKUs {', '.join(skus)}); nothing was created",
            skus,
        )
    promo = order["promo_code"]
    if promo and not repo.use_promotion(promo):
        raise InvalidInput([FieldError("promo_code", f"promotion {promo} has been used up")])
    order["status"] = (S.VALIDATED if holds is not None else S.BACKORDERED).value
    repo.insert_order(order)
    repo.insert_lines(order["order_id"], lines)
    repo.add_events(order["order_id"], _capture_events(who, lines, holds, promo))
    delivered = [(no, sku, qty) for no, sku, qty, _ in lines if sku in digital]
    if deliver_digital(repo, order["order_id"], delivered, who, order["status"]) and not needs:
        # Nothing physical: the whole order was delivered at capture.
        repo.set_status(order["order_id"], S.DELIVERED.value)
        order["status"] = S.DELIVERED.value
    promotion = promotion_of(repo, promo)
    view = _new_order_view(repo, order, lines, holds or [], promotion, ships=bool(needs))
    return _digital_delivered(view, {no for no, _, _ in delivered})


def _digital_delivered(view: OrderView, line_nos: set[int]) -> OrderView:
    """The captured view with its digital lines shown delivered (nothing left open)."""
    if not line_nos:
        return view
    lines = [
        ln.model_copy(update={"open_qty": 0, "released_qty": ln.ordered_qty,
                              "shipped_qty": ln.ordered_qty})
        if ln.line_no in line_nos else ln
        for ln in view.lines
    ]  # fmt: skip
    return view.model_copy(update={"lines": lines})


def _reserve_promised(
    repo: LifecycleRepo, order: OrderRecord, claimed: promising.PromisedCapture
) -> list[Hold]:
    """Reserve exactly the units the promise held, stock rows in (node, sku) order."""
    for node_id, sku, qty in sorted_holds(claimed.holds):
        if not repo.reserve_stock(node_id, sku, qty):
            raise OutOfStock(
                f"the {qty} unit(s) of {sku} promised at {node_id} are no longer there "
                f"(promise {claimed.promise_id}); nothing was created",
                [sku],
            )
    repo.add_reservations(
        order["order_id"], [(h.line_no, h.node_id, h.sku, h.qty) for h in claimed.holds]
    )
    return claimed.holds


def _capture_events(
    who: Actor,
    lines: list[tuple[int, str, int, Decimal]],
    holds: list[Hold] | None,
    promo: str | None,
) -> list[tuple[Any, ...]]:
    """created, validated, then reserved (with the holds) or backordered."""
    created = {"lines": len(lines), "units": sum(ln[2] for ln in lines), "promo_code": promo}
    events: list[tuple[Any, ...]] = [
        ("created", who.name, who.channel, None, S.CREATED.value, created),
        ("validated", who.name, who.channel, S.CREATED.value, S.VALIDATED.value, None),
    ]
    if holds is None:
        reason = {"reason": "not enough available stock at capture"}
        events.append(
            ("backordered", who.name, who.channel, S.VALIDATED.value, S.BACKORDERED.value, reason)
        )
    else:
        held = {"holds": [[h.line_no, h.node_id, h.qty] for h in holds]}
        events.append(
            ("reserved", who.name, who.channel, S.VALIDATED.value, S.VALIDATED.value, held)
        )
    return events


def _new_order_view(
    repo: LifecycleRepo,
    order: OrderRecord,
    lines: list[tuple[int, str, int, Decimal]],
    holds: list[Hold],
    promo: Promotion | None,
    ships: bool = True,
) -> OrderView:
    """The view of an order just captured, from what was written (no re-read)."""
    state = order["ship_state"]
    if state is None and order["pickup_node_id"]:
        node = repo.node(order["pickup_node_id"])
        state = zip_table().state_of(node["zip"]) if node else None
    q = quote(lines, Service(order["service"]), state, promo, ships=ships)
    placed: dict[int, list[Placement]] = {}
    for h in holds:
        placed.setdefault(h.line_no, []).append(
            Placement(node_id=h.node_id, qty=h.qty, released=False)
        )
    return OrderView(
        **order_header(order),
        lines=[
            LineView(
                line_no=no,
                sku=sku,
                unit_price=money(price),
                ordered_qty=qty,
                cancelled_qty=0,
                open_qty=qty,
                released_qty=0,
                shipped_qty=0,
                returned_qty=0,
                reservations=sorted(placed.get(no, []), key=lambda p: p.node_id),
            )
            for no, sku, qty, price in lines
        ],
        totals=totals_of(q),
        version=1,
        created_at=order["created_at"],
        updated_at=order["created_at"],
    )


def get_order(db: Database, order_id: str) -> OrderView:
    return db.read(lambda r: order_view(r, order_id))


def warm_documents(db: Database, limit: int = MAX_DOCS) -> int:
    """Build the newest ``limit`` orders' documents into the read model (set-wise
    reads, then Python); how many were built. Run once at start, in the background."""
    generation = db.caches.generation  # before the snapshot opens

    def work(repo: LifecycleRepo) -> dict[str, OrderDoc]:
        orders_, states, open_lines, held = repo.newest_orders_whole(limit)
        items = repo.items(s["sku"] for rows in states.values() for s in rows)
        docs = {}
        for order in orders_:
            oid = order["order_id"]
            parts = (states.get(oid, []), open_lines.get(oid, []), held.get(oid, []))
            view = whole_view(repo, order, *parts, items)
            docs[oid] = OrderDoc(view.model_dump_json().encode(), view.version)
        return docs

    docs = db.read(work)
    db.caches.docs.keep(docs, generation)
    return len(docs)


def order_doc(db: Database, order_id: str) -> OrderDoc:
    """The order's JSON document from the read model, built (and kept) on a miss."""
    doc = db.caches.docs.get(order_id)
    if doc is None:
        generation = db.caches.generation  # before the snapshot opens
        view = get_order(db, order_id)
        doc = OrderDoc(view.model_dump_json().encode(), view.version)
        db.caches.docs.keep({order_id: doc}, generation)
    return doc


def list_orders(db: Database, query: OrderQuery, limit: int, cursor: str | None) -> Page[OrderView]:
    limit = max(1, min(limit, MAX_LIMIT))
    after = decode_cursor(cursor, datetime, str)

    def work(repo: LifecycleRepo) -> Page[OrderView]:
        ids = repo.order_page(
            email=query.email,
            status=query.status,
            channel=query.channel,
            created_from=query.created_from,
            created_to=query.created_to,
            after=(str(after[0]), str(after[1])) if after else None,
            limit=limit + 1,
        )
        views = [order_view(repo, i) for i in ids[:limit]]
        nxt = None
        if len(ids) > limit:
            last = views[-1]
            nxt = encode_cursor([last.created_at.isoformat(), last.order_id])
        return Page[OrderView](items=views, next_cursor=nxt)

    return db.read(work)


def timeline(db: Database, order_id: str, limit: int, cursor: str | None) -> Page[EventView]:
    limit = max(1, min(limit, MAX_LIMIT))
    after = decode_cursor(cursor, int)

    def work(repo: LifecycleRepo) -> Page[EventView]:
        load_order(repo, order_id)
        rows = repo.events(order_id, int(after[0]) if after else 0, limit + 1)
        items = [EventView.model_validate(_event(r)) for r in rows[:limit]]
        nxt = encode_cursor([items[-1].event_id]) if len(rows) > limit else None
        return Page[EventView](items=items, next_cursor=nxt)

    return db.read(work)


def _event(row: dict[str, Any]) -> dict[str, Any]:
    import json

    details = row["details"]
    return {**row, "details": json.loads(details) if isinstance(details, str) else details}


def changed_view(repo: LifecycleRepo, order_id: str) -> OrderView:
    """The view of the one order this write changed, which the read model takes at
    commit (the other orders' documents stay); its stock changes are noted as they
    are made, and the demand left unheld of the SKUs it touched is read again."""
    view = order_view(repo, order_id)
    repo.order_docs = {order_id: OrderDoc(view.model_dump_json().encode(), view.version)}
    repo.unheld_unknown.update(line.sku for line in view.lines)
    return view


def etag(version: int) -> str:
    return f'"{version}"'


def _check_if_match(order: OrderRecord, if_match: str | None, required: bool) -> None:
    if if_match is None:
        if required:
            raise PreconditionRequired(
                "changing an order needs If-Match with its ETag (GET the order first)"
            )
        return
    wanted = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" not in wanted and etag(order["version"]) not in wanted:
        raise PreconditionFailed(
            f"order {order['order_id']} is at version {order['version']} "
            f"(ETag {etag(order['version'])}); If-Match was {if_match}"
        )


def _resource(
    repo: LifecycleRepo, order: OrderRecord, actor: Actor, event_details: dict[str, Any]
) -> str:
    """Re-reserve an open order's demand after a change; returns the new status."""
    release_reservations(repo, order["order_id"])
    needs = [Need(r["line_no"], r["sku"], r["qty"]) for r in repo.open_lines(order["order_id"])]
    if not needs:
        # Nothing left to source: cancelled, unless units are already at the nodes.
        at_nodes = order_status_from_work(repo.work_statuses(order["order_id"]))
        return S.CANCELLED.value if at_nodes is None else at_nodes.value
    holds = reserve_open_demand(repo, order, needs)
    event_details["resourced"] = holds is not None
    return S.VALIDATED.value if holds is not None else S.BACKORDERED.value


def change(
    db: Database, order_id: str, cmd: ChangeOrder, actor: Actor, if_match: str | None
) -> OrderView:
    """Customer service changes an open order; it is then re-reserved (re-sourced)."""
    if not cmd.model_fields_set - {"reason"}:
        raise InvalidInput([FieldError("body", "nothing to change")])

    def work(repo: LifecycleRepo) -> OrderView:
        order = load_order(repo, order_id)
        _check_if_match(order, if_match, required=True)
        require(Command.CHANGE, order["status"], f"order {order_id}")
        _replacement_fixed(repo, order_id, whole=False)
        states = {s["line_no"]: s for s in repo.line_states(order_id)}
        new_qty, items = _checked_change(repo, order, states, cmd)
        diff = _change_lines(repo, order_id, states, new_qty, cmd, items)
        header = _change_header(repo, order, cmd, diff)
        status = _resource(repo, order, actor, diff)
        target = status
        if order["status"] == S.ON_HOLD and status != S.CANCELLED:
            header["hold_from"] = status
            target = S.ON_HOLD.value
        repo.bump_version(order_id, **header)
        move(repo, order_id, order["status"], target, actor, "changed", diff)
        return changed_view(repo, order_id)

    return db.write(work)


def _checked_change(
    repo: LifecycleRepo,
    order: OrderRecord,
    states: dict[int, LineState],
    cmd: ChangeOrder,
) -> tuple[dict[int, int], dict[str, dict[str, Any]]]:
    """(new quantity per changed line, the added lines' items), or every error at once."""
    errors: list[FieldError] = []
    new_qty: dict[int, int] = {}
    for i, lc in enumerate(cmd.lines or []):
        s = states.get(lc.line_no)
        if s is None:
            errors.append(FieldError(f"lines.{i}.line_no", f"order has no line {lc.line_no}"))
        elif s["released_qty"] > 0:
            raise Conflict(
                f"line {lc.line_no} of order {order['order_id']} is already released to a node; "
                "it cannot be changed"
            )
        else:
            new_qty[lc.line_no] = lc.qty
    items = repo.items(ln.sku for ln in cmd.add_lines or [])
    for i, ln in enumerate(cmd.add_lines or []):
        if ln.sku not in items:
            errors.append(FieldError(f"add_lines.{i}.sku", f"unknown SKU {ln.sku!r}"))
    pickup = Service(order["service"]) is Service.PICKUP
    if cmd.service is not None and (cmd.service is Service.PICKUP) != pickup:
        errors.append(
            FieldError("service", "cannot switch between pickup and delivery; cancel instead")
        )
    if cmd.ship_to is not None:
        if pickup:
            errors.append(FieldError("ship_to", "pickup orders have no ship-to address"))
        else:
            errors.extend(_address_errors(cmd.ship_to, "ship_to"))
    if errors:
        raise InvalidInput(errors, "the change is not valid")
    return new_qty, items


def _change_lines(
    repo: LifecycleRepo,
    order_id: str,
    states: dict[int, LineState],
    new_qty: dict[int, int],
    cmd: ChangeOrder,
    items: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """New quantities and added lines written; what changed, for the event."""
    diff: dict[str, Any] = {}
    for line_no, qty in new_qty.items():
        s = states[line_no]
        active = s["ordered_qty"] - s["cancelled_qty"]
        if qty == active:
            continue
        diff[f"line {line_no} qty"] = [active, qty]
        if qty == 0:
            repo.update_line_state(order_id, line_no, cancelled_qty=active)
        else:
            repo.update_line_state(order_id, line_no, ordered_qty=qty - active)
        repo.set_open_qty(order_id, line_no, s["sku"], qty)
    next_no = max(states, default=0) + 1
    added = [
        (next_no + i, ln.sku, ln.qty, Decimal(str(items[ln.sku]["price"])))
        for i, ln in enumerate(cmd.add_lines or [])
    ]
    if added:
        repo.insert_lines(order_id, added)
        diff["added lines"] = [[no, sku, qty] for no, sku, qty, _ in added]
    return diff


def _change_header(
    repo: LifecycleRepo, order: OrderRecord, cmd: ChangeOrder, diff: dict[str, Any]
) -> dict[str, Any]:
    """Address, service and due days written (``order`` and ``diff`` follow); the
    header columns still to set with the version bump."""
    order_id, service = order["order_id"], Service(order["service"])
    header: dict[str, Any] = {}
    if cmd.ship_to is not None:
        a = cmd.ship_to
        repo.update_order(order_id, ship_zip=a.zip)
        header.update(
            ship_name=a.name, ship_line1=a.line1, ship_city=a.city, ship_state=a.state.upper()
        )
        diff["ship_to"] = a.model_dump()
        order["ship_zip"] = a.zip
    if cmd.service is not None and cmd.service is not service:
        repo.update_order(order_id, service=cmd.service.value)
        diff["service"] = [service.value, cmd.service.value]
        order["service"] = cmd.service.value
    if cmd.due_days is not None:
        repo.update_order(order_id, due_days=cmd.due_days)
        diff["due_days"] = [order["due_days"], cmd.due_days]
    if cmd.reason:
        diff["reason"] = cmd.reason
    return header


def cancel(
    db: Database, order_id: str, cmd: CancelOrder, actor: Actor, if_match: str | None = None
) -> OrderView:
    """Cancel a whole open order, or some units of its lines; stock is released."""

    def work(repo: LifecycleRepo) -> OrderView:
        order = load_order(repo, order_id)
        _check_if_match(order, if_match, required=False)
        states = {s["line_no"]: s for s in repo.line_states(order_id)}
        details: dict[str, Any] = {"reason": cmd.reason}
        _replacement_fixed(repo, order_id, whole=cmd.lines is None)
        if cmd.lines is None:
            require(Command.CANCEL, order["status"], f"order {order_id}")
            if any(s["released_qty"] > 0 for s in states.values()):
                raise Conflict(
                    f"order {order_id} has units released to nodes; cancel them at the node "
                    "(reject the work item) or return them"
                )
            release_reservations(repo, order_id)
            for no, s in states.items():
                left = s["ordered_qty"] - s["cancelled_qty"]
                if left:
                    repo.update_line_state(order_id, no, cancelled_qty=left)
                repo.set_open_qty(order_id, no, s["sku"], 0)
            repo.bump_version(order_id)
            move(repo, order_id, order["status"], S.CANCELLED, actor, "cancelled", details)
            return changed_view(repo, order_id)
        require(Command.CANCEL_LINE, order["status"], f"order {order_id}")
        open_qty = {r["line_no"]: r["qty"] for r in repo.open_lines(order_id)}
        errors = []
        for i, lc in enumerate(cmd.lines):
            if lc.line_no not in states:
                errors.append(FieldError(f"lines.{i}.line_no", f"order has no line {lc.line_no}"))
            elif not 1 <= lc.qty <= open_qty.get(lc.line_no, 0):
                errors.append(
                    FieldError(
                        f"lines.{i}.qty",
                        f"line {lc.line_no} has {open_qty.get(lc.line_no, 0)} open unit(s)",
                    )
                )
        if errors:
            raise InvalidInput(errors, "the cancellation is not valid")
        for lc in cmd.lines:
            open_qty[lc.line_no] -= lc.qty
            repo.update_line_state(order_id, lc.line_no, cancelled_qty=lc.qty)
            repo.set_open_qty(order_id, lc.line_no, states[lc.line_no]["sku"], open_qty[lc.line_no])
        details["lines"] = [[lc.line_no, lc.qty] for lc in cmd.lines]
        status = _resource(repo, order, actor, details)
        target = status
        if order["status"] == S.ON_HOLD and status != S.CANCELLED:
            target = S.ON_HOLD.value
            repo.bump_version(order_id, hold_from=status)
        else:
            repo.bump_version(order_id)
        move(repo, order_id, order["status"], target, actor, "lines_cancelled", details)
        return changed_view(repo, order_id)

    return db.write(work)


def _replacement_fixed(repo: LifecycleRepo, order_id: str, whole: bool) -> None:
    """An exchange's replacement holds what was exchanged, settled by the exchange: it
    is not changed line by line. Cancelled whole before its return is received, it
    voids the exchange (the returned units are then refunded); once the return is in
    and the exchange settled, it ships, and is returned like any order."""
    ex = repo.exchange_replacing(order_id)
    if ex is None:
        return
    settled = (repo.return_row(ex["return_id"]) or {}).get("status") == "received"
    if whole and not settled:
        return
    if settled:
        raise Conflict(
            f"order {order_id} replaces exchange {ex['exchange_id']}, settled when return "
            f"{ex['return_id']} was received: it is not changed or cancelled; return it instead"
        )
    raise Conflict(
        f"order {order_id} replaces exchange {ex['exchange_id']}: its lines are the exchange's; "
        "cancel the whole order to void the exchange"
    )


def hold(db: Database, order_id: str, reason: str | None, actor: Actor) -> OrderView:
    def work(repo: LifecycleRepo) -> OrderView:
        order = load_order(repo, order_id)
        require(Command.HOLD, order["status"], f"order {order_id}")
        repo.bump_version(order_id, hold_from=order["status"])
        move(repo, order_id, order["status"], S.ON_HOLD, actor, "held", {"reason": reason})
        return changed_view(repo, order_id)

    return db.write(work)


def unhold(db: Database, order_id: str, actor: Actor) -> OrderView:
    def work(repo: LifecycleRepo) -> OrderView:
        order = load_order(repo, order_id)
        require(Command.UNHOLD, order["status"], f"order {order_id}")
        back = order["hold_from"] or S.CREATED.value
        repo.bump_version(order_id, hold_from=None)
        move(repo, order_id, order["status"], back, actor, "hold_released")
        return changed_view(repo, order_id)

    return db.write(work)
