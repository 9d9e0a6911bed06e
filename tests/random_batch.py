"""Small random batches for planner tests: tight stock, every rule in play.

Deliberately cruder than data.generator (uniform ZIPs, fixed costs) so tests
stay fast and do not depend on the product generator's tuning.
"""

from datetime import date

import numpy as np
import pandas as pd

from data.batch_io import batch_from_frames
from data.geo import zip_table
from models import Batch
from tests.tiny import rate_card


def random_batch(
    n_orders: int, n_nodes: int, n_skus: int, seed: int = 1, supply: float = 1.0
) -> Batch:
    """A valid batch where stock is short for some SKUs (``supply`` scales it)."""
    rng = np.random.default_rng(seed)
    T = zip_table()
    zi = rng.choice(len(T.zips), n_nodes, replace=False)
    ndc = max(3, n_nodes // 10)
    kind = np.array(["dc"] * ndc + ["store"] * (n_nodes - ndc))
    nodes = pd.DataFrame(
        {
            "node_id": [f"N{i:03d}" for i in range(n_nodes)],
            "kind": kind,
            "zip": T.zips[zi],
            "ship_enabled": (kind == "dc") | (rng.random(n_nodes) < 0.7),
            "pickup_enabled": kind == "store",
            "capacity_units": np.where(kind == "dc", n_orders, n_orders // n_nodes * 2 + 5),
            "pick_cost": np.where(kind == "dc", 0.4, 1.1),
            "pack_cost": np.where(kind == "dc", 1.2, 2.5),
            "processing_days": np.where(kind == "dc", 1, 0),
        }
    )
    items = pd.DataFrame(
        {
            "sku": [f"S{i:05d}" for i in range(n_skus)],
            "weight_lb": rng.lognormal(0.4, 0.8, n_skus).round(2) + 0.1,
            "price": rng.lognormal(3.4, 0.9, n_skus).round(2),
        }
    )
    pop = 1 / np.arange(1, n_skus + 1) ** 1.05
    pop /= pop.sum()
    nl = 1 + rng.geometric(0.55, n_orders) - 1
    nl = np.minimum(nl, 5)
    oi = np.repeat(np.arange(n_orders), nl)
    sk = rng.choice(n_skus, len(oi), p=pop)
    lines = pd.DataFrame(
        {
            "order_id": [f"O{i:07d}" for i in oi],
            "sku": items.sku.values[sk],
            "qty": rng.choice([1, 1, 1, 1, 2, 3], len(oi)),
        }
    )
    lines = lines.drop_duplicates(["order_id", "sku"])
    lines["line_no"] = lines.groupby("order_id").cumcount() + 1
    demand = np.bincount(items.sku.searchsorted(lines.sku), weights=lines.qty, minlength=n_skus)
    inv = []
    for n in range(n_nodes):
        share = 0.8 / ndc if kind[n] == "dc" else 0.5 / (n_nodes - ndc)
        q = rng.poisson(demand * share * supply)
        m = q > 0
        inv.append(
            pd.DataFrame(
                {
                    "node_id": nodes.node_id[n],
                    "sku": items.sku.values[m],
                    "on_hand": q[m],
                    "reserved": 0,
                    "safety_stock": 0,
                }
            )
        )
    inv = pd.concat(inv)
    svc = rng.choice(
        ["ground", "two_day", "next_day", "pickup"], n_orders, p=[0.6, 0.2, 0.06, 0.14]
    )
    oz = T.zips[rng.choice(len(T.zips), n_orders)]
    stores = nodes.node_id.values[ndc:]
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i:07d}" for i in range(n_orders)],
            "channel": "web",
            "ship_zip": np.where(svc == "pickup", "", oz),
            "service": svc,
            "due_days": np.select(
                [svc == "ground", svc == "two_day", svc == "next_day"],
                [rng.integers(3, 6, n_orders), 2, 1],
                0,
            ),
            "ship_complete": rng.random(n_orders) < 0.1,
            "max_packages": np.where(
                rng.random(n_orders) < 0.1, rng.integers(1, 3, n_orders), np.nan
            ),
            "pickup_node_id": np.where(svc == "pickup", rng.choice(stores, n_orders), ""),
        }
    )
    orders["max_packages"] = orders["max_packages"].astype("Int64")
    orders = orders[orders.order_id.isin(lines.order_id)]
    return batch_from_frames(
        date(2026, 11, 25),
        None,
        nodes=nodes,
        items=items,
        inventory=inv,
        orders=orders,
        order_lines=lines,
        rate_card=rate_card(),
    )
