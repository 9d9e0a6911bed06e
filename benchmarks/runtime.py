"""The overheads of issue 28: ``dom plan``'s wall time against its limit, and reading a batch.

    .venv/bin/python benchmarks/runtime.py wall                 # 400/5 s, 10k/10 s, 30k/30 s
    .venv/bin/python benchmarks/runtime.py wall --runs 400:5,30000:30 --repeat 3
    .venv/bin/python benchmarks/runtime.py read                 # Parquet 30k and 100k, CSV 30k
    .venv/bin/python benchmarks/runtime.py read --sizes 100000 --repeat 5

``wall``: each run is a fresh ``dom plan BATCH --out PLAN --time-limit L`` process timed
from spawn to exit (start-up, reading, planning, writing and printing included);
target: at most L + 1.5 s up to 30,000 orders. ``read``: each run is a fresh process
that imports ``data.batch_io`` and calls ``read_batch`` (the ZIP table from its cache
file, as every run after the first); target: at most 2 s for a 100,000-order Parquet
batch. Batches are made once under .benchmarks/batches (seed 7, the generator's network
for the size). The machine is shared: each row carries the load average when it ran.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
DOM = ROOT / ".venv" / "bin" / "dom"
CACHE = ROOT / ".benchmarks" / "batches"
WALL_SLACK_S = 1.5
READ_TARGET_S = 2.0
READ = """
import resource, sys, time
started = time.perf_counter()
from data.batch_io import read_batch
imported = time.perf_counter()
cpu = resource.getrusage(resource.RUSAGE_SELF)
batch = read_batch(sys.argv[1])
end = resource.getrusage(resource.RUSAGE_SELF)
cpu_s = end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime
print(imported - started, time.perf_counter() - imported, cpu_s, len(batch.orders))
"""


def batch_of(size: int, fmt: str = "parquet") -> Path:
    folder = CACHE / f"runtime-{size}-{fmt}"
    if not (folder / "batch.json").exists():
        subprocess.run(
            [str(DOM), "generate", "-n", str(size), "--out", str(folder), "--force",
             "--format", fmt, "--batch-date", "2026-11-25"],
            check=True, capture_output=True,
        )  # fmt: skip
    return folder


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def plan_once(batch: Path, limit: float) -> tuple[float, dict[str, object]]:
    out = Path(tempfile.mkdtemp()) / "plan"
    started = time.perf_counter()
    subprocess.run(
        [str(DOM), "plan", str(batch), "--out", str(out), "--time-limit", str(limit)],
        check=True, capture_output=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    summary = json.loads((out / "summary.json").read_text())
    shutil.rmtree(out.parent, ignore_errors=True)
    return seconds, summary


def wall(runs: list[tuple[int, float]], repeat: int) -> None:
    print(
        "| orders | limit s | wall s (runs) | over limit s | <= limit + 1.5 s | planning s "
        "| total $ | gap | backstop | load 1/5/15 |"
    )
    print("|---:|---:|---|---:|---|---:|---:|---:|---|---|")
    for size, limit in runs:
        batch = batch_of(size)
        times, summaries = [], []
        for _ in range(repeat):
            seconds, summary = plan_once(batch, limit)
            times.append(seconds)
            summaries.append(summary)
        worst = max(times)
        mid = summaries[times.index(sorted(times)[len(times) // 2])]
        notes = " ".join(str(n) for s in summaries for n in s.get("notes", []))  # type: ignore[attr-defined]
        gap = mid.get("gap")
        print(
            f"| {size:,} | {limit:g} | {', '.join(f'{t:.2f}' for t in times)} "
            f"| {worst - limit:+.2f} | {'yes' if worst <= limit + WALL_SLACK_S else 'no'} "
            f"| {float(str(mid['wall_seconds'])):.2f} | {float(str(mid['total'])):,.0f} "
            f"| {'-' if gap is None else f'{100 * float(str(gap)):.2f} %'} "
            f"| {notes.count('stopped at the time limit')}/{repeat} | {load()} |"
        )


def read(sizes: list[int], repeat: int, formats: list[str]) -> None:
    print(
        "| orders | format | import s | read_batch s (runs) | median s | CPU s | <= 2 s "
        "| load 1/5/15 |"
    )
    print("|---:|---|---:|---|---:|---:|---|---|")
    for size in sizes:
        for fmt in formats:
            batch = batch_of(size, fmt)
            subprocess.run([str(PYTHON), "-c", READ, str(batch)], check=True, capture_output=True)
            imports, reads, cpus = [], [], []
            for _ in range(repeat):
                done = subprocess.run(
                    [str(PYTHON), "-c", READ, str(batch)], check=True, capture_output=True,
                    text=True, cwd=ROOT,
                )  # fmt: skip
                imported, seconds, cpu, _ = done.stdout.split()
                imports.append(float(imported))
                reads.append(float(seconds))
                cpus.append(float(cpu))
            median = statistics.median(reads)
            target = "yes" if median <= READ_TARGET_S else "no"
            print(
                f"| {size:,} | {fmt} | {statistics.median(imports):.2f} "
                f"| {', '.join(f'{t:.2f}' for t in reads)} | {median:.2f} "
                f"| {statistics.median(cpus):.2f} | {target if fmt == 'parquet' else '-'} "
                f"| {load()} |"
            )


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("wall", "read"):
        print(__doc__)
        return 2
    what, rest = argv[0], argv[1:]
    options = dict(zip(rest[::2], rest[1::2], strict=False))
    repeat = int(options.get("--repeat", "3"))
    if what == "wall":
        spec = options.get("--runs", "400:5,10000:10,30000:30")
        runs = [(int(s), float(t)) for s, t in (r.split(":") for r in spec.split(","))]
        wall(runs, repeat)
    else:
        sizes = [int(s) for s in options.get("--sizes", "30000,100000").split(",")]
        read(sizes, repeat, options.get("--formats", "parquet,csv").split(","))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
