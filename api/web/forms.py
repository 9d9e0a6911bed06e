"""Reading untrusted query strings and form fields without ever failing with a 500.

Every helper returns a value or raises ``InvalidInput`` naming the field, which
the pages show as a message (422) instead of a traceback.
"""

import re
from collections.abc import Mapping
from typing import Any

from models.lifecycle_errors import FieldError, InvalidInput

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]*$")


def text(data: Mapping[str, str], name: str, max_len: int = 200) -> str:
    """A trimmed printable string ('' when absent); too long or with control chars: refused."""
    value = str(data.get(name, "") or "").strip()
    if len(value) > max_len or not PRINTABLE.match(value):
        raise InvalidInput([FieldError(name, f"at most {max_len} printable characters")])
    return value


def _within(
    data: Mapping[str, str], name: str, low: float, high: float, cast: type, noun: str
) -> Any:
    raw = text(data, name, 20)
    try:
        value = cast(raw)
    except ValueError:
        raise InvalidInput([FieldError(name, f"{noun}, not {raw[:20]!r}")]) from None
    if not low <= value <= high:  # also refuses nan
        raise InvalidInput([FieldError(name, f"between {low:g} and {high:g}")])
    return value


def integer(data: Mapping[str, str], name: str, low: int, high: int) -> int:
    return int(_within(data, name, low, high, int, "a whole number"))


def number(data: Mapping[str, str], name: str, low: float, high: float) -> float:
    return float(_within(data, name, low, high, float, "a number"))


def ident(value: str, name: str) -> str:
    if not ID.match(value):
        raise InvalidInput([FieldError(name, "letters, digits and . _ : - only (1 to 64)")])
    return value


def choice(data: Mapping[str, str], name: str, allowed: tuple[str, ...] | list[str]) -> str:
    value = text(data, name, 64)
    if value not in allowed:
        raise InvalidInput([FieldError(name, f"one of {', '.join(allowed)}")])
    return value


def version(data: Mapping[str, str]) -> str:
    """The order version the page was drawn from, as an If-Match ETag."""
    return f'"{integer(data, "version", 1, 10**9)}"'
