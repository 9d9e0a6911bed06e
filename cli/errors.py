"""The one error path of the ``dom`` command.

Whatever the user can get wrong (a bad file, a path, a busy port, a store in
use, Ctrl-C) ends as one red message and a non-zero exit code, never a
traceback. A traceback is left only for what is a bug of ours.
"""

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from cli.ui import error

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(Exception):
    """A command cannot go on (busy port, bad setting); its message says why."""


INTERRUPTED = 130  # the shell's code for a command stopped by SIGINT


def describe(exc: BaseException) -> str | None:
    """The message to show for an exception the user caused; None for a bug."""
    if isinstance(exc, CommandError):
        return str(exc)
    errors = sys.modules.get("models.errors")
    if errors is not None and isinstance(exc, errors.DomError):
        return str(exc)
    parallel = sys.modules.get("parallel.executor")
    if parallel is not None and isinstance(exc, parallel.TaskFailed):
        return f"work on the cluster failed: {exc}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(exc, duckdb.Error):
        return f"the store cannot be used: {exc}"
    return None


def friendly_errors(func: F) -> F:
    """Show a user's mistake as one red message and exit 1 (130 on Ctrl-C)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt:
            error("interrupted")
            raise typer.Exit(INTERRUPTED) from None
        except Exception as exc:
            message = describe(exc)
            if message is None:
                raise
            error(message)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
