"""The executor interface and the executors that need nothing but this machine.

``submit(fn, *args)`` starts one call and returns a ``Handle`` whose ``result``
waits for it; ``map`` is the common case of one call per item, answers in item
order. A call that fails raises ``TaskFailed`` from ``result`` (with the
worker's reason), never a bare error from another machine, so callers have one
thing to catch and can fall back to doing the work themselves.
"""

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor as _Pool
from concurrent.futures import TimeoutError as _Timeout
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class TaskFailed(Exception):
    """A submitted call failed or did not answer in time; the message says why."""


class Handle(Protocol[R_co]):
    def result(self, timeout: float | None = None) -> R_co:
        """What the call returned; ``TaskFailed`` if it failed or ``timeout`` passed."""
        ...


class Executor(Protocol):
    """Where independent calls run. ``workers`` is how many can run at once."""

    name: str
    workers: int

    def submit(self, fn: Callable[..., R], *args: Any) -> Handle[R]: ...

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]: ...

    def put(self, value: Any) -> Any:
        """What to pass to ``submit`` for ``value``: itself here; on a cluster a
        reference to one stored copy that every task reads in place."""
        ...

    @property
    def retries(self) -> int:
        """Calls run again because their worker died (0 where workers cannot die alone)."""
        ...

    def close(self) -> None: ...


class _Done:
    """The handle of a call already made."""

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self._value, self._error = value, error

    def result(self, timeout: float | None = None) -> Any:
        if self._error is not None:
            raise TaskFailed(f"{type(self._error).__name__}: {self._error}") from self._error
        return self._value


class SerialExecutor:
    """Every call in this process, at once, in order: tests, one core, debugging."""

    name = "serial"
    workers = 1
    retries = 0

    def submit(self, fn: Callable[..., R], *args: Any) -> Handle[R]:
        try:
            return _Done(fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed back as TaskFailed, like any executor
            return _Done(error=exc)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return [fn(item) for item in items]

    def put(self, value: Any) -> Any:
        return value

    def close(self) -> None:
        pass


class _FutureHandle:
    def __init__(self, future: "Future[Any]") -> None:
        self._future = future

    def result(self, timeout: float | None = None) -> Any:
        try:
            return self._future.result(timeout)
        except _Timeout:
            raise TaskFailed(f"no answer within {timeout} s") from None
        except Exception as exc:
            raise TaskFailed(f"{type(exc).__name__}: {exc}") from exc


class ThreadExecutor:
    """Calls on threads of this process: for work that releases the GIL (numpy,
    SCIP, HiGHS), sharing memory with the caller and pickling nothing."""

    name = "threads"
    retries = 0

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, workers)
        self._pool = _Pool(max_workers=self.workers)
        self._pid = os.getpid()

    @property
    def pool(self) -> _Pool:
        """This process's pool: a forked child (``planner.optimize.detached``) inherits
        the parent's, whose threads it does not have, and work queued there never ran."""
        if self._pid != os.getpid():
            self._pool, self._pid = _Pool(max_workers=self.workers), os.getpid()
        return self._pool

    def submit(self, fn: Callable[..., R], *args: Any) -> Handle[R]:
        return _FutureHandle(self.pool.submit(fn, *args))

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return list(self.pool.map(fn, items))

    def put(self, value: Any) -> Any:
        return value

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def connected(
    address: str | None, workers: int = 2, prepare: Sequence[str] = ()
) -> Iterator[Executor | None]:
    """The cluster's executor for a ``with`` block, closed after it; None without an
    address (the caller's own default applies)."""
    if not address:
        yield None
        return
    executor = connect(address, workers, prepare)
    try:
        yield executor
    finally:
        executor.close()


def connect(address: str | None = None, workers: int = 2, prepare: Sequence[str] = ()) -> Executor:
    """The executor for a run: threads on this machine without an address; a Ray
    cluster at ``address`` ("auto", "ray://host:port", "local") otherwise, where
    ``workers`` is the CPUs of a "local" cluster (a running one has its own), and
    every worker has imported the modules in ``prepare`` before it is handed out."""
    if not address:
        return ThreadExecutor(workers)
    from parallel import ray_cluster  # noqa: PLC0415 - Ray only when asked for

    return ray_cluster.connect(address, workers, prepare)
