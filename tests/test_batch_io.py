"""Batch files: every kind of bad input is a clear error naming file, row and
column, nothing is half-loaded, and CSV and Parquet round-trip exactly."""

import json
from pathlib import Path

import pandas as pd
import pytest

from data.batch_io import read_batch, write_batch
from models.errors import BatchValidationError
from tests.tiny import tiny_batch


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_batch(tiny_batch(), tmp_path / "batch")


def edit(folder: Path, table: str, fn) -> None:
    path = folder / f"{table}.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df)
    df.to_csv(path, index=False)


def problems(folder: Path) -> list[str]:
    with pytest.raises(BatchValidationError) as info:
        read_batch(folder)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_is_exact(tmp_path: Path, fmt: str) -> None:
    batch = tiny_batch()
    back = read_batch(write_batch(batch, tmp_path / fmt, fmt))  # type: ignore[arg-type]
    assert back.batch_date == batch.batch_date and back.weights == batch.weights
    for name in ("nodes", "items", "inventory", "orders", "order_lines", "rate_card"):
        pd.testing.assert_frame_equal(back.table(name), batch.table(name), check_dtype=True)


def test_zip_leading_zero_survives_csv(folder: Path) -> None:
    nodes = read_batch(folder).nodes.set_index("node_id")
    assert nodes.loc["ST1", "zip"] == "02139"


@pytest.mark.parametrize(
    ("table", "column", "value", "expected"),
    [
        ("nodes", "zip", "2139", "nodes.csv row 2 column 'zip': must be a 5-digit US ZIP"),
        ("nodes", "zip", "00000", "nodes.csv row 2 column 'zip': unknown US ZIP"),
        ("nodes", "kind", "warehouse", "nodes.csv row 2 column 'kind': must be one of"),
        ("nodes", "capacity_units", "-1", "nodes.csv row 2 column 'capacity_units': must be >= 0"),
        ("nodes", "ship_enabled", "maybe", "column 'ship_enabled': must be true or false"),
        ("nodes", "pick_cost", "cheap", "nodes.csv row 2 column 'pick_cost': must be a number"),
        ("items", "weight_lb", "0", "items.csv row 2 column 'weight_lb': must be > 0"),
        ("inventory", "on_hand", "1.5", "inventory.csv row 2 column 'on_hand': must be a whole"),
        ("inventory", "node_id", "NOPE", "inventory.csv row 2 column 'node_id': unknown node_id"),
        ("inventory", "sku", "ZZZ", "inventory.csv row 2 column 'sku': unknown sku"),
        ("orders", "service", "teleport", "orders.csv row 2 column 'service': must be one of"),
        ("orders", "due_days", "", "orders.csv row 2 column 'due_days': a value is required"),
        ("orders", "ship_zip", "99999", "orders.csv row 2 column 'ship_zip': unknown US ZIP"),
        ("orders", "max_packages", "0", "orders.csv row 2 column 'max_packages': must be >= 1"),
        ("order_lines", "qty", "0", "order_lines.csv row 2 column 'qty': must be >= 1"),
        ("order_lines", "sku", "ZZZ", "order_lines.csv row 2 column 'sku': unknown sku"),
        ("rate_card", "zone", "9", "rate_card.csv row 2 column 'zone': must be <= 8"),
    ],
)
def test_bad_cell_names_file_row_and_column(folder, table, column, value, expected) -> None:
    def change(df: pd.DataFrame) -> None:
        df.loc[1, column] = value

    edit(folder, table, change)
    found = problems(folder)
    assert any(expected in p for p in found), found


def test_missing_required_column(folder: Path) -> None:
    edit(folder, "items", lambda df: df.drop(columns=["price"], inplace=True))
    assert "items.csv column 'price': required column is missing" in problems(folder)


def test_unknown_columns_are_ignored(folder: Path) -> None:
    edit(folder, "items", lambda df: df.insert(1, "colour", "red"))
    assert list(read_batch(folder).items.columns) == ["sku", "weight_lb", "price", "digital"]


def test_duplicate_ids(folder: Path) -> None:
    def dup(df: pd.DataFrame) -> None:
        df.loc[2, "order_id"] = df.loc[1, "order_id"]

    edit(folder, "orders", dup)
    assert any(
        "orders.csv row 3 column 'order_id': duplicate order_id" in p for p in problems(folder)
    )


