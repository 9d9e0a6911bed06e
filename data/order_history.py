"""When each order of a batch folder was placed: the ``created_at`` column of its orders file.

A scenario can replay a real order history: a batch folder (network, stock,
orders) whose orders table also has ``created_at`` (an ISO timestamp). The
batch itself is read and validated by ``data.batch_io``; this reads the one
column that the contract does not have.
"""

from pathlib import Path

import pandas as pd

from models.errors import BatchValidationError, Problem

COLUMN = "created_at"


def read_order_times(folder: str | Path) -> pd.Series:
    """order_id -> created_at (naive local time); errors name the file, row and column."""
    folder = Path(folder)
    for ext in ("csv", "parquet"):
        path = folder / f"orders.{ext}"
        if path.exists():
            break
    else:
        raise BatchValidationError([Problem("orders.csv", f"file is missing from {folder}")])
    raw = (
        pd.read_csv(path, dtype=str, keep_default_na=False)
        if ext == "csv"
        else pd.read_parquet(path)
    )
    if COLUMN not in raw.columns:
        raise BatchValidationError(
            [Problem(path.name, "an order history needs the order times", column=COLUMN)]
        )
    when = pd.to_datetime(raw[COLUMN], errors="coerce", format="ISO8601")
    if when.dt.tz is not None:
        when = when.dt.tz_localize(None)
    bad = when.isna().to_numpy().nonzero()[0]
    if len(bad):
        raise BatchValidationError(
            [
                Problem(path.name, f"not an ISO timestamp: {raw[COLUMN].iloc[i]!r}", i + 1, COLUMN)
                for i in bad[:10]
            ]
        )
    return pd.Series(when.to_numpy(), index=raw["order_id"].astype(str).to_numpy(), name=COLUMN)
