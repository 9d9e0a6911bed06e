"""Bulk stock feeds applied set-wise: file-order semantics, whole or nothing."""

import pandas as pd

from data import stock_feed
from data.lifecycle_db import Database
from models.api import Actor, Role
from models.lifecycle_errors import InvalidInput
from services import inventory
from tests.lifecycle_fixtures import make_db

MERCH = Actor(name="merch", role=Role.MERCHANDISER)


def feed(*rows: str) -> pd.DataFrame:
    return pd.DataFrame([r.split(",") for r in rows], columns=["node_id", "sku", "kind", "qty"])


def on_hand(db: Database) -> dict[tuple[str, str], int]:
    rows = db.read(lambda r: r.rows("SELECT node_id, sku, on_hand FROM inventory"))
    return {(n, s): int(q) for n, s, q in rows}


def ledger(db: Database) -> list[tuple[str, str, str, int]]:
    return db.read(
        lambda r: r.rows(
            "SELECT node_id, sku, kind, on_hand_delta FROM inventory_ledger ORDER BY entry_id"
        )
    )


def test_rows_apply_in_file_order_per_stock_row() -> None:
    db = make_db(keys=False)
    result = inventory.apply_feed(
        db,
        feed(
            "DC1,A,receipt,10",  # 50 -> 60
            "DC1,A,count,7",  # -> 7
            "DC1,A,adjustment,-2",  # -> 5
            "ST2,B,adjustment,3",  # 4 -> 7
            "ST2,A,receipt,4",  # a new stock row: 4
            "DC1,A,receipt,1",  # -> 6
        ),
        MERCH,
    )
    assert (result.rows, result.receipts, result.adjustments) == (6, 3, 3)
    stock = on_hand(db)
    assert stock[("DC1", "A")] == 6 and stock[("ST2", "B")] == 7 and stock[("ST2", "A")] == 4
    assert stock[("ST1", "A")] == 5  # untouched
    # File order within each stock row; DC1/A (a count: it may fail) is in the first step.
    assert ledger(db) == [
        ("DC1", "A", "feed:receipt", 10),
        ("DC1", "A", "feed:count", -53),
        ("DC1", "A", "feed:adjustment", -2),
        ("DC1", "A", "feed:receipt", 1),
        ("ST2", "B", "feed:adjustment", 3),
        ("ST2", "A", "feed:receipt", 4),
    ]
    seqs = db.read(lambda r: r.rows("SELECT count(*), count(DISTINCT seq) FROM inventory"))
    assert seqs[0][0] == seqs[0][1] == 7
    db.close()


def test_a_feed_below_reserved_units_writes_nothing_and_names_the_row() -> None:
    db = make_db(keys=False)
    db.write(lambda r: r.exec("UPDATE inventory SET reserved = 2 WHERE node_id = 'ST1'"))
    before, entries = on_hand(db), ledger(db)
    try:
        inventory.apply_feed(db, feed("DC1,A,receipt,5", "ST1,B,count,1", "ST1,B,receipt,1"), MERCH)
        raise AssertionError("the feed was applied")
    except InvalidInput as exc:
        assert [(e.field, e.message) for e in exc.errors] == [
            ("row 2.qty", "would leave on hand below the 2 reserved unit(s) of B at ST1")
        ]
    assert on_hand(db) == before and ledger(db) == entries
    db.close()


def test_every_bad_row_is_named_before_anything_is_written() -> None:
    db = make_db(keys=False)
    before = on_hand(db)
    node = Actor(name="st1", role=Role.NODE, node_id="ST1")
    try:
        inventory.apply_feed(
            db,
            feed(
                "ST1,A,receipt,1",
                "ST1,A,oops,x",
                "XX,A,receipt,1",
                "ST1,NOPE,count,-1",
                "ST1,A,receipt,0",
            ),
            node,
        )
        raise AssertionError("the feed was applied")
    except InvalidInput as exc:
        assert [(e.field, e.message) for e in exc.errors] == [
            ("row 2.kind", "one of receipt, adjustment, count, reorder_point"),
            ("row 2.qty", "not an integer: 'x'"),
            ("row 3.node_id", "only ST1 for this key"),
            ("row 3.node_id", "unknown node_id 'XX'"),
            ("row 4.qty", "a count is at least 0"),
            ("row 4.sku", "unknown sku 'NOPE'"),
            ("row 5.qty", "a receipt adds at least 1 unit"),
        ]
        assert str(exc.title) == "7 bad row(s) in the feed; nothing applied"
    assert on_hand(db) == before
    db.close()


