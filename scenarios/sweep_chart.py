"""The trade-off curve of one weight: what the plan pays against what it gains."""

from pathlib import Path
from typing import Any


def sweep_chart(component: str, rows: list[dict[str, Any]], path: Path) -> Path:
    """Cost (shipping + handling) against on-time share, or against packages per order for split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_key, x_label, scale = (
        ("packages_per_order", "packages per order", 1.0)
        if component == "split"
        else ("on_time_share", "packages on time (%)", 100.0)
    )
    xs = [r[x_key] * scale for r in rows]
    ys = [r["shipping_plus_handling"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.plot(xs, ys, marker="o", color="#4C72B0")
    for r, x, y in zip(rows, xs, ys, strict=True):
        ax.annotate(
            f"{component}={r['value']:g}",
            (x, y),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=8,
        )
    ax.set_xlabel(x_label)
    ax.set_ylabel("shipping + handling $ of the batch")
    ax.set_title(f"Trade-off as the {component} weight grows")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
