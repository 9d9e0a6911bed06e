"""A small promise network on real ZIPs, built without a database.

DC-NJ Avenel NJ (07001, ~20 mi from 10001: zone 2), DC-WA Seattle (98101,
~2,400 mi: zone 8, Pacific time), ST-NYC Manhattan (10001; ships and hands
over pickups), ST-BK Brooklyn (11201; pickup only). Rates: the default card
(ground zone 2: 1 day, zone 8: 5 days; two_day 2 days past zone 2; next_day 1).
"""

import pandas as pd

from data.promise_repo import NetworkSnapshot
from data.rate_card import default_rate_card
from models import Weights
from models.batch import COLUMNS
from promise.index import PromiseIndex

NODES = [
    # node_id, kind, zip, ship, pickup, capacity, pick, pack, processing
    ("DC-NJ", "dc", "07001", True, False, 1000, 0.5, 1.0, 1),
    ("DC-WA", "dc", "98101", True, False, 1000, 0.5, 1.0, 1),
    ("ST-NYC", "store", "10001", True, True, 50, 1.0, 2.0, 0),
    ("ST-BK", "store", "11201", False, True, 50, 1.0, 2.0, 0),
]
ITEMS = [("X", 2.0, 30.0), ("Y", 1.0, 10.0), ("A", 1.0, 5.0), ("B", 0.5, 5.0), ("L", 1.0, 5.0)]


def snapshot(
    stock: list[tuple[str, str, int, int]],
    calendars: dict[str, dict[str, object]] | None = None,
    capacity: dict[str, int] | None = None,
    rate_card: pd.DataFrame | None = None,
) -> NetworkSnapshot:
    """Stock rows are (node_id, sku, available, reserved)."""
    nodes = pd.DataFrame(NODES, columns=list(COLUMNS["nodes"]))
    settings = {
        "cutoff_hour": 14,
        "closed_weekdays": "sat,sun",
        "holiday_calendar": "US",
        "closed_dates": "",
        "open_dates": "",
    }
    for col, default in settings.items():
        nodes[col] = [((calendars or {}).get(n, {})).get(col, default) for n in nodes["node_id"]]
    for node, cap in (capacity or {}).items():
        nodes.loc[nodes["node_id"] == node, "capacity_units"] = cap
    return NetworkSnapshot(
        nodes=nodes,
        items=pd.DataFrame(ITEMS, columns=["sku", "weight_lb", "price"]),
        stock=pd.DataFrame(stock, columns=["node_id", "sku", "available", "reserved"]),
        rate_card=default_rate_card() if rate_card is None else rate_card,
        weights=Weights(),
    )


def index(stock: list[tuple[str, str, int, int]], **kw: object) -> PromiseIndex:
    return PromiseIndex(snapshot(stock, **kw))  # type: ignore[arg-type]
