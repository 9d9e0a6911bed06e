"""The DuckDB store: schema, all-or-nothing batch loads, exports, plans, order events."""

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from data.store import (
    LATEST_VERSION,
    DuplicateKeyError,
    NotFoundError,
    SchemaError,
    Store,
    StoreError,
    default_db_path,
)
from models import Batch, Weights
from models.batch import TABLES

BATCH_DATE = date(2025, 3, 14)
WEIGHTS = Weights(late=7.5, split=3.0)


def _nodes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "node_id": ["DC-NYC", "ST-BOS", "ST-SF", "DC-CHI"],
            "kind": ["dc", "store", "store", "dc"],
            "zip": ["10001", "02139", "94105", "60601"],
            "ship_enabled": [True, False, True, True],
            "pickup_enabled": [False, True, True, False],
            "capacity_units": np.array([1000, 40, 60, 800], dtype=np.int64),
            "pick_cost": [0.35, 0.9, 0.8, 0.3],
            "pack_cost": [1.25, 2.0, 1.75, 1.1],
            "processing_days": np.array([1, 0, 0, 1], dtype=np.int64),
        }
    ).astype({"node_id": object, "kind": object, "zip": object})


def _items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": ["SKU-1", "SKU-2", "SKU-3"],
            "weight_lb": [0.5, 2.25, 12.0],
            "price": [9.99, 24.5, 180.0],
        }
    ).astype({"sku": object})


def _inventory() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "node_id": ["DC-NYC", "DC-NYC", "ST-BOS", "ST-SF", "DC-CHI", "DC-CHI"],
            "sku": ["SKU-1", "SKU-2", "SKU-1", "SKU-3", "SKU-2", "SKU-3"],
            "on_hand": np.array([50, 10, 5, 2, 30, 4], dtype=np.int64),
            "reserved": np.array([2, 0, 1, 0, 5, 0], dtype=np.int64),
            "safety_stock": np.array([5, 1, 0, 0, 2, 1], dtype=np.int64),
        }
    ).astype({"node_id": object, "sku": object})


def _rate_card() -> pd.DataFrame:
    rows = [
        {
            "service": service,
            "zone": zone,
            "base": base + zone,
            "per_lb": per_lb,
            "transit_days": days,
        }
        for service, base, per_lb, days in (
            ("ground", 6.0, 0.4, 5),
            ("two_day", 11.0, 0.8, 2),
            ("next_day", 22.0, 1.5, 1),
        )
        for zone in range(2, 9)
    ]
    return pd.DataFrame(rows).astype(
        {"service": object, "zone": np.int64, "transit_days": np.int64}
    )


def _orders(ids: tuple[str, ...] = ("WEB-1001", "APP-1002", "CC-1003", "POS-1004")) -> pd.DataFrame:
    base = pd.DataFrame(
        {
            "order_id": ["WEB-1001", "APP-1002", "CC-1003", "POS-1004"],
            "channel": ["web", "mobile", "call_center", "store"],
            "ship_zip": ["94105", "02139", "60601", ""],
            "service": ["ground", "two_day", "next_day", "pickup"],
            "due_days": np.array([5, 2, 1, 0], dtype=np.int64),
            "ship_complete": [False, True, False, False],
            "max_packages": pd.array([None, 1, 2, None], dtype="Int64"),
            "pickup_node_id": ["", "", "", "ST-BOS"],
        }
    ).astype({c: object for c in ("order_id", "channel", "ship_zip", "service", "pickup_node_id")})
    base["order_id"] = list(ids)
    return base


def _lines(ids: tuple[str, ...] = ("WEB-1001", "APP-1002", "CC-1003", "POS-1004")) -> pd.DataFrame:
    order = [ids[0], ids[0], ids[1], ids[2], ids[2], ids[2], ids[3]]
    return pd.DataFrame(
        {
            "order_id": order,
            "line_no": np.array([1, 2, 1, 1, 2, 3, 1], dtype=np.int64),
            "sku": ["SKU-1", "SKU-2", "SKU-3", "SKU-1", "SKU-2", "SKU-3", "SKU-1"],
            "qty": np.array([2, 1, 1, 3, 1, 1, 1], dtype=np.int64),
        }
    ).astype({"order_id": object, "sku": object})


