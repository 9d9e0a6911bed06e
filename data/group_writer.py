"""Group commit: one thread commits many small write transactions as one.

Each capture was its own DuckDB transaction: a WAL write and sync per order,
and captures racing on popular stock rows aborted each other and retried, so
more clients meant more retries, not more orders. Here callers hand their unit
of work to one writer thread and wait; the writer takes everything queued (up
to ``MAX_GROUP``), runs it in one transaction, commits once, and only then
answers each caller.

A unit is either a plain function of the repository (``submit``: the group's
plain units run one after another) or an item for a *batch function*
(``submit_batch``): the writer hands all queued items of one batch function to
it at once, so it can read and write the whole group with one statement per
table. A batch function answers each item with its result or a ``Failed``
(that item's own error, e.g. out of stock): it decides every item before it
writes, so a failed item leaves nothing behind and the others still commit.

DuckDB has no savepoints, so a unit that *raises* cannot be undone alone: the
group is rolled back and its units run again one transaction each
(``Database.write``), where a failing unit fails alone and its caller gets its
own error. Units must therefore be re-runnable, as every ``Database.write``
unit already is.
"""

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data.lifecycle_db import Database
    from data.lifecycle_repo import LifecycleRepo

MAX_GROUP = 64


@dataclass(frozen=True)
class Failed:
    """A batch function's answer for one item that failed alone (nothing of it written)."""

    error: BaseException


Batch = Callable[["LifecycleRepo", Sequence[Any]], Sequence[Any]]


def run_each(repo: "LifecycleRepo", works: Sequence[Any]) -> list[Any]:
    """The batch function of plain units: each in turn, in the same transaction."""
    return [work(repo) for work in works]


@dataclass
class _Job:
    batch: Batch
    item: Any
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        if isinstance(result, Failed):
            result, error = None, result.error
        self.result, self.error = result, error
        self.done.set()


class GroupWriter:
    """The writer thread and its queue; ``submit`` blocks until the unit is durable."""

    def __init__(self, db: "Database", max_group: int = MAX_GROUP) -> None:
        self.db = db
        self.max_group = max_group
        self.groups = 0  # commits made (each of one or more units)
        self.units = 0  # units committed in groups
        self.fallbacks = 0  # groups rolled back and run unit by unit
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="dom-group-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[["LifecycleRepo"], Any]) -> Any:
        return self.submit_batch(run_each, work)

    def submit_batch(self, batch: Batch, item: Any) -> Any:
        """Queue ``item`` for ``batch``; its result once committed (or its error)."""
        job = _Job(batch, item)
        self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            group = [job]
            stop = False
            while len(group) < self.max_group:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
            by_batch: dict[Batch, list[_Job]] = {}
            for j in group:
                by_batch.setdefault(j.batch, []).append(j)
            for batch, jobs in by_batch.items():
                self._commit(batch, jobs)
            if stop:
                return

    def _commit(self, batch: Batch, group: list[_Job]) -> None:
        items = [j.item for j in group]
        try:
            results = self.db.write(lambda repo: batch(repo, items))
        except BaseException as exc:  # noqa: BLE001 - some unit failed: each runs alone below
            if len(group) == 1:
                group[0].finish(error=exc)
                return
            self.fallbacks += 1
            for j in group:
                try:
                    j.finish(self.db.write(lambda repo, j=j: batch(repo, [j.item]))[0])  # type: ignore[misc]
                except BaseException as exc:  # noqa: BLE001 - handed to its caller
                    j.finish(error=exc)
            return
        self.groups += 1
        self.units += len(group)
        for j, r in zip(group, results, strict=True):
            j.finish(r)
