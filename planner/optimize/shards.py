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
a new group and is stored anew; a group's pieces are dropped when the solve lets go of
the group.
"""

import weakref
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
    return [s for g in groups for s in _stored(g, executor, per_shard)]


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


@dataclass
class _Stored:
    executor: Executor  # held, so that its id in the key stays its own
    pieces: list[Group] | None  # the coordinator's copies; None: the group is not cut
    sent: list[Any]  # what a task gets for each piece


# Groups stored on a cluster, by executor, shard size and the ids of the group's arrays
# (its floor left out: tasks compute their own). An entry goes when any of those arrays
# is freed, i.e. when the solve no longer holds the group.
_STORED: dict[tuple[int, ...], _Stored] = {}


def _stored(g: Group, executor: Executor, per_shard: int) -> list[Shard]:
    arrays = [getattr(g, f.name) for f in fields(g) if f.name != "dropped_bound"]
    key = (id(executor), per_shard, *map(id, arrays))
    kept = _STORED.get(key)
    if kept is None:
        n = min(-(-work(g) // per_shard), g.size // MIN_SHARD)
        if executor.workers < 2 or n < 2:
            free = without_floor(g)
            sent = executor.put(free)
            if sent is free:  # nothing to store on this executor
                return [Shard(free, free)]
            kept = _Stored(executor, None, [sent])
        else:
            by_region = np.argsort(g.cand[:, 0], kind="stable")
            rows = [np.sort(r) for r in np.array_split(by_region, n)]
            pieces = [without_floor(g.take(r)) for r in rows]  # copies: g is not held
            kept = _Stored(executor, pieces, [executor.put(p) for p in pieces])
        _STORED[key] = kept
        for a in arrays:
            weakref.finalize(a, _STORED.pop, key, None)
    pieces = kept.pieces if kept.pieces is not None else [without_floor(g)]
    return [Shard(p, sent) for p, sent in zip(pieces, kept.sent, strict=True)]
