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
import weakref
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

import planner
from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo, now
from models import Weights
from models.api import Actor, Page, ReleaseResult, RunRequest, RunView
from models.lifecycle import PLANNABLE, OrderStatus, check_transition, work_kind
from models.lifecycle_errors import Busy, FieldError, InvalidInput, NotFound
from promise.index import PromiseIndex
from services import promise as promising
from services.common import new_id
from services.digital import deliver_loaded
from services.pagination import MAX_LIMIT, decode_cursor, encode_cursor

S = OrderStatus
# Each store's last optimize plan and prices: its next run starts from them (warm start).
# In memory: a process that restarts plans its first run cold.
_last_plans: "weakref.WeakKeyDictionary[Database, planner.Warm]" = weakref.WeakKeyDictionary()


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
    after = decode_cursor(cursor, datetime, str)

    def work(repo: LifecycleRepo) -> Page[RunView]:
        page = (str(after[0]), str(after[1])) if after else None
        rows = repo.run_page(page, limit + 1)
        items = [_run_view(r) for r in rows[:limit]]
        nxt = None
        if len(rows) > limit:
            nxt = encode_cursor([items[-1].started_at.isoformat(), items[-1].run_id])
        return Page[RunView](items=items, next_cursor=nxt)

    return db.read(work)


def recover_interrupted_runs(db: Database) -> int:
    """Runs left 'running' by a killed process never applied anything: mark them failed."""
    return db.write(lambda r: r.fail_interrupted_runs())


def _snapshot(
    db: Database, weights: Weights | None, actor: Actor
) -> tuple[Any, pd.DataFrame, dict[str, int]]:
    """(batch to plan, the held reservations of its orders, their versions). Orders
    loaded from batch files are adopted first, and their digital lines delivered."""
    statuses = sorted(s.value for s in PLANNABLE)

    def holds(repo: LifecycleRepo) -> tuple[pd.DataFrame, dict[str, int]]:
        repo.adopt_orders()
        deliver_loaded(repo, statuses, actor)
        return repo.held_by_status(statuses), repo.order_versions(statuses, with_lines=True)

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
    soft = promising.held_in_all(db)
    if soft:
        # Units live delivery promises hold are not the run's to give away.
        extra = pd.Series(soft, dtype="int64").rename("qty").rename_axis(["node_id", "sku"])
        inv = inv.merge(extra.reset_index(), on=["node_id", "sku"], how="left")
        inv["reserved"] = inv["reserved"] + inv["qty"].fillna(0).astype("int64")
        inv = inv.drop(columns="qty")
    planned = type(batch)(
        batch_date=batch.batch_date,
        nodes=_with_backlog(db, batch.nodes, held),
        items=batch.items,
        inventory=inv,
        orders=orders,
        order_lines=lines.reset_index(drop=True),
        rate_card=batch.rate_card,
        weights=batch.weights if weights is None else weights,
        rate_card_file=batch.rate_card_file,
    )
    return planned, held, versions


