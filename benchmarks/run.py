"""Benchmark table: generate batches, plan them with each strategy, print the results.

    ./dev bench                                   # 1,500 and 10,000 orders
    ./dev bench --sizes 1500,10000,100000 --time-limit 60
    ./dev bench --sizes 1000000 --strategies greedy --skip-check
    ./dev bench --sizes 10000 --strategies optimize --time-limit 10 --repeat 3

Time-limited strategies (optimize, mip) stop where their solvers got to, so a run
differs from the next (10k orders at 10 s: gaps 1.8-3.6 % in one sitting); with
``--repeat N`` each is run N times and the table shows the run with the median gap
and the range of the gaps.

Where a batch's optimum is known (``benchmarks/optima.json``: proved by the exact
``mip`` strategy, with the command and its time), the table also shows how far each
plan is above it: the gap to the bound mixes the plan's distance from the optimum
with the bound's, and on these batches the bound's (the LP's integrality gap) is
the larger part.

Each measurement runs in its own process (benchmarks/measure.py) so its peak
memory is its own. Batches are generated once per (size, seed) and kept under
.benchmarks/batches. Results are appended to .benchmarks/results.jsonl and a
markdown table is printed (the one in benchmarks/README.md came from here).
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".benchmarks"
console = Console(width=160)
TIME_LIMITED = {"optimize", "mip"}  # strategies whose plan depends on how far they got
OPTIMA = Path(__file__).resolve().parent / "optima.json"


def known_optima(path: Path = OPTIMA) -> dict[str, float]:
    """Proven optimum totals by batch name (``{orders}-{seed}``)."""
    return {name: value for name, (value, kind) in references(path).items() if kind == "optimum"}


def references(path: Path = OPTIMA) -> dict[str, tuple[float, str]]:
    """Each batch's reference total and what it is: "optimum" (proven) or "LP" (the
    converged master LP of a long run, where no optimum is proven: a plan is judged
    against the best reference known). An entry without a positive number under
    "optimum" or "lp" is an error naming the file and the entry."""
    found = {}
    for name, row in json.loads(path.read_text()).items():
        key = "optimum" if not isinstance(row, dict) or "lp" not in row else "lp"
        value = row.get(key) if isinstance(row, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"{path}: entry {name!r}: {key!r} must be a positive number")
        found[name] = (float(value), "optimum" if key == "optimum" else "LP")
    return found


def measure(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"measurement {args} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(
    sizes: Annotated[str, typer.Option(help="Comma-separated order counts.")] = "1500,10000",
    strategies: Annotated[str, typer.Option()] = "greedy,nearest,optimize",
    time_limit: Annotated[float, typer.Option(help="Seconds per optimizer run.")] = 60.0,
    seed: int = 7,
    repeat: Annotated[int, typer.Option(min=1, help="Runs of each time-limited strategy.")] = 1,
) -> None:
    rows, runs = [], []
    names = strategies.split(",")
    steps = sum(repeat if n in TIME_LIMITED else 1 for n in names)
    with Progress(console=console) as progress:
        task = progress.add_task("benchmarks", total=len(sizes.split(",")) * (1 + steps))
        for size in (int(s) for s in sizes.split(",")):
            folder = CACHE / "batches" / f"{size}-{seed}"
            progress.update(task, description=f"generating {size:,} orders")
            gen = measure("generate", str(size), str(seed), str(folder))
            gen["batch"] = folder.name
            rows.append({"orders": size, "nodes": gen["nodes"], "strategy": "(generate)", **gen})
            runs.append(rows[-1])
            progress.advance(task)
            for name in names:
                mine = []
                for i in range(repeat if name in TIME_LIMITED else 1):
                    progress.update(task, description=f"{size:,} orders: {name} (run {i + 1})")
                    run = measure("plan", str(folder), name, str(time_limit))
                    mine.append({"strategy": name, "batch": folder.name, **run})
                    progress.advance(task)
                runs += mine
                rows.append(median_run(mine))
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / "results.jsonl", "a") as f:
        for r in runs:  # every run, not only the median ones
            f.write(json.dumps(r) + "\n")
    print_table(rows)


def median_run(runs: list[dict]) -> dict:
    """The run with the median gap (the lower middle one of an even count), with how
    many runs there were and the range of their gaps; a single run as it is."""
    if len(runs) == 1:
        return runs[0]
    # By gap; runs without a bound (none proved) after them, by total.
    ordered = sorted(runs, key=lambda r: (r.get("gap") is None, r.get("gap") or 0.0, r["total"]))
    gaps = [r["gap"] for r in ordered if r.get("gap") is not None]
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle["runs"] = len(runs)
    if gaps:
        middle["gap_range"] = f"{100 * gaps[0]:.2f}-{100 * gaps[-1]:.2f} %"
    return middle


def print_table(rows: list[dict]) -> None:
    table = Table(title="Sourcing benchmarks")
    cols = [
        "orders",
        "nodes",
        "strategy",
        "wall s",
        "peak MiB",
        "total $",
        "bound $",
        "gap",
        "vs greedy",
        "vs reference",
        "fill %",
        "violations",
        "runs (gaps)",
    ]
    for c in cols:
        table.add_column(c, justify="left" if c == "strategy" else "right")
    greedy = {r["orders"]: r["total"] for r in rows if r["strategy"] == "greedy"}
    refs = references()
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        base = greedy.get(r["orders"])
        cells = [
            f"{r['orders']:,}",
            f"{r['nodes']:,}",
            r["strategy"],
            f"{r['wall_s']:.2f}",
            f"{r['peak_mib']:,.0f}",
            f"{r['total']:,.0f}" if "total" in r else "-",
            f"{r['bound']:,.0f}" if r.get("bound") is not None else "-",
            f"{100 * r['gap']:.2f} %" if r.get("gap") is not None else "-",
            f"{100 * (base - r['total']) / base:+.2f} %" if base and "total" in r else "-",
            above(r.get("total"), *refs.get(r.get("batch", ""), (None, ""))),
            f"{100 * r['fill_rate']:.2f}" if "fill_rate" in r else "-",
            str(r.get("violations", "-")),
            f"{r['runs']} ({r['gap_range']})" if "gap_range" in r else "1",
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    print("\n".join(lines))


def above(total: float | None, reference: float | None, kind: str = "optimum") -> str:
    """How far a total is above the batch's reference (its proven optimum, or marked
    "LP" a long run's LP), or "-" if either is unknown."""
    if total is None or reference is None:
        return "-"
    mark = "" if kind == "optimum" else f" ({kind})"
    return f"{100 * (total - reference) / reference:+.3f} %{mark}"


if __name__ == "__main__":
    typer.run(main)
