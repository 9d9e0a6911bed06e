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
    """Cells as stripped strings; missing cells become ''."""
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        return col.fillna("").astype(str).str.strip()
    out = col.astype(object).where(col.notna(), "")
    return out.astype(str).str.strip()


def coerce_column(
    col: pd.Series, rule: ColumnRule, file: str, problems: list[Problem]
) -> pd.Series:
    """Parse one column to its canonical dtype, appending a Problem per bad cell."""
    text_like = col.dtype == object or pd.api.types.is_string_dtype(col)
    empty = col.isna() | (_as_text(col) == "") if text_like else col.isna()

    def report(mask: pd.Series | np.ndarray, message: str) -> None:
        rows = np.flatnonzero(np.asarray(mask))
        for r in rows[:MAX_PROBLEMS_PER_COLUMN]:
            value = col.iloc[r]
            problems.append(Problem(file, f"{message} (got {value!r})", int(r) + 1, rule.name))
        if len(rows) > MAX_PROBLEMS_PER_COLUMN:
            problems.append(
                Problem(
                    file, f"{len(rows) - MAX_PROBLEMS_PER_COLUMN} more bad cells", None, rule.name
                )
            )

    if not rule.nullable:
        report(empty, "a value is required")

    kind = rule.kind
    if isinstance(kind, type) and issubclass(kind, Enum):
        text = _as_text(col).str.lower()
        allowed = {str(e.value) for e in kind}
        report(~empty & ~text.isin(allowed), f"must be one of {sorted(allowed)}")
        return text
    if kind is bool:
        if col.dtype == bool:
            return col
        text = _as_text(col).str.lower()
        ok = text.isin(TRUE_WORDS | FALSE_WORDS)
        report(~empty & ~ok, "must be true or false")
        parsed = text.isin(TRUE_WORDS)
        return parsed | empty if rule.default else parsed
    if kind in (int, float):
        text = _as_text(col)
        source = text.where(text != "") if text_like else col  # "" -> NaN, no downcasting
        num = pd.to_numeric(source, errors="coerce")
        bad = ~empty & (num.isna() | ~np.isfinite(num.astype(float)))
        report(bad, f"must be {'an integer' if kind is int else 'a number'}")
        if kind is int:
            frac = ~bad & ~empty & (num.astype(float) % 1 != 0)
            report(frac, "must be a whole number")
            bad = bad | frac
        valid = ~bad & ~empty
        for bound, op, word in (
            (rule.ge, np.less, ">="),
            (rule.gt, np.less_equal, ">"),
            (rule.le, np.greater, "<="),
        ):
            if bound is not None:
                report(valid & op(num.astype(float), bound), f"must be {word} {bound}")
        if kind is int:
            if rule.nullable and rule.default is None:
                return num.where(valid).astype("Int64")
            filler = 0 if rule.default is None else rule.default
            return num.where(valid, filler).astype(np.int64)
        filler = 0.0 if rule.default is None else float(rule.default)
        return num.where(valid, filler).astype(np.float64)
    # Strings (ids, ZIPs).
    text = _as_text(col)
    if isinstance(rule.default, str) and rule.default:
        text = text.where(~empty, rule.default)  # an empty optional cell takes the default
    if rule.pattern is not None:
        if rule.pattern == ZIP_PATTERN and pd.api.types.is_numeric_dtype(col.dtype):
            text = text.str.zfill(5)  # a ZIP stored as a number lost its leading zeros
        message = PATTERN_MESSAGES.get(rule.pattern, f"must match {rule.pattern}")
        report(~empty & ~text.str.fullmatch(rule.pattern), message)
    if rule.max_length is not None:
        report(text.str.len() > rule.max_length, f"must be at most {rule.max_length} chars")
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
