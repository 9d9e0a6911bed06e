"""How fast ``dom plan`` answers Ctrl-C: seconds from SIGINT to a written plan and exit.

    .venv/bin/python benchmarks/interrupt.py                  # 1,500 and 10,000 orders
    .venv/bin/python benchmarks/interrupt.py --sizes 10000,30000 --after 12 --repeat 3

Each run starts ``dom plan BATCH --out PLAN --time-limit 300`` in its own process
group (as a terminal does), waits ``--after`` seconds (reading the batch and
building the instance come first), sends SIGINT to the group, as Ctrl-C does, and
times the exit. The batch is generated once per size under .benchmarks/batches.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOM = ROOT / ".venv" / "bin" / "dom"
CACHE = ROOT / ".benchmarks" / "batches"


def batch_of(size: int) -> Path:
    folder = CACHE / f"interrupt-{size}"
    if not (folder / "batch.json").exists():
        subprocess.run(
            [str(DOM), "generate", "-n", str(size), "--out", str(folder), "--force",
             "--batch-date", "2026-11-25"],
            check=True, capture_output=True,
        )  # fmt: skip
    return folder


def measure(batch: Path, after: float) -> tuple[float, dict[str, object]]:
    out = Path(tempfile.mkdtemp()) / "plan"
    proc = subprocess.Popen(
        [str(DOM), "plan", str(batch), "--out", str(out), "--time-limit", "300"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(after)
    sent = time.perf_counter()
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait()
    seconds = time.perf_counter() - sent
    summary = json.loads((out / "summary.json").read_text()) if out.exists() else {}
    shutil.rmtree(out.parent, ignore_errors=True)
    return seconds, summary


def main(argv: list[str]) -> int:
    sizes, after, repeat = [1500, 10000], 15.0, 1
    while argv:
        flag, value, *argv = argv
        if flag == "--sizes":
            sizes = [int(s) for s in value.split(",")]
        elif flag == "--after":
            after = float(value)
        elif flag == "--repeat":
            repeat = int(value)
    print(
        "| orders | Ctrl-C after s | exit after SIGINT s | plan written | stopped_by_user "
        "| gap | stopped during | load 1/5/15 |"
    )
    print("|---:|---:|---:|---|---|---:|---|---|")
    for size in sizes:
        for _ in range(repeat):
            seconds, summary = measure(batch_of(size), after)
            gap = summary.get("gap")
            notes = [str(n) for n in summary.get("notes", [])]  # type: ignore[attr-defined]
            during = next((n.split(" during ")[1] for n in notes if " during " in n), "-")
            print(
                f"| {size:,} | {after:.0f} | {seconds:.2f} | {'yes' if summary else 'no'} "
                f"| {summary.get('stopped_by_user', False)} "
                f"| {'-' if gap is None else f'{100 * float(str(gap)):.2f} %'} | {during} "
                f"| {'/'.join(f'{x:.1f}' for x in os.getloadavg())} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
