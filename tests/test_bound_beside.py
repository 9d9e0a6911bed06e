"""The final bound beside the plan: a forked child computes what ``final_bound`` would
in this process, and a child that does not answer by the plan's deadline is dropped."""

import time
from dataclasses import replace

import pytest

from parallel.fork import ForkExecutor, can_fork
from planner.baselines.mip import solve_mip
from planner.core.instance import build_instance
from planner.optimize.budget import Budget
from planner.optimize.candidates import build_groups
from planner.optimize.column_generation import column_generation
from planner.optimize.final_bound import GRACE, Beside, bound_beside
from planner.optimize.settings import Settings
from planner.optimize.start import begin
from planner.optimize.workers import LOCAL
from tests.bounds import bound_at
from tests.costs import plan_total
from tests.random_batch import random_batch

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs fork")


@pytest.fixture(scope="module")
def searched():
    """A 40-order batch as if large (PDLP masters, no exact finish), its optimum, and
    what column generation leaves on a generous budget."""
    inst = build_instance(random_batch(40, 6, 30, seed=2, supply=0.6))
    assignment, _, optimal = solve_mip(inst, time_limit=60)
    assert optimal
    settings = Settings(simplex_up_to=10, exact_up_to=0)
    budget = Budget(60.0, settings, small=False)
    notes: list[str] = []
    start = begin(inst, settings, budget, notes, LOCAL, None)
    search = column_generation(inst, start, settings, budget, notes, LOCAL)
    return inst, plan_total(inst, assignment), settings, budget, start, search


def test_the_bound_beside_the_plan_is_valid_and_taken_at_the_prices_it_returns(searched) -> None:
    inst, optimum, settings, budget, start, search = searched
    beside = bound_beside(inst, start, search, budget, False, LOCAL)
    assert beside is not None  # large batch, local executor: a child runs it
    notes: list[str] = []
    bound, lam, mu = beside.result(notes)
    # The child continues the rounds, then prices exactly at the best prices: never below
    # what the rounds had, never above the optimum, and L at the prices it returns.
    assert search.bound - 1e-6 <= bound <= optimum + 1e-6
    assert bound <= bound_at(inst, build_groups(inst, inst.n_nodes), lam, mu) + 1e-6
    if search.from_round:  # (otherwise the probe between the flow's duals ran)
        assert any(n.startswith("Lagrangian bound at the best prices") for n in notes)


def test_no_child_runs_for_a_small_batch_or_when_turned_off(searched) -> None:
    inst, _, settings, budget, start, search = searched
    assert bound_beside(inst, start, search, budget, True, LOCAL) is None
    off = Budget(60.0, replace(settings, bound_beside=False), small=False)
    assert bound_beside(inst, start, search, off, False, LOCAL) is None
    # Above bound_beside_up_to orders (the 1M batch: a 10 GiB process) no child is forked.
    below = Budget(60.0, replace(settings, bound_beside_up_to=inst.n_orders - 1), small=False)
    assert bound_beside(inst, start, search, below, False, LOCAL) is None
    at = Budget(60.0, replace(settings, bound_beside_up_to=inst.n_orders), small=False)
    beside = bound_beside(inst, start, search, at, False, LOCAL)
    assert beside is not None
    beside.result([])


def _hang() -> tuple[float, None, None, list[str]]:
    time.sleep(30)
    return 0.0, None, None, []


def test_a_child_that_does_not_answer_by_the_deadline_is_dropped(searched) -> None:
    inst, _, settings, _, start, search = searched
    budget = Budget(10.0, settings, small=False)
    budget.deadline = budget.now()  # the plan is done: the child gets only the grace
    stuck = Beside(ForkExecutor().submit(_hang), budget, search)
    began = time.perf_counter()
    notes: list[str] = []
    bound, lam, mu = stuck.result(notes)
    assert time.perf_counter() - began < GRACE + 1.0
    assert bound == search.bound and lam is search.lam and mu is search.mu
    assert notes and notes[0].startswith("final bound beside the plan: no answer")
