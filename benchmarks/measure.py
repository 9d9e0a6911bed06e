"""One measurement in a fresh process, so peak memory is that run's alone.

    python -m benchmarks.measure generate ORDERS SEED OUT_DIR [NODES [SKUS]]
    python -m benchmarks.measure plan BATCH_DIR STRATEGY TIME_LIMIT

Prints one JSON object: wall seconds, peak RSS in MiB and the run's figures.
"""

import json
import resource
import sys
import time
from pathlib import Path


def peak_mib() -> float:
    """This process's peak resident set plus the largest of its finished children's (the
    optimizer forks one to solve half of a large flow): an upper bound on the peak."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def main(argv: list[str]) -> dict:
    kind = argv[0]
    if kind == "generate":
        from data.batch_io import write_batch
        from data.generator import generate_batch

        orders, seed, out = int(argv[1]), int(argv[2]), Path(argv[3])
        sizes = [int(a) for a in argv[4:6]]  # optional: nodes, then SKUs
        started = time.perf_counter()
        batch = generate_batch(orders, seed=seed, nodes=sizes[0] if sizes else None,
                               skus=sizes[1] if len(sizes) > 1 else None)  # fmt: skip
        wall = time.perf_counter() - started
        write_batch(batch, out, "parquet")
        return {
            "wall_s": wall,
            "peak_mib": peak_mib(),
            "orders": len(batch.orders),
            "lines": len(batch.order_lines),
            "nodes": len(batch.nodes),
            "skus": len(batch.items),
        }
    if kind == "plan":
        from data.batch_io import read_batch
        from planner import check_plan, plan

        batch = read_batch(argv[1])
        started = time.perf_counter()
        result = plan(batch, argv[2], float(argv[3]))
        wall = time.perf_counter() - started
        violations = check_plan(batch, result.allocations, result.unfilled)
        s = result.summary
        return {
            "wall_s": wall,
            "peak_mib": peak_mib(),
            "total": s.total,
            "bound": s.lower_bound,
            "gap": s.gap,
            "violations": len(violations),
            "fill_rate": s.cost.fill_rate,
            "packages_per_order": s.cost.packages_per_order,
            "orders": len(batch.orders),
            "nodes": len(batch.nodes),
            "notes": s.notes,
        }
    raise SystemExit(f"unknown measurement {kind!r}")


if __name__ == "__main__":
    try:
        print(json.dumps(main(sys.argv[1:])))
    except (IndexError, ValueError) as exc:  # a missing or malformed argument
        why = "missing argument" if isinstance(exc, IndexError) else str(exc)
        usage = (__doc__ or "").split("\n\n")[1]
        raise SystemExit(f"error: {why}\nusage:\n{usage}") from None
