"""A five-order batch small enough to cost by hand (see test_cost.py for the sums).

Geography: DC1 in New York (10001), ST1 in Cambridge MA (02139, ~190 mi from
10001: zone 3), ST2 in San Francisco (94105, ~2,570 mi from 10001: zone 8).
Rate card: ground base = zone, per_lb 0.5, transit zone // 2;
two_day base 2*zone, per_lb 1, transit 2; next_day base 3*zone, per_lb 1.5, transit 1.
"""

from datetime import date

import pandas as pd

from data.batch_io import batch_from_frames
from models import COLUMNS, Batch, Weights
from planner.core.instance import Instance, build_instance


def rate_card() -> pd.DataFrame:
    rows = []
    for zone in range(2, 9):
        rows.append(("ground", zone, float(zone), 0.5, zone // 2))
        rows.append(("two_day", zone, 2.0 * zone, 1.0, 2))
        rows.append(("next_day", zone, 3.0 * zone, 1.5, 1))
    return pd.DataFrame(rows, columns=list(COLUMNS["rate_card"]))


def frames() -> dict[str, pd.DataFrame]:
    nodes = pd.DataFrame(
        [
            ("DC1", "dc", "10001", True, False, 100, 0.5, 1.0, 1),
            ("ST1", "store", "02139", True, True, 10, 1.0, 2.0, 0),
            ("ST2", "store", "94105", False, True, 10, 1.0, 2.0, 0),
        ],
        columns=list(COLUMNS["nodes"]),
    )
    items = pd.DataFrame([("A", 2.0, 10.0), ("B", 1.0, 50.0)], columns=list(COLUMNS["items"]))
    inventory = pd.DataFrame(
        [
            ("DC1", "A", 12, 1, 1),
            ("DC1", "B", 5, 0, 0),
            ("ST1", "B", 1, 0, 0),
            ("ST2", "B", 1, 0, 0),
        ],
        columns=list(COLUMNS["inventory"]),
    )
    orders = pd.DataFrame(
        [
            ("O1", "web", "02139", "ground", 3, False, None, ""),
            ("O2", "mobile", "94105", "next_day", 1, False, None, ""),
            ("O3", "web", "10001", "ground", 5, False, 2, ""),
            ("O4", "store", "", "pickup", 0, False, None, "ST2"),
            ("O5", "call_center", "02139", "ground", 3, True, None, ""),
        ],
        columns=list(COLUMNS["orders"]),
    )
    lines = pd.DataFrame(
        [
            ("O1", 1, "A", 2),
            ("O1", 2, "B", 1),
            ("O2", 1, "A", 1),
            ("O3", 1, "A", 1),
            ("O3", 2, "B", 1),
            ("O4", 1, "B", 2),
            ("O5", 1, "A", 1),
            ("O5", 2, "B", 1),
        ],
        columns=list(COLUMNS["order_lines"]),
    )
    return {
        "nodes": nodes,
        "items": items,
        "inventory": inventory,
        "orders": orders,
        "order_lines": lines,
        "rate_card": rate_card(),
    }


def tiny_batch(weights: Weights | None = None) -> Batch:
    return batch_from_frames(date(2026, 11, 25), weights, **frames())


def allocations(rows: list[tuple[str, int, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["order_id", "line_no", "node_id", "qty"])


# The hand-costed plan of test_cost.py.
HAND_PLAN = [
    ("O1", 1, "DC1", 2),
    ("O1", 2, "DC1", 1),  # one package, zone 3
    ("O2", 1, "DC1", 1),  # zone 8, next day, one day late
    ("O3", 1, "DC1", 1),
    ("O3", 2, "ST1", 1),  # split: zone 2 + zone 3
    ("O4", 1, "ST2", 1),  # pickup, 1 of 2 units
    # O5 (ship-complete) left unfilled
]


def dc(node_id: str, zip_code: str, pack_cost: float, capacity: int = 100) -> tuple:
    """A distribution centre row for ``ny_ground_instance``: ships, no pickup, picks at
    0.5 a unit, processes in 1 day."""
    return (node_id, "dc", zip_code, True, False, capacity, 0.5, pack_cost, 1)


def ny_ground_instance(nodes: list[tuple], inventory: list[tuple], lines: list[tuple]) -> Instance:
    """Items A (1 lb, $10) and B (1 lb, $50); one order per order id in ``lines``, all
    shipped ground to New York (10001), due in 5 days, with this module's rate card:
    a package from a node within 150 miles costs base 2 + 0.5 + the node's pack and
    pick costs."""
    order_ids = sorted({line[0] for line in lines})
    frames = {
        "nodes": pd.DataFrame(nodes, columns=list(COLUMNS["nodes"])),
        "items": pd.DataFrame([("A", 1.0, 10.0), ("B", 1.0, 50.0)], columns=list(COLUMNS["items"])),
        "inventory": pd.DataFrame(inventory, columns=list(COLUMNS["inventory"])),
        "orders": pd.DataFrame(
            [(o, "web", "10001", "ground", 5, False, None, "") for o in order_ids],
            columns=list(COLUMNS["orders"]),
        ),
        "order_lines": pd.DataFrame(lines, columns=list(COLUMNS["order_lines"])),
        "rate_card": rate_card(),
    }
    return build_instance(batch_from_frames(date(2026, 11, 25), None, **frames))