def _with_backlog(db: Database, nodes: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """Nodes whose processing days include the work they already have: whole days of
    capacity taken by reservations of orders outside this run. The planner's lateness
    then sees what a delivery promise sees (promise/README.md, rule 4), so it does not
    move promised orders onto a node that is full for days. Capacity is at least what
    the run's orders hold at the node, so keeping them where they are stays feasible."""
    days = promising.backlog_days_without(db, held)
    extra = nodes["node_id"].map(days).fillna(0).astype("int64")
    # Orders captured beyond a day's capacity ship later but stay sourced: a run never
    # has less room at a node than the orders it re-plans already hold there.
    holding = held.groupby("node_id")["qty"].sum() if len(held) else pd.Series(dtype="int64")
    room = nodes["node_id"].map(holding).fillna(0).astype("int64")
    return nodes.assign(
        processing_days=nodes["processing_days"] + extra,
        capacity_units=np.maximum(nodes["capacity_units"].to_numpy(np.int64), room.to_numpy()),
    )


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
    from services import weights as profiles

    run_id = new_id("run")
    active = profiles.active_weights(db)  # the activated profile, unless the request says
    weights = req.weights or (active[0] if active else None)
    db.write(
        lambda r: r.start_run(
            run_id, strategy, req.time_limit, (weights or Weights()).model_dump(), actor.name
        )
    )
    try:
        index = promising.index_of(db)  # built now: the apply below holds the write gate
        batch, held, versions = _snapshot(db, weights, actor)
        started = time.perf_counter()
        if len(batch.orders):
            result = planner.plan(
                batch, strategy, req.time_limit, weights or batch.weights,
                warm=_last_plans.get(db) if strategy == "optimize" else None,
            )  # fmt: skip
            if result.warm is not None:
                _last_plans[db] = result.warm
            alloc, unfilled, summary = result.allocations, result.unfilled, result.summary
        else:
            alloc = pd.DataFrame(columns=["order_id", "line_no", "node_id", "qty"])
            unfilled = pd.DataFrame(columns=["order_id", "line_no", "qty"])
            summary = None
        plan_seconds = time.perf_counter() - started
        db.write(
            lambda r: _apply(
                db,
                r,
                run_id,
                batch,
                alloc,
                unfilled,
                summary,
                versions,
                actor,
                plan_seconds,
                index,
            ),
            exclusive=True,
        )
        profiles.remember_run_batch(db, run_id, strategy, batch)  # for what-ifs
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"[:2000]
        db.write(lambda r: r.fail_run(run_id, message))
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
    index: PromiseIndex | None = None,
) -> None:
    """Swap the planned orders' reservations for the plan's, in one transaction."""
    current = repo.order_versions([s.value for s in PLANNABLE])
    keep = {o for o, v in versions.items() if current.get(o) == v}
    a = _planned_holds(alloc, batch, keep)
    ordered = {
        (o, int(n)): int(q)
        for o, n, q in batch.order_lines[["order_id", "line_no", "qty"]].itertuples(index=False)
        if o in keep
    }
    # Room per stock row now: free stock plus what the kept orders hold there.
    old_held = repo.held_per_stock_row(keep)
    rows = set(old_held) | set(zip(a["node_id"], a["sku"], strict=True))
    free = repo.free_stock(rows)
    a, trimmed = _fit(a, {k: free.get(k, 0) + old_held.get(k, 0) for k in rows}, batch)
    new_held = _units(a, ["node_id", "sku"])
    deltas = [
        (k, int(new_held.get(k, 0)) - old_held.get(k, 0)) for k in set(new_held) | set(old_held)
    ]
    repo.shift_reserved([(k, d) for k, d in deltas if d])
    repo.replace_holds(sorted(keep), a, run_id)
    got = _units(a, ["order_id", "line_no"])
    short = {o for (o, n), q in ordered.items() if got.get((o, n), 0) < q}
    _move_planned(repo, keep, short, run_id, actor)
    plan_id = _save_plan(repo, run_id, batch, a, ordered, got, summary)
    kpis = _kpis(summary, len(keep), len(versions) - len(keep), trimmed, len(short), plan_seconds)
    if index is not None:
        planned = [
            (str(o), int(n), str(d), int(q))
            for o, n, d, q in a[["order_id", "line_no", "node_id", "qty"]].itertuples(index=False)
        ]
        kpis.update(promising.kept_in_run(index, repo, planned, ordered, old_held))
    repo.finish_run(run_id, plan_id, len(keep), kpis, batch.weights.model_dump())
    if db.on_apply is not None:
        db.on_apply(run_id)  # test hook: the crash test stops the process here


def _planned_holds(alloc: pd.DataFrame, batch: Any, keep: set[str]) -> pd.DataFrame:
    """The plan's allocations of the kept orders, with each line's SKU."""
    sku_of = batch.order_lines.set_index(["order_id", "line_no"])["sku"]
    a = alloc[alloc["order_id"].isin(keep)].copy()
    a["sku"] = sku_of.reindex(pd.MultiIndex.from_frame(a[["order_id", "line_no"]])).to_numpy()
    return a


def _move_planned(
    repo: LifecycleRepo, keep: set[str], short: set[str], run_id: str, actor: Actor
) -> None:
    """Fully allocated orders become sourced, the others backordered."""
    changes = []
    for order_id, status in sorted(repo.statuses_of(keep).items()):
        target = S.BACKORDERED if order_id in short else S.SOURCED
        check_transition(status, target, f"order {order_id}")
        changes.append((order_id, status, target.value))
    kinds = {S.SOURCED.value: "sourced", S.BACKORDERED.value: "backordered"}
    repo.move_orders(changes, kinds, actor.name, {"run_id": run_id})