def make_batch(**overrides: pd.DataFrame) -> Batch:
    """A small, valid batch in canonical dtypes; ``overrides`` replace whole tables."""
    tables = {
        "nodes": _nodes(),
        "items": _items(),
        "inventory": _inventory(),
        "rate_card": _rate_card(),
        "orders": _orders(),
        "order_lines": _lines(),
    }
    tables.update(overrides)
    return Batch(batch_date=BATCH_DATE, weights=WEIGHTS, **tables)


def assert_batches_equal(got: Batch, want: Batch, sort: bool = False) -> None:
    assert got.batch_date == want.batch_date
    assert got.weights == want.weights
    for name in TABLES:
        g, w = got.table(name), want.table(name)
        if name == "items" and "digital" not in w:  # a frame built without the optional column
            w = w.assign(digital=False)
        if sort:
            keys = list(w.columns[:2])
            g = g.sort_values(keys, ignore_index=True)
            w = w.sort_values(keys, ignore_index=True)
        pdt.assert_frame_equal(g, w, obj=name)


def snapshot(store: Store) -> dict[str, pd.DataFrame]:
    """Every row of every table, for 'nothing changed' checks."""
    names = [
        r[0]
        for r in store.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "ORDER BY 1"
        ).fetchall()
    ]
    return {n: store.con.execute(f"SELECT * FROM {n} ORDER BY ALL").df() for n in names}


def assert_unchanged(before: dict[str, pd.DataFrame], store: Store) -> None:
    after = snapshot(store)
    assert after.keys() == before.keys()
    for name, df in before.items():
        pdt.assert_frame_equal(after[name], df, obj=name)


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:") as s:
        yield s


@pytest.fixture
def loaded(store: Store) -> Store:
    store.load_batch(make_batch(), source="test")
    return store


# -- schema --------------------------------------------------------------------------


def test_schema_is_created_once_and_reopening_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "dom.duckdb"
    with Store(path) as first:
        tables = snapshot(first).keys()
        assert first.schema_version == LATEST_VERSION
    with Store(path) as second:
        assert snapshot(second).keys() == tables
        versions = second.con.execute("SELECT version FROM schema_version").fetchall()
        assert versions == [(v,) for v in range(1, LATEST_VERSION + 1)]


def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dom.duckdb"
    with Store(path) as s:
        s.con.execute("INSERT INTO schema_version (version, description) VALUES (999, 'x')")
    with pytest.raises(SchemaError, match="999"):
        Store(path)


def test_default_path_is_overridable_by_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DOM_DB_PATH", raising=False)
    assert default_db_path() == Path("var") / "dom.duckdb"
    monkeypatch.setenv("DOM_DB_PATH", str(tmp_path / "elsewhere" / "x.duckdb"))
    assert default_db_path() == tmp_path / "elsewhere" / "x.duckdb"
    with Store() as s:  # creates the parent folder
        assert s.path == str(tmp_path / "elsewhere" / "x.duckdb")
    assert (tmp_path / "elsewhere" / "x.duckdb").exists()


