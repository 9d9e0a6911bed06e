"""Where the ``dom`` command prints: consoles, progress lines, error messages.

Kept free of the product's heavy packages so that ``dom --help`` starts fast.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


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
def stage(progress: "Progress", label: str) -> Iterator[None]:
    """One line of the progress display per stage of long work."""
    task = progress.add_task(label, total=1)
    yield
    progress.update(task, completed=1)
