"""The order service under load, over HTTP on loopback: captures, reads, a bulk feed.

    .venv/bin/python -m benchmarks.load                          # the issue-22 table
    .venv/bin/python -m benchmarks.load --orders 20000 --seconds 5 --feed-rows 5000
    .venv/bin/python -m benchmarks.load --clients 1,8,32 --feed-rows 170000

A generated network (210 nodes, 20k SKUs: the generator's size for 100k orders)
with ``--orders`` open orders is loaded into a durable DuckDB file once and kept
under ``.benchmarks/load/``; each run copies it, so every run starts from the
same store. Stock is deepened (x50 + 20) so captures reserve instead of backorder.
Then a real ``dom serve`` runs on the copy and an asyncio load generator
(httpx, one keep-alive connection per client) drives it:

- captures: ``POST /orders`` with an Idempotency-Key, ``--seconds`` per client count;
- reads: ``GET /orders/{id}`` of random preloaded orders, same client counts;
- feed: ``POST /inventory/feed`` with ``--feed-rows`` receipt rows (CSV) while
  ``--feed-clients`` clients keep capturing; the feed's time and the captures'
  p99 while it runs.

Two load generators: ``--generator wrk`` (the default when ``wrk`` is installed,
``apt-get install wrk``: compiled, about 0.01-0.05 ms of CPU a request, scripts
in ``benchmarks/wrk/``) and ``httpx`` (this process, asyncio: about 1 ms of CPU
a request, which the server then lacks on a 2-core machine). With wrk each row
also gives the server's CPU per request (``/proc``) and the generator's.
The server's read model is warm before the phases start (its log says so).

Figures are wall-clock on whatever else the machine is doing at the time: say
what else ran when you quote them (``uptime`` is recorded with each run). Results
are appended to ``.benchmarks/load.jsonl``; the markdown table is printed.
"""

import asyncio
import io
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import duckdb
import httpx
import numpy as np
import typer

from benchmarks.bench_api import _bodies
from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from data.store import Store
from tests.server_proc import ADMIN_KEY, ROOT, Server

CACHE = ROOT / ".benchmarks" / "load"
WRK_DIR = Path(__file__).resolve().parent / "wrk"
WARM_LOG = "read model warm:"
LINGER_S = 3.0  # a phase stopped by an event runs this much longer (see wrk_phase)
NODES, SKUS = 210, 20_000
PORT = 18_610  # this benchmark's port (change with --port)


def prepare(orders: int, seed: int = 7) -> Path:
    """The preloaded store for ``orders`` orders (built once, then reused)."""
    from data.generator import generate_batch
    from services import admin

    path = CACHE / f"orders-{orders}-seed-{seed}.duckdb"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    started = time.perf_counter()
    batch = generate_batch(orders, seed=seed, nodes=NODES, skus=SKUS, batch_date=date.today())
    db = Database(Store(tmp))
    db.store.load_batch(batch, source=f"load-bench:{orders}:{seed}")
    admin.start(db)  # lifecycle rows for the loaded orders
    db.write(lambda r: r.exec("UPDATE inventory SET on_hand = on_hand * 50 + 20"))
    db.close()
    tmp.rename(path)
    print(f"preloaded {orders:,} orders into {path} in {time.perf_counter() - started:.0f} s")
    return path


