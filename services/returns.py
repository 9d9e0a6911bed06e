"""Returns: authorise units of shipped lines, then receive them at any node.

BORIS (buy online, return in store): the parcel may come back to any store or
DC, whatever node shipped it. Sellable units go back on that node's shelf
(on hand), damaged ones to its damaged bucket; the refund is what the invoice
billed for those units (their net price after the promotion, plus tax). Units
exchanged for a replacement are not refunded: their exchange settles the price
difference in one document (``services.exchanges``).
"""

from decimal import Decimal
from typing import Any

from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from models.api import Actor, ReceiveReturn, ReturnLineView, ReturnRequest, ReturnView, Role
from models.commerce import ZERO, refund_amount
from models.lifecycle import Command, OrderStatus, require
from models.lifecycle_errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from services.common import Idempotency, load_order, move, new_id
from services.exchanges import on_return_received, replacement_paid

S = OrderStatus


def return_view(repo: LifecycleRepo, return_id: str) -> ReturnView:
    row = repo.return_row(return_id)
    if row is None:
        raise NotFound(f"no return {return_id!r}")
    return ReturnView(
        **{k: row[k] for k in ReturnView.model_fields if k in row and k != "lines"},
        lines=[ReturnLineView(**ln) for ln in repo.return_lines(return_id)],
    )


def get_return(db: Database, return_id: str) -> ReturnView:
    return db.read(lambda r: return_view(r, return_id))


def authorize(
    db: Database,
    order_id: str,
    req: ReturnRequest,
    actor: Actor,
    idempotency: Idempotency | None = None,
) -> ReturnView:
    """A return authorisation for some shipped units; nothing moves until received.

    A node key authorises returns only of orders its node shipped or handed
    over: it cannot read other orders, so it cannot vouch for them. BORIS
    stays open: any store receives any authorised return (``receive``).
    """

    def work(repo: LifecycleRepo) -> ReturnView:
        if idempotency and (first := idempotency.replay(repo)):
            return ReturnView.model_validate_json(first)
        order = load_order(repo, order_id)
        if actor.role is Role.NODE and not repo.fulfilled_at(order_id, actor.node_id or ""):
            raise Forbidden(
                f"{actor.node_id} did not fulfil order {order_id}; its return is authorised "
                "by the channel or customer service (any store may then receive it)"
            )
        require(Command.RETURN, order["status"], f"order {order_id}")
        states = {s["line_no"]: s for s in repo.line_states(order_id)}
        pending = repo.authorized_qty(order_id)
        errors: list[FieldError] = []
        asked: dict[int, int] = {}
        for i, lq in enumerate(req.lines):
            s = states.get(lq.line_no)
            if s is None:
                errors.append(FieldError(f"lines.{i}.line_no", f"order has no line {lq.line_no}"))
                continue
            asked[lq.line_no] = asked.get(lq.line_no, 0) + lq.qty
            left = s["shipped_qty"] - s["returned_qty"] - pending.get(lq.line_no, 0)
            if lq.qty < 1 or asked[lq.line_no] > left:
                errors.append(
                    FieldError(f"lines.{i}.qty", f"line {lq.line_no} has {left} returnable unit(s)")
                )
        if errors:
            raise InvalidInput(errors, "the return is not valid")
        return_id = new_id("rma")
        repo.add_return(
            return_id,
            order_id,
            actor.channel,
            [(no, states[no]["sku"], qty) for no, qty in sorted(asked.items())],
        )
        items = repo.items(states[no]["sku"] for no in asked)
        repo.bump_version(order_id)
        repo.add_event(
            order_id,
            "return_authorized",
            actor.name,
            actor.channel,
            order["status"],
            order["status"],
            {
                "return_id": return_id,
                "lines": [[k, v] for k, v in sorted(asked.items())],
                "reason": req.reason,
            },
        )
        if all(items[states[no]["sku"]].get("digital") for no in asked):
            # Nothing to send back: the entitlements are revoked and refunded now.
            _received(repo, return_id, order_id, None, dict.fromkeys(asked, "sellable"), actor)
        view = return_view(repo, return_id)
        if idempotency:
            idempotency.remember(repo, view)
        return view

    return db.write(work)


def _conditions(req: ReceiveReturn, lines: dict[int, dict[str, Any]]) -> dict[int, str]:
    """Each line's condition: as given, else sellable."""
    condition = {ln: "sellable" for ln in lines}
    errors = []
    for i, c in enumerate(req.conditions or []):
        if c.line_no not in lines:
            errors.append(FieldError(f"conditions.{i}.line_no", "not a line of this return"))
        condition[c.line_no] = c.condition
    if errors:
        raise InvalidInput(errors, "the return receipt is not valid")
    return condition


