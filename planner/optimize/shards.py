"""Shards: groups cut into pieces of about the same size for a cluster's workers.

Pricing is one call per group, and groups are orders with the same line count: on a
100k-order batch the one-line group holds over half the orders, so with one call per
group the cluster waits for the worker that got it. A cluster gets pieces of at most
``per_shard`` orders instead, each piece orders whose first candidate node (their
nearest, cheapest region) is the same or next in index, so a shard's orders reach
mostly the same nodes and its rows of the prices. Every order is priced alone, so
shards change which call prices an order, never its answer. This machine's threads
keep whole groups: nothing changes without a cluster.
"""

import numpy as np

from parallel.executor import Executor
from planner.core.group import Group
from planner.optimize.workers import LOCAL

# What a cluster's workers import before a run's clock starts (``parallel.connect``).
WORKER_MODULES = ("planner.optimize.pricing.orders", "planner.optimize.prices.flow")
SHARDS_PER_WORKER = 2  # pieces per worker: a slow piece is made up by the others
MIN_SHARD = 5_000  # orders; below, a task's fixed costs outweigh its work


def shard(groups: list[Group], executor: Executor | None) -> list[Group]:
    """``groups`` cut for ``executor`` (unchanged on this machine's own executors)."""
    if executor is None or executor is LOCAL.shared or executor.workers < 2:
        return groups
    total = sum(g.size for g in groups)
    per_shard = max(MIN_SHARD, -(-total // (SHARDS_PER_WORKER * executor.workers)))
    out: list[Group] = []
    for g in groups:
        if g.size <= per_shard:
            out.append(g)
            continue
        by_region = np.argsort(g.cand[:, 0], kind="stable")
        pieces = -(-g.size // per_shard)
        out.extend(g.take(np.sort(rows)) for rows in np.array_split(by_region, pieces))
    return out
