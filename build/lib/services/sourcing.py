"""Sourcing runs: plan every order not yet released on the current stock, then
apply the plan in one transaction; and release sourced orders to the nodes.

A run reads a snapshot (orders and the reservations they hold, then the
network and stock), gives the planner the stock those orders hold back as
available (so orders sourced earlier are re-planned together with new ones),
and applies the plan whole: reservations swapped, stock rows adjusted, order
statuses and events written, plan and KPIs stored, the run marked applied. If
the process dies before the commit, nothing of it is visible after a restart;
the run's row, written first, is then marked failed on start-up.

Planning takes seconds while captures go on, so the apply re-checks, inside
its transaction, that each order is unchanged (same version) and that each
stock row still has room; orders that changed are left as they are, and
allocations that no longer fit are trimmed to unfilled (the order backorders).
"""

import time
from collections import defaultdict
from datetime import date
from typing import Any

import pandas as pd

import planner
from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo, _json, now
from models import Weights
from models.api import Actor, Page, ReleaseResult, RunRequest, RunView
from models.lifecycle import PLANNABLE, OrderStatus, check_transition
from models.lifecycle_errors import Busy, FieldError, InvalidInput, NotFound
from services.common import new_id
from services.pagination import MAX_LIMIT, decode_cursor, encode_cursor

S = OrderStatus


