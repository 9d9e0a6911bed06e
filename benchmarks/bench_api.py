"""Order-service throughput: captures per second with durable writes, and a
sourcing run over 10k open orders end to end.

    .venv/bin/python -m benchmarks.bench_api capture --orders 2000 --threads 1,4,8
    .venv/bin/python -m benchmarks.bench_api http --orders 2000 --clients 8
    .venv/bin/python -m benchmarks.bench_api run --orders 10000 --strategy greedy
    .venv/bin/pytest benchmarks/bench_api.py --benchmark-only      # pytest-benchmark

Every figure is on a DuckDB *file* (each commit is written to the WAL before
it returns), on a generated network of real US geography. ``capture`` calls
the service layer from N threads (the path every HTTP request takes, minus
HTTP); ``http`` drives a real ``dom serve`` on loopback with N client threads.
``run`` loads a generated batch (its orders are open), then times
``POST /sourcing/runs``'s service end to end: snapshot, plan, apply in one
transaction. Each function returns a dict the results table can print.
"""

import json
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import typer

from data.geo import zip_table
from data.lifecycle_db import Database
from data.shared_sql import available
from data.store import Store
from models.api import Actor, CaptureOrder, Role, RunRequest
from services import admin, orders, sourcing

ACTOR = Actor(name="bench", role=Role.ADMIN)


def _network_db(path: Path, orders_in_batch: int, seed: int = 7, deep: bool = False) -> Database:
    """A generated network; ``deep`` multiplies stock so captures reserve, not backorder."""
    db = Database(Store(path))
    admin.start(db)
    admin.seed_demo(db, orders_in_batch, seed)
    if deep:
        db.write(lambda r: r.exec("UPDATE inventory SET on_hand = on_hand * 50 + 20"))
    return db


