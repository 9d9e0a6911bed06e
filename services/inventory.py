"""Real-time inventory: the per (node, SKU) view, receipts, adjustments, transfers,
and a bulk feed of them (CSV or Parquet) applied all or nothing.

Rules every movement keeps: on hand never below what is reserved (promised
units stay backed), never negative, and a transfer ships only available
units. Stock rows are touched in (node_id, sku) order.
"""

import io
import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from data.stock_feed import feed_steps
from models.api import (
    Actor,
    Adjustment,
    FeedResult,
    Page,
    Receipt,
    Role,
    StockView,
    TransferIn,
    TransferView,
)
from models.lifecycle_errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from services.common import Idempotency, new_id
from services.pagination import MAX_LIMIT, decode_cursor, encode_cursor

FEED_COLUMNS = ("node_id", "sku", "kind", "qty")
FEED_STEP_ROWS = 40_000  # rows per step of a bulk feed (one short transaction each)
FEED_PAUSE_S = 0.1  # after each step: captures queued meanwhile commit a group or two
_feeds = threading.Lock()  # one feed at a time: its steps do not interleave another's
MAX_FEED_ROWS = 200_000


def _own_node(actor: Actor, node_id: str) -> None:
    if actor.role is Role.NODE and node_id != actor.node_id:
        raise Forbidden(f"a {actor.node_id} associate may only change {actor.node_id}'s stock")


def _known(repo: LifecycleRepo, node_id: str, sku: str, prefix: str = "") -> list[FieldError]:
    errors = []
    if repo.node(node_id) is None:
        errors.append(FieldError(f"{prefix}node_id", f"unknown node {node_id!r}"))
    if not repo.items([sku]):
        errors.append(FieldError(f"{prefix}sku", f"unknown SKU {sku!r}"))
    return errors


def stock(db: Database, node_id: str, sku: str) -> StockView:
    rows = db.read(lambda r: r.stock_page(node_id, sku, None, 1))
    if not rows:
        raise NotFound(f"no stock row for {sku!r} at {node_id!r}")
    return StockView(**rows[0])


def list_stock(
    db: Database, node_id: str | None, sku: str | None, limit: int, cursor: str | None
) -> Page[StockView]:
    limit = max(1, min(limit, MAX_LIMIT))
    after = decode_cursor(cursor, str, str)
    rows = db.read(
        lambda r: r.stock_page(
            node_id, sku, (str(after[0]), str(after[1])) if after else None, limit + 1
        )
    )
    items = [StockView(**row) for row in rows[:limit]]
    nxt = encode_cursor([items[-1].node_id, items[-1].sku]) if len(rows) > limit else None
    return Page[StockView](items=items, next_cursor=nxt)


def receive(db: Database, req: Receipt, actor: Actor) -> StockView:
    _own_node(actor, req.node_id)

    def work(repo: LifecycleRepo) -> None:
        errors = _known(repo, req.node_id, req.sku)
        if errors:
            raise InvalidInput(errors)
        repo.change_stock(
            req.node_id,
            req.sku,
            on_hand=req.qty,
            kind="receipt",
            reference=req.reference,
            actor=actor.name,
        )

    db.write(work)
    return stock(db, req.node_id, req.sku)


def adjust(db: Database, req: Adjustment, actor: Actor) -> StockView:
    _own_node(actor, req.node_id)
    given = [f for f in ("delta", "on_hand", "safety_stock") if getattr(req, f) is not None]
    if not given or (req.delta is not None and req.on_hand is not None):
        raise InvalidInput(
            [FieldError("delta", "give delta or on_hand (not both), and/or safety_stock")]
        )

    def work(repo: LifecycleRepo) -> None:
        errors = _known(repo, req.node_id, req.sku)
        if errors:
            raise InvalidInput(errors)
        row = repo.stock_row(req.node_id, req.sku) or {"on_hand": 0, "reserved": 0}
        delta = req.delta or 0
        if req.on_hand is not None:
            delta = req.on_hand - row["on_hand"]
        after = row["on_hand"] + delta
        if after < row["reserved"]:
            raise Conflict(
                f"{req.sku} at {req.node_id}: on hand would be {after}, below the "
                f"{row['reserved']} unit(s) already promised to orders"
            )
        if req.safety_stock is not None and req.safety_stock > after - row["reserved"]:
            # Safety stock is held back from promising: it cannot cover units
            # already promised, or "available" would be negative.
            raise Conflict(
                f"{req.sku} at {req.node_id}: safety_stock {req.safety_stock} is more than "
                f"the {after - row['reserved']} unit(s) on hand and not promised"
            )
        repo.change_stock(
            req.node_id,
            req.sku,
            on_hand=delta,
            safety_stock=req.safety_stock,
            kind="adjustment",
            reference=req.reason,
            actor=actor.name,
        )

    db.write(work)
    return stock(db, req.node_id, req.sku)


def _transfer_view(row: dict[str, Any]) -> TransferView:
    return TransferView(
        transfer_id=row["transfer_id"],
        sku=row["sku"],
        from_node_id=row["from_node"],
        to_node_id=row["to_node"],
        qty=row["qty"],
        status=row["status"],
        created_at=row["created_at"],
        received_at=row["received_at"],
    )


