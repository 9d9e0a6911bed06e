"""SQL of weight profiles, their activations, and the batch each sourcing run planned.

Profiles are append-only: a name's versions 1, 2, ... are never changed, so a
plan, a what-if or an audit line that names ``late-heavy@2`` always means the
same weights. The active profile is the latest activation; every activation is
a row (who, when, which version, from which). Each sourcing run's batch is kept
as Parquet blobs (the last few runs), so a what-if re-plans exactly what the
run planned.
"""

import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

KEEP_RUN_BATCHES = 3

DDL = (
    """CREATE TABLE IF NOT EXISTS weight_profiles (
        name TEXT NOT NULL CHECK (regexp_full_match(name, '[a-z0-9][a-z0-9_.-]{0,39}')),
        version INTEGER NOT NULL CHECK (version >= 1),
        weights JSON NOT NULL,
        note TEXT,
        created_by TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (name, version))""",
    """CREATE TABLE IF NOT EXISTS weight_activations (
        seq INTEGER NOT NULL PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        from_name TEXT,
        from_version INTEGER,
        actor TEXT NOT NULL,
        activated_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sourcing_run_batches (
        run_id TEXT NOT NULL,
        table_name TEXT NOT NULL,
        strategy TEXT NOT NULL,
        batch_date DATE NOT NULL,
        data BLOB NOT NULL,
        saved_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (run_id, table_name))""",
)


def ensure_tables(cur: duckdb.DuckDBPyConnection) -> None:
    for stmt in DDL:
        cur.execute(stmt)


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    name, version, weights, note, by, at = r
    return {
        "name": name,
        "version": int(version),
        "weights": json.loads(weights) if isinstance(weights, str) else weights,
        "note": note,
        "created_by": by,
        "created_at": at,
    }


_COLS = "name, version, weights, note, created_by, created_at"


def list_profiles(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The latest version of every profile, by name."""
    rows = cur.execute(
        f"SELECT {_COLS} FROM weight_profiles "
        "QUALIFY version = max(version) OVER (PARTITION BY name) ORDER BY name"
    ).fetchall()
    return [_row(r) for r in rows]


def get_profile(
    cur: duckdb.DuckDBPyConnection, name: str, version: int | None = None
) -> dict[str, Any] | None:
    if version is None:
        r = cur.execute(
            f"SELECT {_COLS} FROM weight_profiles WHERE name = ? ORDER BY version DESC LIMIT 1",
            [name],
        ).fetchone()
    else:
        r = cur.execute(
            f"SELECT {_COLS} FROM weight_profiles WHERE name = ? AND version = ?", [name, version]
        ).fetchone()
    return None if r is None else _row(r)


def versions(cur: duckdb.DuckDBPyConnection, name: str) -> list[dict[str, Any]]:
    rows = cur.execute(
        f"SELECT {_COLS} FROM weight_profiles WHERE name = ? ORDER BY version", [name]
    ).fetchall()
    return [_row(r) for r in rows]


def add_version(
    cur: duckdb.DuckDBPyConnection,
    name: str,
    weights: Mapping[str, float],
    note: str | None,
    actor: str,
) -> dict[str, Any]:
    """Append the next version of ``name`` (1 for a new name)."""
    nxt = cur.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM weight_profiles WHERE name = ?", [name]
    ).fetchone()
    version = int(nxt[0]) if nxt else 1
    cur.execute(
        "INSERT INTO weight_profiles VALUES (?, ?, ?, ?, ?, ?)",
        [name, version, json.dumps(dict(weights)), note, actor, datetime.now(UTC)],
    )
    out = get_profile(cur, name, version)
    assert out is not None
    return out


def active(cur: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The latest activation row, or None if no profile was ever activated."""
    r = cur.execute(
        "SELECT seq, name, version, from_name, from_version, actor, activated_at "
        "FROM weight_activations ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if r is None:
        return None
    keys = ("seq", "name", "version", "from_name", "from_version", "actor", "activated_at")
    return dict(zip(keys, r, strict=True))


def activations(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = cur.execute(
        "SELECT seq, name, version, from_name, from_version, actor, activated_at "
        "FROM weight_activations ORDER BY seq"
    ).fetchall()
    keys = ("seq", "name", "version", "from_name", "from_version", "actor", "activated_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def record_activation(
    cur: duckdb.DuckDBPyConnection, name: str, version: int, actor: str
) -> dict[str, Any]:
    prev = active(cur)
    seq = int(prev["seq"]) + 1 if prev else 1
    cur.execute(
        "INSERT INTO weight_activations VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            seq,
            name,
            version,
            prev["name"] if prev else None,
            prev["version"] if prev else None,
            actor,
            datetime.now(UTC),
        ],
    )
    out = active(cur)
    assert out is not None
    return out


def save_run_batch(
    cur: duckdb.DuckDBPyConnection,
    run_id: str,
    strategy: str,
    batch_date: Any,
    tables: Mapping[str, pd.DataFrame],
) -> None:
    """Keep the tables a run planned (Parquet blobs); older runs' beyond the last few go."""
    now = datetime.now(UTC)
    for name, frame in tables.items():
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        cur.execute(
            "INSERT OR REPLACE INTO sourcing_run_batches VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, name, strategy, batch_date, buf.getvalue(), now],
        )
    cur.execute(
        "DELETE FROM sourcing_run_batches WHERE run_id NOT IN (SELECT run_id FROM "
        "(SELECT run_id, max(saved_at) AS t FROM sourcing_run_batches GROUP BY run_id "
        f"ORDER BY t DESC LIMIT {KEEP_RUN_BATCHES}))"
    )


def last_run_batch(
    cur: duckdb.DuckDBPyConnection,
) -> tuple[str, str, Any, dict[str, pd.DataFrame]] | None:
    """(run_id, strategy, batch_date, tables) of the latest saved run, or None."""
    r = cur.execute(
        "SELECT run_id FROM sourcing_run_batches ORDER BY saved_at DESC, run_id DESC LIMIT 1"
    ).fetchone()
    if r is None:
        return None
    rows = cur.execute(
        "SELECT table_name, strategy, batch_date, data FROM sourcing_run_batches WHERE run_id = ?",
        [r[0]],
    ).fetchall()
    tables = {name: pd.read_parquet(io.BytesIO(data)) for name, _, _, data in rows}
    return r[0], rows[0][1], rows[0][2], tables
