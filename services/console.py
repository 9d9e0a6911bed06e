"""Read models of the web console's screens, composed from the lifecycle services.

The console's actions call the same use cases as the JSON API (``orders``,
``fulfilment``, ``inventory``, ``returns``, ``sourcing``); what is here is only
what the API has no list for: the control tower's counts and exceptions, node
load, one-row-per-order search, and an order's packages and returns.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from data.console_repo import ConsoleRepo
from data.geo import zip_table
from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo
from models.alerts import AlertView
from models.api import (
    Actor,
    EventView,
    OrderView,
    ReturnView,
    Role,
    RunView,
    StockView,
    WorkItemView,
)
from models.lifecycle import OrderStatus
from models.lifecycle_errors import InvalidInput, Unauthenticated
from services import admin, alerts, fulfilment, orders, returns, sourcing
from services.common import order_view

EXCEPTIONS = ("backordered", "on_hold", "late", "rejected", "awaiting_appointment")
SEARCH_LIMIT = 50
ALERTS_PAGE = 20  # open stock alerts per page of the tower's panel


@dataclass(frozen=True)
class NodeLoad:
    node_id: str
    kind: str
    zip: str
    lat: float | None
    lon: float | None
    capacity_units: int
    held_units: int
    open_work_items: int

    @property
    def load(self) -> float:
        """Units held for orders at the node per unit of its capacity."""
        return self.held_units / self.capacity_units if self.capacity_units else 0.0


@dataclass(frozen=True)
class Tower:
    today: list[dict[str, Any]]
    exceptions: dict[str, int]
    runs: list[RunView]
    nodes: list[NodeLoad]


@dataclass(frozen=True)
class OrderSearch:
    text: str = ""
    status: str | None = None

    def filters(self) -> dict[str, str | None]:
        """What the text is: an e-mail, a phone number, or an order id."""
        text = self.text.strip()
        found: dict[str, str | None] = {
            "order_id": None,
            "email": None,
            "phone_digits": None,
            "status": self.status,
        }
        digits = re.sub(r"\D", "", text)
        if "@" in text:
            found["email"] = text
        elif text and re.fullmatch(r"[+0-9 ().-]+", text) and 7 <= len(digits) <= 15:
            found["phone_digits"] = digits
        elif text:
            found["order_id"] = text
        return found


@dataclass(frozen=True)
class OrderPage:
    order: OrderView
    events: list[EventView]
    packages: list[WorkItemView]
    returns: list[ReturnView]
    promised_by: date = field(init=False)

    def __post_init__(self) -> None:
        created = self.order.created_at.astimezone(UTC).date()
        promised = created + timedelta(days=self.order.due_days)
        object.__setattr__(self, "promised_by", promised)


def session_actor(db: Database, key_hash: str) -> Actor:
    """The caller behind a console session (which holds the key's hash, never the key)."""
    row = db.read(lambda r: r.api_key(key_hash))
    if row is None:
        raise Unauthenticated("the key behind this session was revoked")
    name = row["label"] or f"{row['role']}-key-{key_hash[:8]}"
    return Actor(name=name, role=Role(row["role"]), node_id=row["node_id"])


def key_hash(key: str) -> str:
    return admin.hash_key(key)


def _nodes(rows: list[dict[str, Any]]) -> list[NodeLoad]:
    table = zip_table()
    idx: list[int] = [int(i) for i in table.index_of([r["zip"] for r in rows])] if rows else []
    out = []
    for r, i in zip(rows, idx, strict=True):
        known = i >= 0
        out.append(
            NodeLoad(
                node_id=r["node_id"],
                kind=r["kind"],
                zip=r["zip"],
                lat=float(table.lat[i]) if known else None,
                lon=float(table.lon[i]) if known else None,
                capacity_units=int(r["capacity_units"]),
                held_units=int(r["held_units"]),
                open_work_items=int(r["open_work_items"]),
            )
        )
    return out


def tower(db: Database, now: datetime | None = None) -> Tower:
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)

    def work(repo: LifecycleRepo) -> tuple[list, dict[str, int], list]:
        con = ConsoleRepo(repo.cur)
        return (
            con.orders_by_status_channel(midnight),
            con.exception_counts(now),
            con.node_load(),
        )

    today, exceptions, nodes = db.read(work)
    runs = sourcing.list_runs(db, 12, None).items
    return Tower(today=today, exceptions=exceptions, runs=runs, nodes=_nodes(nodes))


