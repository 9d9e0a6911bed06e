"""A call run in a forked child process, so that two pieces of work use both cores.

OR-Tools' min-cost flow holds the GIL while it solves, so two flows in two threads
take as long as one after the other; in two processes they run side by side. A
fork shares the parent's memory copy-on-write: nothing is pickled on the way in,
only the answer comes back through a pipe. ``start`` returns None where no child
can be had (a platform without fork, a daemonic worker, a failed fork): the
caller then does the work itself.
"""

import multiprocessing as mp
import signal
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

T = TypeVar("T")


def available() -> bool:
    """Whether this process can fork a child: the platform forks, and this process is
    not itself a daemonic worker (those may not have children)."""
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


def start(fn: Callable[[], T]) -> "Forked[T] | None":
    """``fn`` in a child process, or None if no child could be started (the caller
    then does the work itself)."""
    if not available():
        return None
    try:
        return Forked(fn)
    except (OSError, AssertionError):  # fork failed (memory, process limits)
        return None


class Forked(Generic[T]):
    """``fn()`` running in a child process; ``result`` waits for what it returned."""

    def __init__(self, fn: Callable[[], T]) -> None:
        ctx = mp.get_context("fork")
        self._receive, send = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_run, args=(fn, send), daemon=True)
        try:
            self._process.start()
        except BaseException:
            self._receive.close()
            raise
        finally:
            send.close()  # the child holds the only sending end: its exit ends the pipe
        self.error: str | None = None

    def result(self, timeout: float | None = None) -> T | None:
        """What ``fn`` returned, or None if it failed (``error`` says why) or did not
        answer within ``timeout`` seconds (it is then stopped)."""
        answer: tuple[str, object] | None = None
        try:
            if self._receive.poll(timeout):
                answer = self._receive.recv()
        except Exception:  # noqa: BLE001 - the child died before or while answering
            answer = None
        self._process.join(timeout=5.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._receive.close()
        if answer is None:
            self.error = f"no answer (exit code {self._process.exitcode})"
            return None
        kind, value = answer
        if kind != "ok":
            self.error = str(value)
            return None
        return value  # type: ignore[return-value]


def _run(fn: Callable[[], object], send: Connection) -> None:
    # Ctrl-C reaches the whole process group: the parent decides (its budget stops it),
    # and a child killed by it would leave the parent to redo the work itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        send.send(("ok", fn()))
    except BaseException:  # noqa: BLE001 - reported to the parent, which carries on
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()
