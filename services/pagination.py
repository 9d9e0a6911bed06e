"""Opaque keyset cursors: a page ends at a key, the next starts after it.

Keyset (not offset) pagination stays correct while orders keep arriving and
costs the same on page 1 and page 1,000. A cursor comes back from the client,
so it is input like any other: its shape *and* the type of each part are
checked before any of it reaches SQL (a forged cursor is a 422, not a 500).
"""

import base64
import json
from datetime import datetime
from typing import Any

from models.lifecycle_errors import FieldError, InvalidInput

MAX_LIMIT = 500
MAX_PART = 200  # characters of one text part
MAX_INT = 2**63 - 1  # DuckDB BIGINT

# What one part of a key may be: text (an id), a whole number, or an aware timestamp.
KeyPart = type[str] | type[int] | type[datetime]


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _part(value: Any, kind: KeyPart) -> Any:
    """The part as ``kind``, or None when it is not one."""
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT
        return value if ok else None
    if not isinstance(value, str) or not value or len(value) > MAX_PART or "\x00" in value:
        return None
    if kind is datetime:
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return None
        return stamp if stamp.tzinfo is not None else None
    return value


def decode_cursor(cursor: str | None, *kinds: KeyPart) -> list[Any] | None:
    """The key a cursor holds, typed as ``kinds``; InvalidInput naming ``cursor`` if not."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        key = None
    parts = (
        [_part(v, k) for v, k in zip(key, kinds, strict=True)]
        if isinstance(key, list) and len(key) == len(kinds)
        else [None]
    )
    if any(p is None for p in parts):
        raise InvalidInput([FieldError("cursor", "not a cursor this list handed out")])
    return parts
