"""Opaque keyset cursors: a page ends at a key, the next starts after it.

Keyset (not offset) pagination stays correct while orders keep arriving and
costs the same on page 1 and page 1,000.
"""

import base64
import json
from typing import Any

from models.lifecycle_errors import FieldError, InvalidInput

MAX_LIMIT = 500


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    """The key a cursor holds, or InvalidInput naming the ``cursor`` parameter."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != size
        or not all(isinstance(k, str | int) and not isinstance(k, bool) for k in key)
    ):
        raise InvalidInput([FieldError("cursor", "not a cursor this list handed out")])
    return key
