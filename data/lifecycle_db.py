"""One DuckDB connection shared by a service process, and transactions that retry.

DuckDB allows one writing process per file; inside it, each thread works on its
own cursor (``con.cursor()``: a connection to the same database with its own
transaction). DuckDB's concurrency control is optimistic: two transactions
updating the same row conflict and the later one aborts (``TransactionException``).
``Database.write`` runs a unit of work in one transaction and, on a conflict,
rolls back and runs it again after a jittered back-off. After a few optimistic
attempts it takes a process-wide lock, so under heavy contention (thirty
clients buying the last unit of one SKU) every request still finishes in a
bounded number of attempts instead of starving.
"""

import contextlib
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import duckdb

from data.commit_cache import CommitCaches
from data.group_writer import Batch, GroupWriter, run_each
from data.lifecycle_repo import LifecycleRepo
from data.store import Store, StoreError
from models.lifecycle_errors import Busy, WriteConflict

T = TypeVar("T")

OPTIMISTIC_ATTEMPTS = 4
MAX_ATTEMPTS = 40
BACKOFF_S = 0.002
MAX_BACKOFF_S = 0.05


def is_conflict(exc: BaseException) -> bool:
    """A write-write conflict (retry it), as opposed to a real error."""
    if isinstance(exc, duckdb.TransactionException | WriteConflict):
        return True
    text = str(exc)
    return isinstance(exc, duckdb.Error) and ("Conflict" in text or "conflict" in text)