def test_the_database_itself_refuses_bad_rows(loaded: Store) -> None:
    bad = [
        "INSERT INTO order_lines VALUES ('WEB-1001', 9, 'SKU-1', 0, 99)",
        "INSERT INTO inventory (node_id, sku, on_hand, seq) VALUES ('DC-NYC', 'SKU-3', -1, 9)",
        "UPDATE inventory SET reserved = -2",
        "INSERT INTO nodes (node_id, kind, zip, ship_enabled, pickup_enabled, capacity_units, "
        "pick_cost, pack_cost, processing_days, seq) "
        "VALUES ('X', 'dc', '1234', true, true, 1, 0, 0, 0, 9)",
        "INSERT INTO orders (order_id, channel, service, due_days, seq) "
        "VALUES ('P-1', 'web', 'pickup', 1, 9)",  # pickup without a pickup node
        "INSERT INTO orders (order_id, channel, service, due_days, seq) "
        "VALUES ('G-1', 'web', 'ground', 1, 9)",  # shipping without a ZIP
        "INSERT INTO rate_card VALUES ('ground', 9, 1, 1, 1, 9)",
        "INSERT INTO order_lines VALUES ('WEB-1001', 1, 'SKU-1', 1, 99)",  # duplicate key
    ]
    for sql in bad:
        with pytest.raises(Exception, match="Constraint|constraint"):
            loaded.con.execute(sql)


# -- load and export -----------------------------------------------------------------


def test_loaded_batch_exports_exactly_as_loaded(loaded: Store) -> None:
    batch = make_batch()
    exported = loaded.export_batch()
    assert_batches_equal(exported, batch)  # same rows, same order, same dtypes
    assert_batches_equal(exported, batch, sort=True)
    assert exported.orders["max_packages"].isna().tolist() == [True, False, False, True]
    assert loaded.count("orders") == 4 and loaded.count("order_lines") == 7


def test_loaded_orders_start_created_and_remember_their_batch(loaded: Store) -> None:
    rows = loaded.con.execute(
        "SELECT DISTINCT status, source, batch_id LIKE 'batch-20250314-%' FROM orders"
    ).fetchall()
    assert rows == [("created", "test", True)]
    assert loaded.count("batches") == 1


def test_export_arguments_override_date_and_weights(loaded: Store) -> None:
    weights = Weights(unfilled=2.0)
    exported = loaded.export_batch(date(2025, 4, 1), weights)
    assert exported.batch_date == date(2025, 4, 1)
    assert exported.weights == weights


def test_export_without_any_batch_needs_a_date(store: Store) -> None:
    with pytest.raises(StoreError, match="no batch"):
        store.export_batch()
    empty = store.export_batch(BATCH_DATE)
    assert all(empty.table(t).empty for t in TABLES)
    assert empty.orders["max_packages"].dtype == "Int64"


def test_export_selects_orders_by_status_and_id(loaded: Store) -> None:
    loaded.con.execute("UPDATE orders SET status = 'shipped' WHERE order_id = 'WEB-1001'")
    open_orders = loaded.export_batch()
    assert open_orders.orders["order_id"].tolist() == ["APP-1002", "CC-1003", "POS-1004"]
    assert "WEB-1001" not in set(open_orders.order_lines["order_id"])
    assert len(open_orders.order_lines) == 5

    every = loaded.export_batch(statuses=None)
    assert len(every.orders) == 4 and len(every.order_lines) == 7

    chosen = loaded.export_batch(order_ids=["CC-1003", "WEB-1001"], statuses=None)
    assert chosen.orders["order_id"].tolist() == ["WEB-1001", "CC-1003"]  # load order
    assert chosen.order_lines["order_id"].tolist() == ["WEB-1001"] * 2 + ["CC-1003"] * 3

    shipped_only = loaded.export_batch(order_ids=["CC-1003", "WEB-1001"], statuses=["shipped"])
    assert shipped_only.orders["order_id"].tolist() == ["WEB-1001"]
    assert len(loaded.export_batch(order_ids=[]).orders) == 0


