"""Rescue: an order is served whole from one node by moving a flexible order's units
elsewhere, exactly when that pays, and the plan stays feasible."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from data.batch_io import batch_from_frames
from models import COLUMNS
from planner.baselines.greedy import _plan_sequential
from planner.core.checker import check_plan
from planner.core.instance import build_instance
from planner.core.plan import Plan
from planner.core.result import allocation_frames
from planner.optimize.candidates import build_groups
from planner.optimize.plan.rescue import rescue
from planner.optimize.settings import Settings
from planner.optimize.start import initial_columns
from tests.clock import later
from tests.costs import plan_total
from tests.random_batch import random_batch
from tests.tiny import rate_card

LATER = 1e9  # a deadline that never comes


def _batch(stock: dict[str, int], orders: list[tuple[str, str, bool, int]]):
    """DC1 (New York 10001: pack 1, pick 0.5, processing 1) and ST1 (Cambridge MA
    02139, zone 3 from New York: pack 2, pick 1, processing 0) hold ``stock`` units
    of A (1 lb, $10). Orders (id, ship ZIP, ship-complete, units of A), ground, due
    in 5 days: nothing is late."""
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
            [(node, "A", units, 0, 0) for node, units in stock.items()],
            columns=list(COLUMNS["inventory"]),
        ),
        "orders": pd.DataFrame(
            [(o, "web", zip_, "ground", 5, sc, None, "") for o, zip_, sc, _ in orders],
            columns=list(COLUMNS["orders"]),
        ),
        "order_lines": pd.DataFrame(
            [(o, 1, "A", units) for o, _, _, units in orders], columns=list(COLUMNS["order_lines"])
        ),
        "rate_card": rate_card(),
    }
    return build_instance(batch_from_frames(date(2026, 11, 25), None, **frames))


def _instance(st1_stock: int, flexible_ship_complete: bool = False):
    """F wants one A, S two A (ship-complete), both to New York; DC1 holds two A.
    F from DC1: base 2 + 0.5/lb + pack 1 + pick 0.5 = 4; from ST1: 3 + 0.5 + 2 + 1 = 6.5.
    S from DC1: 2 + 0.5 * 2 + 1 + 0.5 * 2 = 5; S unfilled: 2 * (100 + 10) = 220."""
    return _batch(
        {"DC1": 2, "ST1": st1_stock},
        [("F", "10001", flexible_ship_complete, 1), ("S", "10001", True, 2)],
    )


def _free_value(inst) -> np.ndarray:
    """What each order costs with the network to itself."""
    return initial_columns(inst, build_groups(inst, inst.n_nodes), Settings())[1]


def _plan(inst, at: dict[str, str]) -> Plan:
    """Each order in ``at`` wholly from the node named (one line per order)."""
    line = [int(np.flatnonzero(inst.order_ids == o)[0]) for o in at]
    node = [int(np.flatnonzero(inst.node_ids == n)[0]) for n in at.values()]
    return Plan(np.array(line), np.array(node), inst.line_qty[line])


def _f_at_dc1(inst) -> Plan:
    return _plan(inst, {"F": "DC1"})


def _by_order(inst, plan: Plan) -> dict[str, tuple[str, int]]:
    return {
        str(inst.order_ids[inst.line_order[ln]]): (str(inst.node_ids[nd]), int(q))
        for ln, nd, q in zip(plan.line, plan.node, plan.qty, strict=True)
    }


def test_a_flexible_order_moves_so_the_ship_complete_order_is_served() -> None:
    inst = _instance(st1_stock=1)
    plan = _f_at_dc1(inst)
    assert plan_total(inst, plan) == pytest.approx(4 + 220)
    rescued = rescue(inst, plan, _free_value(inst), later(LATER))
    assert _by_order(inst, rescued) == {"F": ("ST1", 1), "S": ("DC1", 2)}
    assert plan_total(inst, rescued) == pytest.approx(6.5 + 5)


def test_nothing_moves_when_the_units_have_nowhere_to_go() -> None:
    inst = _instance(st1_stock=0)  # F can go nowhere else
    plan = _f_at_dc1(inst)
    rescued = rescue(inst, plan, _free_value(inst), later(LATER))
    # Leaving F unfilled (110) to serve S (5) costs 115 < 224: that is the cheaper plan.
    assert _by_order(inst, rescued) == {"S": ("DC1", 2)}
    assert plan_total(inst, rescued) == pytest.approx(110 + 5)


def test_ship_complete_holders_are_not_split() -> None:
    inst = _instance(st1_stock=1, flexible_ship_complete=True)
    plan = _f_at_dc1(inst)
    rescued = rescue(inst, plan, _free_value(inst), later(LATER))
    assert _by_order(inst, rescued) == {"F": ("DC1", 1)}


def test_an_order_sent_far_gets_its_node_back_when_the_holder_can_move() -> None:
    # G (New York) is served from ST1 (6.5) because H (Cambridge) holds DC1's one unit.
    # H from DC1: zone 3, 3 + 0.5 + 1 + 0.5 = 5; from ST1: zone 2, 2 + 0.5 + 2 + 1 = 5.5.
    # Swapping them saves G 2.5 and costs H 0.5: 11.5 -> 9.5.
    inst = _batch({"DC1": 1, "ST1": 1}, [("G", "10001", False, 1), ("H", "02139", False, 1)])
    plan = _plan(inst, {"G": "ST1", "H": "DC1"})
    assert plan_total(inst, plan) == pytest.approx(6.5 + 5)
    rescued = rescue(inst, plan, _free_value(inst), later(LATER))
    assert _by_order(inst, rescued) == {"G": ("DC1", 1), "H": ("ST1", 1)}
    assert plan_total(inst, rescued) == pytest.approx(4 + 5.5)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rescue_keeps_the_plan_feasible_and_makes_it_cheaper(seed: int) -> None:
    # The nearest-node plan on half the stock leaves ship-complete orders that a
    # move can serve in each of these batches.
    inst = build_instance(random_batch(120, 8, 20, seed=seed, supply=0.5))
    a = _plan_sequential(inst, by_distance=True)
    plan = Plan(a.line, a.node, a.qty)
    rescued = rescue(inst, plan, _free_value(inst), later(LATER))
    alloc, unfilled = allocation_frames(inst, rescued)
    assert check_plan(inst.batch, alloc, unfilled) == []
    assert plan_total(inst, rescued) < plan_total(inst, plan) - 1
