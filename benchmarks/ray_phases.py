"""The optimizer's parallel phases, timed on one executor: this machine's own (threads
and a forked child) or a Ray cluster of N workers.

    python -m benchmarks.ray_phases BATCH_DIR [--ray local:N | auto] [--repeat 3]

The same fixed work every time, so executors compare call for call: the per-unit
flow over every candidate arc (its second half on the executor above 1M arcs), storing
the shards on the cluster (once per solve: ``store_s``), then ``--repeat`` passes of
pricing every order at the flow's prices with the bound (``price_groups``: the start,
every round, the final bound) and without it (``solve_groups``: columns, the dive).
Prints one JSON object: each phase's median seconds, the peak resident MiB of this (the
coordinator's) process, the plan-free check that every executor priced to the same bound.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def worker_peak(seconds: float) -> tuple[int, float]:
    """(pid, peak resident MiB) of the worker running this; held ``seconds`` so that
    one copy per CPU lands on each worker."""
    time.sleep(seconds)
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) these processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _progress(**figures: float) -> None:
    """A phase's figures as soon as it ends (stderr): a long run stopped early keeps them."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**figures, "coordinator_peak_mib": round(peak)}), file=sys.stderr)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("batch", type=Path)
    ap.add_argument("--ray", default=None, help="local:N (a private N-CPU cluster) or auto")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--interleave",
        action="store_true",
        help="on one cluster, alternate passes on 1 worker and on all: same load for both",
    )
    args = ap.parse_args(argv)

    from data.batch_io import read_batch
    from parallel import connect
    from planner.core.instance import build_instance
    from planner.optimize.candidates import build_groups
    from planner.optimize.prices.flow import flow_prices
    from planner.optimize.pricing.orders import bound_of, price_groups, solve_groups
    from planner.optimize.settings import Settings
    from planner.optimize.shards import WORKER_MODULES, shard
    from planner.optimize.start import keeps_all_nodes

    inst = build_instance(read_batch(args.batch))
    settings = Settings()
    all_nodes = keeps_all_nodes(inst.n_orders, inst.n_nodes, settings)
    k = inst.n_nodes if all_nodes else settings.candidates
    groups = build_groups(inst, k, settings.single_line_candidates)
    executor = None
    started = time.perf_counter()
    if args.ray:
        address, _, n = args.ray.partition(":")
        executor = connect(address, int(n or 2), prepare=WORKER_MODULES)
    connect_s = time.perf_counter() - started
    if args.interleave:
        assert executor is not None, "--interleave needs --ray"
        try:
            fp = flow_prices(inst, groups, executor)
            return _interleaved(inst, groups, executor, settings, args.repeat, fp.lam, fp.mu)
        finally:
            executor.close()
    try:
        workers = executor.workers if executor is not None else 2
        # The workers' CPU per pass: the work, whatever share of the cores the machine gave.
        # (This machine's threads: the process itself; its forked flow half is not counted.)
        pids = [p for p, _ in executor.map(worker_peak, [1.0] * workers)] if executor else []
        pids = pids or [os.getpid()]
        t = time.perf_counter()
        fp = flow_prices(inst, groups, executor)
        flow_s = time.perf_counter() - t
        _progress(flow_s=flow_s, arcs=fp.arcs)
        t = time.perf_counter()
        shard(groups, executor)  # what the first pass of a solve does besides pricing
        store_s = time.perf_counter() - t
        priced_s, columns_s, bounds, cpu_s = [], [], [], []
        for _ in range(args.repeat):
            t, cpu = time.perf_counter(), cpu_seconds(pids)
            priced = price_groups(inst, groups, fp.lam, fp.mu, settings.bound_widen_by, executor)
            priced_s.append(time.perf_counter() - t)
            cpu_s.append(cpu_seconds(pids) - cpu)
            _progress(price_with_bound_s=priced_s[-1], cpu_s=cpu_s[-1])
            bounds.append(bound_of(inst, priced, fp.lam, fp.mu))
            t = time.perf_counter()
            solve_groups(groups, fp.lam, fp.mu, inst.weights.split, executor)
            columns_s.append(time.perf_counter() - t)
        retries = executor.retries if executor is not None else 0
        peaks = dict(executor.map(worker_peak, [1.0] * workers)) if executor is not None else {}
    finally:
        if executor is not None:
            executor.close()
    return {
        "executor": args.ray or "this machine (threads + fork)",
        "workers": workers,
        "orders": inst.n_orders,
        "nodes": inst.n_nodes,
        "connect_s": round(connect_s, 2),
        "flow_s": round(flow_s, 2),
        "store_s": round(store_s, 2),
        "price_with_bound_s": round(statistics.median(priced_s), 2),
        "price_for_columns_s": round(statistics.median(columns_s), 2),
        "passes": [round(x, 2) for x in priced_s],
        "column_passes": [round(x, 2) for x in columns_s],
        "workers_cpu_s_per_pass": [round(x, 2) for x in cpu_s],
        "bound": round(bounds[0], 2),
        "same_bound_every_pass": len(set(bounds)) == 1,
        "retries": retries,
        "coordinator_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "worker_peak_mib": sorted(round(v) for v in peaks.values()),
    }


def _interleaved(
    inst: Any, groups: Any, executor: Any, settings: Any, repeat: int, lam: Any, mu: Any
) -> dict:
    """Pricing passes (at the flow's prices, with the bound and for columns) alternately
    one task at a time and all at once, on the same cluster: the machine's load weighs
    on both alike."""
    from planner.optimize.pricing.orders import price_groups, solve_groups
    from planner.optimize.shards import shard

    shard(groups, executor)  # stored once, as a solve's first pass does
    wide = executor.workers
    times: dict[str, list[float]] = {k: [] for k in ("bound_1", f"bound_{wide}", "columns_1",
                                                     f"columns_{wide}")}  # fmt: skip
    for _ in range(repeat):
        for width in (1, wide):
            executor.in_flight = width
            t = time.perf_counter()
            price_groups(inst, groups, lam, mu, settings.bound_widen_by, executor)
            times[f"bound_{width}"].append(time.perf_counter() - t)
            t = time.perf_counter()
            solve_groups(groups, lam, mu, inst.weights.split, executor)
            times[f"columns_{width}"].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "orders": inst.n_orders,
        "nodes": inst.n_nodes,
        "workers": wide,
        **{f"price_{k}_s": [round(x, 2) for x in v] for k, v in times.items()},
        "speed_up_with_bound": round(med["bound_1"] / med[f"bound_{wide}"], 2),
        "speed_up_for_columns": round(med["columns_1"] / med[f"columns_{wide}"], 2),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