def exception_orders(
    db: Database, kind: str, now: datetime | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    return db.read(lambda r: ConsoleRepo(r.cur).exception_orders(kind, now, limit))


@dataclass(frozen=True)
class AlertsPanel:
    """One page of open stock alerts, by node then SKU (network-wide ones first)."""

    items: list[AlertView]
    open_count: int
    next_cursor: str | None
    first_page: bool


def open_alerts(
    db: Database, sku: str | None = None, cursor: str | None = None, limit: int | None = None
) -> AlertsPanel:
    """A page of open alerts (of one SKU, if given); a bad cursor shows the first page."""
    limit = limit or ALERTS_PAGE
    try:
        page = alerts.list_alerts(db, None, sku, True, limit, cursor)
    except InvalidInput:
        cursor = None
        page = alerts.list_alerts(db, None, sku, True, limit, None)
    count = db.read(lambda r: ConsoleRepo(r.cur).open_alert_count(sku))
    return AlertsPanel(page.items, count, page.next_cursor, first_page=cursor is None)


def latest_run(db: Database) -> RunView | None:
    runs = sourcing.list_runs(db, 1, None).items
    return runs[0] if runs else None


def search_orders(db: Database, query: OrderSearch) -> list[dict[str, Any]]:
    f = query.filters()
    if not any(f.values()):
        return []  # nothing asked: the screen shows the search form, not 100k orders

    def work(repo: LifecycleRepo) -> list[dict[str, Any]]:
        con = ConsoleRepo(repo.cur)
        found: list[dict[str, Any]] = []
        for exact in (True, False):
            found = con.search_orders(
                order_id=f["order_id"],
                email=f["email"],
                phone_digits=f["phone_digits"],
                status=f["status"],
                limit=SEARCH_LIMIT,
                exact_email=exact,
            )
            if found or not f["email"]:
                break
        return found

    return db.read(work)


def order_page(db: Database, order_id: str) -> OrderPage:
    """The order, its whole timeline, packages (work items with invoices), returns.

    Order, packages and returns come from one read (one snapshot); the timeline
    from the timeline use case, page by page.
    """

    def work(repo: LifecycleRepo) -> tuple[OrderView, list[WorkItemView], list[ReturnView]]:
        view = order_view(repo, order_id)  # NotFound for an unknown order
        con = ConsoleRepo(repo.cur)
        packages = [fulfilment.work_item_view(repo, w) for w in con.order_work_item_ids(order_id)]
        rmas = [returns.return_view(repo, r) for r in con.order_return_ids(order_id)]
        return view, packages, rmas

    view, packages, rmas = db.read(work)
    events: list[EventView] = []
    cursor = None
    while True:
        page = orders.timeline(db, order_id, 500, cursor)
        events += page.items
        cursor = page.next_cursor
        if not cursor or len(events) >= 2000:
            break
    return OrderPage(order=view, events=events, packages=packages, returns=rmas)


def node_queue(db: Database, actor: Actor, node_id: str | None) -> dict[str, list[WorkItemView]]:
    """The node's open work by status (a node associate: their own node only); a
    vendor's purchase orders wait as released, then acknowledged."""
    queue: dict[str, list[WorkItemView]] = {}
    for status in ("released", "acknowledged", "picked", "packed", "ready_for_pickup"):
        queue[status] = fulfilment.list_work_items(db, actor, node_id, status, 100, None).items
    return queue


def returns_awaiting(db: Database, limit: int = 50) -> list[ReturnView]:
    ids = db.read(lambda r: ConsoleRepo(r.cur).returns_awaiting(limit))
    return [returns.get_return(db, i) for i in ids]


def nodes(db: Database) -> list[dict[str, Any]]:
    return db.read(lambda r: r.nodes())


@dataclass(frozen=True)
class SkuNetwork:
    sku: str
    stock: list[StockView]
    nodes: list[NodeLoad]
    ledger: list[dict[str, Any]]


def sku_network(db: Database, sku: str) -> SkuNetwork:
    from services import inventory

    stock = inventory.list_stock(db, None, sku, 500, None).items

    def work(repo: LifecycleRepo) -> tuple[list, list]:
        con = ConsoleRepo(repo.cur)
        return con.node_load(), con.ledger(sku, 25)

    load, ledger = db.read(work)
    return SkuNetwork(sku=sku, stock=stock, nodes=_nodes(load), ledger=ledger)


def busiest_skus(db: Database, limit: int = 12) -> list[str]:
    return db.read(lambda r: ConsoleRepo(r.cur).busiest_skus(limit))


def statuses() -> list[str]:
    return [s.value for s in OrderStatus]