def _take_back(
    repo: LifecycleRepo,
    return_id: str,
    order_id: str,
    node_id: str | None,
    lines: dict[int, dict[str, Any]],
    condition: dict[int, str],
    actor: Actor,
) -> tuple[Decimal, list[list[Any]]]:
    """Restock (or set aside as damaged) each line and grade its refund; the total
    refund and per-line details for the event."""
    replaced = repo.exchange_replacing(order_id)
    invoiced = repo.invoiced(order_id) if replaced is None else replacement_paid(repo, replaced)
    states = {s["line_no"]: s for s in repo.line_states(order_id)}
    exchanged = repo.exchanged_qty(return_id)
    items = repo.items(ln["sku"] for ln in lines.values())
    total = ZERO
    details: list[list[Any]] = []
    for line_no, ln in sorted(lines.items()):
        qty = ln["qty"]
        n, net, tax = invoiced.get(line_no, (0, ZERO, ZERO))
        # Refund at the invoice's per-unit value; earlier refunds of this line count.
        # Exchanged units are settled by their exchange, not refunded.
        earlier = states[line_no]["returned_qty"]
        paid_back = qty - exchanged.get(line_no, 0)
        refund = refund_amount(n, net, tax, earlier + paid_back) - refund_amount(
            n, net, tax, earlier
        )
        repo.grade_return_line(return_id, line_no, condition[line_no], refund)
        repo.update_line_state(order_id, line_no, returned_qty=qty)
        if items[ln["sku"]].get("digital"):
            details.append([line_no, qty, "entitlement revoked", str(refund)])
            total += refund
            continue
        assert node_id is not None, "physical units are received at a node"
        if condition[line_no] == "sellable":
            repo.change_stock(
                node_id,
                ln["sku"],
                on_hand=qty,
                kind="return",
                reference=return_id,
                actor=actor.name,
            )
        else:
            repo.add_damaged(node_id, ln["sku"], qty)
            repo.ledger(node_id, ln["sku"], "return:damaged", 0, 0, 0, return_id, actor.name)
        details.append([line_no, qty, condition[line_no], str(refund)])
        total += refund
    return total, details


def receive(db: Database, return_id: str, req: ReceiveReturn, actor: Actor) -> ReturnView:
    """The units arrive at a node: restock or damage them, refund from the invoice."""
    if actor.role is Role.NODE and req.node_id != actor.node_id:
        raise Forbidden(f"a {actor.node_id} associate receives returns only at {actor.node_id}")

    def work(repo: LifecycleRepo) -> ReturnView:
        row = repo.return_row(return_id)
        if row is None:
            raise NotFound(f"no return {return_id!r}")
        if row["status"] != "authorized":
            raise Conflict(f"return {return_id} is '{row['status']}'; it was already received")
        node = repo.node(req.node_id)
        if node is None:
            raise InvalidInput([FieldError("node_id", f"unknown node {req.node_id!r}")])
        lines = {ln["line_no"]: ln for ln in repo.return_lines(return_id)}
        _received(repo, return_id, row["order_id"], node, _conditions(req, lines), actor)
        return return_view(repo, return_id)

    return db.write(work)


def _received(
    repo: LifecycleRepo,
    return_id: str,
    order_id: str,
    node: dict[str, Any] | None,
    condition: dict[int, str],
    actor: Actor,
) -> None:
    """Take the return's units back (at ``node``; None: digital lines only), refund, log."""
    lines = {ln["line_no"]: ln for ln in repo.return_lines(return_id)}
    node_id = node["node_id"] if node else None
    total, details = _take_back(repo, return_id, order_id, node_id, lines, condition, actor)
    channel = "digital" if node is None else "store" if node["kind"] == "store" else "mail"
    repo.mark_return_received(return_id, node_id, total, channel)
    order = load_order(repo, order_id)
    everything_back = all(
        s["returned_qty"] == s["shipped_qty"] and s["released_qty"] == s["shipped_qty"]
        for s in repo.line_states(order_id)
    ) and not repo.open_lines(order_id)
    target = S.RETURNED if everything_back else order["status"]
    repo.bump_version(order_id)
    move(
        repo,
        order_id,
        order["status"],
        target,
        actor,
        "returned",
        {
            "return_id": return_id,
            "node_id": node_id,
            "node_kind": node["kind"] if node else None,
            "lines": details,
            "refund": str(total),
        },
    )
    on_return_received(repo, return_id, actor)
