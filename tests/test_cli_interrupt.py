"""Issue 20, finding 3: Ctrl-C stops long work promptly and keeps what it has."""

import os
import signal
import threading
import time

import pytest

from cli.interrupt import run_interruptible


def _sigint_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_a_first_ctrl_c_asks_the_work_to_stop_and_keeps_its_result() -> None:
    stop = threading.Event()
    calls: list[str] = []

    def work() -> str:
        return "best so far" if stop.wait(timeout=30) else "ran to its limit"

    _sigint_after(0.3)
    started = time.perf_counter()
    outcome = run_interruptible(work, stop.set, on_stop=lambda: calls.append("told"))
    assert outcome.result == "best so far" and outcome.stopped
    assert calls == ["told"]
    assert time.perf_counter() - started < 5  # not the work's 30 s
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_a_second_ctrl_c_aborts() -> None:
    release = threading.Event()

    def stubborn() -> str:  # ignores the request to stop
        release.wait(timeout=30)
        return "late"

    _sigint_after(0.2)
    _sigint_after(0.6)
    with pytest.raises(KeyboardInterrupt):
        run_interruptible(stubborn, lambda: None)
    release.set()


def test_without_ctrl_c_the_result_is_the_works() -> None:
    outcome = run_interruptible(lambda: 42, lambda: None)
    assert outcome.result == 42 and not outcome.stopped
