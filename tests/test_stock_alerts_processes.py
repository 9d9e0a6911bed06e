"""Stock alerts with client PROCESSES racing against a real ``dom serve``.

DuckDB has one writing process, so the clients are separate processes speaking
HTTP to it (as tests/test_serve_process.py does). "Once each" is checked against
the stock ledger: its DC1/B entries, in commit order, give the exact sequence of
available units, so the number of times it crossed below the reorder point (and
back) is known, and the alert history must match it one for one.

Network: tests/lifecycle_fixtures (DC1 holds 20 B with safety stock 2: 18 available).
"""

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from data.lifecycle_db import Database
from data.store import Store
from tests.lifecycle_fixtures import make_db, web_order
from tests.server_proc import ADMIN_KEY, Server

PROCESSES = 4


def _adjust(url: str, deltas: list[int]) -> list[int]:
    """One client process: adjustments of DC1/B by these deltas in turn; status codes."""
    with httpx.Client(base_url=url, headers={"X-API-Key": ADMIN_KEY}, timeout=60) as http:
        return [
            http.post(
                "/inventory/adjustments", json={"node_id": "DC1", "sku": "B", "delta": d}
            ).status_code
            for d in deltas
        ]


def _capture_c(url: str, n: int) -> list[str]:
    """One client process: three orders of 2 C each (the network has 1 C); statuses."""
    with httpx.Client(base_url=url, headers={"X-API-Key": ADMIN_KEY}, timeout=60) as http:
        out = []
        for k in range(3):
            body = web_order(lines=[{"sku": "C", "qty": 2}], allow_backorder=True)
            r = http.post("/orders", json=body, headers={"Idempotency-Key": f"c{n}-{k}"})
            assert r.status_code == 201, r.text
            out.append(r.json()["status"])
        return out


def _race(pool: ProcessPoolExecutor, url: str, deltas: list[int]) -> list[int]:
    """Every process makes these adjustments at once; all the status codes."""
    runs = pool.map(_adjust, [url] * PROCESSES, [deltas] * PROCESSES)
    return [code for codes in runs for code in codes]


def _crossings(available: list[int], threshold: int) -> tuple[int, int]:
    """(times the walk went below the threshold, times it came back up to it)."""
    down = sum(a >= threshold > b for a, b in zip(available, available[1:], strict=False))
    up = sum(a < threshold <= b for a, b in zip(available, available[1:], strict=False))
    return down, up


def test_alerts_fire_and_clear_once_each_with_racing_client_processes(tmp_path: Path) -> None:
    path = tmp_path / "alerts.duckdb"
    make_db(str(path), keys=False).close()
    server = Server(path)
    http = httpx.Client(base_url=server.url, headers=server.headers(), timeout=60)
    try:
        assert http.put("/reorder-points/DC1/B", json={"reorder_point": 10}).status_code == 200
        with ProcessPoolExecutor(PROCESSES) as pool:
            # 18 -> 2 in 16 steps from four processes: crosses below 10 once.
            assert set(_race(pool, server.url, [-1] * 4)) == {200}
            (fired,) = http.get("/alerts", params={"node_id": "DC1"}).json()["items"]
            assert (fired["available"], fired["cleared_at"]) == (9, None)
            # 2 -> 18: back up once.
            assert set(_race(pool, server.url, [+1] * 4)) == {200}
            (cleared,) = http.get("/alerts", params={"node_id": "DC1"}).json()["items"]
            assert cleared["alert_id"] == fired["alert_id"] and cleared["cleared_at"]
            # A reorder point right at 18, then every process takes one unit and puts it
            # back, ten times: the first step goes below, and the walk stays within
            # 14..18, crossing back and forth as often as the race makes it.
            assert http.put("/reorder-points/DC1/B", json={"reorder_point": 18}).status_code == 200
            assert set(_race(pool, server.url, [-1, +1] * 10)) == {200}
            # Racing captures of a SKU the network cannot cover: one network alert.
            statuses = list(pool.map(_capture_c, [server.url] * PROCESSES, range(PROCESSES)))
        assert {s for got in statuses for s in got} == {"backordered"}
    finally:
        http.close()
        server.stop()

    db = Database(Store(path))
    try:
        deltas = db.read(
            lambda r: r.rows(
                "SELECT on_hand_delta FROM inventory_ledger WHERE node_id = 'DC1' AND sku = 'B' "
                "AND kind = 'adjustment' ORDER BY entry_id"
            )
        )
        alerts = db.read(
            lambda r: r.rows(
                "SELECT kind, node_id, sku, available, threshold, cleared_at IS NOT NULL "
                "FROM stock_alerts ORDER BY alert_id"
            )
        )
        still_open = db.read(lambda r: r.rows("SELECT kind, node_id, sku FROM open_alerts"))
    finally:
        db.close()
    assert len(deltas) == 16 + 16 + 80
    walk = [18]
    for (d,) in deltas:
        walk.append(walk[-1] + d)
    assert walk[32] == 18 and walk[-1] == 18 and min(walk[32:]) >= 18 - PROCESSES
    down, up = _crossings(walk[32:], 18)
    assert down >= 1
    dc1 = [a for a in alerts if a[1] == "DC1"]
    assert dc1[0] == ("below_reorder_point", "DC1", "B", 9, 10, True)
    # One alert per crossing below 18, each raised at 17 and cleared on the way back.
    assert dc1[1:] == [("below_reorder_point", "DC1", "B", 17, 18, True)] * down
    assert up == down
    # Raised once, with the open demand of the captures committed with it (2 C each).
    ((kind, _, sku, available, threshold, cleared),) = [a for a in alerts if a[1] == ""]
    assert (kind, sku, available, cleared) == ("network_short", "C", 1, False)
    assert threshold in range(2, 2 * 3 * PROCESSES + 1, 2)
    assert still_open == [("network_short", "", "C")]
