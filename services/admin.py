"""Promotions (merchandisers), API keys (admins), start-up and bulk loads.

API keys are stored hashed (SHA-256): a leaked database does not leak keys.
"""

import hashlib
import secrets
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from data.lifecycle_db import Database
from data.lifecycle_repo import LifecycleRepo, known_api_key
from models.api import (
    Actor,
    ApiKeyIn,
    ApiKeyView,
    Page,
    PromotionIn,
    PromotionPatch,
    PromotionView,
    Role,
)
from models.commerce import Promotion
from models.lifecycle_errors import Conflict, FieldError, InvalidInput, NotFound, Unauthenticated
from services.pagination import MAX_LIMIT, decode_cursor, encode_cursor


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_row(db: Database, digest: str) -> dict[str, Any] | None:
    """An active key's row: from the repository's key cache when it is fresh (no
    cursor, no transaction: every request authenticates), else from the store."""
    return known_api_key(db.cache, digest) or db.read(lambda r: r.api_key(digest))


def authenticate(db: Database, key: str | None) -> Actor:
    if not key:
        raise Unauthenticated("send an API key in the X-API-Key header")
    digest = hash_key(key)
    row = key_row(db, digest)
    if row is None:
        raise Unauthenticated("unknown or revoked API key")
    name = row["label"] or f"{row['role']}-key-{digest[:8]}"
    return Actor(name=name, role=Role(row["role"]), node_id=row["node_id"], key_id=digest)


def create_key(db: Database, req: ApiKeyIn, key: str | None = None) -> ApiKeyView:
    """A new key for a role (node keys name their node); the key is returned only now."""
    if (req.role is Role.NODE) != (req.node_id is not None):
        raise InvalidInput([FieldError("node_id", "required for node keys, only for them")])
    key = key or f"dom_{secrets.token_urlsafe(24)}"

    def work(repo: LifecycleRepo) -> None:
        if req.node_id is not None and repo.node(req.node_id) is None:
            raise InvalidInput([FieldError("node_id", f"unknown node {req.node_id!r}")])
        repo.put_api_key(hash_key(key), req.role.value, req.node_id, req.label)

    db.write(work)
    return ApiKeyView(key=key, role=req.role, node_id=req.node_id, label=req.label)


def _put_key(
    key_hash: str, role: str, node_id: str | None, label: str
) -> Callable[[LifecycleRepo], None]:
    return lambda repo: repo.put_api_key(key_hash, role, node_id, label)


def seed_keys(db: Database, keys: dict[str, str]) -> None:
    """Keys from settings: ``{key: role}`` or ``{key: "node:NODE_ID"}``."""
    for key, spec in keys.items():
        role, _, node = spec.partition(":")
        label = f"{role}{'@' + node if node else ''}"
        db.write(_put_key(hash_key(key), Role(role).value, node or None, label))


def _promo_view(row: dict) -> PromotionView:
    return PromotionView(**{k: row[k] for k in PromotionView.model_fields})


def _promotion_error(req: PromotionIn, error: Any) -> FieldError:
    """A field error of the promotion rules, named by the field it is about."""
    message = str(error["msg"]).removeprefix("Value error, ")
    field = ".".join(str(p) for p in error["loc"])
    if not field:  # a rule across fields: name the one the message is about
        field = "value" if "value" in message else "ends_on"
    return FieldError(field, message)


def create_promotion(db: Database, req: PromotionIn) -> PromotionView:
    try:
        Promotion(**req.model_dump())
    except ValidationError as exc:
        raise InvalidInput(
            [_promotion_error(req, e) for e in exc.errors()], "the promotion is not valid"
        ) from None

    def work(repo: LifecycleRepo) -> PromotionView:
        if repo.promotion(req.code) is not None:
            raise Conflict(f"promotion {req.code} already exists")
        repo.add_promotion(req.model_dump(mode="python") | {"kind": req.kind.value})
        row = repo.promotion(req.code)
        assert row is not None
        return _promo_view(row)

    return db.write(work)


def patch_promotion(db: Database, code: str, req: PromotionPatch) -> PromotionView:
    def work(repo: LifecycleRepo) -> PromotionView:
        row = repo.promotion(code)
        if row is None:
            raise NotFound(f"no promotion {code!r}")
        changes = req.model_dump(exclude_unset=True)
        merged = {**row, **changes}
        if merged["ends_on"] and merged["starts_on"] and merged["ends_on"] < merged["starts_on"]:
            raise InvalidInput([FieldError("ends_on", "is before starts_on")])
        repo.update_promotion(row["code"], changes)
        found = repo.promotion(code)
        assert found is not None
        return _promo_view(found)

    return db.write(work)


def get_promotion(db: Database, code: str) -> PromotionView:
    row = db.read(lambda r: r.promotion(code))
    if row is None:
        raise NotFound(f"no promotion {code!r}")
    return _promo_view(row)


def list_promotions(db: Database, limit: int, cursor: str | None) -> Page[PromotionView]:
    limit = max(1, min(limit, MAX_LIMIT))
    after = decode_cursor(cursor, str)
    rows = db.read(lambda r: r.promotions(str(after[0]) if after else None, limit + 1))
    items = [_promo_view(r) for r in rows[:limit]]
    nxt = encode_cursor([items[-1].code]) if len(rows) > limit else None
    return Page[PromotionView](items=items, next_cursor=nxt)


def start(db: Database) -> int:
    """Start-up chores: adopt batch-loaded orders, fail runs a crash interrupted."""
    from services.sourcing import recover_interrupted_runs

    db.write(lambda r: r.adopt_orders())
    return recover_interrupted_runs(db)


def load_batch_dir(db: Database, folder: str | Path) -> str:
    """Load a batch folder (network, stock and its orders) into the running store."""
    from data.batch_io import read_batch

    batch = read_batch(folder)
    with db.run_lock:
        batch_id = db.store.load_batch(batch, source=str(folder))
    db.cache.clear()
    db.write(lambda r: r.adopt_orders())
    return batch_id


def seed_demo(db: Database, orders: int, seed: int = 7) -> str:
    """Generate a realistic network and ``orders`` open orders into the store."""
    from data.generator import generate_batch

    batch = generate_batch(orders, seed=seed, batch_date=date.today())
    with db.run_lock:
        batch_id = db.store.load_batch(batch, source=f"demo:{orders}:{seed}")
    db.cache.clear()
    db.write(lambda r: r.adopt_orders())
    return batch_id
