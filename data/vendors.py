"""Drop-ship vendors and digital goods added to a generated batch.

A retailer's network has, beside its DCs and stores, a few suppliers that ship
straight to the customer: each carries a slice of the catalogue (a category it
makes), takes longer to get a parcel out, charges its own per-unit and
per-package fees and never hands over a pickup. Some SKUs are digital (gift
cards, downloads): no weight, no stock.

Both are applied after the base batch with their own random stream, so a batch
with vendors has exactly the orders, stores, DCs and stock of the same batch
without them: `dom plan` on both shows what the vendors change.
"""

import numpy as np
import pandas as pd

from data.cities import sample_cities, us_cities
from data.geo import zip_table
from models import Batch, NodeKind
from models.batch import OPTIONAL_COLUMNS
from models.network import Node

VENDOR_SLICE = (0.04, 0.10)  # share of the catalogue one vendor carries
VENDOR_PROCESSING_P = (0.0, 0.0, 0.5, 0.35, 0.15)  # 2 to 4 days to ship
VENDOR_PICK_FEE = (0.60, 1.20)  # $ per unit, the vendor's drop-ship fee
VENDOR_PACK_FEE = (3.00, 5.00)  # $ per package
VENDOR_COVER = (0.4, 1.2)  # units stocked vs the batch's demand of a carried SKU
VENDOR_DIGITAL_STREAM = 7_919  # offset from the batch seed: its own random stream


def add_vendors(batch: Batch, vendors: int, seed: int) -> Batch:
    """The same batch plus ``vendors`` drop-ship vendor nodes and their stock."""
    if vendors <= 0:
        return batch
    rng = np.random.default_rng([seed, VENDOR_DIGITAL_STREAM, 1])
    cities = us_cities()
    zip_rows = cities.random_zip_rows(rng, sample_cities(rng, vendors))
    zips = zip_table().zips[zip_rows].astype(object)
    ids = np.array([f"VN-{v:03d}" for v in range(1, vendors + 1)], dtype=object)
    items = batch.items
    physical = items.loc[~items["sku"].isin(batch.digital_skus).to_numpy(), "sku"].to_numpy(object)
    demand = batch.order_lines.groupby("sku")["qty"].sum()
    rows: list[pd.DataFrame] = []
    capacity = np.zeros(vendors, dtype=np.int64)
    for v in range(vendors):  # one step per vendor: a handful
        share = rng.uniform(*VENDOR_SLICE)
        start = int(rng.integers(0, len(physical)))
        size = max(1, round(share * len(physical)))
        carried = np.take(physical, np.arange(start, start + size), mode="wrap")
        want = demand.reindex(carried).fillna(0).to_numpy(np.float64)
        on_hand = np.ceil(want * rng.uniform(*VENDOR_COVER, len(carried))).astype(np.int64) + 2
        capacity[v] = int(np.ceil(0.6 * on_hand.sum())) + 10
        rows.append(
            pd.DataFrame(
                {
                    "node_id": np.full(len(carried), ids[v], dtype=object),
                    "sku": carried,
                    "on_hand": on_hand,
                    "reserved": np.zeros(len(carried), np.int64),
                    "safety_stock": np.zeros(len(carried), np.int64),
                }
            )
        )
    p = np.asarray(VENDOR_PROCESSING_P)
    nodes = pd.DataFrame(
        {
            "node_id": ids,
            "kind": np.full(vendors, NodeKind.VENDOR.value, dtype=object),
            "zip": zips,
            "ship_enabled": np.ones(vendors, bool),
            "pickup_enabled": np.zeros(vendors, bool),
            "capacity_units": capacity,
            "pick_cost": rng.uniform(*VENDOR_PICK_FEE, vendors).round(2),
            "pack_cost": rng.uniform(*VENDOR_PACK_FEE, vendors).round(2),
            "processing_days": rng.choice(len(p), vendors, p=p / p.sum()).astype(np.int64),
            # Optional node columns (calendar settings) take the row model's defaults.
            **{c: Node.model_fields[c].default for c in OPTIONAL_COLUMNS["nodes"]},
        }
    )
    return _replace(
        batch,
        nodes=pd.concat([batch.nodes, nodes], ignore_index=True),
        inventory=pd.concat([batch.inventory, *rows], ignore_index=True),
    )


def make_digital(batch: Batch, share: float, seed: int) -> Batch:
    """The same batch with a ``share`` of its SKUs digital: weight 0, no stock rows."""
    if share <= 0:
        return batch
    rng = np.random.default_rng([seed, VENDOR_DIGITAL_STREAM, 2])
    items = batch.items.copy()
    digital = rng.random(len(items)) < share
    items["digital"] = digital
    items.loc[digital, "weight_lb"] = 0.0
    inv = batch.inventory
    keep = ~inv["sku"].isin(set(items.loc[digital, "sku"])).to_numpy()
    return _replace(batch, items=items, inventory=inv[keep].reset_index(drop=True))


def _replace(batch: Batch, **tables: pd.DataFrame) -> Batch:
    frames = {
        name: tables.get(name, batch.table(name))
        for name in ("nodes", "items", "inventory", "orders", "order_lines", "rate_card")
    }
    return Batch(
        batch_date=batch.batch_date,
        weights=batch.weights,
        rate_card_file=batch.rate_card_file,
        **frames,
    )
