"""The pure domain rules of the order lifecycle: no database, no HTTP."""

from datetime import date
from decimal import Decimal

import pytest

from models.commerce import (
    Promotion,
    PromotionKind,
    invoice_for,
    money,
    promotion_discount,
    promotion_problem,
    quote,
    refund_amount,
)
from models.enums import Service
from models.lifecycle import (
    Command,
    OrderStatus,
    WorkAction,
    WorkItemStatus,
    check_transition,
    order_status_from_work,
    require,
    work_item_next,
)
from models.lifecycle_errors import IllegalTransition
from models.reservation import Need, choose_reservation, sorted_holds

S = OrderStatus


def test_commands_allowed_only_from_their_states() -> None:
    require(Command.CANCEL, S.VALIDATED)
    require(Command.RELEASE, S.SOURCED)
    with pytest.raises(IllegalTransition) as exc:
        require(Command.CANCEL, S.SHIPPED)
    assert exc.value.current == "shipped"
    assert "shipped" in str(exc.value)
    with pytest.raises(IllegalTransition):
        require(Command.CHANGE, S.RELEASED)
    with pytest.raises(IllegalTransition):
        require(Command.RETURN, S.SOURCED)


def test_transition_graph() -> None:
    check_transition(S.CREATED, S.VALIDATED)
    check_transition(S.SOURCED, S.RELEASED)
    check_transition(S.PACKED, S.SHIPPED)
    check_transition(S.DELIVERED, S.RETURNED)
    for bad in [(S.CANCELLED, S.VALIDATED), (S.CREATED, S.SHIPPED), (S.RETURNED, S.SHIPPED)]:
        with pytest.raises(IllegalTransition) as exc:
            check_transition(*bad)
        assert exc.value.current == bad[0].value


def test_work_item_flows() -> None:
    W = WorkItemStatus
    assert work_item_next(WorkAction.PICK, W.RELEASED, "ship", "wi") is W.PICKED
    assert work_item_next(WorkAction.SHIP, W.PACKED, "ship", "wi") is W.SHIPPED
    assert work_item_next(WorkAction.READY, W.PICKED, "pickup", "wi") is W.READY_FOR_PICKUP
    with pytest.raises(IllegalTransition):
        work_item_next(WorkAction.SHIP, W.RELEASED, "ship", "wi")
    with pytest.raises(IllegalTransition):
        work_item_next(WorkAction.SHIP, W.PICKED, "pickup", "wi")  # pickups do not ship
    with pytest.raises(IllegalTransition):
        work_item_next(WorkAction.REJECT, W.SHIPPED, "ship", "wi")
    assert order_status_from_work([W.SHIPPED, W.PICKED, W.REJECTED]) is S.PICKED
    assert order_status_from_work([W.DELIVERED, W.DELIVERED]) is S.DELIVERED
    assert order_status_from_work([W.REJECTED]) is None


def test_reservation_prefers_one_node_then_nearest() -> None:
    needs = [Need(1, "A", 2), Need(2, "B", 1)]
    avail = {("N1", "A"): 2, ("N2", "A"): 5, ("N2", "B"): 1, ("N1", "B"): 0}
    holds = choose_reservation(needs, ["N1", "N2"], avail)
    assert holds is not None and {h.node_id for h in holds} == {"N2"}
    # No single node: split, nearest first.
    avail = {("N1", "A"): 1, ("N2", "A"): 5, ("N1", "B"): 1}
    holds = choose_reservation(needs, ["N1", "N2"], avail)
    assert holds is not None
    assert sorted_holds(holds) == [("N1", "A", 1), ("N1", "B", 1), ("N2", "A", 1)]
    assert choose_reservation(needs, ["N1", "N2"], avail, ship_complete=True) is None
    assert choose_reservation(needs, ["N1", "N2"], avail, max_packages=1) is None
    # Not enough anywhere: nothing at all.
    assert choose_reservation([Need(1, "A", 9)], ["N1", "N2"], avail) is None


def test_reservation_same_sku_on_two_lines_shares_stock() -> None:
    needs = [Need(1, "A", 2), Need(2, "A", 2)]
    assert choose_reservation(needs, ["N1"], {("N1", "A"): 3}) is None
    holds = choose_reservation(needs, ["N1", "N2"], {("N1", "A"): 3, ("N2", "A"): 1})
    assert holds is not None and sum(h.qty for h in holds) == 4


def test_promotions() -> None:
    p = Promotion(
        code="TENOFF",
        kind=PromotionKind.PERCENT,
        value=Decimal(10),
        min_spend=Decimal(20),
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        usage_limit=2,
        used_count=1,
    )
    today = date(2026, 6, 1)
    assert promotion_problem(p, Decimal(30), today) is None
    assert "minimum spend" in (promotion_problem(p, Decimal(10), today) or "")
    assert "ended" in (promotion_problem(p, Decimal(30), date(2027, 1, 1)) or "")
    assert "starts" in (promotion_problem(p, Decimal(30), date(2025, 1, 1)) or "")
    used = p.model_copy(update={"used_count": 2})
    assert "used up" in (promotion_problem(used, Decimal(30), today) or "")
    assert promotion_discount(p, Decimal("33.33")) == Decimal("3.33")
    amount = Promotion(code="FIVE", kind=PromotionKind.AMOUNT, value=Decimal(5))
    assert promotion_discount(amount, Decimal("3.00")) == Decimal("3.00")
    with pytest.raises(ValueError):
        Promotion(code="BAD", kind=PromotionKind.PERCENT, value=Decimal(150))


def test_quote_invoice_refund_agree_to_the_cent() -> None:
    promo = Promotion(code="TEN", kind=PromotionKind.AMOUNT, value=Decimal(10))
    lines = [(1, "A", 3, Decimal("9.99")), (2, "B", 1, Decimal("20.00"))]
    q = quote(lines, Service.GROUND, "CA", promo)
    assert q.subtotal == Decimal("49.97")
    assert q.discount == Decimal("10.00")
    assert sum(p.discount for p in q.lines) == q.discount
    assert q.shipping == Decimal("5.99")  # 39.97 of merchandise: not free
    assert q.total == q.subtotal - q.discount + q.shipping + q.tax
    # Two shipments: line 1 split 2 + 1, line 2 with the first.
    first = invoice_for(q, {1: 2, 2: 1}, include_shipping=True)
    second = invoice_for(q, {1: 1}, include_shipping=False)
    assert first.shipping == q.shipping and second.shipping == 0
    assert abs(first.total + second.total - q.total) <= Decimal("0.02")
    line = first.lines[0]
    whole = refund_amount(line.qty, line.net, line.tax, line.qty)
    assert whole == line.net + line.tax
    one = refund_amount(line.qty, line.net, line.tax, 1)
    assert one == money(line.net / 2) + money(line.tax / 2)
    assert refund_amount(line.qty, line.net, line.tax, 0) == 0


def test_free_ground_shipping_and_pickup() -> None:
    q = quote([(1, "A", 1, Decimal("60"))], Service.GROUND, "OR")
    assert q.shipping == 0 and q.tax == 0 and q.total == Decimal("60.00")
    p = quote([(1, "A", 1, Decimal("10"))], Service.PICKUP, "TX")
    assert p.shipping == 0 and p.tax == Decimal("0.63")
