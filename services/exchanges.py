"""Exchanges: a returned line becomes a replacement, shipped as a linked order.

Customer service (or a store, at the counter) exchanges units of a return for the
same or another SKU. The replacement is a new order for the same customer and address,
sourced like any other; it is reserved at once (``advance``) or when the return is
received (``on_receipt``: the order waits on hold until then). Both orders' timelines
name the other.

Money moves net: the exchanged units are not refunded when the return is received and
the replacement is never invoiced; instead, when the return is received, one settlement
document charges (dearer replacement) or refunds (cheaper) the price difference plus
its tax, and an even exchange moves no money (``models.commerce.exchange_settlement``).
"""

from decimal import Decimal
from typing import Any

from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo, now
from models.api import Actor, Address, CaptureOrder, Customer, LineIn
from models.commerce import ZERO, exchange_settlement, money
from models.enums import Channel, Service
from models.exchanges import ExchangeRequest, ExchangeView
from models.lifecycle import OrderStatus
from models.lifecycle_errors import Conflict, FieldError, InvalidInput, NotFound
from models.orders import OrderRecord
from models.reservation import Need
from services.common import load_order, move, new_id, order_quote, reserve_open_demand
from services.orders import create_order, order_row

S = OrderStatus


def create_exchange(
    db: Database, return_id: str, req: ExchangeRequest, actor: Actor
) -> ExchangeView:
    """Validate against the return, create the linked order, record both sides."""

    def work(repo: LifecycleRepo) -> ExchangeView:
        ret = repo.return_row(return_id)
        if ret is None:
            raise NotFound(f"no return {return_id!r}")
        if ret["status"] != "authorized":
            raise Conflict(
                f"return {return_id} was received and refunded; a replacement is a new order"
            )
        order = load_order(repo, ret["order_id"])
        returned = {ln["line_no"]: ln for ln in repo.return_lines(return_id)}
        done = repo.exchanged_qty(return_id)
        price = {
            s["line_no"]: Decimal(s["unit_price"]) for s in repo.line_states(order["order_id"])
        }
        wanted = [
            ln.sku or returned[ln.line_no]["sku"] for ln in req.lines if ln.line_no in returned
        ]
        items = repo.items(wanted)
        errors = _check(req, returned, done, items)
        if errors:
            raise InvalidInput(errors, "the exchange is not valid")
        # The replacement's lines follow the returned lines' order (see replacement_paid).
        lines = sorted(
            (ln.line_no, ln.sku or returned[ln.line_no]["sku"], ln.qty) for ln in req.lines
        )
        difference = sum(
            (Decimal(str(items[sku]["price"])) - price[no]) * qty for no, sku, qty in lines
        )
        cmd = _replacement(order, lines)
        digital = {s for s, it in items.items() if it.get("digital")}
        row = order_row(cmd, new_id("ord"))
        exchange_id = new_id("exc")
        # Recorded first, so the replacement is known as settled (never invoiced) from
        # its capture on, digital lines included.
        repo.add_exchange(
            exchange_id, return_id, order["order_id"], row["order_id"], req.reserve,
            money(difference), lines,
        )  # fmt: skip
        view = create_order(
            repo,
            cmd,
            {**row, "created_at": now()},
            _priced(lines, items),
            actor,
            digital,
            reserve=req.reserve == "advance",
        )
        if req.reserve == "on_receipt" and view.status != S.DELIVERED:
            repo.bump_version(view.order_id, hold_from=view.status)
            move(repo, view.order_id, view.status, S.ON_HOLD, actor, "held",
                 {"reason": f"exchange: waits for return {return_id}"})  # fmt: skip
        link = {
            "exchange_id": exchange_id, "return_id": return_id, "reserve": req.reserve,
            "price_difference": str(money(difference)),
            "settle": "invoice" if difference > 0 else "refund" if difference < 0 else "none",
        }  # fmt: skip
        repo.bump_version(order["order_id"])
        repo.add_event(order["order_id"], "exchange_created", actor.name, actor.channel,
                       order["status"], order["status"], {**link, "new_order_id": view.order_id,
                       "lines": [[no, sku, q] for no, sku, q in lines]})  # fmt: skip
        status = repo.order_row(view.order_id)["status"]  # type: ignore[index]
        repo.add_event(view.order_id, "exchange_of", actor.name, actor.channel, status, status,
                       {**link, "original_order_id": order["order_id"]})  # fmt: skip
        return ExchangeView(
            exchange_id=exchange_id, return_id=return_id, order_id=order["order_id"],
            new_order_id=view.order_id, reserve=req.reserve,
            price_difference=money(difference), new_order_status=status,
        )  # fmt: skip

    return db.write(work)


def _check(
    req: ExchangeRequest,
    returned: dict[int, dict[str, Any]],
    done: dict[int, int],
    items: dict[str, dict[str, Any]],
) -> list[FieldError]:
    """Each line names a returned line, asks at most what is left of it, a known SKU."""
    errors: list[FieldError] = []
    asked: dict[int, int] = {}
    for i, ln in enumerate(req.lines):
        got = returned.get(ln.line_no)
        if got is None:
            errors.append(FieldError(f"lines.{i}.line_no", f"return has no line {ln.line_no}"))
            continue
        asked[ln.line_no] = asked.get(ln.line_no, 0) + ln.qty
        left = got["qty"] - done.get(ln.line_no, 0)
        if asked[ln.line_no] > left:
            errors.append(
                FieldError(
                    f"lines.{i}.qty",
                    f"line {ln.line_no} has {left} returned unit(s) left to exchange",
                )
            )
        sku = ln.sku or got["sku"]
        if sku not in items:
            errors.append(FieldError(f"lines.{i}.sku", f"unknown sku {sku!r}"))
    return errors


