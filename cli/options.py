"""Options shared by several commands, declared without importing the planner.

The strategy names are repeated here so that a bad ``--strategy`` is refused
while parsing, before any batch is read, and so that ``--help`` stays fast;
``tests/test_cli_trust.py`` holds them equal to ``planner.STRATEGIES``.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, get_args

import typer

if TYPE_CHECKING:
    from models import Weights

StrategyName = Literal["optimize", "greedy", "nearest", "mip"]
STRATEGY_NAMES: tuple[str, ...] = get_args(StrategyName)
DEFAULT_STRATEGY: StrategyName = "optimize"
DEFAULT_OPTIMIZE_SECONDS = 60  # planner.optimize.solver.DEFAULT_TIME_LIMIT, in --help

StrategyOpt = Annotated[
    StrategyName,
    typer.Option(
        "--strategy",
        "-s",
        help="optimize (the product), greedy, nearest (baselines), mip (exact, small batches).",
    ),
]
TimeLimitOpt = Annotated[
    float | None,
    typer.Option(
        "--time-limit",
        "-t",
        min=0.0,
        metavar="SECONDS",
        help=f"Seconds the planner may use [default: {DEFAULT_OPTIMIZE_SECONDS} for optimize, "
        "no limit for mip; greedy and nearest need none].",
    ),
]
WeightOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--weight", "-w", metavar="NAME=VALUE", help="Override a cost weight, e.g. late=10."
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace --out even if it holds files dom did not write (never '.')."
    ),
]
RayOpt = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESS",
        help="Run the optimizer's shards on the Ray cluster at ADDRESS (auto: the one "
        "'ray start' runs on this machine; ray://host:10001; local: a private one).",
    ),
]
DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db", metavar="FILE", help="DuckDB file [default: $DOM_DB_PATH or var/dom.duckdb]."
    ),
]


def parse_weights(spec: list[str] | None, base: "Weights") -> "Weights":
    """``--weight late=10 --weight split=0`` over the batch's own weights."""
    from pydantic import ValidationError

    from models import Weights

    if not spec:
        return base
    values = base.model_dump()
    for item in spec:
        name, _, raw = item.partition("=")
        if name not in values or not raw:
            raise typer.BadParameter(
                f"expected NAME=VALUE with NAME in {sorted(values)}; got {item!r}",
                param_hint="--weight",
            )
        try:
            values[name] = float(raw)
        except ValueError:
            raise typer.BadParameter(
                f"{item!r}: {raw!r} is not a number", param_hint="--weight"
            ) from None
    try:
        return Weights(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems, param_hint="--weight") from None