def test_a_second_batch_replaces_network_rows_and_adds_orders(loaded: Store) -> None:
    nodes = _nodes()
    nodes.loc[nodes["node_id"] == "DC-NYC", "capacity_units"] = 5
    inventory = _inventory().iloc[:2].copy()
    inventory["on_hand"] = np.array([7, 8], dtype=np.int64)
    ids = ("WEB-2001", "APP-2002", "CC-2003", "POS-2004")
    loaded.load_batch(
        make_batch(nodes=nodes, inventory=inventory, orders=_orders(ids), order_lines=_lines(ids))
    )
    exported = loaded.export_batch()
    assert exported.nodes.set_index("node_id").loc["DC-NYC", "capacity_units"] == 5
    assert len(exported.nodes) == 4
    stock = exported.inventory.set_index(["node_id", "sku"])["on_hand"]
    assert stock[("DC-NYC", "SKU-1")] == 7 and stock[("DC-CHI", "SKU-2")] == 30
    assert len(exported.inventory) == 6
    assert exported.orders["order_id"].tolist() == [
        "WEB-1001",
        "APP-1002",
        "CC-1003",
        "POS-1004",
        *ids,
    ]
    assert len(exported.order_lines) == 14


def test_in_transit_survives_a_reload_of_the_same_stock(loaded: Store) -> None:
    loaded.con.execute("UPDATE inventory SET in_transit = 3 WHERE sku = 'SKU-1'")
    ids = ("B2-1", "B2-2", "B2-3", "B2-4")
    loaded.load_batch(make_batch(orders=_orders(ids), order_lines=_lines(ids)))
    total = loaded.con.execute("SELECT sum(in_transit) FROM inventory").fetchone()
    assert total == (6,)


def test_duplicate_order_is_refused_and_nothing_changes(loaded: Store) -> None:
    before = snapshot(loaded)
    nodes = _nodes()
    nodes["capacity_units"] = np.int64(1)  # would be replaced if the load went through
    ids = ("NEW-1", "APP-1002", "NEW-3", "NEW-4")
    with pytest.raises(DuplicateKeyError, match="orders.*APP-1002") as err:
        loaded.load_batch(make_batch(nodes=nodes, orders=_orders(ids), order_lines=_lines(ids)))
    assert err.value.table == "orders" and err.value.ids == ["APP-1002"]
    assert_unchanged(before, loaded)


def test_duplicate_order_within_one_batch_is_refused(store: Store) -> None:
    ids = ("A-1", "A-2", "A-1", "A-4")
    with pytest.raises(DuplicateKeyError, match="A-1"):
        store.load_batch(make_batch(orders=_orders(ids), order_lines=_lines(ids)))
    assert store.count("orders") == 0 and store.count("nodes") == 0


def test_line_with_zero_qty_rolls_back_the_whole_load(loaded: Store) -> None:
    before = snapshot(loaded)
    ids = ("Z-1", "Z-2", "Z-3", "Z-4")
    lines = _lines(ids)
    lines.loc[3, "qty"] = 0
    with pytest.raises(StoreError, match="order_lines.*qty"):
        loaded.load_batch(make_batch(orders=_orders(ids), order_lines=lines))
    assert_unchanged(before, loaded)


