"""Benchmark table: generate batches, plan them with each strategy, print the results.

    ./dev bench                                   # 1,500 and 10,000 orders
    ./dev bench --sizes 1500,10000,100000 --time-limit 60
    ./dev bench --sizes 1000000 --strategies greedy --skip-check

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
) -> None:
    rows = []
    names = strategies.split(",")
    with Progress(console=console) as progress:
        task = progress.add_task("benchmarks", total=len(sizes.split(",")) * (1 + len(names)))
        for size in (int(s) for s in sizes.split(",")):
            folder = CACHE / "batches" / f"{size}-{seed}"
            progress.update(task, description=f"generating {size:,} orders")
            gen = measure("generate", str(size), str(seed), str(folder))
            rows.append({"orders": size, "nodes": gen["nodes"], "strategy": "(generate)", **gen})
            progress.advance(task)
            for name in names:
                progress.update(task, description=f"{size:,} orders: {name}")
                rows.append(
                    {"strategy": name, **measure("plan", str(folder), name, str(time_limit))}
                )
                progress.advance(task)
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / "results.jsonl", "a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print_table(rows)


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
        "fill %",
        "violations",
    ]
    for c in cols:
        table.add_column(c, justify="left" if c == "strategy" else "right")
    greedy = {r["orders"]: r["total"] for r in rows if r["strategy"] == "greedy"}
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
            f"{100 * r['fill_rate']:.2f}" if "fill_rate" in r else "-",
            str(r.get("violations", "-")),
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    print("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)
