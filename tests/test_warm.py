"""Warm starts across sourcing runs (planner.optimize.warm): a run starts from the
last one's prices and plan, mapped by ids onto a batch that changed, and does at
least as well as a cold run on the same batch."""

from types import SimpleNamespace

import numpy as np

from data.batch_io import batch_from_frames
from planner import check_plan
from planner.core.instance import build_instance
from planner.core.plan import Plan, left_by
from planner.core.result import allocation_frames
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from planner.optimize.warm import Warm, plan_in, prices_in
from tests.costs import plan_total
from tests.random_batch import random_batch


def test_a_warm_started_run_equals_or_beats_a_cold_one_on_the_same_batch() -> None:
    batch = random_batch(300, 10, 40, seed=11, supply=0.7)
    inst = build_instance(batch)
    settings = Settings(exact_up_to=0)  # the optimizer's own plan, not HiGHS's
    cold = solve(inst, 3.0, settings)
    assert cold.warm is not None
    warm = solve(inst, 3.0, settings, warm=cold.warm)
    alloc, unfilled = allocation_frames(inst, warm.plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert plan_total(inst, warm.plan) <= plan_total(inst, cold.plan) + 1e-6
    # Every order the cold plan served kept its plan, and the bound is still a bound.
    served = len(np.unique(inst.line_order[cold.plan.line]))
    assert any(n.startswith(f"warm start: {served:,} orders kept their plan") for n in warm.notes)
    assert warm.bound <= plan_total(inst, warm.plan) + 1e-6


def test_prices_follow_node_and_sku_ids_and_new_ones_start_at_zero() -> None:
    warm = Warm(
        node_ids=np.array(["A", "B"], object), sku_ids=np.array(["x", "y"], object),
        lam=np.array([[1.0, 2.0], [3.0, 4.0]]), mu=np.array([5.0, 6.0]),
        order_id=np.array([], object), line_no=np.array([], np.int64),
        node_id=np.array([], object), qty=np.array([], np.int64),
    )  # fmt: skip
    inst = SimpleNamespace(  # only ids and shapes are read
        node_ids=np.array(["B", "C"], object), sku_ids=np.array(["y", "x", "z"], object),
        avail=np.zeros((2, 3), np.int64), n_nodes=2,
    )  # fmt: skip
    lam, mu = prices_in(warm, inst)  # type: ignore[arg-type]
    assert lam.tolist() == [[4.0, 3.0, 0.0], [0.0, 0.0, 0.0]]
    assert mu.tolist() == [6.0, 0.0]


def test_the_warm_plan_keeps_what_still_applies_to_a_changed_batch() -> None:
    batch = random_batch(200, 8, 30, seed=5, supply=0.8)
    inst = build_instance(batch)
    out = solve(inst, 2.0, Settings(exact_up_to=0))
    assert out.warm is not None
    before = _entries(inst, out.plan)
    # The next batch: the first 20 orders were released, and the stock row the plan
    # took most units from is gone.
    gone = set(inst.order_ids[:20])
    node_id, sku = max({(e[2], e[4]) for e in before}, key=lambda r: _units(before, r))
    inv = batch.inventory
    nxt = batch_from_frames(
        batch.batch_date, None, nodes=batch.nodes, items=batch.items,
        inventory=inv[~((inv.node_id == node_id) & (inv.sku == sku))],
        orders=batch.orders[~batch.orders.order_id.isin(gone)],
        order_lines=batch.order_lines[~batch.order_lines.order_id.isin(gone)],
        rate_card=batch.rate_card,
    )  # fmt: skip
    inst2 = build_instance(nxt)
    kept = plan_in(out.warm, inst2)
    avail, cap = left_by(inst2, kept)
    assert (avail >= 0).all() and (cap >= 0).all()
    # Exactly the orders neither released nor on the lost row keep their allocations.
    on_row = {e[0] for e in before if (e[2], e[4]) == (node_id, sku)}
    assert on_row
    expected = {e for e in before if e[0] not in gone | on_row}
    assert _entries(inst2, kept) == expected


def _entries(inst, plan: Plan) -> set[tuple]:
    """(order, line_no, node, qty, sku) of every allocation, by ids."""
    line, node = plan.line, plan.node
    return set(zip(
        inst.order_ids[inst.line_order[line]], inst.line_no[line], inst.node_ids[node],
        plan.qty, inst.sku_ids[inst.line_sku[line]], strict=True,
    ))  # fmt: skip


def _units(entries: set[tuple], row: tuple) -> int:
    return sum(e[3] for e in entries if (e[2], e[4]) == row)


def test_a_runs_own_plan_maps_back_whole() -> None:
    inst = build_instance(random_batch(60, 6, 20, seed=2))
    out = solve(inst, 1.0, Settings(exact_up_to=0))
    assert out.warm is not None
    assert _entries(inst, plan_in(out.warm, inst)) == _entries(inst, out.plan)