def _units(a: pd.DataFrame, keys: list[str]) -> dict[Any, int]:
    """Allocated units per key tuple, e.g. per (node_id, sku)."""
    if not len(a):
        return {}
    return {k: int(q) for k, q in a.groupby(keys)["qty"].sum().items()}


def _fit(a: pd.DataFrame, room: dict[tuple[str, str], int], batch: Any) -> tuple[pd.DataFrame, int]:
    """Trim allocations that no longer fit the stock (a capture took it meanwhile)."""
    need = _units(a, ["node_id", "sku"])
    if all(q <= room.get(k, 0) for k, q in need.items()):
        return a, 0
    complete = set(batch.orders.loc[batch.orders["ship_complete"], "order_id"])
    left = dict(room)
    cols = ["order_id", "line_no", "node_id", "qty", "sku"]
    rows_of: dict[str, list[tuple[Any, ...]]] = {}
    for row in zip(*(a[c].tolist() for c in cols), strict=True):
        rows_of.setdefault(row[0], []).append(row)
    kept: list[tuple[Any, ...]] = []
    trimmed = 0
    for order_id, rows in rows_of.items():
        fits = all(left.get((n, s), 0) >= q for _, _, n, q, s in rows)
        if not fits and order_id in complete:
            trimmed += 1
            continue
        for o, line_no, n, q, s in rows:
            take = min(q, left.get((n, s), 0))
            if take > 0:
                left[(n, s)] -= take
                kept.append((o, line_no, n, take, s))
        trimmed += 0 if fits else 1
    return pd.DataFrame(kept, columns=cols), trimmed


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
    allocations = a.groupby(["order_id", "line_no", "node_id"], as_index=False, sort=False).agg(
        qty=("qty", "sum")
    )
    short = [
        (o, n, q - got.get((o, n), 0)) for (o, n), q in ordered.items() if got.get((o, n), 0) < q
    ]
    repo.save_plan(
        plan_id,
        summary.strategy if summary is not None else "none",
        batch.batch_date,
        batch.weights.model_dump(),
        summary.model_dump(mode="json") if summary is not None else {"total": 0.0},
        allocations,
        pd.DataFrame(short, columns=["order_id", "line_no", "qty"]),
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
        ids = repo.orders_in(S.SOURCED) if order_ids is None else _releasable(repo, order_ids)
        if not ids:
            return ReleaseResult(orders=0, work_items=[])
        node_kind = {n["node_id"]: n["kind"] for n in repo.nodes()}
        items, lines = _work_items(repo.holds_to_release(ids), node_kind)
        repo.release_orders(
            ids,
            pd.DataFrame(items, columns=["work_item_id", "order_id", "node_id", "kind"]),
            pd.DataFrame(lines, columns=["work_item_id", "order_id", "line_no", "sku", "qty"]),
            actor.name,
            now(),
        )
        return ReleaseResult(orders=len(ids), work_items=sorted(w[0] for w in items))

    return db.write(work, exclusive=True)


def _releasable(repo: LifecycleRepo, order_ids: list[str]) -> list[str]:
    """The orders asked for, if every one of them exists and is sourced."""
    found = repo.statuses_of(order_ids)
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
    return sorted(set(order_ids))


def _work_items(
    held: list[tuple[Any, ...]], node_kind: dict[str, str]
) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, int, str, int]]]:
    """One work item per (order, node) of the holds, its lines merged per order line."""
    groups: dict[tuple[str, str], list[tuple[int, str, int]]] = defaultdict(list)
    service: dict[str, str] = {}
    for order_id, line_no, node_id, sku, qty, svc in held:
        groups[(order_id, node_id)].append((line_no, sku, qty))
        service[order_id] = svc
    items, lines = [], []
    for (order_id, node_id), rows in groups.items():
        wid = new_id("wi")
        kind = work_kind(service[order_id], node_kind.get(node_id, "")).value
        items.append((wid, order_id, node_id, kind))
        merged: dict[int, list[Any]] = {}
        for line_no, sku, qty in rows:
            merged.setdefault(line_no, [line_no, sku, 0])[2] += qty
        lines += [(wid, order_id, ln, sku, q) for ln, sku, q in merged.values()]
    return items, lines
