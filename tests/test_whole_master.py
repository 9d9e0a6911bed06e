"""The small-batch finish (planner.optimize.plan.whole_master): SCIP over the whole
restricted master never returns a plan dearer than the one it is given, nor one that
breaks a rule; it runs only where it may pay; and a solve with it keeps a valid bound.
Also the exact model over a part of the batch (planner.baselines.mip.Part)."""

from dataclasses import replace

import numpy as np
import pytest

from parallel.executor import SerialExecutor
from planner import check_plan
from planner.baselines.mip import Part, solve_mip
from planner.core.instance import build_instance
from planner.core.plan import Plan, left_by
from planner.core.result import allocation_frames
from planner.optimize.budget import Budget
from planner.optimize.candidates import build_groups
from planner.optimize.columns import columns_from_plan
from planner.optimize.plan import whole_master
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from planner.optimize.start import initial_columns
from tests.costs import plan_total
from tests.random_batch import random_batch
from tests.tiny import HAND_PLAN, tiny_batch

HAND_TOTAL = 467.5  # test_cost.py's sum: 39 + 11.5 + 5 + 2 + 410
OPTIMUM = 206.5  # test_planner.py's hand-checked optimum of the tiny batch


def _plan_of(inst, rows) -> Plan:
    """(order id, line no, node id, qty) rows as a plan in index space."""
    line, node, qty = [], [], []
    for order_id, line_no, node_id, q in rows:
        o = int(np.flatnonzero(inst.order_ids == order_id)[0])
        lines = inst.lines_of(o)
        line.append(lines.start + int(np.flatnonzero(inst.line_no[lines] == line_no)[0]))
        node.append(int(np.flatnonzero(inst.node_ids == node_id)[0]))
        qty.append(q)
    return Plan.from_lists(line, node, qty)


def _finish(inst, pool, plan, settings, seconds=30.0):
    budget = Budget(seconds, settings, small=True)
    started = whole_master.begin(
        inst, pool, plan, budget.plan_deadline(), settings, SerialExecutor()
    )
    return started, whole_master.better(inst, plan, started, [])


def test_the_finish_takes_the_hand_plan_to_the_optimum_its_columns_hold() -> None:
    batch = tiny_batch()
    inst = build_instance(batch)
    hand = _plan_of(inst, HAND_PLAN)
    assert plan_total(inst, hand) == pytest.approx(HAND_TOTAL)
    optimal, _, proven = solve_mip(inst, 30)
    assert proven and plan_total(inst, optimal) == pytest.approx(OPTIMUM)
    groups = build_groups(inst, inst.n_nodes)
    pool = initial_columns(inst, groups, Settings())[0].extend(columns_from_plan(inst, optimal))
    started, out = _finish(inst, pool, hand, Settings(finish_least=0.0, finish_up_to=3000))
    assert started is not None
    assert plan_total(inst, out) == pytest.approx(OPTIMUM)
    alloc, unfilled = allocation_frames(inst, out)
    assert check_plan(batch, alloc, unfilled) == []


def test_the_finish_keeps_a_plan_its_columns_cannot_beat() -> None:
    inst = build_instance(tiny_batch())
    optimal, _, _ = solve_mip(inst, 30)
    pool = columns_from_plan(inst, _plan_of(inst, HAND_PLAN))  # only dearer columns
    _, out = _finish(inst, pool, optimal, Settings(finish_least=0.0, finish_up_to=3000))
    assert plan_total(inst, out) == pytest.approx(OPTIMUM)
    avail, cap = left_by(inst, out)
    assert (avail >= 0).all() and (cap >= 0).all()


def test_the_finish_runs_only_on_small_batches_with_the_time_for_it() -> None:
    inst = build_instance(tiny_batch())
    pool = columns_from_plan(inst, _plan_of(inst, HAND_PLAN))
    hand = _plan_of(inst, HAND_PLAN)
    too_big = Settings(finish_least=0.0, finish_up_to=inst.n_orders - 1)
    too_short = Settings(finish_least=60.0, finish_up_to=3000)
    for settings in (too_big, too_short):
        started, out = _finish(inst, pool, hand, settings)
        assert started is None and out is hand


def test_a_solve_with_the_finish_keeps_every_rule_and_a_valid_bound() -> None:
    batch = random_batch(40, 6, 30, seed=2, supply=0.6)
    inst = build_instance(batch)
    exact, _, proven = solve_mip(inst, 60)
    assert proven
    optimum = plan_total(inst, exact)
    # No exact MIP at the end, the finish on whatever time is left.
    settings = replace(Settings(), exact_up_to=0, finish_least=0.0, finish_up_to=3000)
    out = solve(inst, 10, settings)
    assert any(n.startswith("finish (restricted master") for n in out.notes)
    alloc, unfilled = allocation_frames(inst, out.plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert out.bound <= optimum + 1e-6 <= plan_total(inst, out.plan) + 2e-6


def test_the_exact_model_over_a_part_fixes_the_rest_and_starts_from_the_hint() -> None:
    batch = tiny_batch()
    inst = build_instance(batch)
    hand = _plan_of(inst, HAND_PLAN)
    part = np.flatnonzero(np.isin(inst.order_ids, ["O1", "O3"]))
    inside = np.isin(inst.line_order[hand.line], part)
    held = hand.take(~inside)
    avail, cap = left_by(inst, held)
    for solver in ("SCIP", "HIGHS"):
        # (HiGHS is given the hint too: solve_mip keeps it from HiGHS, which crashed on one)
        got, bound, proven = solve_mip(
            inst, 30, solver, part=Part(part, avail, cap, hint=hand.take(inside))
        )
        assert proven and bound is not None
        assert set(inst.line_order[got.line].tolist()) <= set(part.tolist())
        whole = held.extend(got)
        alloc, unfilled = allocation_frames(inst, whole)
        assert check_plan(batch, alloc, unfilled) == []
        # O1 and O3 re-solved on what O2 and O4 leave: never dearer than the hand's choice.
        assert plan_total(inst, whole) < HAND_TOTAL - 1.0
        assert plan_total(inst, whole) >= OPTIMUM - 1e-9
