"""Baselines on cases small enough to check by hand."""

from datetime import date

import pandas as pd

from data.batch_io import batch_from_frames
from models import COLUMNS
from planner.baselines.greedy import plan_greedy, plan_nearest
from planner.core.instance import build_instance
from planner.optimize.solver import solve
from tests.costs import plan_total
from tests.tiny import rate_card


def _two_lines_one_sku(stock: int):
    """DC1 (New York) holds ``stock`` units of A; S, ship-complete, orders A twice (2 + 2)."""
    frames = {
        "nodes": pd.DataFrame(
            [("DC1", "dc", "10001", True, False, 100, 0.5, 1.0, 1)], columns=list(COLUMNS["nodes"])
        ),
        "items": pd.DataFrame([("A", 1.0, 10.0)], columns=list(COLUMNS["items"])),
        "inventory": pd.DataFrame([("DC1", "A", stock, 0, 0)], columns=list(COLUMNS["inventory"])),
        "orders": pd.DataFrame(
            [("S", "web", "10001", "ground", 5, True, None, "")], columns=list(COLUMNS["orders"])
        ),
        "order_lines": pd.DataFrame(
            [("S", 1, "A", 2), ("S", 2, "A", 2)], columns=list(COLUMNS["order_lines"])
        ),
        "rate_card": rate_card(),
    }
    return build_instance(batch_from_frames(date(2026, 11, 25), None, **frames))


def test_a_ship_complete_order_with_two_lines_of_one_sku_needs_their_sum() -> None:
    for plan in (plan_greedy, plan_nearest):
        short = plan(_two_lines_one_sku(stock=3))
        assert short.allocations.empty  # 2 + 2 > 3: whole or nothing
        enough = plan(_two_lines_one_sku(stock=4))
        assert enough.allocations["qty"].tolist() == [2, 2]


def test_the_optimizer_on_a_batch_without_orders_plans_nothing() -> None:
    inst = _two_lines_one_sku(stock=4)
    frames = {name: getattr(inst.batch, name) for name in COLUMNS}
    frames["orders"] = frames["orders"].iloc[0:0]
    frames["order_lines"] = frames["order_lines"].iloc[0:0]
    empty = build_instance(batch_from_frames(date(2026, 11, 25), None, **frames))
    out = solve(empty, 2.0)
    assert len(out.plan.line) == 0 and plan_total(empty, out.plan) == 0.0
