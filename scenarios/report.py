"""What an analyst takes away: the comparison table (terminal, CSV, Parquet), charts, one HTML file.

Charts are matplotlib PNGs (Agg, no display). The HTML report embeds them as
base64 and carries the numbers each chart was drawn from in a JSON block, so
it opens offline and a test can check a chart shows this run's figures.
"""

import base64
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich import box
from rich.table import Table

from scenarios.kpis import COMPONENTS, TABLE_KPIS
from scenarios.runner import SpecResult

COMPONENT_COLORS = {
    "shipping": "#4C72B0",
    "handling": "#DD8452",
    "late": "#C44E52",
    "split": "#8172B3",
    "lost": "#937860",
}


def _fmt(fmt: str, value: float) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and np.isnan(value))
        else fmt.format(value)
    )


def change(row: Mapping[Any, Any], key: str, fmt: str) -> str:
    """Against the base: shares in percentage points, everything else in per cent."""
    if "%" in fmt:
        return f"{row[f'{key}_delta'] * 100:+.1f} pt"
    return f"{row[f'{key}_delta_pct']:+.1%}"


def findings(result: SpecResult) -> list[str]:
    """Plain sentences an analyst would lead with: what ship-from-store did, if measured."""
    cmp = result.comparison.set_index("scenario")
    out = []
    for sc in result.scenarios[1:]:
        if sc.ship_from_store is False and sc.name in cmp.index:
            b, d = cmp.loc["base"], cmp.loc[sc.name]
            miles = (b["miles_per_package"] - d["miles_per_package"]) / d["miles_per_package"]
            points = 100 * (b["on_time_rate"] - d["on_time_rate"])
            out.append(
                f"Ship-from-store (base against {sc.name}): {b['miles_per_package']:.0f} miles per "
                f"parcel instead of {d['miles_per_package']:.0f} ({miles:+.1%}); "
                f"{b['on_time_rate']:.1%} of packages on time instead of "
                f"{d['on_time_rate']:.1%} ({points:+.1f} pt); "
                f"${b['cost_per_order']:.2f} an order instead of ${d['cost_per_order']:.2f}."
            )
            break
    return out


def comparison_table(result: SpecResult) -> Table:
    """Rich table, at most 80 columns: each KPI with its change against the base below it."""
    cmp = result.comparison
    several = int(cmp["seeds"].max()) > 1
    title = f"{result.spec.name}: {result.spec.days} days x {result.spec.orders_per_day:,} orders"
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), title_justify="left")
    table.add_column("scenario", max_width=16, overflow="fold")
    for _, header, _ in TABLE_KPIS:
        table.add_column(header, justify="right")
    for row in cmp.to_dict("records"):
        cells = []
        for key, _, fmt in TABLE_KPIS:
            value = _fmt(fmt, row[key])
            if several:
                value += " ±" + _fmt(fmt, row[f"{key}_ci"]).lstrip("$")
            delta = "base" if row["scenario"] == "base" else change(row, key, fmt)
            cells.append(f"{value}\n[dim]{delta}[/dim]")
        table.add_row(row["scenario"], *cells)
    return table


def write_tables(result: SpecResult, out: Path) -> list[Path]:
    paths = []
    for name, frame in (
        ("comparison", result.comparison),
        ("summary", result.summaries),
        ("kpis_daily", result.daily),
    ):
        for ext in ("csv", "parquet"):
            p = out / f"{name}.{ext}"
            frame.to_csv(p, index=False) if ext == "csv" else frame.to_parquet(p, index=False)
            paths.append(p)
    return paths