class _Gate:
    """Many ordinary writers, or one exclusive writer (a sourcing run's apply, a feed step).

    DuckDB would let a run's apply (thousands of stock rows) race the stream of
    captures and lose every time; instead the apply waits for in-flight writes
    to finish and holds new ones back for its short transaction. Reads never wait.
    Writers held back by an exclusive one go first when it ends, so a feed's next
    step waits for the captures queued behind its last one.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._exclusive = False
        self._waiting = 0  # exclusive writers waiting
        self._held = 0  # ordinary writers waiting for an exclusive one to end
        self._their_turn = False  # an exclusive one ended: the held writers go first

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._held += 1
            while self._exclusive or (self._waiting and not self._their_turn):
                self._cond.wait()
            self._held -= 1
            if not self._held:
                self._their_turn = False
                self._cond.notify_all()
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                if not self._active:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._exclusive or self._active or self._their_turn:
                self._cond.wait()
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._their_turn = self._held > 0
                self._cond.notify_all()


class Database:
    """The service's handle on its store: a cursor pool and retrying transactions."""

    # Test hook: called with the run id inside a sourcing run's apply transaction,
    # just before it commits (the crash test stops the process there).
    on_apply: Callable[[str], None] | None = None
    # Called after each commit that changed stock rows, with (node_id, sku) ->
    # [change in available, change in reserved]: the promise index follows them.
    on_stock_change: Callable[[dict[tuple[str, str], list[int]]], None] | None = None

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pool: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
        self._cursor_lock = threading.Lock()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        # Taken by a writer that keeps losing conflicts: only one such writer at a time.
        self.contention_lock = threading.Lock()
        # One sourcing run at a time; bulk loads on the main connection share it.
        self.run_lock = threading.Lock()
        self.conflicts = 0
        self.cache: dict[str, object] = {}
        self.gate = _Gate()
        self._writer: GroupWriter | None = None
        self._writer_lock = threading.Lock()
        # Order documents, stock and unheld demand, kept in step with every commit below.
        self.caches = CommitCaches()

    @property
    def path(self) -> str:
        return self.store.path

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for this thread, returned to the pool afterwards."""
        try:
            cur = self._pool.get_nowait()
        except queue.Empty:
            with self._cursor_lock:
                cur = self.store.con.cursor()
                self._cursors.append(cur)
        try:
            yield cur
        finally:
            self._pool.put(cur)

    def read(self, work: Callable[[LifecycleRepo], T]) -> T:
        """Run read-only work on one consistent snapshot, begun at its first statement
        (work answered from a cache, such as a known API key, opens none)."""
        with self.cursor() as cur:
            snapshot = _Snapshot(cur)
            repo = LifecycleRepo(cast(duckdb.DuckDBPyConnection, snapshot), self.cache)
            repo.caches, repo.generation = self.caches, self.caches.generation
            try:
                return work(repo)
            finally:
                if snapshot.begun:
                    cur.rollback()

    def write(
        self,
        work: Callable[[LifecycleRepo], T],
        *,
        attempts: int = MAX_ATTEMPTS,
        exclusive: bool = False,
    ) -> T:
        """Run ``work`` in one transaction: all of it commits or none of it does.

        ``work`` may run more than once (after a conflict), so it must do all its
        reading and deciding inside, from the repository it is given.
        ``exclusive`` holds other writers back meanwhile (large set-wise writes).
        """
        locked = False
        try:
            for attempt in range(1, attempts + 1):
                if attempt > OPTIMISTIC_ATTEMPTS and not locked:
                    self.contention_lock.acquire()
                    locked = True
                gate = self.gate.exclusive() if exclusive else self.gate.shared()
                with gate, self.cursor() as cur:
                    generation = self.caches.generation  # before the snapshot begins
                    cur.begin()
                    try:
                        repo = LifecycleRepo(cur, self.cache)
                        repo.caches, repo.generation = self.caches, generation
                        result = work(repo)
                        repo.refresh_alerts()  # alerts commit with the stock change
                        cur.commit()
                        unknown = repo.unheld_unknown
                        self.caches.committed(
                            repo.order_docs,
                            repo.stock_changes,
                            repo.unheld_changes,
                            sorted(unknown.union(repo.refreshed_skus)) if unknown else (),
                        )
                        if repo.stock_changes and self.on_stock_change is not None:
                            # Still inside the gate: an index rebuild (exclusive) sees
                            # either this commit in its snapshot or this change, not both.
                            self.on_stock_change(repo.stock_changes)
                        return result
                    except BaseException as exc:
                        _rollback(cur)
                        if not is_conflict(exc):
                            raise
                        self.conflicts += 1
                delay = min(MAX_BACKOFF_S, BACKOFF_S * 2 ** min(attempt, 6))
                time.sleep(random.uniform(0, delay))
            raise Busy("the store is busy (write conflicts); nothing was changed, retry shortly")
        finally:
            if locked:
                self.contention_lock.release()

    @property
    def group_writer(self) -> GroupWriter | None:
        """The group writer, once a grouped write started it (its counters say how
        many commits carried how many units)."""
        return self._writer

    def write_grouped(self, work: Callable[[LifecycleRepo], T]) -> T:
        """Like ``write``, but committed together with other callers' units by the
        group writer (``data.group_writer``): one durable commit for many small
        writes. Returns once the commit holding ``work`` is done."""
        return cast(T, self.write_batch(run_each, work))

    def write_batch(self, batch: Batch, item: object) -> object:
        """``item`` handed to ``batch`` together with the other items queued for it
        (``data.group_writer``); its answer once the commit holding it is done."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = GroupWriter(self)
                # The first groups read stock per SKU; this fills the caches meanwhile.
                threading.Thread(target=self.warm, name="dom-warm-caches", daemon=True).start()
            writer = self._writer
        return writer.submit_batch(batch, item)

    def warm(self) -> None:
        """Fill the commit caches with every SKU's stock and unheld demand."""
        with contextlib.suppress(duckdb.Error, StoreError):  # closed meanwhile: nothing to warm
            self.read(lambda r: r.warm_caches())

    def close(self) -> None:
        """Checkpoint (the WAL folds into the file) and close every cursor and the store."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.stop()
                self._writer = None
        if not self.store.closed:
            with contextlib.suppress(duckdb.Error):
                self.store.con.execute("CHECKPOINT")
        with self._cursor_lock:
            for cur in self._cursors:
                with contextlib.suppress(duckdb.Error):
                    cur.close()
            self._cursors.clear()
        self.store.close()


class _Snapshot:
    """A cursor whose read transaction begins at the first use."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self._cur = cur
        self.begun = False

    def __getattr__(self, name: str) -> Any:
        if not self.begun:
            self._cur.begin()
            self.begun = True
        return getattr(self._cur, name)


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # the failure may have ended the transaction
        cur.rollback()