def alerts(db: Database) -> list[tuple[str, str, str, int, int, bool]]:
    return db.read(
        lambda r: r.rows(
            "SELECT kind, node_id, sku, available, threshold, cleared_at IS NOT NULL "
            "FROM stock_alerts ORDER BY alert_id"
        )
    )


def test_reorder_points_in_a_feed_set_the_threshold_and_alerts_fire_and_clear_once() -> None:
    db = make_db(keys=False)  # DC1 A: 50 on hand, nothing reserved, no safety stock
    result = inventory.apply_feed(
        db,
        feed(
            "DC1,A,reorder_point,45",
            "DC1,A,adjustment,-10",  # 40
            "DC1,A,receipt,3",  # 43
            "DC1,A,reorder_point,44",  # the last reorder point of the stock row wins
        ),
        MERCH,
    )
    assert (result.rows, result.receipts, result.adjustments) == (4, 1, 1)
    assert on_hand(db)[("DC1", "A")] == 43  # a reorder point is not stock
    points = db.read(lambda r: r.rows("SELECT node_id, sku, reorder_point FROM reorder_points"))
    assert points == [("DC1", "A", 44)]
    assert [e[2] for e in ledger(db)] == ["feed:adjustment", "feed:receipt"]
    # One alert for the stock row, raised by the feed's own transaction: 43 < 44.
    assert alerts(db) == [("below_reorder_point", "DC1", "A", 43, 44, False)]
    inventory.apply_feed(db, feed("DC1,A,receipt,1", "ST1,A,receipt,1"), MERCH)
    assert alerts(db) == [("below_reorder_point", "DC1", "A", 43, 44, True)]  # 44: cleared
    inventory.apply_feed(db, feed("DC1,A,receipt,1", "DC1,A,count,43"), MERCH)  # 43 again
    assert alerts(db) == [
        ("below_reorder_point", "DC1", "A", 43, 44, True),
        ("below_reorder_point", "DC1", "A", 43, 44, False),
    ]
    db.close()


def test_a_negative_reorder_point_in_a_feed_is_refused_naming_row_and_field() -> None:
    db = make_db(keys=False)
    try:
        inventory.apply_feed(db, feed("DC1,A,receipt,1", "DC1,A,reorder_point,-1"), MERCH)
        raise AssertionError("the feed was applied")
    except InvalidInput as exc:
        assert [(e.field, e.message) for e in exc.errors] == [
            ("row 2.qty", "a reorder point is at least 0")
        ]
    assert db.read(lambda r: r.rows("SELECT * FROM reorder_points")) == []
    db.close()


def test_a_feed_is_cut_into_steps_that_keep_stock_rows_whole() -> None:
    rows = feed(
        "DC1,A,receipt,1",  # 1  step 2
        "DC1,B,receipt,1",  # 2  step 2
        "ST1,A,receipt,2",  # 3  step 1: ST1/A has a negative adjustment below
        "DC1,A,receipt,3",  # 4  step 2 (DC1/A's rows stay together)
        "ST2,B,reorder_point,4",  # 5  step 1: reorder points go first
        "ST1,A,adjustment,-1",  # 6  step 1
        "ST2,A,receipt,5",  # 7  step 3
        "DC1,C,count,0",  # 8  step 1: a count may leave on hand below reserved
        "ST2,A,receipt,6",  # 9  step 3
    )
    first, steps = stock_feed.feed_steps(rows, step_rows=2)
    assert list(first.index + 1) == [3, 5, 6, 8]
    assert [list(step.index + 1) for step in steps] == [[1, 2, 4], [7, 9]]
