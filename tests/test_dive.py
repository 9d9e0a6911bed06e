"""The dive: what it leaves open for the repair when the clock stops it."""

import numpy as np

from planner.core.plan import Plan
from planner.optimize.budget import Budget
from planner.optimize.candidates import build_groups
from planner.optimize.columns import columns_from_plan
from planner.optimize.master import MasterResult
from planner.optimize.plan.dive import DiveOptions, dive
from planner.optimize.settings import Settings
from tests.test_prices import _one_unit_two_takers


class _Clock:
    """Reads 0 when the budget is made and at the first deadline check after the dive's
    first step, 100 after: every later step finds its deadline (50) passed."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return 0.0 if self.calls <= 2 else 100.0


def test_an_order_whose_column_lost_its_stock_stays_open_for_the_repair() -> None:
    # DC1 holds one unit of A; O1 and O2 want one each. The LP splits it 0.6 / 0.4.
    inst = _one_unit_two_takers()
    o1, o2 = (int(np.flatnonzero(inst.order_ids == o)[0]) for o in ("O1", "O2"))
    lines = np.array([inst.order_start[o1], inst.order_start[o2]])
    pool = columns_from_plan(inst, Plan(lines, np.zeros(2, np.int64), np.ones(2, np.int64)))
    z = np.where(pool.order == o1, 0.6, 0.4)
    zeros = np.zeros(inst.avail.shape)
    master = MasterResult("OPTIMAL", True, 0.0, z, zeros, np.zeros(1), np.zeros(3), 0, 0)

    def never(*_: object) -> None:
        raise AssertionError("no LP or pricing fits before the deadline")

    deadline = Budget(60.0, Settings(), small=True, clock=_Clock()).until(50.0)
    plan, open_orders = dive(
        inst, build_groups(inst, inst.n_nodes), pool, master, inst.order_unfilled_cost, never,
        deadline, DiveOptions(),
    )  # fmt: skip
    # O1 leans most and takes the unit; O2's column no longer fits and is dropped.
    # No LP ran since, so its zero says nothing: it must go to the repair, not be
    # left unfilled as if an LP had chosen that.
    assert [int(inst.line_order[ln]) for ln in plan.line] == [o1]
    assert list(open_orders) == [o2]
