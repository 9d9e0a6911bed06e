"""The start's pricing passes answer the clock: a pass cut into parts stops at its
deadline, and a run whose start runs out of time still returns a feasible plan and a
valid bound (the orders a cut pass left count at 0)."""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from parallel import SerialExecutor
from planner import check_plan
from planner.baselines.mip import solve_mip
from planner.core.instance import build_instance
from planner.core.result import allocation_frames
from planner.optimize.budget import Budget
from planner.optimize.candidates import build_groups
from planner.optimize.prices.clearing import clearing_prices
from planner.optimize.prices.parts import price_until
from planner.optimize.pricing.orders import order_shares, price_groups
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from tests.clock import ManualClock
from tests.costs import plan_total
from tests.random_batch import random_batch


class Slow(SerialExecutor):
    """Runs every call here; each call takes ``seconds`` on the test's clock."""

    name = "slow"

    def __init__(self, clock: ManualClock, seconds: float) -> None:
        self.clock, self.seconds, self.maps = clock, seconds, 0

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        self.clock.advance(self.seconds)
        self.maps += 1
        return super().map(fn, items)


@pytest.fixture(scope="module")
def batch():  # type: ignore[no-untyped-def]
    return random_batch(40, 6, 30, seed=2, supply=0.6)


def test_a_pass_in_parts_prices_every_order_as_a_whole_pass_does(batch) -> None:  # type: ignore[no-untyped-def]
    inst = build_instance(batch)
    groups = build_groups(inst, 3)
    lam = np.zeros(inst.avail.shape)
    lam[:, ::3] = 2.0  # some stock priced: the floors move
    mu = np.full(inst.n_nodes, 0.5)
    whole_pass = price_groups(inst, groups, lam, mu, widen_by=0)
    expected = np.zeros(inst.n_orders)
    for p in whole_pass:
        expected[p.group.orders] = p.bound
    clock = ManualClock()
    budget = Budget(100.0, Settings(), small=True, clock=clock)
    parts, whole = price_until(inst, groups, lam, mu, budget.until(50.0), part=7)
    assert whole
    got = np.zeros(inst.n_orders)
    for p in parts:
        assert p.group.size <= 7
        got[p.group.orders] = p.bound
    assert sorted(np.concatenate([p.group.orders for p in parts])) == list(range(inst.n_orders))
    # The floor over every node is computed only where the floor at zero prices does not
    # already sit above the order's priced optimum: each share is the whole pass's or
    # tighter (two orders here, where the floor over every node is the looser floor),
    # and never above the order's share with every node a candidate (nothing dropped).
    assert (got >= expected - 1e-9).all()
    every_node = order_shares(inst, build_groups(inst, inst.n_nodes), lam, mu, 5.0, 3000, 0)
    assert (got <= every_node + 1e-9).all()
    assert (got > expected + 1.0).sum() == 2


def test_a_pass_stops_at_its_deadline_between_parts(batch) -> None:  # type: ignore[no-untyped-def]
    inst = build_instance(batch)
    groups = build_groups(inst, 3)
    zero = np.zeros(inst.avail.shape), np.zeros(inst.n_nodes)
    clock = ManualClock()
    slow = Slow(clock, 10.0)
    budget = Budget(100.0, Settings(), small=True, clock=clock)
    parts, whole = price_until(inst, groups, *zero, budget.until(25.0), slow, part=7)
    # Parts priced at 0, 10 and 20 s; at 30 s the deadline (25 s) has passed.
    assert not whole and slow.maps == 3 and clock.now == 30.0
    assert sum(p.group.size for p in parts) == 3 * 7
    # A clearing pass the deadline overtakes is not used: nothing is priced from it.
    clock.now, slow.maps = 0.0, 0
    frozen = np.zeros(inst.avail.shape[1], bool)
    cleared = clearing_prices(
        inst, groups, zero[0], 0.0, frozen, budget.until(25.0), 4, slow, part=7
    )
    assert cleared.passes == 0 and cleared.best_pass == 0 and cleared.bound == 0.0
    assert cleared.columns.size == 0


def test_a_run_whose_start_runs_out_of_time_has_a_feasible_plan_and_a_valid_bound(
    batch,  # type: ignore[no-untyped-def]
) -> None:
    inst = build_instance(batch)
    assignment, _, optimal = solve_mip(inst, time_limit=60)
    assert optimal
    optimum = plan_total(inst, assignment)
    # The short-SKU and clearing path (as above flow_up_to orders), its passes in parts
    # of 5 orders; the start's passes must end 40 s into the 100 s limit and every call
    # on the executor takes 15 s: L(0) is cut after three rounds of parts.
    settings = Settings(flow_up_to=0, simplex_up_to=0, start_part=5, exact_up_to=0, zero_least=0.0)
    clock = ManualClock(tick=1e-4)  # the steps that read it only still see time pass
    budget = Budget(100.0, settings, small=False, clock=clock)
    out = solve(inst, settings=settings, budget=budget, executor=Slow(clock, 15.0))
    zero = next(n for n in out.notes if n.startswith("Lagrangian bound at zero prices"))
    assert f"over 15 of {inst.n_orders} orders" in zero and "time ran out" in zero
    assert not any(n.startswith(("short SKUs", "clearing prices")) for n in out.notes)
    alloc, unfilled = allocation_frames(inst, out.plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert 0.0 < out.bound <= optimum + 1e-6 <= plan_total(inst, out.plan) + 2e-6


def test_zero_prices_get_their_least_share_when_the_start_is_already_late(batch) -> None:  # type: ignore[no-untyped-def]
    inst = build_instance(batch)
    # The start's passes should have ended at 0 s, but L(0) gets zero_least of the limit
    # (100 s: a call of 15 s per group); short SKUs and clearing do not run.
    settings = Settings(
        flow_up_to=0, simplex_up_to=0, exact_up_to=0, start_share=0.0, zero_least=1.0
    )
    clock = ManualClock(tick=1e-4)
    budget = Budget(100.0, settings, small=False, clock=clock)
    out = solve(inst, settings=settings, budget=budget, executor=Slow(clock, 15.0))
    zero = next(n for n in out.notes if n.startswith("Lagrangian bound at zero prices"))
    assert "time ran out" not in zero
    assert not any(n.startswith(("short SKUs", "clearing prices")) for n in out.notes)
    alloc, unfilled = allocation_frames(inst, out.plan)
    assert check_plan(batch, alloc, unfilled) == []
