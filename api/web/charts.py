"""Geometry of the console's inline SVG: the node map and the cost-per-run chart.

Computed here, drawn by the templates; no JavaScript charting library.
"""

from dataclasses import dataclass
from typing import Any

from api.web import usmap
from models.api import RunView
from services.console import NodeLoad

# Cost components: (label, weight name, raw KPI name, colour).
COMPONENTS = (
    ("shipping", "shipping", "shipping", "#2f6db5"),
    ("handling", "handling", "handling", "#7aa6d8"),
    ("late", "late", "late_days", "#d9822b"),
    ("splits", "split", "splits", "#8e6bbf"),
    ("unfilled", "unfilled", "unfilled", "#c23b3b"),
)


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    r: float
    colour: str
    label: str


def load_colour(load: float) -> str:
    """Green under 50 % of capacity, amber to 90 %, red above."""
    if load < 0.5:
        return "#2e9e5b"
    if load < 0.9:
        return "#e0a100"
    return "#c23b3b"


def node_dots(nodes: list[NodeLoad], value: dict[str, float] | None = None) -> list[Dot]:
    """A dot per node placed on the outline; size by capacity (or ``value``), colour by load."""
    sized = value or {n.node_id: float(n.capacity_units) for n in nodes}
    top = max(sized.values(), default=1.0) or 1.0
    dots = []
    for n in nodes:
        if n.lat is None or n.lon is None:
            continue
        x, y = usmap.project(n.lat, n.lon)
        size = sized.get(n.node_id, 0.0)
        r = 3.0 + 9.0 * (size / top) ** 0.5
        if value is None:
            colour = load_colour(n.load)
            label = (
                f"{n.node_id} ({n.kind}, {n.zip}): {n.held_units:,} units held of "
                f"{n.capacity_units:,} capacity ({n.load:.0%}); "
                f"{n.open_work_items} open work item(s)"
            )
        else:
            colour = "#2f6db5" if size > 0 else "#8a96a3"
            r = r if size > 0 else 4.0
            label = f"{n.node_id} ({n.kind}): {size:,.0f} available"
        dots.append(Dot(round(x, 1), round(y, 1), round(r, 1), colour, label))
    return dots


def run_costs(run: RunView) -> dict[str, float]:
    """The run's objective by component in dollars (weight x raw sum), as the planner sums it."""
    kpis = run.kpis or {}
    return {
        label: float(run.weights.get(weight, 0.0)) * float(kpis.get(raw) or 0.0)
        for label, weight, raw, _ in COMPONENTS
    }


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str
    segments: list[dict[str, Any]]
    total: float


def cost_bars(runs: list[RunView], width: float = 640, height: float = 220) -> list[Bar]:
    """Stacked bars, oldest run on the left; heights share one scale."""
    done = [r for r in reversed(runs) if r.status == "applied" and r.kpis]
    if not done:
        return []
    costs = [run_costs(r) for r in done]
    top = max(sum(c.values()) for c in costs) or 1.0
    slot = width / len(done)
    bars = []
    for i, (run, cost) in enumerate(zip(done, costs, strict=True)):
        y = height
        segments = []
        for label, _, _, colour in COMPONENTS:
            h = cost[label] / top * (height - 10)
            y -= h
            segments.append(
                {
                    "y": round(y, 1),
                    "h": round(h, 1),
                    "colour": colour,
                    "label": label,
                    "value": cost[label],
                }
            )
        bars.append(
            Bar(
                x=round(i * slot + slot * 0.15, 1),
                width=round(slot * 0.7, 1),
                label=run.started_at.strftime("%H:%M:%S"),
                segments=segments,
                total=sum(cost.values()),
            )
        )
    return bars
