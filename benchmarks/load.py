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

Figures are wall-clock on whatever else the machine is doing at the time: say
what else ran when you quote them. Results are appended to
``.benchmarks/load.jsonl``; the markdown table is printed.
"""

import asyncio
import io
import json
import random
import shutil
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


async def measure(
    url: str,
    bodies: list[dict[str, Any]],
    order_ids: list[str],
    clients: list[int],
    seconds: float,
    feed: bytes | None,
    feed_clients: int,
) -> dict[str, Any]:
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
            answer.update(status=r.status_code, seconds=round(time.perf_counter() - t0, 2))
            if r.status_code != 200:
                answer["body"] = r.text[:300]
            done.set()

        rows = feed.count(b"\n") - 1
        print(f"feed of {rows:,} rows ...", flush=True)
        await asyncio.gather(send_feed(), drive(url, feed_clients, capture, done.is_set, during))
        results["feed"] = {"rows": rows, **answer, "captures": during.row(201)}
    return results


def table(results: dict[str, Any]) -> str:
    lines = [
        "| clients | captures/s | p50 | p99 | errors | GET /orders/{id} per s | p50 | p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c, r in zip(results["captures"], results["reads"], strict=True):
        errs = sum(c["errors"].values()) + sum(r["errors"].values())
        lines.append(
            f"| {c['clients']} | {c['per_s']:,.1f} | {c['p50_ms']:,.1f} ms | "
            f"{c['p99_ms']:,.1f} ms | {errs} | {r['per_s']:,.1f} | {r['p50_ms']:,.1f} ms | "
            f"{r['p99_ms']:,.1f} ms |"
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
    try:
        results = asyncio.run(
            measure(
                server.url,
                bodies,
                ids,
                [int(c) for c in clients.split(",")],
                seconds,
                feed,
                feed_clients,
            )
        )
    finally:
        server.stop()
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