def _replacement(order: OrderRecord, lines: list[tuple[int, str, int]]) -> CaptureOrder:
    """The linked order: the original's customer, address, channel and service."""
    ship_to = None
    if order["ship_zip"]:
        ship_to = Address(
            name=order["ship_name"], line1=order["ship_line1"] or "-",
            city=order["ship_city"] or "-", state=order["ship_state"] or "NA",
            zip=order["ship_zip"],
        )  # fmt: skip
    return CaptureOrder(
        channel=Channel(order["channel"]),
        customer=Customer(
            email=order["customer_email"] or "unknown@example.com",
            name=order["customer_name"],
            phone=order["phone"],
        ),
        ship_to=ship_to,
        service=Service(order["service"]),
        pickup_node_id=order["pickup_node_id"],
        lines=[LineIn(sku=sku, qty=qty) for _, sku, qty in lines],
        allow_backorder=True,
    )


def _priced(
    lines: list[tuple[int, str, int]], items: dict[str, dict[str, Any]]
) -> list[tuple[int, str, int, Decimal]]:
    """The linked order's lines, numbered from 1, at the replacement's price."""
    return [
        (i + 1, sku, qty, Decimal(str(items[sku]["price"])))
        for i, (_, sku, qty) in enumerate(lines)
    ]


def on_return_received(repo: LifecycleRepo, return_id: str, actor: Actor) -> None:
    """The return is in: settle each exchange, reserve the replacements that waited."""
    for ex in repo.exchanges_of_return(return_id):
        _settle(repo, ex, actor)
        if ex["reserve"] != "on_receipt":
            continue
        order = load_order(repo, ex["new_order_id"])
        if order["status"] != S.ON_HOLD:
            continue
        needs = [Need(r["line_no"], r["sku"], r["qty"]) for r in repo.open_lines(order["order_id"])]
        holds = reserve_open_demand(repo, order, needs)
        target = S.VALIDATED if holds is not None else S.BACKORDERED
        repo.bump_version(order["order_id"], hold_from=None)
        details = {"return_id": return_id, "exchange_id": ex["exchange_id"],
                   "holds": [[h.line_no, h.node_id, h.qty] for h in holds or []]}  # fmt: skip
        move(repo, order["order_id"], order["status"], target, actor, "exchange_reserved", details)


def _settle(repo: LifecycleRepo, ex: dict[str, Any], actor: Actor) -> None:
    """Issue the exchange's one net document (none when even); both timelines show it."""
    original = load_order(repo, ex["order_id"])
    rate = order_quote(repo, original, repo.line_states(original["order_id"])).tax_rate
    due = exchange_settlement(Decimal(ex["price_difference"]), rate)
    details: dict[str, Any] = {
        "exchange_id": ex["exchange_id"], "settle": due.kind or "none",
        "difference": str(due.difference), "tax": str(due.tax), "amount": str(abs(due.total)),
        "settlement_id": None,
    }  # fmt: skip
    if due.kind is not None:
        details["settlement_id"] = new_id("stl")
        repo.add_settlement(
            {**details, "order_id": ex["order_id"], "new_order_id": ex["new_order_id"],
             "kind": due.kind, "difference": due.difference, "tax": due.tax,
             "amount": abs(due.total)}
        )  # fmt: skip
    for order_id in (ex["order_id"], ex["new_order_id"]):
        status = repo.order_row(order_id)["status"]  # type: ignore[index]
        repo.bump_version(order_id)
        repo.add_event(order_id, "exchange_settled", actor.name, actor.channel, status, status,
                       details)  # fmt: skip


def replacement_paid(
    repo: LifecycleRepo, ex: dict[str, Any]
) -> dict[int, tuple[int, Decimal, Decimal]]:
    """What the customer paid for each line of a replacement, as an invoice would say
    it (units, net, tax): the returned units' share of their own invoice, plus the
    line's share of the settlement (its price difference and that difference's tax).
    The replacement was never invoiced, so its returns refund this."""
    original = load_order(repo, ex["order_id"])
    rate = order_quote(repo, original, repo.line_states(original["order_id"])).tax_rate
    billed = repo.invoiced(original["order_id"])
    paid: dict[int, tuple[int, Decimal, Decimal]] = {}
    lines = repo.replacement_lines(ex["exchange_id"])
    for new_no, (line_no, qty, was, now_price) in enumerate(lines, 1):
        n, net, tax = billed.get(line_no, (0, ZERO, ZERO))
        share = Decimal(qty) / Decimal(n) if n else Decimal(0)
        due = exchange_settlement((now_price - was) * qty, rate)
        paid[new_no] = (qty, money(net * share) + due.difference, money(tax * share) + due.tax)
    return paid
