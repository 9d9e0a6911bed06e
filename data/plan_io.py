"""Read and write plan folders: allocations, unfilled and summary.json.

Plans from other tools are read with the same care as batches: a malformed
file is a PlanValidationError naming the file, row and column.
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.atomic import Layout, atomic_folder
from data.columns import plain
from models import Batch
from models.errors import PlanValidationError, Problem

PLAN_COLUMNS = {
    "allocations": ("order_id", "line_no", "node_id", "qty"),
    "unfilled": ("order_id", "line_no", "qty"),
}
SUMMARY_JSON = "summary.json"
# What ``write_plan`` writes: a folder holding only these may be replaced by a new plan.
PLAN_LAYOUT = Layout(
    "plan",
    SUMMARY_JSON,
    frozenset({SUMMARY_JSON, *(f"{t}.{e}" for t in PLAN_COLUMNS for e in ("csv", "parquet"))}),
)


def write_plan(
    folder: str | Path,
    allocations: pd.DataFrame,
    unfilled: pd.DataFrame,
    summary: dict[str, Any],
    fmt: str = "csv",
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Write the three plan files at once (a reader never sees a partial plan).

    An existing folder is replaced only when it is a plan of ours (or empty), or
    with ``force``; never a file, ``.`` or an ``inputs`` folder (``data.atomic``)."""
    with atomic_folder(folder, PLAN_LAYOUT, force=force, inputs=inputs) as scratch:
        for name, frame in (("allocations", allocations), ("unfilled", unfilled)):
            frame = frame.loc[:, list(PLAN_COLUMNS[name])]
            if fmt == "parquet":
                frame.to_parquet(scratch / f"{name}.parquet", index=False)
            else:
                frame.to_csv(scratch / f"{name}.csv", index=False)
        (scratch / SUMMARY_JSON).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return Path(folder)


def _read_table(folder: Path, name: str, problems: list[Problem]) -> pd.DataFrame:
    cols = PLAN_COLUMNS[name]
    csv, pq = folder / f"{name}.csv", folder / f"{name}.parquet"
    if csv.exists():
        path, raw = csv, pd.read_csv(csv, dtype=str, keep_default_na=False)
    elif pq.exists():
        path, raw = pq, pd.read_parquet(pq)
    else:
        problems.append(Problem(f"{name}.csv", f"file is missing from {folder}"))
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    out: dict[str, pd.Series] = {}
    for col in cols:
        if col not in raw.columns:
            problems.append(Problem(path.name, "required column is missing", column=col))
            continue
        values = raw[col].reset_index(drop=True)
        if col in ("line_no", "qty"):
            num = pd.to_numeric(values, errors="coerce")
            bad = num.isna() | (num % 1 != 0) | (num < (1 if col == "qty" else 0))
            for r in np.flatnonzero(bad.to_numpy())[:20]:
                problems.append(
                    Problem(
                        path.name,
                        f"must be a whole number >= "
                        f"{1 if col == 'qty' else 0} (got {plain(values.iloc[r])!r})",
                        int(r) + 1,
                        col,
                    )
                )
            out[col] = num.fillna(0).astype(np.int64)
        else:
            text = values.astype(str).str.strip()
            for r in np.flatnonzero((text == "").to_numpy())[:20]:
                problems.append(Problem(path.name, "a value is required", int(r) + 1, col))
            out[col] = text.astype(object)
    return pd.DataFrame(out, columns=list(cols))


def _digital_lines(
    batch: Batch, folder: Path, name: str, table: pd.DataFrame, problems: list[Problem]
) -> None:
    """A digital SKU's line in a plan table: the contract keeps them out of both tables."""
    if not batch.digital_skus or table.empty:
        return
    lines = batch.order_lines[["order_id", "line_no", "sku"]]
    keyed = table[["order_id", "line_no"]].reset_index(drop=True).rename_axis("row")
    keyed = keyed.reset_index().merge(lines, on=["order_id", "line_no"])
    digital = keyed[keyed["sku"].isin(batch.digital_skus).to_numpy()].sort_values("row")
    file = next((f.name for f in folder.glob(f"{name}.*")), f"{name}.csv")
    head = digital.head(20)
    for r, order_id, line_no, sku in zip(
        head["row"].tolist(), head["order_id"], head["line_no"], head["sku"], strict=True
    ):
        problems.append(
            Problem(
                file,
                f"order {order_id} line {line_no} is digital sku {sku}: "
                "delivered electronically, it is never allocated nor unfilled",
                int(r) + 1,
                "line_no",
            )
        )


def read_plan(
    folder: str | Path, batch: Batch | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Allocations, unfilled (may be empty) and the summary (may be {}). Given the
    batch, a row naming a digital line is a problem too."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PlanValidationError([Problem(str(folder), "is not a plan folder")])
    problems: list[Problem] = []
    alloc = _read_table(folder, "allocations", problems)
    missing_unfilled = not any((folder / f"unfilled.{e}").exists() for e in ("csv", "parquet"))
    unfilled = (
        pd.DataFrame({c: pd.Series(dtype=object) for c in PLAN_COLUMNS["unfilled"]})
        if missing_unfilled
        else _read_table(folder, "unfilled", problems)
    )
    if batch is not None and not problems:
        _digital_lines(batch, folder, "allocations", alloc, problems)
        _digital_lines(batch, folder, "unfilled", unfilled, problems)
    summary: dict[str, Any] = {}
    if (folder / SUMMARY_JSON).exists():
        try:
            summary = json.loads((folder / SUMMARY_JSON).read_text())
        except json.JSONDecodeError as exc:
            problems.append(Problem(SUMMARY_JSON, f"is not valid JSON: {exc}"))
    if problems:
        raise PlanValidationError(problems)
    return alloc, unfilled, summary
