"""Warm starts across sourcing runs: one cold run, then runs that each start from the
last one's prices and plan (``planner.optimize.warm``), on the same batch or on one
where some orders were released and as many new ones came in.

    python -m benchmarks.warm .benchmarks/batches/1500-7 --time-limit 5 --runs 3
    python -m benchmarks.warm .benchmarks/batches/10000-7 --time-limit 10 --churn 0.1

Prints one row per run: total, bound, gap and distance above the batch's reference
(``benchmarks/optima.json``), with the machine's load average.
"""

import os
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from benchmarks.run import above, references
from data.batch_io import batch_from_frames, read_batch
from models import Batch
from planner import check_plan
from planner.core.instance import build_instance
from planner.core.result import allocation_frames
from planner.optimize.columns import plan_cost
from planner.optimize.solver import solve


def churned(batch: Batch, share: float, seed: int) -> Batch:
    """The batch without ``share`` of its orders (released since the last run)."""
    rng = np.random.default_rng(seed)
    ids = batch.orders["order_id"].to_numpy()
    gone = set(rng.choice(ids, int(share * len(ids)), replace=False))
    return batch_from_frames(
        batch.batch_date, batch.weights, nodes=batch.nodes, items=batch.items,
        inventory=batch.inventory, orders=batch.orders[~batch.orders.order_id.isin(gone)],
        order_lines=batch.order_lines[~batch.order_lines.order_id.isin(gone)],
        rate_card=batch.rate_card,
    )  # fmt: skip


def main(
    batch_dir: Path,
    time_limit: Annotated[float, typer.Option()] = 5.0,
    runs: Annotated[int, typer.Option(help="warm runs after the cold one")] = 2,
    churn: Annotated[float, typer.Option(help="share of orders released between runs")] = 0.0,
) -> None:
    batch = read_batch(batch_dir)
    ref = references().get(batch_dir.name, (None, ""))
    print("| run | orders | total $ | bound $ | gap | vs reference | violations | load |")
    print("|---|---|---|---|---|---|---|---|")
    warm = None
    for run in range(runs + 1):
        if run and churn:
            batch = churned(batch, churn, run)
        inst = build_instance(batch)
        started = time.perf_counter()
        out = solve(inst, time_limit, warm=warm)
        wall = time.perf_counter() - started
        total = plan_cost(inst, out.plan)
        alloc, unfilled = allocation_frames(inst, out.plan)
        bad = len(check_plan(batch, alloc, unfilled))
        vs = above(total, *ref) if not churn or not run else "-"
        kind = "warm" if run else "cold"
        print(
            f"| {run} {kind} | {inst.n_orders:,} | {total:,.2f} | {out.bound:,.2f} | "
            f"{100 * (total - out.bound) / total:.2f} % | {vs} | {bad} | "
            f"{os.getloadavg()[0]:.1f} ({wall:.1f} s) |",
            flush=True,
        )
        warm = out.warm


if __name__ == "__main__":
    typer.run(main)