# --- charts ------------------------------------------------------------------------------


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def chart_cost(result: SpecResult, path: Path) -> dict[str, Any]:
    """Stacked bars: cost per order by component, per scenario; totals written on top."""
    plt = _plt()
    cmp = result.comparison
    names = cmp["scenario"].tolist()
    data = {c: cmp[f"{c}_per_order"].round(4).tolist() for c in COMPONENTS}
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    bottom = np.zeros(len(names))
    for c in COMPONENTS:
        vals = np.array(data[c])
        ax.bar(names, vals, bottom=bottom, label=c, color=COMPONENT_COLORS[c], width=0.6)
        bottom += vals
    for i, total in enumerate(bottom):
        ax.text(i, total, f"${total:.2f}", ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("$ per order")
    ax.set_title("Cost per order by component")
    ax.set_ylim(0, bottom.max() * 1.12 if len(bottom) else 1)
    ax.legend(ncols=5, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return {"scenarios": names, "per_order": data, "total": [round(float(t), 4) for t in bottom]}


def chart_scatter(result: SpecResult, path: Path) -> dict[str, Any]:
    """On-time rate against cost per order, one point per scenario (CI bars over seeds)."""
    plt = _plt()
    cmp = result.comparison
    x = (cmp["on_time_rate"] * 100).to_numpy()
    y = cmp["cost_per_order"].to_numpy()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    xerr = (cmp["on_time_rate_ci"] * 100).to_numpy()
    yerr = cmp["cost_per_order_ci"].to_numpy()
    if np.isfinite(xerr).any():
        ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="none", ecolor="#999", capsize=3)
    ax.scatter(x, y, s=60, color="#4C72B0", zorder=3)
    for name, xi, yi in zip(cmp["scenario"], x, y, strict=True):
        ax.annotate(name, (xi, yi), textcoords="offset points", xytext=(6, 4), fontsize=9)
    ax.set_xlabel("packages on time (%)")
    ax.set_ylabel("$ per order")
    ax.set_title("On-time vs cost (better: right and low)")
    ax.margins(0.15)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return {
        "scenarios": cmp["scenario"].tolist(),
        "on_time_pct": [round(float(v), 3) for v in x],
        "cost_per_order": [round(float(v), 4) for v in y],
    }


def chart_daily(result: SpecResult, path: Path) -> dict[str, Any]:
    """Daily KPIs over the horizon, one line per scenario (first seed)."""
    plt = _plt()
    d = result.daily[result.daily["seed"] == result.spec.seeds[0]]
    panels = (
        ("fulfilment_per_order", "$ per order served (cancelled demand not included)", 1.0),
        ("on_time_rate", "on time (%)", 100.0),
        ("fill_rate", "filled the same day (%)", 100.0),
        ("backlog_units", "backlog at day end (units)", 1.0),
    )
    fig, axes = plt.subplots(2, 2, figsize=(10, 6), dpi=110, sharex=True)
    data: dict[str, Any] = {}
    for ax, (col, label, scale) in zip(axes.flat, panels, strict=True):
        data[col] = {}
        for name, grp in d.groupby("scenario", sort=False):
            ax.plot(grp["day"] + 1, grp[col] * scale, marker="o", ms=3, label=name)
            data[col][name] = [round(float(v), 4) for v in grp[col]]
        ax.set_title(label, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[1]:
        ax.set_xlabel("day")
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncols=min(len(labels), 6), fontsize=8, frameon=False
    )
    fig.suptitle("Daily KPIs")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return data


def _map_pick(result: SpecResult) -> list[str]:
    """The base, and the scenario that turns ship-from-store off (if any) to set beside it."""
    names = ["base"]
    for sc in result.scenarios[1:]:
        if sc.ship_from_store is False:
            names.append(sc.name)
            break
    return names


def chart_map(result: SpecResult, path: Path) -> dict[str, Any]:
    """Nodes on a US map, sized by packages shipped; lines to where their packages went."""
    from matplotlib.collections import LineCollection

    from data.geo import zip_table
    from data.us_outline import CONUS, outline

    plt = _plt()
    table = zip_table()
    seed = result.spec.seeds[0]
    picks = _map_pick(result)
    runs = {(r.scenario, r.seed): r for r in result.runs}
    fig, axes = plt.subplots(1, len(picks), figsize=(7.5 * len(picks), 5), dpi=110, squeeze=False)
    data: dict[str, Any] = {}
    for ax, name in zip(axes[0], picks, strict=True):
        run = runs[(name, seed)]
        for layer, color, lw in (
            ("gshhs", "#777", 0.6),
            ("countries", "#777", 0.6),
            ("states", "#bbb", 0.4),
        ):
            ax.add_collection(LineCollection(outline(layer), colors=color, linewidths=lw))
        nodes = run.nodes.set_index("node_id")
        lat, lon = table.coords(nodes["zip"].to_numpy(str))
        pos = pd.DataFrame({"lat": lat, "lon": lon}, index=nodes.index)
        pkg = run.packages[run.packages["parcel"]]
        # Flows to 3-digit ZIP areas: thin lines, darker where more packages went.
        dest = pkg.copy()
        dest["zip3"] = dest["ship_zip"].str[:3]
        flows = dest.groupby(["node_id", "zip3"]).agg(n=("units", "size"), z=("ship_zip", "first"))
        flows = flows.reset_index()
        zlat, zlon = table.coords(flows["z"].to_numpy(str))
        nlat, nlon = (
            pos.loc[flows["node_id"], "lat"].to_numpy(),
            pos.loc[flows["node_id"], "lon"].to_numpy(),
        )
        kinds = nodes.loc[flows["node_id"], "kind"].to_numpy()
        n = flows["n"].to_numpy()
        for kind, color, width in (("dc", "#4C72B0", 0.5), ("store", "#E6550D", 0.9)):
            m = kinds == kind
            if not m.any():
                continue
            # Each kind on its own scale, so a store's few local parcels still show.
            alpha = np.clip(n[m] / n[m].max(), 0.05, 0.7)
            segs = np.stack([np.c_[nlon[m], nlat[m]], np.c_[zlon[m], zlat[m]]], axis=1)
            cols = [(*_rgb(color), a) for a in alpha]
            ax.add_collection(LineCollection(list(segs), colors=cols, linewidths=width))
        shipped = pkg.groupby("node_id").size().reindex(nodes.index, fill_value=0)
        for kind, marker, color in (("dc", "s", "#1f3b73"), ("store", "o", "#b35806")):
            m = (nodes["kind"] == kind).to_numpy()
            size = 12 + 300 * shipped[m] / max(shipped.max(), 1)
            ax.scatter(
                pos["lon"][m],
                pos["lat"][m],
                s=size,
                marker=marker,
                c=color,
                edgecolors="white",
                linewidths=0.5,
                zorder=3,
                label=f"{kind} ({m.sum()})",
            )
        ax.set_xlim(CONUS[0], CONUS[1])
        ax.set_ylim(CONUS[2], CONUS[3])
        ax.set_aspect(1.25)
        ax.set_xticks([])
        ax.set_yticks([])
        miles = float(pkg["miles"].mean()) if len(pkg) else 0.0
        from_store = float((pkg["kind"] == "store").mean()) if len(pkg) else 0.0
        ax.set_title(
            f"{name}: {len(pkg):,} parcels, {miles:.0f} mi avg, {from_store:.0%} from stores",
            fontsize=10,
        )
        ax.legend(loc="lower left", fontsize=8)
        data[name] = {
            "parcels": int(len(pkg)),
            "miles_per_package": round(miles, 2),
            "store_share": round(from_store, 4),
            "packages_by_node": {k: int(v) for k, v in shipped[shipped > 0].items()},
        }
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return data


def _rgb(hex_color: str) -> tuple[float, float, float]:
    h = hex_color.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


CHARTS = (
    ("cost", "cost_per_order.png", chart_cost, "Cost per order by component"),
    ("scatter", "ontime_vs_cost.png", chart_scatter, "On-time rate against cost per order"),
    ("map", "network_map.png", chart_map, "Where packages went"),
    ("daily", "daily_kpis.png", chart_daily, "Daily KPIs"),
)


def write_charts(result: SpecResult, out: Path) -> dict[str, dict[str, Any]]:
    """Every chart as a PNG in ``out``; returns the numbers each was drawn from."""
    return {key: fn(result, out / fname) for key, fname, fn, _ in CHARTS}


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}
td:first-child,th:first-child{text-align:left} small{color:#777}
figure{margin:2em 0} img{max-width:100%}
"""


def write_html(
    result: SpecResult, out: Path, chart_data: dict[str, dict[str, Any]], run_id: str
) -> Path:
    """One self-contained file: the table, every chart (embedded) and the numbers behind them."""
    cmp = result.comparison
    spec = result.spec
    head = ["scenario", *[h for _, h, _ in TABLE_KPIS], "total cost $"]
    rows = []
    for row in cmp.to_dict("records"):
        cells = [html.escape(row["scenario"])]
        for key, _, fmt in TABLE_KPIS:
            delta = (
                "" if row["scenario"] == "base" else f" <small>({change(row, key, fmt)})</small>"
            )
            cells.append(_fmt(fmt, row[key]) + delta)
        cells.append(f"{row['total_cost']:,.0f}")
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    figures = []
    for key, fname, _, caption in CHARTS:
        b64 = base64.b64encode((out / fname).read_bytes()).decode()
        figures.append(
            f'<figure data-chart="{key}"><img alt="{html.escape(caption)}" '
            f'src="data:image/png;base64,{b64}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
    scen = "".join(
        f"<li><b>{html.escape(s.name)}</b>: {html.escape(_describe(s))}</li>"
        for s in result.scenarios
    )
    hours = ", ".join(f"{h:g}h" for h in spec.schedule.run_hours)
    numbers = html.escape(json.dumps(chart_data), quote=False)
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(spec.name)}: scenario report</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(spec.name)}</h1>
<p>Run <code>{html.escape(run_id)}</code>: {spec.days} days of {spec.orders_per_day:,} orders
a day, seeds {", ".join(map(str, spec.seeds))}, sourcing at {hours} with a
{spec.schedule.time_limit:g} s limit per run; wall time {result.wall_seconds:,.0f} s.
Every scenario saw the same orders. Changes are against the base.</p>
{"".join(f"<p><b>{html.escape(f)}</b></p>" for f in findings(result))}
<h2>Comparison</h2>
<table id="comparison"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2>Scenarios</h2><ul>{scen}</ul>
<h2>Charts</h2>
{"".join(figures)}
<script type="application/json" id="chart-data">{numbers}</script>
</body></html>
"""
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path


def _describe(sc: Any) -> str:
    parts = [f"strategy {sc.strategy}"]
    sfs = sc.ship_from_store
    parts.append(
        "ship-from-store "
        + ("on" if sfs is True else "off" if sfs is False else f"{len(sfs)} stores")
    )
    if sc.bopis_share is not None:
        parts.append(f"BOPIS {sc.bopis_share:.0%} of orders")
    parts.append(f"BORIS {sc.boris_share:.0%} of returns")
    if sc.store_capacity != 1.0:
        parts.append(f"store capacity x{sc.store_capacity:g}")
    if sc.inventory_depth != 1.0:
        parts.append(f"stock x{sc.inventory_depth:g}")
    w = sc.weights.model_dump()
    parts.append("weights " + ", ".join(f"{k} {v:g}" for k, v in w.items()))
    if sc.close_nodes:
        parts.append("closed " + ", ".join(sc.close_nodes))
    if sc.add_nodes:
        parts.append("added " + ", ".join(n.node_id for n in sc.add_nodes))
    if sc.service_mix:
        parts.append("services " + ", ".join(f"{k} {v:.0%}" for k, v in sc.service_mix.items()))
    return "; ".join(parts)
