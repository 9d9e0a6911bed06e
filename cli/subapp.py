"""What the sub-command modules share: consoles and the one error path.

Kept apart from ``cli.main`` so that a sub-app can be imported (and registered)
without importing the main module's heavy dependencies. ``friendly`` is
``cli.errors.friendly_errors``: one red message and exit 1 for every user mistake.
"""

from rich.console import Console

from cli.errors import friendly_errors as friendly

console = Console()
err_console = Console(stderr=True)

__all__ = ["console", "err_console", "friendly"]
