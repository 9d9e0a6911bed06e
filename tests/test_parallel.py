"""The executor seam: every local executor answers in item order and reports a
failed call as TaskFailed, so callers have one thing to catch."""

import threading

import pytest

from parallel import SerialExecutor, TaskFailed, ThreadExecutor, connect


def _square(x: int) -> int:
    return x * x


def _fail(x: int) -> int:
    raise ValueError(f"bad item {x}")


@pytest.mark.parametrize("make", [SerialExecutor, lambda: ThreadExecutor(2)])
def test_map_answers_in_item_order(make) -> None:
    ex = make()
    try:
        assert ex.map(_square, [3, 1, 2]) == [9, 1, 4]
        assert ex.submit(_square, 7).result() == 49
    finally:
        ex.close()


@pytest.mark.parametrize("make", [SerialExecutor, lambda: ThreadExecutor(2)])
def test_failed_call_is_task_failed_with_reason(make) -> None:
    ex = make()
    try:
        with pytest.raises(TaskFailed, match="ValueError: bad item 5"):
            ex.submit(_fail, 5).result()
    finally:
        ex.close()


def test_thread_executor_runs_calls_side_by_side() -> None:
    """Two calls that each wait for the other finish only if they run at once."""
    barrier = threading.Barrier(2, timeout=5)
    ex = ThreadExecutor(2)
    try:
        assert ex.map(lambda i: barrier.wait() >= 0 and i, [0, 1]) == [0, 1]
    finally:
        ex.close()


def test_timeout_is_task_failed() -> None:
    release = threading.Event()
    ex = ThreadExecutor(1)
    try:
        with pytest.raises(TaskFailed, match="no answer within 0.05 s"):
            ex.submit(release.wait, 5).result(timeout=0.05)
    finally:
        release.set()
        ex.close()


def test_no_address_is_local_threads() -> None:
    ex = connect(None, workers=2)
    try:
        assert (ex.name, ex.workers) == ("threads", 2)
    finally:
        ex.close()


def test_a_forked_child_gets_threads_of_its_own() -> None:
    """A pool used before a fork: the child's calls still run (its threads are its own)."""
    import multiprocessing as mp

    from parallel.executor import ThreadExecutor

    executor = ThreadExecutor(2)
    assert executor.map(abs, [-1, -2]) == [1, 2]  # the parent's threads exist now
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=lambda: send.send(executor.map(abs, [-3, -4])))
    child.start()
    try:
        assert receive.poll(30), "the child's calls never ran"
        assert receive.recv() == [3, 4]
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
    executor.close()