def transfer(
    db: Database, req: TransferIn, actor: Actor, idempotency: Idempotency | None = None
) -> TransferView:
    """Ship available units from one node to another: in transit until received."""
    _own_node(actor, req.from_node_id)
    if req.from_node_id == req.to_node_id:
        raise InvalidInput([FieldError("to_node_id", "must differ from from_node_id")])
    transfer_id = new_id("tr")

    def work(repo: LifecycleRepo) -> TransferView:
        if idempotency and (first := idempotency.replay(repo)):
            return TransferView.model_validate_json(first)
        errors = _known(repo, req.from_node_id, req.sku, "from_")
        errors = [FieldError(e.field.replace("from_sku", "sku"), e.message) for e in errors]
        if repo.node(req.to_node_id) is None:
            errors.append(FieldError("to_node_id", f"unknown node {req.to_node_id!r}"))
        if errors:
            raise InvalidInput(errors)
        for node_id in sorted((req.from_node_id, req.to_node_id)):
            if node_id == req.from_node_id:
                if not repo.take_available(node_id, req.sku, req.qty):
                    raise Conflict(
                        f"{req.from_node_id} has fewer than {req.qty} available "
                        f"unit(s) of {req.sku}"
                    )
                repo.ledger(
                    node_id, req.sku, "transfer_out", -req.qty, 0, 0, transfer_id, actor.name
                )
            else:
                repo.change_stock(
                    node_id,
                    req.sku,
                    in_transit=req.qty,
                    kind="transfer_in_transit",
                    reference=transfer_id,
                    actor=actor.name,
                )
        repo.add_transfer(transfer_id, req.sku, req.from_node_id, req.to_node_id, req.qty)
        row = repo.transfer(transfer_id)
        assert row is not None
        view = _transfer_view(row)
        if idempotency:
            idempotency.remember(repo, view)
        return view

    return db.write(work)


def receive_transfer(db: Database, transfer_id: str, actor: Actor) -> TransferView:
    def work(repo: LifecycleRepo) -> TransferView:
        row = repo.transfer(transfer_id)
        if row is None:
            raise NotFound(f"no transfer {transfer_id!r}")
        _own_node(actor, row["to_node"])
        if row["status"] != "in_transit":
            raise Conflict(f"transfer {transfer_id} is '{row['status']}'; already received")
        repo.change_stock(
            row["to_node"],
            row["sku"],
            on_hand=row["qty"],
            in_transit=-row["qty"],
            kind="transfer_received",
            reference=transfer_id,
            actor=actor.name,
        )
        repo.mark_transfer_received(transfer_id)
        found = repo.transfer(transfer_id)
        assert found is not None
        return _transfer_view(found)

    return db.write(work)


def read_feed(body: bytes, content_type: str) -> pd.DataFrame:
    """Parse a feed body: CSV (text/csv) or Parquet (application/vnd.apache.parquet)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    try:
        if kind in ("application/vnd.apache.parquet", "application/x-parquet"):
            df = pd.read_parquet(io.BytesIO(body))
        elif kind in ("text/csv", "application/csv", "text/plain"):
            df = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
        else:
            raise InvalidInput(
                [FieldError("content-type", "send text/csv or application/vnd.apache.parquet")],
                "unsupported feed format",
            )
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is the sender's problem
        raise InvalidInput([FieldError("body", f"cannot be read: {exc}"[:300])]) from None
    missing = [c for c in FEED_COLUMNS if c not in df.columns]
    if missing:
        raise InvalidInput([FieldError(c, "column is missing") for c in missing])
    if len(df) > MAX_FEED_ROWS:
        raise InvalidInput([FieldError("body", f"at most {MAX_FEED_ROWS} rows per feed")])
    return df.loc[:, list(FEED_COLUMNS)].astype(str)


def apply_feed(db: Database, df: pd.DataFrame, actor: Actor) -> FeedResult:
    """Apply every row or none: receipts add, adjustments add a signed delta, counts set,
    reorder points set the alert threshold (not stock).

    Set-wise (``data.stock_feed``): the rows are checked in one read, then the
    feed is applied in steps, each a few statements in one short transaction that
    holds other writers back (the gate), so it never loses a conflict to the
    stream of captures and they wait for one step, not the feed. Only the first
    part (counts, negative adjustments, reorder points) can fail, and then nothing
    is written; the steps after it of about ``FEED_STEP_ROWS`` rows only add
    units (``data.stock_feed.feed_steps``).
    """
    only = actor.node_id if actor.role is Role.NODE else None
    total, problems = db.read(lambda r: r.feed_errors(df, only))
    if total:
        raise InvalidInput(
            [FieldError(f"row {p.row}.{p.field}", p.message) for p in problems],
            f"{total} bad row(s) in the feed; nothing applied",
        )

    def step(part: pd.DataFrame, first: bool) -> Callable[[LifecycleRepo], dict[str, int]]:
        def work(repo: LifecycleRepo) -> dict[str, int]:
            if first:
                outcome = repo.apply_feed(part, actor.name)
            else:
                outcome = repo.apply_increases(part, actor.name)
            if outcome.short:
                raise InvalidInput(
                    [FieldError(f"row {p.row}.{p.field}", p.message) for p in outcome.short],
                    "the feed would break promised stock; nothing applied",
                )
            repo.order_docs = {}  # no order changed; its stock changes are noted
            return outcome.counts

        return work

    counts: dict[str, int] = {}
    first, later = feed_steps(df, FEED_STEP_ROWS)
    parts = ([(first, True)] if len(first) else []) + [(part, False) for part in later]
    with _feeds:
        for i, (part, is_first) in enumerate(parts):
            if i:  # captures held back by the last step commit before the next
                time.sleep(FEED_PAUSE_S)
            for kind, n in db.write(step(part, is_first), exclusive=True).items():
                counts[kind] = counts.get(kind, 0) + n
    return FeedResult(
        rows=len(df),
        receipts=counts.get("receipt", 0),
        adjustments=counts.get("adjustment", 0) + counts.get("count", 0),
    )
