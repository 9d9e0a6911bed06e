"""The batch generator: deterministic, valid under the contract, realistic in its mixes.

Sizes stay at or below 20,000 orders so the suite stays quick; the large
sizes are timed in benchmarks/bench_generate.py.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from data.batch_io import batch_from_frames, read_batch, write_batch
from data.cities import delivery_zip_rows, sample_zip_rows, us_cities
from data.generator import DC_SPACING_MI, default_sizes, generate_batch
from data.geo import haversine_miles, zip_table
from data.rate_card import default_rate_card
from models import Batch, Weights
from models.batch import COLUMNS, TABLES, all_columns

SERVICE_MIX = {"ground": 0.60, "two_day": 0.20, "next_day": 0.06, "pickup": 0.14}
CHANNEL_MIX = {"web": 0.50, "mobile": 0.25, "call_center": 0.05, "store": 0.08, "marketplace": 0.12}


@pytest.fixture(scope="module")
def small() -> Batch:
    return generate_batch(2_000, seed=3)


@pytest.fixture(scope="module")
def big() -> Batch:
    return generate_batch(20_000, seed=11)


def _avail(inv: pd.DataFrame) -> pd.Series:
    return (inv["on_hand"] - inv["reserved"] - inv["safety_stock"]).clip(lower=0)


def test_same_seed_same_batch_other_seed_differs(small: Batch) -> None:
    again = generate_batch(2_000, seed=3)
    for name in TABLES:
        pdt.assert_frame_equal(small.table(name), again.table(name))
    other = generate_batch(2_000, seed=4)
    assert not small.orders.equals(other.orders)
    assert not small.nodes.equals(other.nodes)


@pytest.mark.parametrize("fixture", ["small", "big"])
def test_valid_under_the_contract_in_canonical_form(fixture: str, request) -> None:
    batch: Batch = request.getfixturevalue(fixture)
    # batch_from_frames checks every cell, key, reference and ZIP as read_batch does.
    checked = batch_from_frames(
        batch.batch_date, batch.weights, **{t: batch.table(t) for t in TABLES}
    )
    for name in TABLES:
        assert tuple(batch.table(name).columns) == all_columns(name)
        pdt.assert_frame_equal(batch.table(name), checked.table(name))


def test_keys_references_and_zips(big: Batch) -> None:
    nodes, orders, lines, inv = big.nodes, big.orders, big.order_lines, big.inventory
    table = zip_table()
    assert table.known(nodes["zip"].to_numpy(str)).all()
    shipped = orders[orders["service"] != "pickup"]
    assert table.known(shipped["ship_zip"].to_numpy(str)).all()
    pickup = orders[orders["service"] == "pickup"]
    assert (pickup["ship_zip"] == "").all()
    assert (shipped["pickup_node_id"] == "").all()
    pickup_nodes = set(nodes.loc[nodes["pickup_enabled"], "node_id"])
    assert set(pickup["pickup_node_id"]) <= pickup_nodes
    assert set(lines["sku"]) <= set(big.items["sku"])
    assert set(inv["node_id"]) <= set(nodes["node_id"])
    assert not inv.duplicated(["node_id", "sku"]).any()
    assert orders["order_id"].is_unique
    assert not lines.duplicated(["order_id", "line_no"]).any()
    assert not lines.duplicated(["order_id", "sku"]).any()  # distinct SKUs per order
    assert set(lines["order_id"]) == set(orders["order_id"])
    first = lines.groupby("order_id", sort=False)["line_no"]
    assert (first.min() == 1).all() and (first.max() == first.size()).all()
    assert orders["order_id"].iloc[0] == "O0000001"
    assert orders["max_packages"].dtype == "Int64"
    assert set(orders["max_packages"].dropna()) <= {1, 2}


def test_default_sizes_scale_with_orders() -> None:
    assert default_sizes(1_500) == (45, 1_500)
    nodes_10k, _ = default_sizes(10_000)
    nodes_100k, skus_100k = default_sizes(100_000)
    nodes_1m, _ = default_sizes(1_000_000)
    assert (nodes_10k, nodes_100k, skus_100k, nodes_1m) == (110, 210, 20_000, 500)
    sizes = [default_sizes(n) for n in (1, 10, 100, 1_000, 5_000, 50_000, 500_000, 5_000_000)]
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(sizes, sizes[1:], strict=False))
    batch = generate_batch(1_500, seed=1)
    assert (len(batch.nodes), len(batch.items), len(batch.orders)) == (45, 1_500, 1_500)


def test_nodes_dcs_spread_over_the_country_stores_where_people_live(big: Batch) -> None:
    nodes = big.nodes
    dcs, stores = nodes[nodes["kind"] == "dc"], nodes[nodes["kind"] == "store"]
    assert len(dcs) >= 3 and 0.07 <= len(dcs) / len(nodes) <= 0.11
    assert dcs["ship_enabled"].all() and not dcs["pickup_enabled"].any()
    assert stores["pickup_enabled"].all()
    assert 0.5 <= stores["ship_enabled"].mean() <= 0.85
    assert dcs["pick_cost"].between(0.30, 0.45).all() and dcs["pack_cost"].between(1, 1.5).all()
    assert stores["pick_cost"].between(0.9, 1.4).all()
    assert stores["pack_cost"].between(2, 3).all()
    assert dcs["capacity_units"].min() > stores["capacity_units"].max()
    assert set(dcs["processing_days"]) <= {0, 1} and set(stores["processing_days"]) <= {0, 1, 2}
    assert dcs["node_id"].str.fullmatch(r"DC-[A-Z]{3}-\d{2}").all()
    assert stores["node_id"].str.fullmatch(r"ST-\d{4}").all()
    lat, lon = zip_table().coords(dcs["zip"].to_numpy(str))
    miles = haversine_miles(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    np.fill_diagonal(miles, np.inf)
    assert miles.min() >= DC_SPACING_MI[0]  # a dozen DCs fit at full spacing
    states = pd.Series([zip_table().state_of(z) for z in stores["zip"]]).value_counts()
    assert "CA" in states.index[:3]


def test_order_mix_as_requested(big: Batch) -> None:
    orders, lines = big.orders, big.order_lines
    service = orders["service"].value_counts(normalize=True)
    for name, share in SERVICE_MIX.items():
        assert abs(service[name] - share) < 0.015, name
    channel = orders["channel"].value_counts(normalize=True)
    for name, share in CHANNEL_MIX.items():
        assert abs(channel[name] - share) < 0.025, name
    assert abs(orders["ship_complete"].mean() - 0.10) < 0.015
    assert abs(orders["max_packages"].notna().mean() - 0.10) < 0.015
    assert 1.65 <= len(lines) / len(orders) <= 1.9
    assert lines.groupby("order_id").size().max() <= 12
    assert lines["qty"].between(1, 3).all() and (lines["qty"] == 1).mean() > 0.8
    due = orders.groupby("service")["due_days"].agg(["min", "max"])
    assert tuple(due.loc["ground"]) == (3, 6) and tuple(due.loc["pickup"]) == (0, 1)
    assert tuple(due.loc["two_day"]) == (2, 2) and tuple(due.loc["next_day"]) == (1, 1)


def test_orders_come_from_where_people_live(big: Batch) -> None:
    shipped = big.orders.loc[big.orders["service"] != "pickup", "ship_zip"].to_numpy(str)
    table = zip_table()
    by_state = pd.Series(table.state[table.index_of(shipped)]).value_counts()
    assert {"CA", "TX", "NY"} <= set(by_state.index[:5])
    assert by_state.get("WY", 0) < by_state["CA"] / 20


def test_items_look_like_a_catalogue(big: Batch) -> None:
    items = big.items
    assert items["weight_lb"].between(0.2, 40).all()
    assert 1.2 <= items["weight_lb"].median() <= 1.8
    assert items["price"].min() >= 4.99 and 20 <= items["price"].median() <= 40
    # Zipf demand: the top 10% of SKUs take most of the units.
    units = big.order_lines.groupby("sku")["qty"].sum().sort_values(ascending=False)
    assert units.iloc[: len(items) // 10].sum() / units.sum() > 0.5


def test_supply_is_tight_but_mostly_enough(big: Batch) -> None:
    inv = big.inventory.merge(big.nodes[["node_id", "kind", "ship_enabled"]], on="node_id")
    inv["avail"] = _avail(inv)
    lines = big.order_lines.merge(big.orders[["order_id", "service"]], on="order_id")
    demand = lines[lines["service"] != "pickup"].groupby("sku")["qty"].sum()
    units = lines["qty"].sum()

    def short(supply: pd.Series) -> float:
        gap = demand - supply.reindex(demand.index, fill_value=0)
        return float(gap.clip(lower=0).sum() / units)

    # What no plan can ship (stock anywhere that ships is short): a small share.
    assert short(inv[inv["ship_enabled"]].groupby("sku")["avail"].sum()) < 0.02
    # DCs alone cannot fill it: ship-from-store matters.
    assert short(inv[inv["kind"] == "dc"].groupby("sku")["avail"].sum()) > 0.03
    # Stores are thin: popular SKUs only, a few units.
    store = inv[inv["kind"] == "store"]
    assert store["sku"].nunique() < 0.5 * len(big.items)
    assert store["avail"].median() <= 3
    assert (inv["reserved"] > 0).any() and (inv["safety_stock"] > 0).any()


def test_pickup_lines_are_on_the_shelf_of_their_store(big: Batch) -> None:
    inv = big.inventory.assign(avail=_avail(big.inventory))
    pickup = big.order_lines.merge(
        big.orders.loc[big.orders["service"] == "pickup", ["order_id", "pickup_node_id"]]
    )
    shelf = pickup.merge(
        inv, left_on=["pickup_node_id", "sku"], right_on=["node_id", "sku"], how="left"
    )
    assert (shelf["avail"].fillna(0) > 0).mean() > 0.98


def test_tightness_scales_supply() -> None:
    def avail(t: float) -> int:
        batch = generate_batch(3_000, seed=5, tightness=t)
        dcs = batch.nodes.loc[batch.nodes["kind"] == "dc", "node_id"]
        return int(_avail(batch.inventory[batch.inventory["node_id"].isin(dcs)]).sum())

    assert avail(0.5) < avail(1.0) < avail(2.0)


def test_explicit_sizes_weights_and_date() -> None:
    weights = Weights(late=9.0)
    batch = generate_batch(50, seed=2, nodes=2, skus=1, weights=weights)
    assert batch.weights == weights
    assert list(batch.nodes["kind"]) == ["dc", "store"]
    assert len(batch.items) == 1 and len(batch.order_lines) == 50
    batch_from_frames(batch.batch_date, None, **{t: batch.table(t) for t in TABLES})
    with pytest.raises(ValueError):
        generate_batch(0)
    with pytest.raises(ValueError):
        generate_batch(10, nodes=1)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trips_through_batch_files(small: Batch, tmp_path: Path, fmt: str) -> None:
    folder = write_batch(small, tmp_path / "batch", fmt)  # type: ignore[arg-type]
    back = read_batch(folder)
    assert back.batch_date == small.batch_date and back.weights == small.weights
    for name in TABLES:
        pdt.assert_frame_equal(back.table(name), small.table(name))


def test_cities_have_real_zips_and_no_double_counted_boroughs() -> None:
    cities = us_cities()
    assert (np.diff(cities.population) <= 0).all()
    assert (cities.zip_count >= 1).all()
    assert np.isin(cities.zip_rows, delivery_zip_rows()).all()
    names = set(zip(cities.name.tolist(), cities.state.tolist(), strict=True))
    assert ("New York City", "NY") in names and ("Brooklyn", "NY") not in names
    assert ("Chicago", "IL") in names
    assert cities.zip_count[0] > 100  # NYC: all five boroughs
    zips = cities.zips_of(int(np.flatnonzero(cities.name == "Chicago")[0]))
    assert all(z[:3] in {"606", "607"} for z in zips)
    rows = sample_zip_rows(np.random.default_rng(0), 5_000)
    assert np.isin(rows, delivery_zip_rows()).all()


def test_rate_card_shape_and_prices() -> None:
    card = default_rate_card()
    assert tuple(card.columns) == COLUMNS["rate_card"] and len(card) == 21
    ground = card[card["service"] == "ground"].set_index("zone")
    assert ground["base"].is_monotonic_increasing and ground["per_lb"].is_monotonic_increasing
    assert ground["base"].between(7, 13).all() and ground["per_lb"].between(0.35, 1.3).all()
    assert ground["transit_days"].between(1, 5).all()
    two = card[card["service"] == "two_day"].set_index("zone")
    nxt = card[card["service"] == "next_day"].set_index("zone")
    assert np.allclose(two["base"] / ground["base"], 1.8, atol=0.01)
    assert np.allclose(nxt["base"] / ground["base"], 3.0, atol=0.01)
    assert set(two["transit_days"]) <= {1, 2} and set(nxt["transit_days"]) == {1}


def test_vendors_and_digital_skus_leave_the_rest_of_the_batch_as_it_was() -> None:
    plain = generate_batch(600, seed=11)
    extended = generate_batch(600, seed=11, vendors=3, digital_share=0.05)
    checked = batch_from_frames(
        extended.batch_date, extended.weights, **{t: extended.table(t) for t in TABLES}
    )
    pdt.assert_frame_equal(checked.nodes, extended.nodes)
    for name in ("orders", "order_lines", "rate_card"):
        pdt.assert_frame_equal(plain.table(name), extended.table(name))
    vendors = extended.nodes[extended.nodes["kind"] == "vendor"]
    assert len(vendors) == 3 and len(extended.nodes) == len(plain.nodes) + 3
    assert vendors["ship_enabled"].all() and not vendors["pickup_enabled"].any()
    assert (vendors["processing_days"] >= 2).all()
    assert (vendors["pack_cost"] >= 3).all() and (vendors["pick_cost"] >= 0.6).all()
    stock = extended.inventory[extended.inventory["node_id"].isin(vendors["node_id"])]
    carried = stock.groupby("node_id")["sku"].nunique()
    n_skus = len(extended.items)
    assert ((carried >= 0.03 * n_skus) & (carried <= 0.11 * n_skus)).all(), carried
    digital = extended.items[extended.items["digital"]]
    assert 0 < len(digital) < 0.1 * n_skus and (digital["weight_lb"] == 0).all()
    assert not extended.inventory["sku"].isin(set(digital["sku"])).any()
