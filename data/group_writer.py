"""Group commit: one thread commits many small write transactions as one.

Each capture was its own DuckDB transaction: a WAL write and sync per order,
and captures racing on popular stock rows aborted each other and retried, so
more clients meant more retries, not more orders. Here callers hand their unit
of work to one writer thread and wait; the writer takes everything queued (up
to ``MAX_GROUP``), runs the units one after another in one transaction, commits
once, and only then answers each caller. Units still see each other's writes
(the same transaction), so reservations stay all-or-nothing per order and are
re-checked in the UPDATE of each stock row, rows in (node_id, sku) order.

DuckDB has no savepoints, so a unit that fails cannot be undone alone: if any
unit of a group raises, the group is rolled back and its units run again one
transaction each (``Database.write``), where a failing unit fails alone and
its caller gets its own error. Units must therefore be re-runnable, as every
``Database.write`` unit already is.
"""

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data.lifecycle_db import Database
    from data.lifecycle_repo import LifecycleRepo

MAX_GROUP = 64


@dataclass
class _Job:
    work: Callable[["LifecycleRepo"], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
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
        job = _Job(work)
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
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Job]) -> None:
        def together(repo: "LifecycleRepo") -> list[Any]:
            return [j.work(repo) for j in group]

        try:
            results = self.db.write(together)
        except BaseException as exc:  # noqa: BLE001 - some unit failed: each runs alone below
            if len(group) == 1:
                group[0].finish(error=exc)
                return
            self.fallbacks += 1
            for j in group:
                try:
                    j.finish(self.db.write(j.work))
                except BaseException as exc:  # noqa: BLE001 - handed to its caller
                    j.finish(error=exc)
            return
        self.groups += 1
        self.units += len(group)
        for j, r in zip(group, results, strict=True):
            j.finish(r)
