"""Stock alerts: reorder points per node and SKU, and the alerts they raise.

Alerts are raised and cleared by the repository in the same transaction as the
stock or demand change that crosses a threshold (``data.alerts_repo``), so they
fire and clear once each whatever writes run at the same time. This module sets
reorder points and lists alerts.
"""

from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from models.alerts import AlertView, ReorderPointView
from models.api import Actor, Page, Role
from models.lifecycle_errors import FieldError, Forbidden, InvalidInput
from services.pagination import MAX_LIMIT, decode_cursor, encode_cursor


def set_reorder_point(
    db: Database, node_id: str, sku: str, reorder_point: int, actor: Actor
) -> ReorderPointView:
    """Set (or replace) one reorder point; a node's key sets only its own."""
    if reorder_point < 0:
        raise InvalidInput([FieldError("reorder_point", "must be >= 0")])
    if actor.role is Role.NODE and actor.node_id != node_id:
        raise Forbidden(f"a {actor.node_id} key sets reorder points at {actor.node_id} only")

    def work(repo: LifecycleRepo) -> ReorderPointView:
        errors = []
        if repo.node(node_id) is None:
            errors.append(FieldError("node_id", f"unknown node {node_id!r}"))
        item = repo.items([sku]).get(sku)
        if item is None:
            errors.append(FieldError("sku", f"unknown sku {sku!r}"))
        elif item.get("digital"):
            errors.append(FieldError("sku", f"{sku!r} is digital: it has no stock"))
        if errors:
            raise InvalidInput(errors)
        repo.set_reorder_point(node_id, sku, reorder_point)
        return ReorderPointView(node_id=node_id, sku=sku, reorder_point=reorder_point)

    return db.write(work)


def list_alerts(
    db: Database,
    node_id: str | None,
    sku: str | None,
    active: bool | None,
    limit: int,
    cursor: str | None,
) -> Page[AlertView]:
    """Alerts by node then SKU (network-wide ones, node_id '', first)."""
    limit = max(1, min(limit, MAX_LIMIT))
    after = decode_cursor(cursor, str, str, int)

    def work(repo: LifecycleRepo) -> Page[AlertView]:
        key = (str(after[0]), str(after[1]), int(after[2])) if after else None
        rows = repo.alert_page(node_id, sku, active, key, limit + 1)
        items = [AlertView(**r) for r in rows[:limit]]
        nxt = None
        if len(rows) > limit:
            last = items[-1]
            nxt = encode_cursor([last.node_id, last.sku, last.alert_id])
        return Page[AlertView](items=items, next_cursor=nxt)

    return db.read(work)
