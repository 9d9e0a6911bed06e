"""A small network for lifecycle tests: the tiny batch's nodes, more stock, no orders.

DC1 New York (ships), ST1 Cambridge MA (ships, pickup), ST2 San Francisco
(pickup only). SKUs A ($10, 2 lb) and B ($50, 1 lb), plus C with one unit.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pandas as pd
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from data.batch_io import batch_from_frames
from data.lifecycle_db import Database
from data.store import Store
from models import Batch
from models.api import Actor, ApiKeyIn, Role
from services import admin
from tests.tiny import frames

ADMIN = Actor(name="test-admin", role=Role.ADMIN)
KEYS: dict[Role, str] = {r: f"test-{r.value}-key" for r in Role if r is not Role.NODE}
NODE_KEYS = {"DC1": "test-node-dc1", "ST1": "test-node-st1", "ST2": "test-node-st2"}


def network_batch(
    stock: list[tuple[str, str, int, int, int]] | None = None, with_orders: bool = False
) -> Batch:
    """The network (and, ``with_orders``, the tiny batch's five open orders O1..O5)."""
    f = frames()
    f["items"] = pd.DataFrame(
        [("A", 2.0, 10.0), ("B", 1.0, 50.0), ("C", 0.5, 5.0)],
        columns=["sku", "weight_lb", "price"],
    )
    f["inventory"] = pd.DataFrame(
        stock
        or [
            ("DC1", "A", 50, 0, 0),
            ("DC1", "B", 20, 0, 2),
            ("ST1", "A", 5, 0, 0),
            ("ST1", "B", 3, 0, 0),
            ("ST2", "B", 4, 0, 0),
            ("DC1", "C", 1, 0, 0),
        ],
        columns=["node_id", "sku", "on_hand", "reserved", "safety_stock"],
    )
    if not with_orders:
        f["orders"] = f["orders"].iloc[0:0]
        f["order_lines"] = f["order_lines"].iloc[0:0]
    return batch_from_frames(date(2026, 11, 25), None, **f)


def make_db(
    path: str = ":memory:", stock: list | None = None, keys: bool = True, orders: bool = False
) -> Database:
    db = Database(Store(path))
    db.store.load_batch(network_batch(stock, orders))
    admin.start(db)
    if keys:
        for role, key in KEYS.items():
            admin.create_key(db, ApiKeyIn(role=role, label=role.value), key=key)
        for node, key in NODE_KEYS.items():
            admin.create_key(db, ApiKeyIn(role=Role.NODE, node_id=node, label=node), key=key)
    return db


def web_order(**overrides: object) -> dict:
    body: dict = {
        "channel": "web",
        "customer": {"email": "ann@example.com", "name": "Ann", "phone": "+1 617 555 0100"},
        "ship_to": {"line1": "1 Main St", "city": "Cambridge", "state": "MA", "zip": "02139"},
        "service": "ground",
        "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}],
    }
    body.update(overrides)
    return body


@contextmanager
def api_client() -> Iterator[TestClient]:
    """A TestClient over a fresh make_db() network, closed afterwards."""
    db = make_db()
    with TestClient(create_app(Settings(bootstrap_admin=False), db)) as c:
        yield c
    db.close()


def role_headers(role: Role) -> dict[str, str]:
    """The X-API-Key header of the test key for ``role``."""
    return {"X-API-Key": KEYS[role]}
