"""Strategies: every plan is feasible, costed by the one cost model, and the
optimizer meets the exact optimum on small batches with a bound never above it."""

import pytest

import planner
from planner import check_plan, evaluate
from planner.baselines.mip import solve_mip
from planner.core.instance import build_instance
from planner.core.result import allocation_frames
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from tests.bounds import bound_at
from tests.random_batch import random_batch
from tests.tiny import tiny_batch

STRATEGIES = ["greedy", "nearest", "optimize", "mip"]


@pytest.fixture(scope="module")
def small():
    # 60 orders, 8 nodes: small enough for the MIP to prove optimality in seconds.
    return random_batch(60, 8, 40, seed=3, supply=0.8)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_is_feasible_and_costed_by_the_cost_model(small, strategy) -> None:
    result = planner.plan(small, strategy, time_limit=30)
    assert check_plan(small, result.allocations, result.unfilled) == []
    assert result.summary.total == pytest.approx(evaluate(small, result.allocations).total)
    lines = small.order_lines.merge(
        result.allocations.groupby(["order_id", "line_no"])["qty"].sum().rename("a"),
        on=["order_id", "line_no"],
        how="left",
    ).fillna({"a": 0})
    unfilled = result.unfilled.set_index(["order_id", "line_no"])["qty"]
    left = (lines["qty"] - lines["a"]).to_numpy()
    got = unfilled.reindex(list(zip(lines["order_id"], lines["line_no"], strict=True))).fillna(0)
    assert (left == got.to_numpy()).all()


def test_tiny_batch_optimum_is_the_hand_checked_one() -> None:
    # O4 wants 2 units of B at ST2, which has 1: the other unit is unfilled (150).
    for strategy in ("optimize", "mip"):
        assert planner.plan(tiny_batch(), strategy).summary.total == pytest.approx(206.5)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_optimizer_matches_the_exact_optimum_and_bounds_it(seed) -> None:
    batch = random_batch(40, 6, 30, seed=seed, supply=0.7)
    inst = build_instance(batch)
    assignment, mip_bound, optimal = solve_mip(inst, time_limit=60)
    assert optimal
    alloc, _ = allocation_frames(inst, assignment)
    optimum = evaluate(batch, alloc).total
    # Without the exact finish, the heuristic part alone: bound <= optimum <= plan.
    heuristic = solve(inst, 30, Settings(exact_up_to=0))
    assert heuristic.bound <= optimum + 1e-6
    # The default finishes small batches exactly.
    result = planner.plan(batch, "optimize", time_limit=30)
    assert result.summary.total == pytest.approx(optimum, rel=1e-9)
    assert result.summary.lower_bound <= optimum + 1e-6


def test_lagrangian_bound_at_zero_prices_is_below_any_plan(small) -> None:
    inst = build_instance(small)
    import numpy as np

    from planner.optimize.candidates import build_groups

    groups = build_groups(inst, 4)  # heavy pruning: the dropped-node floor must keep it valid
    bound = bound_at(inst, groups, np.zeros(inst.avail.shape), np.zeros(inst.n_nodes))
    for strategy in ("greedy", "nearest", "mip"):
        assert bound <= planner.plan(small, strategy, time_limit=30).summary.total + 1e-6


def test_time_limit_still_returns_a_feasible_plan(small) -> None:
    result = planner.plan(small, "optimize", time_limit=0.0)
    assert check_plan(small, result.allocations, result.unfilled) == []
    assert result.summary.lower_bound is not None
    assert result.summary.lower_bound <= result.summary.total + 1e-6


def test_optimizer_is_deterministic(small) -> None:
    a = planner.plan(small, "optimize", time_limit=30)
    b = planner.plan(small, "optimize", time_limit=30)
    assert a.allocations.equals(b.allocations)


def test_unknown_strategy_is_a_clear_error(small) -> None:
    with pytest.raises(planner.UnknownStrategyError, match="choose one of"):
        planner.plan(small, "magic")
