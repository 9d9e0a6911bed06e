"""ForkExecutor (parallel.fork): calls in forked children see the caller's memory
without pickling it in, answer in item order, report failures and silence as
TaskFailed, and where no child may be had the call runs in the caller."""

import multiprocessing as mp
import os
import time

import numpy as np
import pytest

from parallel import TaskFailed
from parallel.fork import ForkExecutor


def test_a_child_computes_on_the_callers_memory_and_answers() -> None:
    data = np.arange(5)  # a closure over the parent's array: nothing is pickled in
    ex = ForkExecutor(2)
    handle = ex.submit(lambda: (os.getpid(), data * 2))
    pid, doubled = handle.result(timeout=30)
    assert pid != os.getpid()  # it ran in another process
    assert list(doubled) == [0, 2, 4, 6, 8]


def test_map_answers_in_item_order_two_at_a_time() -> None:
    assert ForkExecutor(2).map(lambda x: x * x, [3, 1, 2, 5, 4]) == [9, 1, 4, 25, 16]


def test_what_a_child_changes_stays_in_the_child() -> None:
    data = np.zeros(3)

    def change() -> float:
        data[:] = 7.0
        return float(data.sum())

    assert ForkExecutor().submit(change).result(timeout=30) == 21.0
    assert data.sum() == 0.0  # copy-on-write: the parent's array is untouched


def test_a_failing_call_is_task_failed_with_the_childs_traceback() -> None:
    with pytest.raises(TaskFailed, match="ZeroDivisionError"):
        ForkExecutor().submit(lambda: 1 // 0).result(timeout=30)


def test_a_child_that_does_not_answer_in_time_is_stopped() -> None:
    handle = ForkExecutor().submit(time.sleep, 60)
    started = time.perf_counter()
    with pytest.raises(TaskFailed, match="no answer"):
        handle.result(timeout=0.5)
    assert time.perf_counter() - started < 10


def _pid_inside_a_worker() -> tuple[int, int]:
    return os.getpid(), ForkExecutor().submit(os.getpid).result(timeout=30)


def test_a_daemonic_worker_runs_the_call_itself() -> None:
    # A daemonic process may not have children: the call runs in it instead.
    with mp.get_context("fork").Pool(1) as pool:
        worker, ran_in = pool.apply(_pid_inside_a_worker)
    assert worker == ran_in
