"""Ship-complete rescue: an unfilled ship-complete order is served by moving a flexible
order's units elsewhere, exactly when that pays, and the plan stays feasible."""

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest

from data.batch_io import batch_from_frames
from models import COLUMNS
from planner.baselines import _plan_sequential
from planner.checker import check_plan
from planner.instance import build_instance
from planner.optimize import plan_total
from planner.primal import Flat
from planner.rescue import rescue
from planner.result import Assignment, allocation_frames
from tests.random_batch import random_batch
from tests.tiny import rate_card

LATER = 1e9  # a deadline that never comes


def _instance(st1_stock: int, flexible_ship_complete: bool = False):
    """DC1 (New York) holds two A, ST1 (Cambridge MA, zone 3 from New York) ``st1_stock``.
    F wants one A, S two A (ship-complete), both ground to New York, due in 5 days.
    F from DC1: base 2 + 0.5/lb + pack 1 + pick 0.5 = 4; from ST1: 3 + 0.5 + 2 + 1 = 6.5.
    S from DC1: 2 + 0.5 * 2 + 1 + 0.5 * 2 = 5; S unfilled: 2 * (100 + 10) = 220."""
    frames = {
        "nodes": pd.DataFrame(
            [
                ("DC1", "dc", "10001", True, False, 100, 0.5, 1.0, 1),
                ("ST1", "store", "02139", True, False, 10, 1.0, 2.0, 0),
            ],
            columns=list(COLUMNS["nodes"]),
        ),
        "items": pd.DataFrame([("A", 1.0, 10.0)], columns=list(COLUMNS["items"])),
        "inventory": pd.DataFrame(
            [("DC1", "A", 2, 0, 0), ("ST1", "A", st1_stock, 0, 0)],
            columns=list(COLUMNS["inventory"]),
        ),
        "orders": pd.DataFrame(
            [
                ("F", "web", "10001", "ground", 5, flexible_ship_complete, None, ""),
                ("S", "web", "10001", "ground", 5, True, None, ""),
            ],
            columns=list(COLUMNS["orders"]),
        ),
        "order_lines": pd.DataFrame(
            [("F", 1, "A", 1), ("S", 1, "A", 2)], columns=list(COLUMNS["order_lines"])
        ),
        "rate_card": rate_card(),
    }
    return build_instance(batch_from_frames(date(2026, 11, 25), None, **frames))


def _f_at_dc1(inst) -> Flat:
    f_line = int(np.flatnonzero(inst.order_ids == "F")[0])  # one line per order
    dc1 = int(np.flatnonzero(inst.node_ids == "DC1")[0])
    return Flat(np.array([f_line]), np.array([dc1]), np.array([1]))


def _by_order(inst, plan: Flat) -> dict[str, tuple[str, int]]:
    return {
        str(inst.order_ids[inst.line_order[ln]]): (str(inst.node_ids[nd]), int(q))
        for ln, nd, q in zip(plan.line, plan.node, plan.qty, strict=True)
    }


def test_a_flexible_order_moves_so_the_ship_complete_order_is_served() -> None:
    inst = _instance(st1_stock=1)
    plan = _f_at_dc1(inst)
    assert plan_total(inst, plan) == pytest.approx(4 + 220)
    rescued = rescue(inst, plan, time.perf_counter() + LATER)
    assert _by_order(inst, rescued) == {"F": ("ST1", 1), "S": ("DC1", 2)}
    assert plan_total(inst, rescued) == pytest.approx(6.5 + 5)


def test_nothing_moves_when_the_units_have_nowhere_to_go() -> None:
    inst = _instance(st1_stock=0)  # F can go nowhere else
    plan = _f_at_dc1(inst)
    rescued = rescue(inst, plan, time.perf_counter() + LATER)
    # Leaving F unfilled (110) to serve S (5) costs 115 < 224: that is the cheaper plan.
    assert _by_order(inst, rescued) == {"S": ("DC1", 2)}
    assert plan_total(inst, rescued) == pytest.approx(110 + 5)


def test_ship_complete_holders_are_not_split() -> None:
    inst = _instance(st1_stock=1, flexible_ship_complete=True)
    plan = _f_at_dc1(inst)
    rescued = rescue(inst, plan, time.perf_counter() + LATER)
    assert _by_order(inst, rescued) == {"F": ("DC1", 1)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rescue_keeps_the_plan_feasible_and_makes_it_cheaper(seed: int) -> None:
    # The nearest-node plan on half the stock leaves ship-complete orders that a
    # move can serve in each of these batches.
    inst = build_instance(random_batch(120, 8, 20, seed=seed, supply=0.5))
    a = _plan_sequential(inst, by_distance=True)
    plan = Flat(a.line, a.node, a.qty)
    rescued = rescue(inst, plan, time.perf_counter() + LATER)
    alloc, unfilled = allocation_frames(inst, Assignment(rescued.line, rescued.node, rescued.qty))
    assert check_plan(inst.batch, alloc, unfilled) == []
    assert plan_total(inst, rescued) < plan_total(inst, plan) - 1