@pytest.mark.parametrize(
    ("table", "change", "message"),
    [
        (
            "order_lines",
            lambda df: df.assign(sku=df["sku"].replace("SKU-2", "GHOST")),
            "order_lines.*GHOST",
        ),
        (
            "order_lines",
            lambda df: df.assign(order_id=df["order_id"].replace("Q-3", "X")),
            "order_lines.*not in this batch.*X",
        ),
        (
            "inventory",
            lambda df: df.assign(node_id=df["node_id"].replace("ST-SF", "ST-LA")),
            "inventory.*ST-LA",
        ),
        (
            "inventory",
            lambda df: pd.concat([df, df.iloc[:1]], ignore_index=True),
            "inventory: duplicate node_id \\+ sku",
        ),
        (
            "orders",
            lambda df: df.assign(pickup_node_id=df["pickup_node_id"].replace("ST-BOS", "DC-NYC")),
            "not pickup_enabled",
        ),
        (
            "orders",
            lambda df: df.assign(ship_zip=df["ship_zip"].replace("94105", "9410")),
            "orders.*ship_zip",
        ),
        ("nodes", lambda df: df.assign(kind=df["kind"].replace("dc", "warehouse")), "nodes.*kind"),
    ],
)
def test_bad_batches_are_refused_whole(
    loaded: Store, table: str, change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    before = snapshot(loaded)
    ids = ("Q-1", "Q-2", "Q-3", "Q-4")
    tables = {"orders": _orders(ids), "order_lines": _lines(ids)}
    tables[table] = change(tables.get(table, make_batch().table(table)))
    with pytest.raises(StoreError, match=message):
        loaded.load_batch(make_batch(**tables))
    assert_unchanged(before, loaded)


# -- plans ---------------------------------------------------------------------------


def _plan_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    allocations = pd.DataFrame(
        {
            "order_id": ["WEB-1001", "WEB-1001", "CC-1003", "CC-1003", "APP-1002"],
            "line_no": np.array([1, 2, 1, 1, 1], dtype=np.int64),
            "node_id": ["DC-NYC", "DC-NYC", "DC-CHI", "DC-NYC", "ST-SF"],
            "qty": np.array([2, 1, 2, 1, 1], dtype=np.int64),
        }
    ).astype({"order_id": object, "node_id": object})
    unfilled = pd.DataFrame(
        {
            "order_id": ["CC-1003"],
            "line_no": np.array([3], dtype=np.int64),
            "qty": np.array([1], dtype=np.int64),
        }
    ).astype({"order_id": object})
    return allocations, unfilled


SUMMARY = {
    "strategy": "greedy",
    "total": 1234.5,
    "lower_bound": 1200.0,
    "gap": 0.0279,
    "wall_seconds": 0.42,
    "cost": {"shipping": 40.0, "handling": 12.5, "weights": WEIGHTS.model_dump()},
    "notes": ["first plan"],
}


def test_plans_round_trip(loaded: Store) -> None:
    allocations, unfilled = _plan_frames()
    plan_id = loaded.save_plan("greedy", BATCH_DATE, WEIGHTS, allocations, unfilled, SUMMARY)
    got_alloc, got_unfilled, summary = loaded.load_plan(plan_id)
    pdt.assert_frame_equal(got_alloc, allocations)
    pdt.assert_frame_equal(got_unfilled, unfilled)
    assert summary == SUMMARY

    second = loaded.save_plan(
        "optimizer",
        BATCH_DATE,
        {"late": 1.0},
        allocations.iloc[:0],
        unfilled.iloc[:0],
        {"total": float("inf"), "gap": None},
    )
    plans = loaded.list_plans()
    assert [p.plan_id for p in plans] == [plan_id, second]
    first = plans[0]
    assert (first.strategy, first.batch_date, first.total, first.lower_bound) == (
        "greedy",
        BATCH_DATE,
        1234.5,
        1200.0,
    )
    assert (first.allocations, first.unfilled) == (5, 1)
    assert (plans[1].allocations, plans[1].total, plans[1].gap) == (0, float("inf"), None)
    assert loaded.load_plan(second)[2] == {"total": None, "gap": None}  # JSON has no inf
    empty_alloc, empty_unfilled, _ = loaded.load_plan(second)
    assert empty_alloc.empty and list(empty_alloc.dtypes.astype(str)) == [
        "object",
        "int64",
        "object",
        "int64",
    ]


def test_a_bad_plan_is_not_saved_at_all(loaded: Store) -> None:
    allocations, unfilled = _plan_frames()
    allocations.loc[2, "qty"] = 0
    with pytest.raises(StoreError, match="plan_allocations"):
        loaded.save_plan("greedy", BATCH_DATE, WEIGHTS, allocations, unfilled, SUMMARY)
    assert loaded.list_plans() == []
    assert loaded.count("plan_unfilled") == 0


def test_unknown_plan(loaded: Store) -> None:
    with pytest.raises(NotFoundError):
        loaded.load_plan("plan-nope")


# -- order events --------------------------------------------------------------------


def test_events_append_and_read_in_order(loaded: Store) -> None:
    first = loaded.append_event(
        "WEB-1001",
        "created",
        actor="loader",
        channel="web",
        to_status="created",
        details={"batch": "b1"},
    )
    loaded.append_event("APP-1002", "created")
    t = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    second = loaded.append_event(
        "WEB-1001",
        "status_changed",
        actor="ops@example.com",
        from_status="created",
        to_status="released",
        at=t,
    )
    assert second > first
    events = loaded.events("WEB-1001")
    assert [e.event_id for e in events] == [first, second]
    assert [e.event_type for e in events] == ["created", "status_changed"]
    assert events[0].details == {"batch": "b1"} and events[0].channel == "web"
    assert events[1].at == t and events[1].details is None
    assert (events[1].from_status, events[1].to_status) == ("created", "released")
    assert loaded.events("nobody") == []


def test_an_event_with_no_type_is_refused(loaded: Store) -> None:
    with pytest.raises(StoreError, match="event_type"):
        loaded.append_event("WEB-1001", "")


def test_an_outer_transaction_rolls_back_its_events(loaded: Store) -> None:
    with pytest.raises(RuntimeError), loaded.transaction():
        loaded.append_event("WEB-1001", "created")
        with loaded.transaction():
            loaded.con.execute("UPDATE orders SET status = 'released'")
        raise RuntimeError("boom")
    assert loaded.events("WEB-1001") == []
    assert loaded.export_batch().orders.shape[0] == 4


# -- persistence ---------------------------------------------------------------------


def test_file_store_persists_across_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "var" / "dom.duckdb"
    allocations, unfilled = _plan_frames()
    with Store(path) as s:
        s.load_batch(make_batch())
        plan_id = s.save_plan("greedy", BATCH_DATE, WEIGHTS, allocations, unfilled, SUMMARY)
        s.append_event("POS-1004", "created", channel="store")
    assert path.exists()
    with Store(path) as s:
        assert_batches_equal(s.export_batch(), make_batch())
        pdt.assert_frame_equal(s.load_plan(plan_id)[0], allocations)
        assert [e.event_type for e in s.events("POS-1004")] == ["created"]
    with Store(path, read_only=True) as s:
        assert len(s.export_batch().orders) == 4


def test_closed_store_says_so() -> None:
    s = Store(":memory:")
    s.close()
    assert s.closed
    with pytest.raises(StoreError, match="closed"):
        s.export_batch()


# -- batch files <-> store -----------------------------------------------------------

batch_io = pytest.importorskip("data.batch_io")


def test_csv_to_store_to_parquet_round_trip(tmp_path: Path, store: Store) -> None:
    original = make_batch()
    batch_io.write_batch(original, tmp_path / "csv", fmt="csv")
    from_csv = batch_io.read_batch(tmp_path / "csv")
    assert_batches_equal(from_csv, original)  # hand-built frames are canonical

    store.load_batch(from_csv, source=str(tmp_path / "csv"))
    exported = store.export_batch()
    assert_batches_equal(exported, from_csv)
    batch_io.write_batch(exported, tmp_path / "parquet", fmt="parquet")
    again = batch_io.read_batch(tmp_path / "parquet")
    assert_batches_equal(again, from_csv)
    assert again.rate_card_file == "rate_card.parquet"


def test_a_store_at_migration_4_upgrades_through_the_table_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store at main's migration 4 (traffic's sequences and indexes, promise's node
    calendars) then 5 (nodes, items, work_items rebuilt), 6, 7 and 8: the rows and the
    node calendars survive, the calendar columns keep migration 4's types and
    defaults, every index is there afterwards, and the sequences go on."""
    from data.store import schema

    path = tmp_path / "dom.duckdb"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
    monkeypatch.setattr(schema, "LATEST_VERSION", 4)
    with Store(path) as old:
        for sql in (
            "INSERT INTO nodes VALUES ('DC1', 'dc', '10001', true, false, 10, 1, 1, 1, 0, "
            "16, 'sun', 'US', '2026-12-24', '2026-12-27')",
            "INSERT INTO nodes (node_id, kind, zip, ship_enabled, pickup_enabled, "
            "capacity_units, pick_cost, pack_cost, processing_days, seq) "
            "VALUES ('S1', 'store', '02139', true, true, 5, 1, 1, 0, 1)",
            "INSERT INTO items (sku, weight_lb, price, seq) VALUES ('A', 2.5, 10, 0)",
            "INSERT INTO inventory (node_id, sku, on_hand, seq) "
            "VALUES ('DC1', 'A', 7, nextval('seq_inventory'))",
            "INSERT INTO work_items (work_item_id, order_id, node_id, kind, status) "
            "VALUES ('W1', 'O1', 'DC1', 'ship', 'released')",
            "INSERT INTO order_promises VALUES ('O1', 'P1', 'ground', DATE '2026-12-08', "
            "TIMESTAMPTZ '2026-12-05 10:00:00+00', '[]')",
        ):
            old.con.execute(sql)
        calendar_columns = _calendar_columns(old.con)
    monkeypatch.undo()
    with Store(path) as new:
        assert new.schema_version == LATEST_VERSION == 9
        con = new.con
        assert con.execute(
            "SELECT node_id, kind, cutoff_hour, closed_weekdays, holiday_calendar, "
            "closed_dates, open_dates FROM nodes ORDER BY node_id"
        ).fetchall() == [
            ("DC1", "dc", 16, "sun", "US", "2026-12-24", "2026-12-27"),
            ("S1", "store", 14, "sat,sun", "US", "", ""),
        ]
        assert _calendar_columns(con) == calendar_columns
        con.execute(
            "INSERT INTO nodes (node_id, kind, zip, ship_enabled, pickup_enabled, "
            "capacity_units, pick_cost, pack_cost, processing_days, seq) "
            "VALUES ('VN1', 'vendor', '60601', true, false, 5, 1, 1, 2, 2)"
        )
        assert con.execute(
            "SELECT cutoff_hour, closed_weekdays FROM nodes WHERE node_id = 'VN1'"
        ).fetchall() == [(14, "sat,sun")]
        with pytest.raises(duckdb.ConstraintException):
            con.execute("UPDATE nodes SET pickup_enabled = true WHERE node_id = 'VN1'")
        assert con.execute("SELECT sku, weight_lb, digital FROM items").fetchall() == [
            ("A", 2.5, False)
        ]
        assert con.execute("SELECT work_item_id, kind FROM work_items").fetchall() == [
            ("W1", "ship")
        ]
        assert con.execute("SELECT order_id, promise_id FROM order_promises").fetchall() == [
            ("O1", "P1")
        ]
        indexes = {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        assert {
            "inventory_by_sku",
            "line_state_by_order",
            "order_lines_by_order",
            "work_items_by_node",
            "work_items_by_order",
        } <= indexes
        assert con.execute("SELECT nextval('seq_inventory')").fetchall() == [(1,)]


def _calendar_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    """Name, type, default and nullability of the nodes' calendar columns."""
    return con.execute(
        "SELECT column_name, data_type, column_default, is_nullable FROM duckdb_columns() "
        "WHERE table_name = 'nodes' AND column_name IN ('cutoff_hour', 'closed_weekdays', "
        "'holiday_calendar', 'closed_dates', 'open_dates') ORDER BY column_name"
    ).fetchall()


def test_a_file_from_another_line_of_migrations_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dom.duckdb"
    with Store(path) as s:
        s.con.execute("UPDATE schema_version SET description = 'vendor nodes' WHERE version = 3")
    with pytest.raises(SchemaError, match="migration 3 is 'vendor nodes'"):
        Store(path)
