"""Work in a forked child (planner.optimize.prices.forked): its answer comes back, its failure is
reported instead of raised, a stuck child is stopped, and where no child may be
started (a daemonic worker) the caller is told so and does the work itself."""

import multiprocessing as mp
import time

import numpy as np

from planner.optimize.prices import forked


def test_a_child_returns_what_it_computed() -> None:
    data = np.arange(5)  # the child sees the parent's memory: nothing is passed in
    child = forked.Forked(lambda: data * 2)
    assert list(child.result(timeout=30)) == [0, 2, 4, 6, 8]


def test_a_failing_child_is_reported_not_raised() -> None:
    child = forked.Forked(lambda: 1 // 0)
    assert child.result(timeout=30) is None
    assert "ZeroDivisionError" in (child.error or "")


def test_a_child_that_does_not_answer_in_time_is_stopped() -> None:
    child = forked.Forked(lambda: time.sleep(60))
    started = time.perf_counter()
    assert child.result(timeout=0.5) is None
    assert time.perf_counter() - started < 10
    assert child.error is not None


def _start_inside_a_worker() -> bool:
    return forked.start(lambda: 1) is None


def test_a_daemonic_worker_gets_no_child() -> None:
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.apply(_start_inside_a_worker) is True
