"""Shards: groups cut into pieces of about the same size for a cluster's workers, each
stored on the cluster once and reused by every pricing pass.

Pricing is one call per group, and groups are orders with the same line count: on a
100k-order batch the one-line group holds over half the orders, so with one call per
group the cluster waits for the worker that got it. A cluster gets pieces of at most
``per_shard`` orders instead, each piece orders whose first candidate node (their
nearest, cheapest region) is the same or next in index, so a shard's orders reach
mostly the same nodes and its rows of the prices. Every order is priced alone, so
shards change which call prices an order, never its answer. This machine's threads
keep whole groups: nothing changes without a cluster.

Why stored once: a solve prices the same orders pass after pass at new prices, and a
group's arrays (M x L x K costs and stock) are most of what a pass would ship (131 MB
at 100k orders). Each piece is put in the cluster's object store the first time it is
priced and the task gets the reference (read in place on the worker), so a pass sends
the prices out and the choices back. A group the solve changes (widened candidates) is
a new group and is stored anew; the old pieces are dropped past ``KEEP_BYTES``.
"""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

import numpy as np

from parallel.executor import Executor
from planner.core.group import Group
from planner.optimize.workers import LOCAL

R = TypeVar("R")

# What a cluster's workers import before a run's clock starts (``parallel.connect``).
WORKER_MODULES = ("planner.optimize.pricing.orders", "planner.optimize.prices.flow")
SHARDS_PER_WORKER = 2  # pieces per worker: a slow piece is made up by the others
MIN_SHARD = 5_000  # orders; below, a task's fixed costs outweigh its work
KEEP_BYTES = 2 << 30  # stored pieces kept for later passes (the oldest dropped first)


@dataclass
class Shard:
    """One task's orders: the coordinator's copy and what the task is given for it."""

    group: Group  # without a floor for dropped nodes: tasks compute their own
    sent: Any  # what the task gets: on a cluster a reference to the group's one stored
    # copy, on this machine the group itself


def work(g: Group) -> int:
    """What pricing ``g`` costs, in order-lines (measured at 100k orders: 36 us of CPU
    per order of one line, 71 of two, 110 of three, 160 of four)."""
    return g.size * g.n_lines


def without_floor(g: Group) -> Group:
    """The group with no floor for dropped nodes: solving it prices candidates only."""
    return replace(g, dropped_bound=np.full(g.size, np.inf))


def shard(groups: list[Group], executor: Executor | None) -> list[Shard]:
    """``groups`` cut for ``executor`` and stored on it (this machine's own executors:
    the groups as they are)."""
    if executor is None or executor is LOCAL.shared:
        return [Shard(free, free) for free in map(without_floor, groups)]
    total = sum(work(g) for g in groups)
    per_shard = -(-total // (SHARDS_PER_WORKER * executor.workers))  # order-lines
    out = [s for g in groups for s in _stored(g, executor, per_shard)]
    _forget(keep={id(s.group) for s in out})
    return out


# Pieces already stored: (executor, shard size, the group's arrays) -> (group, executor,
# pieces, bytes). The group and executor are held so that the ids in the key stay theirs.
_STORED: "OrderedDict[tuple[int, ...], tuple[Group, Executor, list[Shard], int]]" = OrderedDict()


def run(executor: Executor | None, fn: Callable[[Any], R], shards: list[Shard]) -> list[R]:
    """``fn`` over the shards, answers in shard order. A cluster gets the most work
    first, so that the small shards fill in at the end rather than wait behind a
    large one that started last (100k orders on 2 workers: 14 shards)."""
    if executor is None or executor is LOCAL.shared:
        return (executor or LOCAL.shared).map(fn, [s.sent for s in shards])
    order = sorted(range(len(shards)), key=lambda i: -work(shards[i].group))
    answers = executor.map(fn, [shards[i].sent for i in order])
    out: list[Any] = [None] * len(shards)
    for i, answer in zip(order, answers, strict=True):
        out[i] = answer
    return out


def _key(g: Group, executor: Executor, per_shard: int) -> tuple[int, ...]:
    """The floor (``dropped_bound``) is left out: tasks compute their own."""
    arrays = (id(getattr(g, f.name)) for f in fields(g) if f.name != "dropped_bound")
    return (id(executor), per_shard, *arrays)


def _stored(g: Group, executor: Executor, per_shard: int) -> list[Shard]:
    key = _key(g, executor, per_shard)
    kept = _STORED.get(key)
    if kept is not None:
        _STORED.move_to_end(key)
        return kept[2]
    n = min(-(-work(g) // per_shard), g.size // MIN_SHARD)
    if executor.workers < 2 or n < 2:
        rows = [np.arange(g.size)]
    else:
        by_region = np.argsort(g.cand[:, 0], kind="stable")
        rows = [np.sort(r) for r in np.array_split(by_region, n)]
    pieces = [without_floor(g if len(rows) == 1 else g.take(r)) for r in rows]
    out = [Shard(p, executor.put(p)) for p in pieces]
    nbytes = sum(getattr(p, f.name).nbytes for p in pieces for f in fields(p))
    _STORED[key] = (g, executor, out, nbytes)
    return out


def _forget(keep: set[int]) -> None:
    """Drop the oldest stored pieces past ``KEEP_BYTES`` (never those of this call)."""
    total = sum(entry[3] for entry in _STORED.values())
    for key in list(_STORED):
        if total <= KEEP_BYTES:
            break
        _, _, pieces, nbytes = _STORED[key]
        if any(id(p.group) in keep for p in pieces):
            continue
        del _STORED[key]
        total -= nbytes