def test_pickup_rules(folder: Path) -> None:
    def bad(df: pd.DataFrame) -> None:
        df.loc[3, "pickup_node_id"] = "DC1"  # O4 is a pickup order; DC1 is not pickup-enabled
        df.loc[0, "pickup_node_id"] = "ST1"  # O1 ships: may not name a pickup node

    edit(folder, "orders", bad)
    found = problems(folder)
    assert "orders.csv row 4 column 'pickup_node_id': node is not pickup_enabled (got 'DC1')" in (
        found
    )
    assert any(
        "row 1 column 'pickup_node_id': only allowed when service is pickup" in p for p in found
    )


def test_rate_card_must_cover_every_zone_of_a_used_service(folder: Path) -> None:
    edit(
        folder,
        "rate_card",
        lambda df: df.drop(df.index[df["service"] == "ground"][:1], inplace=True),
    )
    assert any("no rate for service 'ground' in zone(s) [2]" in p for p in problems(folder))


def test_batch_json_errors(folder: Path) -> None:
    (folder / "batch.json").write_text(
        json.dumps({"batch_date": "25/11/2026", "weights": {"late": -1, "speed": 2}})
    )
    found = problems(folder)
    assert any("batch.json column 'batch_date': must be an ISO date" in p for p in found)
    assert any("column 'weights.late'" in p for p in found)
    assert any("column 'weights.speed'" in p for p in found)


def test_missing_file_and_both_formats(folder: Path) -> None:
    (folder / "items.csv").rename(folder / "items.bak")
    assert any("items.csv: file is missing" in p for p in problems(folder))
    (folder / "items.bak").rename(folder / "items.csv")
    read_batch(folder).items.to_parquet(folder / "items.parquet")
    assert any("both items.csv and items.parquet exist" in p for p in problems(folder))


def test_every_problem_is_reported_at_once(folder: Path) -> None:
    def two(df: pd.DataFrame) -> None:
        df.loc[0, "qty"] = "0"
        df.loc[1, "qty"] = "x"

    edit(folder, "order_lines", two)
    found = problems(folder)
    assert len([p for p in found if "order_lines.csv" in p]) == 2


def test_failed_write_leaves_the_old_folder_untouched(folder: Path, monkeypatch) -> None:
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError):
        write_batch(tiny_batch(), folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize(
    ("table", "column", "value", "expected"),
    [
        # Typed Parquet columns: a number out of bounds, a string where a number belongs.
        ("order_lines", "qty", 0, "order_lines.parquet row 2 column 'qty': must be >= 1"),
        ("order_lines", "qty", "two", "order_lines.parquet row 2 column 'qty': must be an int"),
        ("orders", "ship_zip", " 1234 ", "orders.parquet row 2 column 'ship_zip': must be a 5"),
        ("orders", "service", None, "orders.parquet row 2 column 'service': a value is required"),
        ("orders", "order_id", "O1", "orders.parquet row 2 column 'order_id': duplicate order_id"),
        ("inventory", "sku", "ZZZ", "inventory.parquet row 2 column 'sku': unknown sku"),
    ],
)
def test_bad_parquet_cell_names_file_row_and_column(
    tmp_path: Path, table: str, column: str, value: object, expected: str
) -> None:
    folder = write_batch(tiny_batch(), tmp_path / "batch", "parquet")
    path = folder / f"{table}.parquet"
    df = pd.read_parquet(path)
    if isinstance(value, str) and df[column].dtype != object:
        df[column] = df[column].astype(str)  # the file's column becomes text
    df.loc[1, column] = value
    df.to_parquet(path, index=False)
    found = problems(folder)
    assert any(expected in p for p in found), found


def test_parquet_text_is_stripped_and_kept_as_python_strings(tmp_path: Path) -> None:
    folder = write_batch(tiny_batch(), tmp_path / "batch", "parquet")
    path = folder / "orders.parquet"
    df = pd.read_parquet(path)
    df.loc[0, "channel"] = "  Web "  # an id: stripped
    df.loc[0, "service"] = " Ground"  # an enum: stripped, lower-cased
    df.to_parquet(path, index=False)
    orders = read_batch(folder).orders
    assert orders.loc[0, "channel"] == "Web" and orders.loc[0, "service"] == "ground"
    assert orders["channel"].dtype == object and isinstance(orders.loc[0, "channel"], str)