@dataclass
class Phase:
    """What one phase measured: per-request latencies and answers."""

    name: str
    clients: int
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    codes: dict[int, int] = field(default_factory=dict)

    def ok(self, code: int) -> int:
        return self.codes.get(code, 0)

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def row(self, good: int) -> dict[str, Any]:
        n = self.ok(good)
        return {
            "phase": self.name,
            "clients": self.clients,
            "requests": len(self.latencies_ms),
            "ok": n,
            "errors": {str(k): v for k, v in self.codes.items() if k != good},
            "per_s": round(n / self.wall_s, 1) if self.wall_s else 0.0,
            "p50_ms": round(self.pct(50), 1),
            "p99_ms": round(self.pct(99), 1),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 1),
        }


Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def drive(
    url: str, clients: int, request: Request, until: Callable[[], bool], phase: Phase
) -> None:
    """``clients`` closed-loop clients, each on its own connection, until ``until()``."""
    counter = iter(range(10**9))

    async def client() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=url, headers={"X-API-Key": ADMIN_KEY}, timeout=900, limits=limits
        ) as http:
            while not until():
                t0 = time.perf_counter()
                try:
                    code = (await request(http, next(counter))).status_code
                except httpx.HTTPError:
                    code = 0  # connection dropped or timed out
                phase.latencies_ms.append((time.perf_counter() - t0) * 1000)
                phase.codes[code] = phase.codes.get(code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    phase.wall_s = time.perf_counter() - started


def timed(seconds: float) -> Callable[[], bool]:
    end = time.perf_counter() + seconds
    return lambda: time.perf_counter() >= end


class _ReadOnly:
    """Reads of the raw file, whatever schema version the server under test expects."""

    def __init__(self, path: Path) -> None:
        self.con = duckdb.connect(str(path), read_only=True)

    def read(self, work: Callable[[LifecycleRepo], Any]) -> Any:
        return work(LifecycleRepo(self.con))

    def close(self) -> None:
        self.con.close()


def feed_csv(db: _ReadOnly, rows: int, seed: int = 3) -> bytes:
    """``rows`` receipt rows over existing stock rows (repeating rows past their count)."""
    keys = db.con.execute("SELECT node_id, sku FROM inventory ORDER BY ALL").fetchall()
    rng = random.Random(seed)
    picked = rng.sample(keys, min(rows, len(keys)))
    picked += [rng.choice(keys) for _ in range(rows - len(picked))]
    out = io.StringIO()
    out.write("node_id,sku,kind,qty\n")
    for node, sku in picked:
        out.write(f"{node},{sku},receipt,5\n")
    return out.getvalue().encode()


@dataclass(frozen=True)
class Workload:
    """What a run sends: capture bodies, ids to read, client counts, seconds per phase,
    the feed (or None) and how many clients capture during it."""

    bodies: list[dict[str, Any]]
    order_ids: list[str]
    clients: list[int]
    seconds: float
    feed: bytes | None
    feed_clients: int


async def measure(url: str, w: Workload) -> dict[str, Any]:
    bodies, order_ids, clients, seconds = w.bodies, w.order_ids, w.clients, w.seconds
    feed, feed_clients = w.feed, w.feed_clients
    rng = random.Random(11)
    run = datetime.now(UTC).strftime("%H%M%S")

    def capture(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        body = bodies[i % len(bodies)]
        return http.post("/orders", json=body, headers={"Idempotency-Key": f"{run}-{i}"})

    def read(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return http.get(f"/orders/{rng.choice(order_ids)}")

    results: dict[str, Any] = {"captures": [], "reads": []}
    warm = Phase("warm-up", 1)  # first calls load the ZIP table and warm DuckDB's caches
    await drive(url, 1, capture, lambda: len(warm.latencies_ms) >= 3, warm)
    await drive(url, 1, read, lambda: len(warm.latencies_ms) >= 6, warm)
    for n in clients:
        phase = Phase("capture", n)
        await drive(url, n, capture, timed(seconds), phase)
        results["captures"].append(phase.row(201))
        print(json.dumps(results["captures"][-1]), flush=True)
        phase = Phase("read", n)
        await drive(url, n, read, timed(seconds), phase)
        results["reads"].append(phase.row(200))
        print(json.dumps(results["reads"][-1]), flush=True)
    if feed is not None:
        done = asyncio.Event()
        during = Phase("capture during feed", feed_clients)
        answer: dict[str, Any] = {}

        async def send_feed() -> None:
            t0 = time.perf_counter()
            async with httpx.AsyncClient(
                base_url=url, headers={"X-API-Key": ADMIN_KEY}, timeout=1800
            ) as http:
                r = await http.post(
                    "/inventory/feed", content=feed, headers={"Content-Type": "text/csv"}
                )
            _fed(answer, r, t0)
            done.set()

        rows = _feed_rows(feed)
        await asyncio.gather(send_feed(), drive(url, feed_clients, capture, done.is_set, during))
        results["feed"] = {"rows": rows, **answer, "captures": during.row(201)}
    return results


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process (all its threads) has used so far (NaN once gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_phase(
    name: str,
    server: Server,
    script: str,
    clients: int,
    seconds: float,
    env: dict[str, str],
    until: threading.Event | None = None,
) -> dict[str, Any]:
    """One closed-loop phase driven by wrk (``until``: stop it when the event is set)."""
    cmd = ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{int(seconds)}s", "--timeout", "60s"]
    cmd += ["-s"]
    cmd += [str(WRK_DIR / script), server.url]
    env = {**os.environ, "WRK_DIR": str(WRK_DIR), "API_KEY": ADMIN_KEY, **env}
    cpu0 = cpu_seconds(server.proc.pid)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if until is not None:
        until.wait()
        # wrk drops requests still in flight when it stops: let those waiting behind
        # the feed finish, so they count (this also counts a little capturing after it).
        time.sleep(LINGER_S)
        proc.send_signal(signal.SIGINT)  # wrk stops and reports
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    server_cpu = cpu_seconds(server.proc.pid) - cpu0
    assert proc.stdout is not None
    out = proc.stdout.read()
    line = next(ln for ln in out.splitlines() if ln.startswith("JSON "))
    got = json.loads(line[5:])
    ok = got["requests"] - got["non2xx"]
    return {
        "phase": name,
        "clients": clients,
        "requests": got["requests"],
        "ok": ok,
        "errors": {"non_2xx": got["non2xx"], "socket": got["socket_errors"]},
        "per_s": round(ok / got["seconds"], 1),
        "p50_ms": got["p50_ms"],
        "p99_ms": got["p99_ms"],
        "max_ms": got["max_ms"],
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, got["requests"]), 3),
        "generator_cpu_ms_per_request": round(
            1000 * (usage.ru_utime + usage.ru_stime) / max(1, got["requests"]), 3
        ),
    }


def measure_wrk(
    server: Server, w: Workload, kill_after: float = 0.0, wait_warm: bool = True
) -> dict[str, Any]:
    """The phases of ``measure``, driven by wrk processes (``kill_after``: a last
    capture phase whose server is SIGKILLed after that many seconds)."""
    bodies, order_ids, clients, seconds = w.bodies, w.order_ids, w.clients, w.seconds
    feed, feed_clients = w.feed, w.feed_clients
    body_file, id_file = CACHE / "bodies.jsonl", CACHE / "ids.txt"
    body_file.write_text("".join(json.dumps(b, separators=(",", ":")) + "\n" for b in bodies))
    id_file.write_text("\n".join(order_ids) + "\n")
    run = datetime.now(UTC).strftime("%H%M%S")
    deadline = time.monotonic() + (600 if wait_warm else 0)
    while wait_warm and WARM_LOG not in server.read_log():
        if time.monotonic() > deadline:
            raise RuntimeError("the server's read model did not warm within 10 minutes")
        time.sleep(1)
    cap = {"BODIES": str(body_file)}
    # Warm-up: the first captures start the stock cache's warm-up (a few seconds).
    results: dict[str, Any] = {"captures": [], "reads": [], "generator": "wrk"}
    results["warm_up"] = wrk_phase(
        "warm-up", server, "capture.lua", 1, 3, {**cap, "RUN": f"{run}-w"}
    )
    time.sleep(5)
    for n in clients:
        row = wrk_phase("capture", server, "capture.lua", n, seconds, {**cap, "RUN": f"{run}-{n}"})
        results["captures"].append(row)
        print(json.dumps(row), flush=True)
        row = wrk_phase("read", server, "read.lua", n, seconds, {"IDS": str(id_file)})
        results["reads"].append(row)
        print(json.dumps(row), flush=True)
    if feed is not None:
        done, answer = threading.Event(), dict[str, Any]()

        def send_feed() -> None:
            time.sleep(1)  # the captures are under way
            t0 = time.perf_counter()
            r = httpx.post(
                f"{server.url}/inventory/feed",
                content=feed,
                headers={"Content-Type": "text/csv", "X-API-Key": ADMIN_KEY},
                timeout=1800,
            )
            _fed(answer, r, t0)
            done.set()

        rows = _feed_rows(feed)
        sender = threading.Thread(target=send_feed)
        sender.start()
        env = {**cap, "RUN": f"{run}-feed"}
        during = wrk_phase(
            "capture during feed", server, "capture.lua", feed_clients, 1800, env, done
        )
        sender.join()
        results["feed"] = {"rows": rows, **answer, "captures": during}
    if kill_after:
        # Captures at the highest client count, then SIGKILL mid-stream (power loss):
        # every acknowledged order must be in the store when it is opened again.
        n, env = max(clients), {**cap, "RUN": f"{run}-kill"}
        killer = threading.Timer(kill_after, server.kill)
        killer.start()
        row = wrk_phase("capture, SIGKILL", server, "capture.lua", n, kill_after + 3, env)
        killer.join()
        results["killed"] = row
        print(json.dumps(row), flush=True)
    return results


def invariants(path: Path, template: Path, results: dict[str, Any]) -> dict[str, int]:
    """After the run (the server stopped or killed): captures acknowledged (2xx) against
    orders the API stored, stock rows oversold, and stock rows whose reserved units moved
    by other than the holds placed on them since the template (the generated store
    reserves units no hold row names). Idempotency-Keys are unique per request, so every
    2xx is a new order: stored < acknowledged means orders were lost."""
    phases = [*results["captures"], results.get("warm_up"), results.get("killed")]
    phases.append((results.get("feed") or {}).get("captures"))
    acknowledged = sum(p["ok"] for p in phases if p)
    con = duckdb.connect(str(path))  # replays the WAL of a killed server
    try:
        stored = con.execute("SELECT count(*) FROM orders WHERE source = 'api'").fetchone()
        oversold = con.execute(
            "SELECT count(*) FROM inventory WHERE on_hand - reserved - safety_stock < 0 "
            "AND reserved > 0"
        ).fetchone()
        con.execute(f"ATTACH '{template}' AS t (READ_ONLY)")
        held = "SELECT node_id, sku, sum(qty) AS q FROM {db}.reservations GROUP BY ALL"
        mismatched = con.execute(
            f"""SELECT count(*) FROM inventory i
                JOIN t.inventory i0 USING (node_id, sku)
                LEFT JOIN ({held.format(db="main")}) r USING (node_id, sku)
                LEFT JOIN ({held.format(db="t")}) r0 USING (node_id, sku)
                WHERE i.reserved - i0.reserved <> coalesce(r.q, 0) - coalesce(r0.q, 0)"""
        ).fetchone()
    finally:
        con.close()
    return {
        "acknowledged": acknowledged,
        "stored": int(stored[0]) if stored else 0,
        "lost": max(0, acknowledged - (int(stored[0]) if stored else 0)),
        "rows_oversold": int(oversold[0]) if oversold else 0,
        "rows_reserved_not_held": int(mismatched[0]) if mismatched else 0,
    }


def _fed(answer: dict[str, Any], r: httpx.Response, t0: float) -> None:
    """The feed's answer: status, seconds, and the body if it failed."""
    answer.update(status=r.status_code, seconds=round(time.perf_counter() - t0, 2))
    if r.status_code != 200:
        answer["body"] = r.text[:300]


def _feed_rows(feed: bytes) -> int:
    rows = feed.count(b"\n") - 1
    print(f"feed of {rows:,} rows ...", flush=True)
    return rows


def table(results: dict[str, Any]) -> str:
    lines = [
        "| clients | captures/s | p50 | p99 | errors | server CPU/capture "
        "| GET /orders/{id} per s | p50 | p99 | server CPU/read |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cpu(row: dict[str, Any]) -> str:
        ms = row.get("server_cpu_ms_per_request")
        return "n/a" if ms is None else f"{ms:.2f} ms"

    for c, r in zip(results["captures"], results["reads"], strict=True):
        errs = sum(c["errors"].values()) + sum(r["errors"].values())
        lines.append(
            f"| {c['clients']} | {c['per_s']:,.1f} | {c['p50_ms']:,.1f} ms | "
            f"{c['p99_ms']:,.1f} ms | {errs} | {cpu(c)} | {r['per_s']:,.1f} | "
            f"{r['p50_ms']:,.1f} ms | {r['p99_ms']:,.1f} ms | {cpu(r)} |"
        )
    if "feed" in results:
        f = results["feed"]
        c = f["captures"]
        lines.append("")
        lines.append(
            f"Feed of {f['rows']:,} rows: HTTP {f['status']} in {f['seconds']:,.2f} s; "
            f"meanwhile {c['clients']} clients captured {c['ok']:,} orders "
            f"({c['per_s']:,.1f}/s), p50 {c['p50_ms']:,.1f} ms, p99 {c['p99_ms']:,.1f} ms, "
            f"max {c['max_ms']:,.1f} ms, errors {c['errors'] or 'none'}."
        )
    if "killed" in results:
        k = results["killed"]
        lines.append("")
        lines.append(
            f"SIGKILL after {k['clients']} clients captured {k['ok']:,} orders "
            f"({k['per_s']:,.1f}/s, p99 {k['p99_ms']:,.1f} ms)."
        )
    if "invariants" in results:
        lines.append("")
        lines.append(f"Invariants after the run: {results['invariants']}.")
    load = results.get("load_average")
    if load:
        before = ", ".join(f"{x:.2f}" for x in load["before"])
        after = ", ".join(f"{x:.2f}" for x in load["after"])
        lines.append("")
        lines.append(
            f"Generator: {results.get('generator', 'httpx')}. Load average before: {before}; "
            f"after: {after}."
        )
    return "\n".join(lines)


cli = typer.Typer(add_completion=False)


@cli.command()
def main(
    orders: Annotated[int, typer.Option(help="Orders preloaded in the store.")] = 100_000,
    clients: Annotated[str, typer.Option(help="Client counts, comma-separated.")] = "1,8,32",
    seconds: Annotated[float, typer.Option(help="Seconds per phase.")] = 10.0,
    feed_rows: Annotated[int, typer.Option(help="Rows of the bulk feed; 0: none.")] = 170_000,
    feed_clients: Annotated[int, typer.Option(help="Capturing clients during the feed.")] = 8,
    port: Annotated[int, typer.Option(help="Port of the dom serve under test.")] = PORT,
    label: Annotated[str, typer.Option(help="Free text stored with the results.")] = "",
    kill_after: Annotated[
        float, typer.Option(help="wrk only: SIGKILL the server this long into a last phase.")
    ] = 0.0,
    wait_warm: Annotated[
        bool, typer.Option(help="Wait for the server's read model (code before it: no).")
    ] = True,
    generator: Annotated[
        str, typer.Option(help="wrk (compiled, default when installed) or httpx (this process).")
    ] = "wrk" if shutil.which("wrk") else "httpx",
    server_root: Annotated[
        Path, typer.Option(help="Checkout whose code serves (compare before/after).")
    ] = ROOT,
) -> None:
    template = prepare(orders)
    work = CACHE / "work.duckdb"
    for old in (work, work.with_suffix(".duckdb.wal")):
        old.unlink(missing_ok=True)
    shutil.copyfile(template, work)
    raw = _ReadOnly(work)
    try:
        bodies = _bodies(raw, 20_000)  # type: ignore[arg-type]
        ids = [r[0] for r in raw.read(lambda r: r.rows("SELECT order_id FROM orders"))]
        feed = feed_csv(raw, feed_rows) if feed_rows else None
    finally:
        raw.close()
    server = Server(work, port=port, root=server_root)
    print(f"dom serve from {server_root} on {server.url}; {seconds:g} s per phase", flush=True)
    counts = [int(c) for c in clients.split(",")]
    load_before = os.getloadavg()
    try:
        workload = Workload(bodies, ids, counts, seconds, feed, feed_clients)
        if generator == "wrk":
            results = measure_wrk(server, workload, kill_after, wait_warm)
        else:
            results = asyncio.run(measure(server.url, workload))
            results["generator"] = "httpx"
    finally:
        server.stop()
    results["load_average"] = {"before": load_before, "after": os.getloadavg()}
    if generator == "wrk":
        results["invariants"] = invariants(work, template, results)
    results.update(
        orders=orders,
        nodes=NODES,
        skus=SKUS,
        seconds=seconds,
        label=label,
        at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    with (ROOT / ".benchmarks" / "load.jsonl").open("a") as out:
        out.write(json.dumps(results) + "\n")
    print(table(results))


if __name__ == "__main__":
    cli()
