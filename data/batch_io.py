"""Read and write batch folders exactly as the contract describes.

A batch folder holds ``batch.json`` and one CSV or Parquet file per table.
Reading validates everything (cells, uniqueness, references, ZIPs, the rate
card) and either returns a whole ``Batch`` or raises ``BatchValidationError``
listing every problem with file, row and column: nothing is half-loaded.
"""

import json
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.extensions import ExtensionDtype
from pydantic import ValidationError

from data.atomic import Layout, atomic_folder
from data.columns import ARROW_TEXT, MAX_PROBLEMS_PER_COLUMN, plain, validate_table
from data.geo import zip_table
from models import SHIPPING_SERVICES, Batch, NodeKind, Service, Weights
from models.batch import SPARSE_COLUMNS, TABLES, all_columns
from models.errors import BatchValidationError, Problem

BATCH_JSON = "batch.json"
FORMATS = ("csv", "parquet")
Format = Literal["csv", "parquet"]
ZONES = range(2, 9)
# What ``write_batch`` writes: a folder holding only these may be replaced by a new batch.
BATCH_LAYOUT = Layout(
    "batch",
    BATCH_JSON,
    frozenset({BATCH_JSON, *(f"{t}.{ext}" for t in TABLES for ext in FORMATS)}),
)


def _find_table_file(folder: Path, base: str, problems: list[Problem]) -> Path | None:
    found = [folder / f"{base}.{ext}" for ext in FORMATS if (folder / f"{base}.{ext}").exists()]
    if not found:
        problems.append(Problem(f"{base}.csv", f"file is missing from {folder}"))
        return None
    if len(found) > 1:
        problems.append(
            Problem(found[0].name, f"both {base}.csv and {base}.parquet exist; keep one")
        )
        return None
    return found[0]


def _read_raw(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    try:
        if path.suffix == ".csv":
            # Everything as text: leading zeros of ZIPs survive, and we parse types ourselves.
            return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        # Text stays in Arrow until validated (``data.columns``): no Python object per cell.
        return pq.read_table(path).to_pandas(types_mapper=_arrow_text)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a file problem
        problems.append(Problem(path.name, f"cannot be read: {exc}"))
        return None


def _arrow_text(arrow_type: pa.DataType) -> ExtensionDtype | None:
    return (
        ARROW_TEXT
        if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
        else None
    )


def _read_batch_json(folder: Path, problems: list[Problem]) -> tuple[date | None, Weights, str]:
    path = folder / BATCH_JSON
    weights, rate_card_file, batch_date = Weights(), "rate_card.csv", None
    if not path.exists():
        problems.append(Problem(BATCH_JSON, f"file is missing from {folder}"))
        return batch_date, weights, rate_card_file
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        problems.append(Problem(BATCH_JSON, f"is not valid JSON: {exc}"))
        return batch_date, weights, rate_card_file
    if not isinstance(meta, dict):
        problems.append(Problem(BATCH_JSON, "must be a JSON object"))
        return batch_date, weights, rate_card_file
    try:
        batch_date = date.fromisoformat(str(meta.get("batch_date", "")))
    except ValueError:
        problems.append(
            Problem(
                BATCH_JSON,
                f"must be an ISO date (got {meta.get('batch_date')!r})",
                column="batch_date",
            )
        )
    try:
        weights = Weights.model_validate(meta.get("weights") or {})
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(x) for x in ("weights", *err["loc"]))
            problems.append(Problem(BATCH_JSON, err["msg"], column=field))
    rate_card_file = str(meta.get("rate_card") or rate_card_file)
    if "/" in rate_card_file or rate_card_file.startswith("."):
        problems.append(
            Problem(BATCH_JSON, "must be a file name in the batch folder", column="rate_card")
        )
        rate_card_file = "rate_card.csv"
    return batch_date, weights, rate_card_file


def read_batch(folder: str | Path) -> Batch:
    """Load and validate a batch folder; raise BatchValidationError on any problem."""
    folder = Path(folder)
    problems: list[Problem] = []
    if not folder.is_dir():
        raise BatchValidationError([Problem(str(folder), "is not a batch folder")])
    batch_date, weights, rate_card_file = _read_batch_json(folder, problems)
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for name in TABLES:
        base = Path(rate_card_file).stem if name == "rate_card" else name
        path = _find_table_file(folder, base, problems)
        if path is None or (raw := _read_raw(path, problems)) is None:
            continue
        files[name] = path.name
        tables[name] = validate_table(raw, name, path.name, problems)
    if problems:
        raise BatchValidationError(problems)
    check_references(tables, files, problems)
    check_calendars(tables["nodes"], files["nodes"], problems)
    if problems:
        raise BatchValidationError(problems)
    assert batch_date is not None
    frames: dict[str, Any] = tables
    return Batch(
        batch_date=batch_date, weights=weights, rate_card_file=files["rate_card"], **frames
    )


