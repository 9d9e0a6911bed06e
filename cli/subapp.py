"""What the sub-command modules share: consoles and the DomError-to-exit-1 wrapper.

Kept apart from ``cli.main`` so that a sub-app can be imported (and registered)
without importing the main module's heavy dependencies.
"""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """A DomError is one red message and exit code 1; Ctrl-C is a short note and exit 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from models.errors import DomError

        try:
            return func(*args, **kwargs)
        except DomError as exc:
            err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/yellow]: nothing was written")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
