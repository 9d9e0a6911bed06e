"""Ctrl-C during long work: the first asks the work to stop early, the second aborts.

Python runs a signal handler only in the main thread and only between bytecodes,
so a handler waits for a solver call running in the main thread to return. The
work therefore runs in a worker thread while the main thread waits in short
steps, free to run the handler: that calls ``stop`` (e.g. the optimizer's
``Budget.stop``), and the work returns what it has.
"""

import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Interruptible(Generic[T]):
    """The outcome of ``run_interruptible``: the work's result and whether Ctrl-C stopped it."""

    result: T
    stopped: bool = False


@contextmanager
def ctrl_c(on_stop: Callable[[], object]) -> Iterator[threading.Event]:
    """While inside (main thread only): a first SIGINT calls ``on_stop`` and sets the
    event it yields, a second raises KeyboardInterrupt. Elsewhere the event never sets."""
    stopped = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopped  # signals reach only the main thread
        return

    def handler(signum: int, frame: object) -> None:
        if stopped.is_set():
            raise KeyboardInterrupt
        stopped.set()
        on_stop()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stopped
    finally:
        signal.signal(signal.SIGINT, previous)


def run_interruptible(
    work: Callable[[], T],
    stop: Callable[[], object],
    on_stop: Callable[[], object] = lambda: None,
) -> Interruptible[T]:
    """Run ``work`` in a thread; a first SIGINT calls ``on_stop`` then ``stop``, a second
    raises KeyboardInterrupt here (the work's thread is left to end on its own)."""
    if threading.current_thread() is not threading.main_thread():
        return Interruptible(work())  # signals reach only the main thread

    def first() -> None:
        on_stop()
        stop()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dom-work")
    try:
        with ctrl_c(first) as stopped:
            job = pool.submit(work)
            while not job.done():
                wait([job], timeout=0.1)
            return Interruptible(job.result(), stopped.is_set())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