def _bodies(db: Database, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Realistic capture bodies: stocked SKUs, ship ZIPs from the batch, their states."""
    rng = random.Random(seed)
    skus = [
        r[0]
        for r in db.read(
            lambda r: r.rows(
                f"SELECT sku FROM inventory GROUP BY sku HAVING sum{available()} > 50 ORDER BY sku"
            )
        )
    ]
    zips = [
        r[0]
        for r in db.read(
            lambda r: r.rows("SELECT DISTINCT ship_zip FROM orders WHERE ship_zip IS NOT NULL")
        )
    ]
    table = zip_table()
    bodies = []
    for i in range(n):
        z = rng.choice(zips)
        lines = [{"sku": s, "qty": 1} for s in rng.sample(skus, rng.choice((1, 1, 2, 3)))]
        bodies.append(
            {
                "channel": rng.choice(("web", "mobile", "marketplace")),
                "customer": {"email": f"c{i}@example.com", "phone": "+1 555 010 0100"},
                "ship_to": {
                    "line1": "1 Main St",
                    "city": "X",
                    "state": table.state_of(z),
                    "zip": z,
                },
                "service": "ground",
                "lines": lines,
            }
        )
    return bodies


def capture_throughput(orders_n: int = 2000, threads: int = 8, path: Path | None = None) -> dict:
    """Captures per second through the service layer from ``threads`` threads."""
    with tempfile.TemporaryDirectory() as tmp:
        db = _network_db(path or Path(tmp) / "bench.duckdb", 1_000, deep=True)
        bodies = [CaptureOrder.model_validate(b) for b in _bodies(db, orders_n)]
        orders.capture(db, bodies[0], ACTOR)  # warm caches (ZIP table, plans)
        chunks = [bodies[1 + i :: threads] for i in range(threads)]
        statuses: list[str] = []
        lock = threading.Lock()

        def work(chunk: list[CaptureOrder]) -> None:
            for body in chunk:
                view = orders.capture(db, body, ACTOR)
                with lock:
                    statuses.append(view.status)

        started = time.perf_counter()
        pool = [threading.Thread(target=work, args=(c,)) for c in chunks]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        wall = time.perf_counter() - started
        conflicts = db.conflicts
        db.close()
    return {
        "what": "capture (service)",
        "threads": threads,
        "orders": len(statuses),
        "wall_s": round(wall, 3),
        "orders_per_s": round(len(statuses) / wall, 1),
        "conflict_retries": conflicts,
        "backordered": statuses.count("backordered"),
    }


def http_throughput(orders_n: int = 1000, clients: int = 8) -> dict:
    """Captures per second through a real ``dom serve`` with ``clients`` client threads."""
    import httpx

    from tests.server_proc import ADMIN_KEY, Server

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        db = _network_db(path, 1_000, deep=True)
        bodies = _bodies(db, orders_n)
        db.close()
        server = Server(path)
        try:
            codes: list[int] = []
            lock = threading.Lock()

            def work(chunk: list[dict]) -> None:
                with httpx.Client(
                    base_url=server.url, headers={"X-API-Key": ADMIN_KEY}, timeout=60
                ) as http:
                    for i, body in enumerate(chunk):
                        r = http.post(
                            "/orders", json=body, headers={"Idempotency-Key": f"{id(chunk)}-{i}"}
                        )
                        with lock:
                            codes.append(r.status_code)

            chunks = [bodies[i::clients] for i in range(clients)]
            started = time.perf_counter()
            pool = [threading.Thread(target=work, args=(c,)) for c in chunks]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            wall = time.perf_counter() - started
        finally:
            server.stop()
    return {
        "what": "capture (HTTP, dom serve)",
        "threads": clients,
        "orders": codes.count(201),
        "errors": len(codes) - codes.count(201),
        "wall_s": round(wall, 3),
        "orders_per_s": round(codes.count(201) / wall, 1),
    }


def sourcing_run(
    orders_n: int = 10_000, strategy: str = "greedy", time_limit: float = 60.0
) -> dict:
    """One sourcing run over ``orders_n`` open orders, end to end (snapshot, plan, apply)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = _network_db(Path(tmp) / "bench.duckdb", orders_n)
        started = time.perf_counter()
        run = sourcing.run_sourcing(db, RunRequest(strategy=strategy, time_limit=time_limit), ACTOR)
        wall = time.perf_counter() - started
        release_started = time.perf_counter()
        released = sourcing.release(db, None, ACTOR)
        release_wall = time.perf_counter() - release_started
        db.close()
    k = run.kpis or {}
    return {
        "what": f"sourcing run ({strategy})",
        "orders": run.orders_planned,
        "wall_s": round(wall, 3),
        "plan_s": k.get("plan_seconds"),
        "apply_and_snapshot_s": round(wall - (k.get("plan_seconds") or 0), 3),
        "total": k.get("total"),
        "gap": k.get("gap"),
        "fill_rate": k.get("fill_rate"),
        "release_s": round(release_wall, 3),
        "work_items": len(released.work_items),
    }


# -- pytest-benchmark (not part of the test suite) -------------------------------------


def test_bench_capture(benchmark: Any) -> None:
    result = benchmark.pedantic(capture_throughput, args=(500, 4), rounds=1, iterations=1)
    benchmark.extra_info.update(result)


def test_bench_sourcing_run_10k(benchmark: Any) -> None:
    result = benchmark.pedantic(sourcing_run, args=(10_000, "greedy"), rounds=1, iterations=1)
    benchmark.extra_info.update(result)


cli = typer.Typer(add_completion=False)


@cli.command()
def capture(orders: int = 2000, threads: str = "1,8") -> None:
    for n in (int(t) for t in threads.split(",")):
        print(json.dumps(capture_throughput(orders, n)))


@cli.command()
def http(orders: int = 1000, clients: int = 8) -> None:
    print(json.dumps(http_throughput(orders, clients)))


@cli.command()
def run(orders: int = 10_000, strategy: str = "greedy", time_limit: float = 60.0) -> None:
    print(json.dumps(sourcing_run(orders, strategy, time_limit)))


if __name__ == "__main__":
    cli()
