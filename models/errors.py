"""The package's exceptions. Every layer raises these; only ``api/`` turns them
into HTTP problems and only ``cli/`` into a red message with exit code 1."""

from dataclasses import dataclass


class DomError(Exception):
    """Base of every error this product raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, and where: file, row (1-based data row), column."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    count: int = 1  # bad cells this entry stands for ("250 more bad cells": 250)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f" column '{self.column}'"
        return f"{where}: {self.message}"


class BatchValidationError(DomError):
    """A batch (files or tables) breaks the contract; nothing was loaded."""

    def __init__(self, problems: list[Problem], limit: int = 20) -> None:
        self.problems = problems
        total = sum(p.count for p in problems)
        shown = problems[:limit]
        lines = "\n".join(f"  - {p}" for p in shown)
        left = total - sum(p.count for p in shown)
        more = f"\n  ... and {left} more" if left else ""
        rows = (
            " (rows are data rows: row 1 is the line after the header)"
            if any(p.row is not None for p in shown)
            else ""
        )
        super().__init__(f"{total} problem(s) in the batch{rows}:\n{lines}{more}")


class PlanValidationError(DomError):
    """A plan file is malformed (not: breaks a hard rule; the checker reports those)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:20]))