def batch_from_frames(
    batch_date: date, weights: Weights | None = None, **frames: pd.DataFrame
) -> Batch:
    """Validate in-memory tables (e.g. generated or exported) the same way files are."""
    problems: list[Problem] = []
    tables = {name: validate_table(frames[name], name, name, problems) for name in TABLES}
    if not problems:
        check_references(tables, {n: n for n in TABLES}, problems)
        check_calendars(tables["nodes"], "nodes", problems)
    if problems:
        raise BatchValidationError(problems)
    found: dict[str, Any] = tables
    return Batch(batch_date=batch_date, weights=weights or Weights(), **found)


def _report(
    problems: list[Problem],
    file: str,
    column: str,
    mask: np.ndarray,
    values: pd.Series,
    message: str,
    limit: int = MAX_PROBLEMS_PER_COLUMN,
) -> None:
    rows = np.flatnonzero(mask)
    for r in rows[:limit]:
        value = plain(values.iloc[r])
        problems.append(Problem(file, f"{message} (got {value!r})", int(r) + 1, column))
    if len(rows) > limit:
        left = len(rows) - limit
        problems.append(Problem(file, f"{left} more rows: {message}", None, column, count=left))


def _unique(problems: list[Problem], df: pd.DataFrame, file: str, keys: list[str]) -> None:
    dup = df.duplicated(keys, keep="first").to_numpy()
    if not dup.any():
        return
    # Labels only for the rows reported: joining every row's keys took seconds at 100k.
    rows = np.flatnonzero(dup)[:MAX_PROBLEMS_PER_COLUMN]
    labels = pd.Series("", index=df.index, dtype=object)
    shown = df.index[rows]
    labels[shown] = df.loc[shown, keys].astype(str).agg("/".join, axis=1)
    _report(problems, file, keys[-1], dup, labels, f"duplicate {' + '.join(keys)}")


# Keys that must be unique per table.
UNIQUE_KEYS: dict[str, list[str]] = {
    "nodes": ["node_id"],
    "items": ["sku"],
    "inventory": ["node_id", "sku"],
    "orders": ["order_id"],
    "order_lines": ["order_id", "line_no"],
    "rate_card": ["service", "zone"],
}

# One rule across rows or tables: (table, column, rows that break it, message).
Rule = tuple[str, str, npt.NDArray[np.bool_], str]


def check_references(
    tables: dict[str, pd.DataFrame], files: dict[str, str], problems: list[Problem]
) -> None:
    """Rules across rows and tables: unique keys, references, ZIPs, pickup, rate card."""
    for name, keys in UNIQUE_KEYS.items():
        _unique(problems, tables[name], files[name], keys)
    rules = [*_reference_rules(tables), *_order_rules(tables), *_kind_rules(tables)]
    for name, column, bad, message in rules:
        _report(problems, files[name], column, bad, tables[name][column], message)
    _check_rates(tables, files["rate_card"], problems)


def _reference_rules(t: dict[str, pd.DataFrame]) -> list[Rule]:
    """Node ZIPs exist; inventory and lines name known nodes, SKUs and orders."""
    nodes, inv, orders, lines = t["nodes"], t["inventory"], t["orders"], t["order_lines"]
    node_ids, skus = set(nodes["node_id"]), set(t["items"]["sku"])
    return [
        ("nodes", "zip", ~zip_table().known(nodes["zip"].to_numpy(str)), "unknown US ZIP"),
        ("inventory", "node_id", ~inv["node_id"].isin(node_ids).to_numpy(), "unknown node_id"),
        ("inventory", "sku", ~inv["sku"].isin(skus).to_numpy(), "unknown sku"),
        (
            "order_lines",
            "order_id",
            ~lines["order_id"].isin(set(orders["order_id"])).to_numpy(),
            "unknown order_id",
        ),
        ("order_lines", "sku", ~lines["sku"].isin(skus).to_numpy(), "unknown sku"),
        (
            "orders",
            "order_id",
            ~orders["order_id"].isin(set(lines["order_id"])).to_numpy(),
            "order has no lines",
        ),
    ]


