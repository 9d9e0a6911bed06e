"""``dom orders``, ``dom inventory SKU``, ``dom runs``, ``dom plans``: what is in the store.

Read-only and paginated, over the DuckDB file the service uses (stop ``dom
serve`` first: DuckDB lets one process open a file that another writes).
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import ui
from cli.options import DbOpt

if TYPE_CHECKING:
    from data.store import Store
    from data.store_queries import Page

LimitOpt = Annotated[
    int, typer.Option("--limit", "-n", min=1, max=500, metavar="N", help="Rows per page.")
]
PageOpt = Annotated[int, typer.Option("--page", "-p", min=1, metavar="P", help="Page to show.")]


def _open(db: Path | None) -> "Store":
    from data.store import default_db_path
    from data.store_queries import open_read_only

    return open_read_only(db or default_db_path())


def _cell(value: Any, column: str) -> str:
    if value is None:
        return "-"
    if column == "gap" and isinstance(value, float):
        return f"{100 * value:.2f} %"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def show(page: "Page", what: str, page_no: int) -> None:
    """The page as a table that fits 80 columns, and how to get the next one."""
    from rich import box
    from rich.table import Table

    if not page.rows:
        ui.out().print(f"no {what}" + (f" on page {page_no}" if page.total else " in the store"))
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0))
    for i, col in enumerate(page.columns):
        numeric = any(isinstance(r[i], int | float) and r[i] is not True for r in page.rows)
        table.add_column(col, justify="right" if numeric else "left", no_wrap=i == 0)
    for row in page.rows:
        table.add_row(*(_cell(v, c) for v, c in zip(row, page.columns, strict=True)))
    ui.out().print(table)
    last = page.offset + len(page.rows)
    more = f"; next page: --page {page_no + 1}" if page.has_more else ""
    ui.out().print(f"{what}: {page.offset + 1:,}-{last:,} of {page.total:,}{more}", highlight=False)


def orders_cmd(
    db: DbOpt = None,
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="Only orders in this status.")
    ] = None,
    limit: LimitOpt = 20,
    page: PageOpt = 1,
) -> None:
    """List the orders in the store, by id.

    Per order: status, channel, service, lines, units and when it was created.
    """
    from data.store_queries import orders_page

    with _open(db) as store:
        result = orders_page(store, status=status, limit=limit, offset=(page - 1) * limit)
    show(result, "orders", page)


def inventory_cmd(
    sku: Annotated[str, typer.Argument(metavar="SKU", help="The SKU to show at every node.")],
    db: DbOpt = None,
    limit: LimitOpt = 20,
    page: PageOpt = 1,
) -> None:
    """One SKU's stock at every node.

    On hand, reserved, safety stock and available (on hand - reserved - safety).
    """
    from data.store import NotFoundError
    from data.store_queries import inventory_page, sku_exists

    with _open(db) as store:
        if not sku_exists(store, sku):
            raise NotFoundError(f"no SKU {sku!r} in the store")
        result = inventory_page(store, sku, limit=limit, offset=(page - 1) * limit)
    show(result, f"nodes holding {sku}", page)


def runs_cmd(db: DbOpt = None, limit: LimitOpt = 20, page: PageOpt = 1) -> None:
    """List the sourcing runs, newest first.

    Per run: status, strategy, when it started, orders planned, total cost.
    """
    from data.store_queries import runs_page

    with _open(db) as store:
        result = runs_page(store, limit=limit, offset=(page - 1) * limit)
    show(result, "runs", page)


def plans_cmd(db: DbOpt = None, limit: LimitOpt = 20, page: PageOpt = 1) -> None:
    """List the saved plans, newest first.

    Per plan: strategy, total cost, gap to the lower bound, seconds it took.
    """
    from data.store_queries import plans_page

    with _open(db) as store:
        result = plans_page(store, limit=limit, offset=(page - 1) * limit)
    show(result, "plans", page)