def _run_view(row: dict[str, Any]) -> RunView:
    import json

    weights = row["weights"]
    kpis = row["kpis"]
    return RunView(
        run_id=row["run_id"],
        status=row["status"],
        strategy=row["strategy"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        weights=json.loads(weights) if isinstance(weights, str) else weights,
        time_limit=row["time_limit"],
        orders_planned=row["orders_planned"],
        plan_id=row["plan_id"],
        kpis=json.loads(kpis) if isinstance(kpis, str) else kpis,
        error=row["error"],
    )


def get_run(db: Database, run_id: str) -> RunView:
    row = db.read(lambda r: r.run_row(run_id))
    if row is None:
        raise NotFound(f"no sourcing run {run_id!r}")
    return _run_view(row)


def list_runs(db: Database, limit: int, cursor: str | None) -> Page[RunView]:
    """Runs, newest first."""
    limit = max(1, min(limit, MAX_LIMIT))
    after = decode_cursor(cursor, 2)

    def work(repo: LifecycleRepo) -> Page[RunView]:
        cond, params = "true", []
        if after:
            cond = "(started_at, run_id) < (CAST(? AS TIMESTAMPTZ), ?)"
            params = [str(after[0]), str(after[1])]
        rows = repo.dicts(
            f"SELECT * FROM sourcing_runs WHERE {cond} "
            f"ORDER BY started_at DESC, run_id DESC LIMIT {limit + 1}",
            params,
        )
        items = [_run_view(r) for r in rows[:limit]]
        nxt = None
        if len(rows) > limit:
            nxt = encode_cursor([items[-1].started_at.isoformat(), items[-1].run_id])
        return Page[RunView](items=items, next_cursor=nxt)

    return db.read(work)


def recover_interrupted_runs(db: Database) -> int:
    """Runs left 'running' by a killed process never applied anything: mark them failed."""
    return db.write(
        lambda r: r.exec(
            "UPDATE sourcing_runs SET status = 'failed', finished_at = ?, "
            "error = 'interrupted: the service stopped before the run was applied' "
            "WHERE status = 'running'",
            [now()],
        )
    )


def _snapshot(db: Database, weights: Weights | None) -> tuple[Any, pd.DataFrame, dict[str, int]]:
    """(batch to plan, the held reservations of its orders, their versions)."""
    statuses = sorted(s.value for s in PLANNABLE)

    def holds(repo: LifecycleRepo) -> tuple[pd.DataFrame, dict[str, int]]:
        repo.adopt_orders()
        versions = dict(
            repo.rows(
                "SELECT o.order_id, h.version FROM orders o JOIN order_headers h "
                "USING (order_id) WHERE list_contains(?, o.status) "
                "AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.order_id)",
                [statuses],
            )
        )
        held = repo.cur.execute(
            "SELECT r.order_id, r.node_id, r.sku, r.qty FROM reservations r "
            "JOIN orders o USING (order_id) WHERE NOT r.released "
            "AND list_contains(?, o.status)",
            [statuses],
        ).df()
        return held, versions

    held, versions = db.write(holds)
    # The store's own connection: only runs and bulk loads use it, under run_lock.
    batch = db.store.export_batch(batch_date=date.today(), weights=weights, statuses=statuses)
    orders = batch.orders[batch.orders["order_id"].isin(versions.keys())].reset_index(drop=True)
    lines = batch.order_lines[batch.order_lines["order_id"].isin(orders["order_id"])]
    held = held[held["order_id"].isin(orders["order_id"])]
    inv = batch.inventory.copy()
    if len(held):
        # Stock these orders hold is theirs to re-plan: hand it back to the planner.
        back = held.groupby(["node_id", "sku"], as_index=False)["qty"].sum()
        inv = inv.merge(back, on=["node_id", "sku"], how="left")
        inv["reserved"] = (inv["reserved"] - inv["qty"].fillna(0).astype("int64")).clip(lower=0)
        inv = inv.drop(columns="qty")
    planned = type(batch)(
        batch_date=batch.batch_date,
        nodes=batch.nodes,
        items=batch.items,
        inventory=inv,
        orders=orders,
        order_lines=lines.reset_index(drop=True),
        rate_card=batch.rate_card,
        weights=batch.weights if weights is None else weights,
        rate_card_file=batch.rate_card_file,
    )
    return planned, held, {k: int(v) for k, v in versions.items()}


def run_sourcing(db: Database, req: RunRequest, actor: Actor) -> RunView:
    """Plan all unreleased orders and apply the plan all or nothing; returns the run."""
    strategy = req.strategy or planner.DEFAULT_STRATEGY
    if strategy not in planner.STRATEGIES:
        raise InvalidInput(
            [
                FieldError(
                    "strategy", f"unknown strategy; choose one of {', '.join(planner.STRATEGIES)}"
                )
            ]
        )
    if not db.run_lock.acquire(blocking=False):
        raise Busy("a sourcing run is already in progress; try again when it has finished")
    try:
        return _run(db, req, strategy, actor)
    finally:
        db.run_lock.release()


def _run(db: Database, req: RunRequest, strategy: str, actor: Actor) -> RunView:
    run_id = new_id("run")
    weights = req.weights
    db.write(
        lambda r: r.exec(
            "INSERT INTO sourcing_runs (run_id, status, strategy, time_limit, weights, actor) "
            "VALUES (?, 'running', ?, ?, ?, ?)",
            [
                run_id,
                strategy,
                req.time_limit,
                _json((weights or Weights()).model_dump()),
                actor.name,
            ],
        )
    )
    try:
        batch, held, versions = _snapshot(db, weights)
        started = time.perf_counter()
        if len(batch.orders):
            result = planner.plan(batch, strategy, req.time_limit, weights or batch.weights)
            alloc, unfilled, summary = result.allocations, result.unfilled, result.summary
        else:
            alloc = pd.DataFrame(columns=["order_id", "line_no", "node_id", "qty"])
            unfilled = pd.DataFrame(columns=["order_id", "line_no", "qty"])
            summary = None
        plan_seconds = time.perf_counter() - started
        db.write(
            lambda r: _apply(
                db, r, run_id, batch, alloc, unfilled, summary, versions, actor, plan_seconds
            ),
            exclusive=True,
        )
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"[:2000]
        db.write(
            lambda r: r.exec(
                "UPDATE sourcing_runs SET status = 'failed', finished_at = ?, error = ? "
                "WHERE run_id = ?",
                [now(), message, run_id],
            )
        )
        raise
    return get_run(db, run_id)


def _apply(
    db: Database,
    repo: LifecycleRepo,
    run_id: str,
    batch: Any,
    alloc: pd.DataFrame,
    unfilled: pd.DataFrame,
    summary: Any,
    versions: dict[str, int],
    actor: Actor,
    plan_seconds: float,
) -> None:
    """Swap the planned orders' reservations for the plan's, in one transaction."""
    statuses = sorted(s.value for s in PLANNABLE)
    current = dict(
        repo.rows(
            "SELECT o.order_id, h.version FROM orders o JOIN order_headers h USING (order_id) "
            "WHERE list_contains(?, o.status)",
            [statuses],
        )
    )
    keep = {o for o, v in versions.items() if current.get(o) == v}
    skipped = len(versions) - len(keep)
    sku_of = batch.order_lines.set_index(["order_id", "line_no"])["sku"]
    a = alloc[alloc["order_id"].isin(keep)].copy()
    a["sku"] = sku_of.reindex(pd.MultiIndex.from_frame(a[["order_id", "line_no"]])).to_numpy()
    ordered = {
        (o, int(n)): int(q)
        for o, n, q in batch.order_lines[["order_id", "line_no", "qty"]].itertuples(index=False)
        if o in keep
    }
    # Room per stock row now: free stock plus what the kept orders hold there.
    old = repo.cur.execute(
        "SELECT node_id, sku, sum(qty) AS qty FROM reservations "
        "WHERE NOT released AND list_contains(?, order_id) GROUP BY ALL",
        [sorted(keep)],
    ).df()
    old_held = {(n, s): int(q) for n, s, q in old.itertuples(index=False)}
    rows = set(old_held) | set(zip(a["node_id"], a["sku"], strict=True))
    free = _free_stock(repo, rows)
    room = {k: free.get(k, 0) + old_held.get(k, 0) for k in rows}
    a, trimmed = _fit(a, room, batch)
    # Stock rows: reserved += new - old, in (node_id, sku) order.
    new_held = a.groupby(["node_id", "sku"])["qty"].sum().to_dict() if len(a) else {}
    deltas = sorted(
        (k, int(new_held.get(k, 0)) - old_held.get(k, 0)) for k in set(new_held) | set(old_held)
    )
    deltas = [(k, d) for k, d in deltas if d]
    if deltas:
        frame = pd.DataFrame(
            {
                "node_id": [k[0] for k, _ in deltas],
                "sku": [k[1] for k, _ in deltas],
                "delta": [d for _, d in deltas],
            }
        )
        with repo.frame(frame) as view:
            repo.exec(
                f"UPDATE inventory SET reserved = inventory.reserved + d.delta FROM {view} d "
                "WHERE inventory.node_id = d.node_id AND inventory.sku = d.sku"
            )
    keep_frame = pd.DataFrame({"order_id": sorted(keep)}, dtype=object)
    with repo.frame(keep_frame) as kv:
        repo.exec(
            "DELETE FROM reservations WHERE NOT released "
            f"AND order_id IN (SELECT order_id FROM {kv})"
        )
    if len(a):
        res = a[["order_id", "line_no", "node_id", "sku", "qty"]].reset_index(drop=True)
        with repo.frame(res) as rv:
            repo.exec(
                "INSERT INTO reservations (order_id, line_no, node_id, sku, qty, released, run_id) "
                f"SELECT order_id, line_no, node_id, sku, qty, false, ? FROM {rv}",
                [run_id],
            )
    # Order statuses: fully allocated -> sourced, else backordered.
    got = a.groupby(["order_id", "line_no"])["qty"].sum().to_dict() if len(a) else {}
    short = {o for (o, n), q in ordered.items() if got.get((o, n), 0) < q}
    status_rows = repo.rows(
        "SELECT order_id, status FROM orders WHERE list_contains(?, order_id)", [sorted(keep)]
    )
    changes = []
    for order_id, status in status_rows:
        target = S.BACKORDERED if order_id in short else S.SOURCED
        check_transition(status, target, f"order {order_id}")
        changes.append((order_id, status, target.value))
    if changes:
        frame = pd.DataFrame(changes, columns=["order_id", "from_status", "to_status"])
        frame["details"] = _json({"run_id": run_id})
        frame["occurred_at"] = now()
        with repo.frame(frame) as cv:
            repo.exec(
                f"UPDATE orders SET status = c.to_status FROM {cv} c "
                "WHERE orders.order_id = c.order_id"
            )
            repo.exec(
                f"UPDATE order_headers SET version = version + 1, updated_at = now() FROM {cv} c "
                "WHERE order_headers.order_id = c.order_id"
            )
            repo.exec(
                "INSERT INTO order_events (order_id, occurred_at, actor, channel, event_type, "
                "from_status, to_status, details) SELECT order_id, occurred_at, ?, NULL, "
                f"CASE WHEN to_status = 'sourced' THEN 'sourced' ELSE 'backordered' END, "
                f"from_status, to_status, CAST(details AS JSON) FROM {cv}",
                [actor.name],
            )
    plan_id = _save_plan(repo, run_id, batch, a, ordered, got, summary)
    kpis = _kpis(summary, len(keep), skipped, trimmed, len(short), plan_seconds)
    repo.exec(
        "UPDATE sourcing_runs SET status = 'applied', finished_at = ?, plan_id = ?, "
        "orders_planned = ?, kpis = ?, weights = ? WHERE run_id = ?",
        [now(), plan_id, len(keep), _json(kpis), _json(batch.weights.model_dump()), run_id],
    )
    if db.apply_pause_s:
        time.sleep(db.apply_pause_s)  # fault injection: the crash test kills us here


def _free_stock(repo: LifecycleRepo, rows: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not rows:
        return {}
    frame = pd.DataFrame(sorted(rows), columns=["node_id", "sku"])
    with repo.frame(frame) as view:
        found = repo.rows(
            "SELECT i.node_id, i.sku, i.on_hand - i.reserved - i.safety_stock "
            f"FROM inventory i JOIN {view} v USING (node_id, sku)"
        )
    return {(n, s): max(0, int(f)) for n, s, f in found}


def _fit(a: pd.DataFrame, room: dict[tuple[str, str], int], batch: Any) -> tuple[pd.DataFrame, int]:
    """Trim allocations that no longer fit the stock (a capture took it meanwhile)."""
    if not len(a):
        return a, 0
    need = a.groupby(["node_id", "sku"])["qty"].sum().to_dict()
    if all(q <= room.get(k, 0) for k, q in need.items()):
        return a, 0
    complete = set(batch.orders.loc[batch.orders["ship_complete"], "order_id"])
    left = dict(room)
    kept: list[tuple] = []
    trimmed = 0
    for order_id, group in a.groupby("order_id", sort=False):
        rows = list(group.itertuples(index=False))
        fits = all(left.get((r.node_id, r.sku), 0) >= r.qty for r in rows)
        if not fits and order_id in complete:
            trimmed += 1
            continue
        for r in rows:
            take = min(r.qty, left.get((r.node_id, r.sku), 0))
            if take > 0:
                left[(r.node_id, r.sku)] -= take
                kept.append((r.order_id, r.line_no, r.node_id, take, r.sku))
        trimmed += 0 if fits else 1
    out = pd.DataFrame(kept, columns=["order_id", "line_no", "node_id", "qty", "sku"])
    return out, trimmed


def _save_plan(
    repo: LifecycleRepo,
    run_id: str,
    batch: Any,
    a: pd.DataFrame,
    ordered: dict[tuple[str, int], int],
    got: dict[tuple[str, int], int],
    summary: Any,
) -> str:
    plan_id = f"plan-{run_id}"
    total = float(summary.total) if summary is not None else 0.0
    repo.exec(
        "INSERT INTO plans (plan_id, strategy, batch_date, weights, summary, total, lower_bound, "
        "gap, wall_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            plan_id,
            summary.strategy if summary is not None else "none",
            batch.batch_date,
            _json(batch.weights.model_dump()),
            _json(summary.model_dump(mode="json") if summary is not None else {"total": 0.0}),
            total,
            None if summary is None else summary.lower_bound,
            None if summary is None else summary.gap,
            None if summary is None else summary.wall_seconds,
        ],
    )
    if len(a):
        rows = a.groupby(["order_id", "line_no", "node_id"], as_index=False, sort=False)[
            "qty"
        ].sum()
        rows["seq"] = range(len(rows))
        with repo.frame(rows) as view:
            repo.exec(
                "INSERT INTO plan_allocations (plan_id, order_id, line_no, node_id, qty, seq) "
                f"SELECT ?, order_id, line_no, node_id, qty, seq FROM {view}",
                [plan_id],
            )
    short = [
        (o, n, q - got.get((o, n), 0)) for (o, n), q in ordered.items() if got.get((o, n), 0) < q
    ]
    if short:
        frame = pd.DataFrame(short, columns=["order_id", "line_no", "qty"])
        frame["seq"] = range(len(frame))
        with repo.frame(frame) as view:
            repo.exec(
                "INSERT INTO plan_unfilled (plan_id, order_id, line_no, qty, seq) "
                f"SELECT ?, order_id, line_no, qty, seq FROM {view}",
                [plan_id],
            )
    return plan_id


def _kpis(
    summary: Any, planned: int, skipped: int, trimmed: int, backordered: int, plan_s: float
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "orders_planned": planned,
        "orders_skipped_changed": skipped,
        "orders_trimmed": trimmed,
        "orders_backordered": backordered,
        "plan_seconds": round(plan_s, 3),
    }
    if summary is not None:
        c = summary.cost
        out.update(
            total=summary.total,
            lower_bound=summary.lower_bound,
            gap=summary.gap,
            strategy=summary.strategy,
            shipping=c.shipping,
            handling=c.handling,
            late_days=c.late_days,
            splits=c.splits,
            unfilled=c.unfilled,
            packages=c.packages,
            packages_per_order=c.packages_per_order,
            fill_rate=c.fill_rate,
            on_time_share=c.on_time_share,
            units_ordered=c.units_ordered,
            units_allocated=c.units_allocated,
        )
    return out


def release(db: Database, order_ids: list[str] | None, actor: Actor) -> ReleaseResult:
    """Turn sourced orders' reservations into work items, one per (order, node)."""

    def work(repo: LifecycleRepo) -> ReleaseResult:
        if order_ids is None:
            ids = [r[0] for r in repo.rows("SELECT order_id FROM orders WHERE status = 'sourced'")]
        else:
            found = dict(
                repo.rows(
                    "SELECT order_id, status FROM orders WHERE list_contains(?, order_id)",
                    [sorted(set(order_ids))],
                )
            )
            errors = [
                FieldError(f"order_ids.{i}", f"unknown order {o!r}")
                for i, o in enumerate(order_ids)
                if o not in found
            ]
            errors += [
                FieldError(f"order_ids.{i}", f"order {o} is '{found[o]}', not 'sourced'")
                for i, o in enumerate(order_ids)
                if o in found and found[o] != S.SOURCED
            ]
            if errors:
                raise InvalidInput(errors, "some orders cannot be released")
            ids = sorted(set(order_ids))
        if not ids:
            return ReleaseResult(orders=0, work_items=[])
        held = repo.cur.execute(
            "SELECT r.order_id, r.line_no, r.node_id, r.sku, r.qty, o.service "
            "FROM reservations r JOIN orders o USING (order_id) "
            "WHERE NOT r.released AND list_contains(?, r.order_id) "
            "ORDER BY r.order_id, r.node_id, r.line_no",
            [ids],
        ).fetchall()
        groups: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        service: dict[str, str] = {}
        for order_id, line_no, node_id, sku, qty, svc in held:
            groups[(order_id, node_id)].append((line_no, sku, qty))
            service[order_id] = svc
        items, lines = [], []
        for (order_id, node_id), rows in groups.items():
            wid = new_id("wi")
            kind = "pickup" if service[order_id] == "pickup" else "ship"
            items.append((wid, order_id, node_id, kind))
            merged: dict[int, list] = {}
            for line_no, sku, qty in rows:
                merged.setdefault(line_no, [line_no, sku, 0])[2] += qty
            lines += [(wid, order_id, ln, sku, q) for ln, sku, q in merged.values()]
        wi = pd.DataFrame(items, columns=["work_item_id", "order_id", "node_id", "kind"])
        wl = pd.DataFrame(lines, columns=["work_item_id", "order_id", "line_no", "sku", "qty"])
        ids_frame = pd.DataFrame({"order_id": ids}, dtype=object)
        at = now()
        with repo.frame(wi) as wv, repo.frame(wl) as lv, repo.frame(ids_frame) as iv:
            repo.exec(
                "INSERT INTO work_items (work_item_id, order_id, node_id, kind, status, "
                f"created_at, updated_at) SELECT *, 'released', ?, ? FROM {wv}",
                [at, at],
            )
            repo.exec(f"INSERT INTO work_item_lines SELECT * FROM {lv}")
            repo.exec(
                "UPDATE line_state SET released_qty = released_qty + r.qty FROM "
                f"(SELECT order_id, line_no, sum(qty) AS qty FROM {lv} GROUP BY ALL) r "
                "WHERE line_state.order_id = r.order_id AND line_state.line_no = r.line_no"
            )
            repo.exec(
                "UPDATE reservations SET released = true "
                f"WHERE order_id IN (SELECT order_id FROM {iv})"
            )
            repo.exec(f"DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM {iv})")
            repo.exec(
                "UPDATE orders SET status = 'released' "
                f"WHERE order_id IN (SELECT order_id FROM {iv})"
            )
            repo.exec(
                "UPDATE order_headers SET version = version + 1, updated_at = ? "
                f"WHERE order_id IN (SELECT order_id FROM {iv})",
                [at],
            )
            repo.exec(
                "INSERT INTO order_events (order_id, occurred_at, actor, channel, event_type, "
                "from_status, to_status, details) SELECT i.order_id, ?, ?, NULL, 'released', "
                "'sourced', 'released', CAST(json_object('work_items', w.ids) AS JSON) "
                f"FROM {iv} i JOIN (SELECT order_id, list(work_item_id ORDER BY work_item_id) "
                f"AS ids FROM {wv} GROUP BY ALL) w USING (order_id)",
                [at, actor.name],
            )
        return ReleaseResult(orders=len(ids), work_items=sorted(w[0] for w in items))

    return db.write(work, exclusive=True)