def _kind_rules(t: dict[str, pd.DataFrame]) -> list[Rule]:
    """Vendors never hand over pickups; only a digital item may weigh nothing."""
    nodes, items = t["nodes"], t["items"]
    vendor = (nodes["kind"] == NodeKind.VENDOR.value).to_numpy()
    physical = ~items["digital"].to_numpy(bool)
    return [
        (
            "nodes",
            "pickup_enabled",
            vendor & nodes["pickup_enabled"].to_numpy(bool),
            "a vendor (drop-ship) node cannot be pickup_enabled",
        ),
        (
            "items",
            "weight_lb",
            physical & ~(items["weight_lb"].to_numpy(np.float64) > 0),
            "must be > 0 for a physical item (only a digital item may weigh 0)",
        ),
    ]


def _order_rules(t: dict[str, pd.DataFrame]) -> list[Rule]:
    """Pickup orders name a pickup-enabled node and no ZIP; shipped ones a known ZIP."""
    nodes, orders = t["nodes"], t["orders"]
    node_ids = set(nodes["node_id"])
    pickup_nodes = set(nodes.loc[nodes["pickup_enabled"], "node_id"])
    pickup = (orders["service"] == Service.PICKUP.value).to_numpy()
    has_zip = (orders["ship_zip"] != "").to_numpy()
    has_node = (orders["pickup_node_id"] != "").to_numpy()
    zip_known = zip_table().known(orders["ship_zip"].to_numpy(str))
    node = orders["pickup_node_id"]
    return [
        ("orders", "pickup_node_id", pickup & ~has_node, "required when service is pickup"),
        ("orders", "pickup_node_id", ~pickup & has_node, "only allowed when service is pickup"),
        ("orders", "ship_zip", ~pickup & ~has_zip, "required for shipping services"),
        ("orders", "ship_zip", has_zip & ~zip_known, "unknown US ZIP"),
        ("orders", "pickup_node_id", has_node & ~node.isin(node_ids).to_numpy(), "unknown node_id"),
        (
            "orders",
            "pickup_node_id",
            has_node & node.isin(node_ids - pickup_nodes).to_numpy(),
            "node is not pickup_enabled",
        ),
    ]


def _check_rates(t: dict[str, pd.DataFrame], file: str, problems: list[Problem]) -> None:
    """Every shipping service the orders use has a rate in every zone."""
    orders, rates = t["orders"], t["rate_card"]
    pickup = orders["service"] == Service.PICKUP.value
    used = set(orders.loc[~pickup, "service"]) & {s.value for s in SHIPPING_SERVICES}
    have = set(zip(rates["service"], rates["zone"], strict=True))
    for service in sorted(used):
        missing = [z for z in ZONES if (service, z) not in have]
        if missing:
            problems.append(
                Problem(
                    file,
                    f"no rate for service {service!r} in "
                    f"zone(s) {missing}; orders use this service",
                    column="zone",
                )
            )


def write_batch(
    batch: Batch, folder: str | Path, fmt: Format = "csv", *, force: bool = False
) -> Path:
    """Write a batch folder (tables in ``fmt``); returns the folder.

    An existing folder is replaced only when it is a batch of ours (or empty),
    or with ``force``; see ``data.atomic``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    with atomic_folder(folder, BATCH_LAYOUT, force=force) as scratch:
        _write_tables(batch, scratch, fmt)
    return Path(folder)


def _write_tables(batch: Batch, folder: Path, fmt: Format) -> None:
    for name in TABLES:
        table = batch.table(name)
        sparse_unused = [c for c in SPARSE_COLUMNS if c not in table or not table[c].any()]
        columns = [c for c in all_columns(name) if c not in sparse_unused]
        df = table.loc[:, columns]
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            out = df.copy()
            for col in out.columns:
                if out[col].dtype == bool:
                    out[col] = out[col].map({True: "true", False: "false"})
            out.to_csv(path, index=False)
        else:
            df.to_parquet(path, index=False)
    meta = {
        "batch_date": batch.batch_date.isoformat(),
        "weights": batch.weights.model_dump(),
        "rate_card": f"rate_card.{fmt}",
    }
    (folder / BATCH_JSON).write_text(json.dumps(meta, indent=2) + "\n")


def check_calendars(nodes: pd.DataFrame, file: str, problems: list[Problem]) -> None:
    """Each node's calendar settings must make a calendar (real dates, a known
    holiday calendar, some working weekday): promises read them."""
    from promise.calendar import CalendarError, NodeCalendar

    columns = ("cutoff_hour", "closed_weekdays", "holiday_calendar", "closed_dates", "open_dates")
    if not set(columns) <= set(nodes.columns):
        return
    settings = nodes.loc[:, list(columns)].drop_duplicates()
    for row in settings.itertuples():
        try:
            NodeCalendar.from_settings("UTC", *row[1:])
        except (CalendarError, ValueError, TypeError) as exc:
            column, _, message = str(exc).partition(": ")
            problems.append(
                Problem(file, message or str(exc), int(row[0]) + 1, column if message else None)
            )
