"""Where the ``dom`` command prints: consoles, progress lines, error messages.

Kept free of the product's heavy packages so that ``dom --help`` starts fast.
"""

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from planner.optimize.budget import Found


def out() -> "Console":
    """Standard output, made when used (importing rich would cost ``--help`` 60 ms) and
    sized from the terminal or ``COLUMNS`` at that moment."""
    from rich.console import Console

    return Console()


def err() -> "Console":
    """Standard error: problems and violations."""
    from rich.console import Console

    return Console(stderr=True)


def error(message: str) -> None:
    """One red line (or block) on stderr: how every user mistake is shown."""
    from rich.markup import escape

    err().print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)


def progress_bar() -> "Progress":
    """One line per stage of long work, with the seconds it took."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=out(),
        transient=False,
    )


@contextmanager
def stage(progress: "Progress", label: str) -> Iterator["TaskID"]:
    """One line of the progress display per stage of long work (its task, to update)."""
    task = progress.add_task(label, total=1)
    yield task
    progress.update(task, completed=1)


def status_line(progress: "Progress") -> "Callable[[str], None]":
    """A line under the current stage that long work rewrites as it goes (made on
    first use: work that reports nothing adds no line)."""
    task: list[TaskID] = []

    def show(text: str) -> None:
        if not task:
            task.append(progress.add_task("", total=None))
        progress.update(task[0], description=f"  {text}")

    return show


def solve_status(found: "Found", left: float) -> str:
    """One line on the optimizer while it runs: time left, gap, best plan, bound, phase.

    Most telling first: on an 80-column terminal a long phase name and a 100k batch's
    dollar figures overflow the line, and only the phase's tail should be cut."""
    parts = [f"{max(0.0, left):.0f} s left"]
    if (gap := found.gap) is not None:
        parts.append(f"gap {100 * gap:.2f} %")
    if found.plan is not None:
        parts.append(f"best ${found.total:,.0f}")
    if found.bound > -math.inf:
        parts.append(f"bound ${found.bound:,.0f}")
    parts.append(found.phase)
    return " · ".join(parts)
