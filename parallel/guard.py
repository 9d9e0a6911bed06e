"""An executor that outlives its cluster: the first failed call hands everything
after it to a local fallback and tells the caller once (``on_lost``).

A run on a cluster must not end in a traceback when the cluster goes away: the
optimizer stops its budget on the news and returns the best plan it has, and the
call that failed is done here so the step in progress can finish.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from parallel.executor import Executor, Handle, TaskFailed

T = TypeVar("T")
R = TypeVar("R")


class Guarded:
    name: str
    workers: int

    def __init__(self, inner: Executor, fallback: Executor, on_lost: Callable[[str], None]):
        self.inner, self.fallback, self._on_lost = inner, fallback, on_lost
        self.name, self.workers = inner.name, inner.workers
        self.lost: str | None = None  # why the inner executor was given up

    @property
    def retries(self) -> int:
        return self.inner.retries

    def _lose(self, why: str) -> None:
        if self.lost is None:
            self.lost = why
            self._on_lost(why)

    def submit(self, fn: Callable[..., R], *args: Any) -> Handle[R]:
        if self.lost is None:
            try:
                return _GuardedHandle(self, self.inner.submit(fn, *args))
            except TaskFailed as exc:
                self._lose(str(exc))
        return self.fallback.submit(fn, *args)

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self.lost is None:
            try:
                return self.inner.map(fn, items)
            except TaskFailed as exc:
                self._lose(str(exc))
        return self.fallback.map(fn, items)

    def put(self, value: Any) -> Any:
        return value  # the optimizer passes plain objects; the inner executor stores them

    def close(self) -> None:
        pass  # the caller closes the executor it made


class _GuardedHandle:
    def __init__(self, guard: Guarded, handle: Handle[Any]) -> None:
        self._guard, self._handle = guard, handle

    def result(self, timeout: float | None = None) -> Any:
        try:
            return self._handle.result(timeout)
        except TaskFailed as exc:
            self._guard._lose(str(exc))  # the caller redoes the call or stops
            raise
