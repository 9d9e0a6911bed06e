"""Calls in forked child processes: for work that holds the GIL (OR-Tools' min-cost
flow), so that two calls use two cores where two threads would take turns.

A fork shares the caller's memory copy-on-write: nothing is pickled on the way in
(the function may be a closure over large arrays), only the answer comes back
through a pipe. Where no child can be had (a platform without fork, a daemonic
worker, a failed fork) the call runs in the caller at ``submit``, so the work is
always done, one way or the other.
"""

import multiprocessing as mp
import signal
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from parallel.executor import Handle, SerialExecutor, TaskFailed

T = TypeVar("T")
R = TypeVar("R")

STOP_WAIT = 5.0  # seconds a child that answered gets to exit before it is killed


def can_fork() -> bool:
    """Whether this process can fork a child: the platform forks, and this process is
    not itself a daemonic worker (those may not have children)."""
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


class ForkExecutor:
    """Each call in a child forked at ``submit``; at most ``workers`` at once in ``map``."""

    name = "fork"
    retries = 0

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, workers)
        self._inline = SerialExecutor()

    def submit(self, fn: Callable[..., R], *args: Any) -> Handle[R]:
        if not can_fork():
            return self._inline.submit(fn, *args)
        try:
            return _Child(fn, args)
        except (OSError, AssertionError):  # fork failed (memory, process limits)
            return self._inline.submit(fn, *args)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        out: list[R] = []
        for at in range(0, len(items), self.workers):
            handles = [self.submit(fn, item) for item in items[at : at + self.workers]]
            out.extend(h.result() for h in handles)
        return out

    def put(self, value: Any) -> Any:
        return value  # a child sees the caller's memory: nothing to store

    def close(self) -> None:
        pass  # children end with their call


def start_child(
    target: Callable[..., object], args: tuple[Any, ...], daemon: bool
) -> tuple[BaseProcess, Connection]:
    """``target(*args, send)`` in a forked child, and the end of the pipe its ``send``
    writes to. A daemonic child is killed at this process's exit but may not fork."""
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=target, args=(*args, send), daemon=daemon)
    try:
        process.start()
    except BaseException:
        receive.close()
        raise
    finally:
        send.close()  # the child holds the only sending end: its exit ends the pipe
    return process, receive


class _Child:
    """``fn(*args)`` running in a forked child; ``result`` waits for its answer."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._process, self._receive = start_child(_run, (fn, args), daemon=True)
        self._answer: tuple[str, Any] | None = None

    def result(self, timeout: float | None = None) -> Any:
        """What the call returned; ``TaskFailed`` if it failed or did not answer within
        ``timeout`` seconds (the child is then stopped)."""
        if self._answer is None:
            self._answer = self._wait(timeout)
        kind, value = self._answer
        if kind != "ok":
            raise TaskFailed(str(value))
        return value

    def _wait(self, timeout: float | None) -> tuple[str, Any]:
        answer: tuple[str, Any] | None = None
        try:
            if self._receive.poll(timeout):
                answer = self._receive.recv()
        except Exception:  # noqa: BLE001 - the child died before or while answering
            answer = None
        # A child that answered gets a moment to exit; one that did not (a timeout) is
        # stopped at once: the caller's deadline is why it asked with a timeout.
        self._process.join(timeout=STOP_WAIT if answer is not None else 0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._receive.close()
        if answer is None:
            return "error", f"no answer from the child (exit code {self._process.exitcode})"
        return answer


def _run(fn: Callable[..., object], args: tuple[Any, ...], send: Connection) -> None:
    # Ctrl-C reaches the whole process group: the parent decides (its budget stops it),
    # and a child killed by it would leave the parent to redo the work itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        send.send(("ok", fn(*args)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which carries on
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()
