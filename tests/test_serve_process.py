"""Against a real ``dom serve`` on loopback: client processes race for the last
units, and a SIGKILL in the middle of a sourcing run loses nothing."""

import contextlib
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from data.lifecycle_db import Database
from data.store import Store
from tests.lifecycle_fixtures import make_db, web_order
from tests.server_proc import ADMIN_KEY, Server
from tests.test_lifecycle_concurrency import SCARCE, check_invariants

CLIENTS = 6
ORDERS_PER_CLIENT = 6


def _client(url: str, n: int) -> list[int]:
    """One client process: orders scarce SKUs; returns the status codes it got."""
    codes = []
    with httpx.Client(base_url=url, headers={"X-API-Key": ADMIN_KEY}, timeout=60) as http:
        for k in range(ORDERS_PER_CLIENT):
            lines = [{"sku": "AB"[(n + k) % 2], "qty": 1 + (k % 2)}, {"sku": "C", "qty": 1}]
            body = web_order(lines=lines[: 1 + (k % 3 == 0)], allow_backorder=bool(n % 2))
            r = http.post("/orders", json=body, headers={"Idempotency-Key": f"p{n}-{k}"})
            codes.append(r.status_code)
            # A retry of the same request must not create a second order.
            if k == 0:
                again = http.post("/orders", json=body, headers={"Idempotency-Key": f"p{n}-{k}"})
                assert again.status_code == r.status_code
    return codes


def _prepare(path: Path) -> None:
    db = make_db(str(path), stock=SCARCE, keys=False)
    db.close()


def _check_file(path: Path) -> tuple[dict[str, int], int]:
    db = Database(Store(path))
    try:
        return check_invariants(db), db.read(lambda r: r.scalar("SELECT count(*) FROM orders"))
    finally:
        db.close()


def test_client_processes_race_against_dom_serve(tmp_path: Path) -> None:
    path = tmp_path / "race.duckdb"
    _prepare(path)
    server = Server(path)
    try:
        with ProcessPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(_client, [server.url] * CLIENTS, range(CLIENTS)))
    finally:
        server.stop()
    codes = [c for r in results for c in r]
    assert set(codes) <= {201, 409}, codes
    counts, stored = _check_file(path)
    assert stored == codes.count(201)  # every accepted order is there, no refused one
    assert sum(counts.values()) == stored


def test_sigkill_during_sourcing_run_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "crash.duckdb"
    _prepare(path)
    # The run pauses inside its apply transaction, just before COMMIT: kill it there.
    server = Server(path, module="tests.serve_paused")
    http = httpx.Client(base_url=server.url, headers=server.headers(), timeout=60)
    ids = []
    for i in range(12):
        r = http.post("/orders", json=web_order(lines=[{"sku": "AB"[i % 2], "qty": 1}]))
        assert r.status_code == 201
        ids.append(r.json()["order_id"])
    before = {i: http.get(f"/orders/{i}").json()["status"] for i in ids}

    def run() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it
            http.post("/sourcing/runs", json={"strategy": "greedy"}, timeout=120)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(4.0)  # snapshot + greedy plan of 12 orders take well under this
    server.kill()
    thread.join(timeout=30)

    counts, stored = _check_file(path)  # reopening replays the WAL: consistent
    assert stored == len(ids)
    db = Database(Store(path))
    try:
        runs = db.read(lambda r: r.rows("SELECT status FROM sourcing_runs"))
        assert runs == [("running",)]  # its row was committed first; nothing else
        plans = db.read(lambda r: r.scalar("SELECT count(*) FROM plans"))
        assert plans == 0
    finally:
        db.close()
    assert "sourced" not in counts

    server = Server(path)  # restart: the interrupted run is marked failed
    http = httpx.Client(base_url=server.url, headers=server.headers(), timeout=60)
    try:
        after = {i: http.get(f"/orders/{i}").json()["status"] for i in ids}
        assert after == before
        done = http.post("/sourcing/runs", json={"strategy": "greedy"}, timeout=120)
        assert done.status_code == 201 and done.json()["status"] == "applied", done.text
        statuses = {http.get(f"/orders/{i}").json()["status"] for i in ids}
        assert statuses <= {"sourced", "backordered"}
    finally:
        server.stop()
    db = Database(Store(path))
    try:
        failed = db.read(
            lambda r: r.rows("SELECT status, error FROM sourcing_runs ORDER BY started_at")
        )
        assert failed[0][0] == "failed" and "interrupted" in failed[0][1]
        assert failed[1][0] == "applied"
        check_invariants(db)
    finally:
        db.close()


def test_dom_serve_starts_on_an_empty_store(tmp_path: Path) -> None:
    server = Server(tmp_path / "empty.duckdb")
    try:
        assert httpx.get(f"{server.url}/docs").status_code == 200
        assert "/orders" in httpx.get(f"{server.url}/openapi.json").json()["paths"]
        http = httpx.Client(base_url=server.url, headers=server.headers())
        assert http.get("/inventory").json()["items"] == []
        r = http.post("/orders", json=web_order())
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert httpx.get(f"{server.url}/orders").status_code == 401
    finally:
        server.stop()
