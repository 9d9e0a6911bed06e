"""What the sub-command modules share: consoles and the one error path.

Kept apart from ``cli.main`` so that a sub-app can be imported (and registered)
without importing the main module's heavy dependencies. ``friendly`` is
``cli.errors.friendly_errors``: one red message and exit 1 for every user mistake.
The consoles are made on first use (importing rich costs ``dom --help`` ~60 ms).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cli import ui
from cli.errors import friendly_errors as friendly

if TYPE_CHECKING:
    from rich.console import Console


class _OnFirstUse:
    """Stands in for a rich Console and makes it when an attribute is first asked for."""

    def __init__(self, make: Callable[[], "Console"]) -> None:
        self._make = make
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            self._console = self._make()
        return getattr(self._console, name)


console: "Console" = _OnFirstUse(ui.out)  # type: ignore[assignment]
err_console: "Console" = _OnFirstUse(ui.err)  # type: ignore[assignment]

__all__ = ["console", "err_console", "friendly"]
