"""Column rules for batch tables, derived from the pydantic row models.

The row models in ``models/`` are the single statement of each field's type
and bounds. A batch can hold millions of rows, far too many to validate one
model at a time, so this module reads the models' field definitions once and
applies them column-wise with pandas, reporting every bad cell by row.
"""

import types
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types as at
import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, StringConstraints

from models import InventoryPosition, Item, Node, Order, OrderLine, RateCardRow
from models.errors import Problem
from models.scalars import PATTERN_MESSAGES, ZIP_PATTERN

ROW_MODELS: dict[str, type[BaseModel]] = {
    "nodes": Node,
    "items": Item,
    "inventory": InventoryPosition,
    "orders": Order,
    "order_lines": OrderLine,
    "rate_card": RateCardRow,
}

TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n"})
MAX_PROBLEMS_PER_COLUMN = 50


def plain(value: Any) -> Any:
    """A cell as the user wrote it: -3, not np.int64(-3), in messages."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class ColumnRule:
    """What one column must hold."""

    name: str
    kind: type  # str, int, float, bool, or an Enum subclass
    required: bool  # the column must be present
    nullable: bool  # a cell may be empty
    default: Any
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    pattern: str | None = None
    max_length: int | None = None


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any], bool]:
    """Strip ``X | None`` and ``Annotated[X, ...]`` down to X plus its constraints."""
    nullable = False
    meta = list(metadata)
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(get_args(annotation))
        annotation = args[0]
    if get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        for e in extra:
            meta.extend(getattr(e, "metadata", [e]))
        annotation = base
    return annotation, meta, nullable


def rules_for(table: str) -> list[ColumnRule]:
    """Column rules of one table, in model field order."""
    rules = []
    for name, info in ROW_MODELS[table].model_fields.items():
        kind, meta, nullable = _unwrap(info.annotation, info.metadata)
        rule: dict[str, Any] = {}
        for m in meta:
            if isinstance(m, at.Ge):
                rule["ge"] = m.ge
            elif isinstance(m, at.Gt):
                rule["gt"] = m.gt
            elif isinstance(m, at.Le):
                rule["le"] = m.le
            elif isinstance(m, StringConstraints):
                rule["pattern"] = m.pattern
                rule["max_length"] = m.max_length
        required = info.is_required()
        default = None if required else info.default
        rules.append(
            ColumnRule(
                name=name,
                kind=kind,
                required=required,
                nullable=nullable or not required,
                default=default,
                **rule,
            )
        )
    return rules


def _as_text(col: pd.Series) -> pd.Series:
    """Cells as stripped strings held by Arrow, missing cells ''.

    Arrow's string kernels run in C: pandas' object strings cost a Python call per cell
    (12 s for a 100,000-order batch, against well under one)."""
    if not _text_like(col):
        col = col.astype(object).where(col.notna(), "").astype(str)
    text = col.astype(ARROW_TEXT)
    return text.fillna("").str.strip()


ARROW_TEXT = pd.StringDtype("pyarrow")


def _text_like(col: pd.Series) -> bool:
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def _flags(mask: pd.Series | np.ndarray) -> npt.NDArray[np.bool_]:
    """A mask as plain numpy booleans (Arrow's may hold NA: read as False)."""
    if isinstance(mask, pd.Series):
        return mask.to_numpy(dtype=bool, na_value=False)
    return np.asarray(mask, dtype=bool)


def coerce_column(
    col: pd.Series, rule: ColumnRule, file: str, problems: list[Problem]
) -> pd.Series:
    """Parse one column to its canonical dtype, appending a Problem per bad cell."""
    text_like = _text_like(col)
    # Stripped once: the checks below all read it (numbers stored as numbers need none).
    native = not text_like and (
        rule.kind in (int, float) or (rule.kind is bool and col.dtype == bool)
    )
    text = None if native else _as_text(col)
    empty = _flags(col.isna())
    if text_like and text is not None:
        empty |= _flags(text == "")

    def report(mask: pd.Series | np.ndarray, message: str) -> None:
        rows = np.flatnonzero(_flags(mask))
        for r in rows[:MAX_PROBLEMS_PER_COLUMN]:
            value = plain(col.iloc[r])
            problems.append(Problem(file, f"{message} (got {value!r})", int(r) + 1, rule.name))
        if len(rows) > MAX_PROBLEMS_PER_COLUMN:
            left = len(rows) - MAX_PROBLEMS_PER_COLUMN
            problems.append(
                Problem(file, f"{left} more bad cells: {message}", None, rule.name, count=left)
            )

    if not rule.nullable:
        report(empty, "a value is required")

    kind = rule.kind
    if isinstance(kind, type) and issubclass(kind, Enum):
        assert text is not None
        lower = text.str.lower()
        allowed = {str(e.value) for e in kind}
        report(~empty & ~_flags(lower.isin(allowed)), f"must be one of {sorted(allowed)}")
        return lower.astype(object)
    if kind is bool:
        if col.dtype == bool:
            return col
        assert text is not None
        lower = text.str.lower()
        ok = _flags(lower.isin(TRUE_WORDS | FALSE_WORDS))
        report(~empty & ~ok, "must be true or false")
        parsed = pd.Series(_flags(lower.isin(TRUE_WORDS)), index=col.index)
        return parsed | empty if rule.default else parsed
    if kind in (int, float):
        if text_like:
            assert text is not None
            # "" -> NaN, no downcasting; pandas parses object strings in C.
            source = text.where(~empty).to_numpy(dtype=object, na_value=np.nan)
            num = pd.Series(pd.to_numeric(source, errors="coerce"), index=col.index)
        else:
            num = pd.to_numeric(col, errors="coerce")
        bad = ~empty & _flags(num.isna() | ~np.isfinite(num.astype(float)))
        report(bad, f"must be {'an integer' if kind is int else 'a number'}")
        if kind is int and not pd.api.types.is_integer_dtype(num.dtype):
            frac = ~bad & ~empty & _flags(num.astype(float) % 1 != 0)
            report(frac, "must be a whole number")
            bad = bad | frac
        valid = ~bad & ~empty
        for bound, op, word in (
            (rule.ge, np.less, ">="),
            (rule.gt, np.less_equal, ">"),
            (rule.le, np.greater, "<="),
        ):
            if bound is not None:
                report(valid & _flags(op(num.astype(float), bound)), f"must be {word} {bound}")
        if kind is int:
            if rule.nullable and rule.default is None:
                return num.where(valid).astype("Int64")
            filler = 0 if rule.default is None else rule.default
            return num.where(valid, filler).astype(np.int64)
        filler = 0.0 if rule.default is None else float(rule.default)
        return num.where(valid, filler).astype(np.float64)
    # Strings (ids, ZIPs).
    assert text is not None
    if isinstance(rule.default, str) and rule.default:
        text = text.where(~empty, rule.default)  # an empty optional cell takes the default
    if rule.pattern is not None:
        if rule.pattern == ZIP_PATTERN and pd.api.types.is_numeric_dtype(col.dtype):
            text = text.str.zfill(5)  # a ZIP stored as a number lost its leading zeros
        message = PATTERN_MESSAGES.get(rule.pattern, f"must match {rule.pattern}")
        report(~empty & ~_flags(text.str.fullmatch(rule.pattern)), message)
    if rule.max_length is not None:
        report(_flags(text.str.len() > rule.max_length), f"must be at most {rule.max_length} chars")
    return text.astype(object)


def validate_table(
    raw: pd.DataFrame, table: str, file: str, problems: list[Problem]
) -> pd.DataFrame:
    """Canonical frame for one table: known columns only, parsed, in model order."""
    raw = raw.rename(columns=lambda c: str(c).strip())
    out: dict[str, pd.Series] = {}
    n = len(raw)
    for rule in rules_for(table):
        if rule.name not in raw.columns:
            if rule.required:
                problems.append(Problem(file, "required column is missing", None, rule.name))
                continue
            raw_col = pd.Series([None] * n, dtype=object)
        else:
            raw_col = raw[rule.name].reset_index(drop=True)
        out[rule.name] = coerce_column(raw_col, rule, file, problems)
    return pd.DataFrame(out)
