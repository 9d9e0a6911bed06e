"""The embedded DuckDB store (see ``data.store.store``) and its schema (``data.store.schema``)."""

from data.store.schema import LATEST_VERSION, MIGRATIONS, OPEN_STATUSES, Migration, SchemaError
from data.store.store import (
    DB_PATH_ENV,
    MEMORY,
    DuplicateKeyError,
    NotFoundError,
    OrderEvent,
    PlanInfo,
    Store,
    StoreError,
    default_db_path,
)

__all__ = [
    "DB_PATH_ENV",
    "LATEST_VERSION",
    "MEMORY",
    "MIGRATIONS",
    "OPEN_STATUSES",
    "DuplicateKeyError",
    "Migration",
    "NotFoundError",
    "OrderEvent",
    "PlanInfo",
    "SchemaError",
    "Store",
    "StoreError",
    "default_db_path",
]
