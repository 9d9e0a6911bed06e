"""What the store-owning process keeps in memory, in step with every commit.

The service is the only process writing its DuckDB file, so it sees every
commit and can keep what it read or wrote until a commit changes it:

- ``docs``: each order's JSON document (``GET /orders/{id}`` was five or six
  DuckDB statements of about 2 ms each on a busy machine, plus serialising);
- ``stock``: per SKU, each node's units available (on hand - reserved - safety
  stock), for deciding a group of captures without scanning 600k stock rows;
- ``unheld``: per SKU, open demand that no reservation holds (the network-short
  alert's half that is not stock).

A write that says exactly what it did (a group of captures: the new orders'
documents, each stock row's change, the demand it left unheld) updates the
entries at commit; any other write (change, cancel, shipping, a sourcing run,
a feed, ...) empties them all: it may have touched anything, and a miss is
only slower, never wrong. A miss is read from one snapshot and kept only if
nothing was emptied since that snapshot began (the generation check), so
nothing older than a commit is kept after it. Every update happens after the
commit and before the writer answers, so a caller that has its answer and
then reads sees what it wrote. Stock read from here only chooses nodes: each
reservation's UPDATE still re-checks the row in the store.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
MAX_DOCS = 200_000
MAX_SKUS = 50_000


@dataclass(frozen=True)
class OrderDoc:
    """An order as the API returns it: its JSON and its version (the ETag)."""

    body: bytes
    version: int


class CommitCache(Generic[K, V]):
    """Entries by key, least recently used dropped past ``limit``; thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.entries: OrderedDict[K, V] = OrderedDict()
        self.cleared = 0  # the generation of the last emptying
        self.dropped: dict[K, int] = {}  # key -> the generation that dropped it
        self.hits = 0
        self.misses = 0

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        with self.lock:
            found = {k: v for k in keys if (v := self.entries.get(k)) is not None}
            self.hits += len(found)
            return found

    def get(self, key: K) -> V | None:
        return self.get_many([key]).get(key)

    def keep(self, values: Mapping[K, V], generation: int) -> None:
        """Keep values read from a snapshot begun at ``generation``, unless the cache
        was emptied since, or the key dropped since; an entry already there is newer
        and stays."""
        with self.lock:
            self.misses += len(values)
            if generation < self.cleared:
                return
            for k, v in values.items():
                if k not in self.entries and self.dropped.get(k, 0) <= generation:
                    self.put(k, v)

    def drop(self, keys: Iterable[K], generation: int) -> None:
        """Forget these keys as of ``generation`` (a commit changed them by an amount
        not known): reads from older snapshots are not kept for them."""
        with self.lock:
            for k in keys:
                self.entries.pop(k, None)
                self.dropped[k] = generation
            if len(self.dropped) > self.limit:  # forget all instead of remembering more
                self.entries.clear()
                self.dropped.clear()
                self.cleared = generation

    def put(self, key: K, value: V) -> None:
        """(Lock held.)"""
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.limit:
            self.entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self.entries)


class CommitCaches:
    """The three caches and their generation (bumped by every commit that changed any)."""

    def __init__(self) -> None:
        self.generation = 0
        self.docs: CommitCache[str, OrderDoc] = CommitCache(MAX_DOCS)
        # sku -> node -> [units available, the stock row's rowid]
        self.stock: CommitCache[str, dict[str, list[int]]] = CommitCache(MAX_SKUS)
        self.unheld: CommitCache[str, int] = CommitCache(MAX_SKUS)
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Empty every cache (a write that may have changed anything committed)."""
        with self._lock:
            self.generation += 1
            caches: tuple[CommitCache, ...] = (self.docs, self.stock, self.unheld)
            for cache in caches:
                with cache.lock:
                    cache.entries.clear()
                    cache.dropped.clear()
                    cache.cleared = self.generation

    def committed(
        self,
        docs: Mapping[str, OrderDoc] | None,
        stock: Mapping[tuple[str, str], Sequence[int]],
        unheld: Mapping[str, int],
        unheld_unknown: Sequence[str] = (),
    ) -> None:
        """After a commit: ``docs`` the only orders it changed (None: any, and
        everything is forgotten), ``stock`` each row's change (available first),
        ``unheld`` each SKU's change of demand nothing holds, ``unheld_unknown`` SKUs
        whose unheld demand changed by an amount not known (forgotten)."""
        if docs is None:
            self.forget()
            return
        with self._lock:
            self.generation += 1
        self.unheld.drop(unheld_unknown, self.generation)
        with self.docs.lock:
            for order_id, doc in docs.items():
                self.docs.put(order_id, doc)
        with self.stock.lock:
            for (node_id, sku), change in stock.items():
                rows = self.stock.entries.get(sku)
                if rows is None:
                    continue
                if node_id in rows:
                    rows[node_id][0] += int(change[0])
                else:  # a new stock row: read again when next needed
                    del self.stock.entries[sku]
        with self.unheld.lock:
            for sku, qty in unheld.items():
                if sku in self.unheld.entries:
                    self.unheld.entries[sku] += qty
