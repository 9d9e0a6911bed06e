"""Web console latency with a large store: order search and the order page.

    .venv/bin/python -m benchmarks.bench_console --orders 100000 --requests 300

Builds a DuckDB *file* with a generated network and ``--orders`` open orders
(``seed_demo``), gives every order a customer (e-mail shared by about three
orders, a phone number, an address), captures ``--captured`` more through the
service so those have reservations and a timeline, then serves the real app
(``create_app``) with uvicorn on loopback and times, from one client signed in
as customer service, ``--requests`` requests of each kind:

- search by e-mail, by phone, by status (one page of 50 rows), by order id;
- the order page of a random batch order and of a random captured one.

Prints p50 / p95 / max per kind in milliseconds (target: p95 <= 200 ms).
Latency is wall time seen by the client, so it includes HTTP, the session
lookup and template rendering. Not a pytest test: figures go to benchmarks/README.md.
"""

import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import typer

from data.lifecycle_db import Database
from data.store import Store
from models.api import Actor, ApiKeyIn, CaptureOrder, Role
from services import admin, orders
from tests.web_server import serve

KEY = "bench-console-cs-key"
CHANNEL = Actor(name="bench-shop", role=Role.CHANNEL, channel="web")


def build(path: Path, n_orders: int, captured: int, seed: int = 7) -> tuple[Database, dict]:
    """The store, and samples to ask for: e-mails, phones, batch and captured order ids."""
    db = Database(Store(path))
    admin.start(db)
    t = time.perf_counter()
    admin.seed_demo(db, n_orders, seed)
    print(f"seeded {n_orders:,} orders in {time.perf_counter() - t:.1f} s", flush=True)
    # Batch orders carry no customer: give each one (bench scaffolding, not a use case).
    db.write(
        lambda r: r.exec(
            """UPDATE order_headers SET
                 customer_email = 'c' || (hash(order_id) % 33333) || '@example.com',
                 customer_name = 'Customer ' || (hash(order_id) % 33333),
                 phone = '+1 555 ' || lpad(CAST(hash(order_id) % 1000 AS TEXT), 3, '0')
                         || ' ' || lpad(CAST(hash(order_id) % 9973 AS TEXT), 4, '0'),
                 ship_line1 = '1 Main St'"""
        )
    )
    admin.create_key(db, ApiKeyIn(role=Role.CUSTOMER_SERVICE, label="bench-cs"), key=KEY)
    sample = db.read(
        lambda r: r.dicts(
            "SELECT o.order_id, h.customer_email, h.phone, o.ship_zip FROM orders o "
            "JOIN order_headers h USING (order_id) USING SAMPLE 2000 ROWS"
        )
    )
    skus = [
        r[0]
        for r in db.read(
            lambda r: r.rows(
                "SELECT sku FROM inventory GROUP BY sku "
                "HAVING sum(on_hand - reserved - safety_stock) > 20 ORDER BY sku LIMIT 200"
            )
        )
    ]
    rng = random.Random(seed)
    made = []
    t = time.perf_counter()
    for i in range(captured):
        body = {
            "channel": "web",
            "customer": {"email": f"shopper{i}@example.com", "phone": "+1 617 555 0100"},
            "ship_to": {"line1": "1 Main St", "city": "Cambridge", "state": "MA", "zip": "02139"},
            "service": "ground",
            "lines": [{"sku": s, "qty": 1} for s in rng.sample(skus, rng.choice((1, 2, 3)))],
        }
        made.append(orders.capture(db, CaptureOrder.model_validate(body), CHANNEL).order_id)
    print(f"captured {captured} orders in {time.perf_counter() - t:.1f} s", flush=True)
    return db, {
        "batch_ids": [s["order_id"] for s in sample],
        "emails": [s["customer_email"] for s in sample],
        "phones": [s["phone"] for s in sample],
        "captured": made,
    }


def _sign_in(client: httpx.Client) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    r = client.post("/login", data={"csrf_token": token.group(1), "api_key": KEY})
    assert r.status_code == 303, r.text


def _time(client: httpx.Client, urls: list[str]) -> dict[str, float]:
    took = []
    for url in urls:
        t = time.perf_counter()
        r = client.get(url)
        took.append((time.perf_counter() - t) * 1000)
        assert r.status_code in (200, 303), (url, r.status_code)
    took.sort()
    return {
        "n": len(took),
        "p50": statistics.median(took),
        "p95": took[int(0.95 * (len(took) - 1))],
        "max": took[-1],
    }


def main(
    orders_n: int = typer.Option(100_000, "--orders"),
    captured: int = typer.Option(300, "--captured"),
    requests: int = typer.Option(300, "--requests"),
    seed: int = 7,
) -> None:
    rng = random.Random(seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        db, s = build(Path(tmp) / "console.duckdb", orders_n, captured, seed)
        kinds = {
            "search by e-mail": [
                f"/console/orders?q={e}" for e in rng.choices(s["emails"], k=requests)
            ],
            "search by phone": [
                f"/console/orders?q={p}" for p in rng.choices(s["phones"], k=requests)
            ],
            "search by status (50 rows)": [
                f"/console/orders?status={st}"
                for st in rng.choices(["validated", "created", "backordered"], k=requests)
            ],
            "search by order id": [
                f"/console/orders?q={o}" for o in rng.choices(s["batch_ids"], k=requests)
            ],
            "order page (batch order)": [
                f"/console/orders/{o}" for o in rng.choices(s["batch_ids"], k=requests)
            ],
            "order page (captured order)": [
                f"/console/orders/{o}" for o in rng.choices(s["captured"], k=requests)
            ],
        }
        with serve(db) as url, httpx.Client(base_url=url, timeout=30) as client:
            _sign_in(client)
            for urls in kinds.values():  # warm-up: caches, first-query plans
                _time(client, urls[:10])
            print(f"\n{'request':<30} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            for name, urls in kinds.items():
                t = _time(client, urls)
                print(
                    f"{name:<30} {t['n']:>5} {t['p50']:>8.1f} {t['p95']:>8.1f} {t['max']:>8.1f}",
                    flush=True,
                )
        db.close()


if __name__ == "__main__":
    typer.run(main)
