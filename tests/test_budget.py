"""The optimizer's Budget: shares, deadlines and stop(), on a clock the test moves."""

import threading
import time

import pytest

from planner import check_plan
from planner.core.instance import build_instance
from planner.core.result import allocation_frames
from planner.optimize.budget import Budget
from planner.optimize.settings import Settings
from planner.optimize.solver import solve
from tests.clock import ManualClock
from tests.random_batch import random_batch


def test_every_share_is_a_reading_of_the_one_clock() -> None:
    settings = Settings()  # search 0.7 (small 0.6), stretch 0.8, finish 0.08
    large = Budget(10.0, settings, small=False, clock=ManualClock(100.0))
    assert large.started == 100.0
    assert large.search_end == pytest.approx(107.0)
    assert large.stretch_end == pytest.approx(108.0)
    assert large.deadline == pytest.approx(109.2)
    small = Budget(10.0, settings, small=True, clock=ManualClock(100.0))
    assert small.search_end == pytest.approx(106.0)


def test_a_deadline_passes_when_the_clock_reaches_it() -> None:
    clock = ManualClock()
    budget = Budget(10.0, Settings(), small=True, clock=clock)
    deadline = budget.until(4.0)
    assert deadline.left() == 4.0 and not deadline.passed() and deadline.fits(4.0)
    clock.advance(3.0)
    assert deadline.left() == 1.0 and not deadline.fits(1.5)
    clock.advance(1.5)
    assert deadline.passed() and deadline.left() == -0.5
    # Shares of what is left, and of the whole limit, from now (4.5 s in).
    assert budget.part_of_rest(0.5, 8.5) == 6.5
    assert budget.from_now(0.2).at == 6.5


def test_the_plan_borrows_back_at_most_a_quarter_of_the_costing_margin() -> None:
    budget = Budget(10.0, Settings(), small=True, clock=ManualClock())
    budget.borrow(0.1)
    assert budget.deadline == pytest.approx(9.3)
    budget.borrow(5.0)  # the margin is 0.8 s: a quarter of it, 0.2 s
    assert budget.deadline == pytest.approx(9.5)


def test_stop_makes_every_deadline_now_and_interrupts_the_running_solver() -> None:
    budget = Budget(10.0, Settings(), small=True, clock=ManualClock())
    deadline = budget.until(1e9)
    calls: list[str] = []
    with budget.interruptible(lambda: calls.append("running")):
        budget.stop()
    assert calls == ["running"]
    assert deadline.passed() and deadline.left() == 0.0 and not deadline.fits(0.0)
    # A solver that starts after the stop is interrupted at once.
    with budget.interruptible(lambda: calls.append("late")):
        pass
    assert calls == ["running", "late"]


@pytest.fixture(scope="module")
def batch():
    return random_batch(400, 12, 40, seed=3, supply=0.8)


def test_stopped_before_it_starts_the_optimizer_returns_its_first_feasible_plan(batch) -> None:
    inst = build_instance(batch)
    budget = Budget(60.0, Settings(), small=True)
    budget.stop()
    out = solve(inst, budget=budget)
    alloc, unfilled = allocation_frames(inst, out.plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert out.rounds == 0  # no LP ran
    assert len(out.plan.line) > 0


def test_a_stop_mid_run_returns_a_feasible_plan_long_before_the_limit(batch) -> None:
    # Cancellation (Ctrl-C) from another thread: every step ends at its next check and
    # the solver running is interrupted. 60 s limit, stopped at 1 s.
    inst = build_instance(batch)
    budget = Budget(60.0, Settings(exact_up_to=0), small=True)
    timer = threading.Timer(1.0, budget.stop)
    started = time.perf_counter()
    timer.start()
    out = solve(inst, budget=budget)
    took = time.perf_counter() - started
    timer.cancel()
    alloc, unfilled = allocation_frames(inst, out.plan)
    assert check_plan(batch, alloc, unfilled) == []
    assert took < 10.0, took  # ~1 s on an idle machine; the bound leaves room for load


def test_the_budget_keeps_the_best_plan_and_bound_reported_and_tells_its_listener() -> None:
    import numpy as np

    from planner.core.plan import Plan

    budget = Budget(10.0, Settings(), small=True, clock=ManualClock())
    heard: list[tuple[str, object]] = []
    budget.listen(lambda kind, value: heard.append((kind, value)))
    first = Plan.from_lists([0, 1], [0, 0], [1, 2])
    budget.enter("start")
    budget.found_plan(first, 50.0)
    first.qty[0] = 9  # a later step building on the arrays does not change what was kept
    budget.found_plan(Plan.from_lists([0], [1], [1]), 70.0)  # worse: not kept, not told
    budget.found_bound(30.0)
    budget.found_bound(20.0)  # weaker: the best stays
    budget.enter("column generation")
    found = budget.found
    assert found.phase == "column generation" and found.total == 50.0
    assert found.plan is not None and found.plan.qty.tolist() == [1, 2]
    assert found.bound == 30.0 and found.gap == pytest.approx(0.4)
    assert [kind for kind, _ in heard] == ["phase", "plan", "bound", "bound", "phase"]
    assert np.array_equal(heard[1][1][0].qty, [1, 2])  # type: ignore[index]


def test_a_budget_may_count_from_an_earlier_start() -> None:
    budget = Budget(10.0, Settings(), small=True, clock=ManualClock(100.0), started=97.0)
    assert budget.elapsed() == 3.0 and budget.deadline == pytest.approx(106.2)
