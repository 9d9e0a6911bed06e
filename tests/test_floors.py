"""The floor of a dropped node: stock the order may not use is no alternative."""

from datetime import date

import numpy as np
import pandas as pd

from data.batch_io import batch_from_frames
from models import COLUMNS
from planner.core.instance import build_instance
from planner.optimize.candidates import build_groups, dropped_bound_at
from tests.tiny import rate_card


def _instance(store_stock: int):
    """DC1 (New York) and DC2 (Los Angeles) ship, ST1 (New York) does not; O1 wants two
    units of A shipped ground to New York. ST1's stock of A is ``store_stock``."""
    nodes = pd.DataFrame(
        [
            ("DC1", "dc", "10001", True, False, 100, 0.5, 1.0, 1),
            ("DC2", "dc", "90012", True, False, 100, 0.5, 1.0, 1),
            ("ST1", "store", "10001", False, True, 100, 1.0, 2.0, 0),
        ],
        columns=list(COLUMNS["nodes"]),
    )
    inventory = [("DC1", "A", 1, 0, 0), ("DC2", "A", 1, 0, 0)]
    if store_stock:
        inventory.append(("ST1", "A", store_stock, 0, 0))
    frames = {
        "nodes": nodes,
        "items": pd.DataFrame([("A", 1.0, 10.0)], columns=list(COLUMNS["items"])),
        "inventory": pd.DataFrame(inventory, columns=list(COLUMNS["inventory"])),
        "orders": pd.DataFrame(
            [("O1", "web", "10001", "ground", 5, False, None, "")],
            columns=list(COLUMNS["orders"]),
        ),
        "order_lines": pd.DataFrame([("O1", 1, "A", 2)], columns=list(COLUMNS["order_lines"])),
        "rate_card": rate_card(),
    }
    return build_instance(batch_from_frames(date(2026, 11, 25), None, **frames))


def test_stock_at_a_node_the_order_may_not_use_leaves_the_dropped_floor_alone() -> None:
    # One candidate (DC1), DC2 dropped. A is priced at both DCs; ST1's unpriced stock
    # cannot ship, so it must not let the floor assume a unit of A as cheap as a pick
    # there (it did: the floor of a two-package plan fell by the price).
    floors, zero_floors = [], []
    for store_stock in (0, 5):
        inst = _instance(store_stock)
        (g,) = build_groups(inst, 1)
        assert list(inst.node_ids[g.cand[0]]) == ["DC1"]
        lam = np.zeros(inst.avail.shape)
        lam[:2, 0] = 30.0
        floors.append(dropped_bound_at(inst, g, lam, np.zeros(inst.n_nodes))[0])
        zero_floors.append(g.dropped_bound[0])  # the pruning's own floor, at zero prices
    assert np.isfinite(floors[0]) and np.isfinite(zero_floors[0])
    assert floors[1] == floors[0]
    assert zero_floors[1] == zero_floors[0]
