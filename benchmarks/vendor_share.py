"""What drop-ship vendors take of a plan and what they save: one batch with vendors,
the same batch without, each planned by ``dom plan`` (issue 26's closing figure).

    dom generate -n 1500 --seed 7 --vendors 4 --batch-date 2026-11-25 -o /tmp/fp/with
    dom generate -n 1500 --seed 7 --batch-date 2026-11-25 -o /tmp/fp/without
    dom plan /tmp/fp/with --out /tmp/fp/plan-with --time-limit 60
    dom plan /tmp/fp/without --out /tmp/fp/plan-without --time-limit 60
    .venv/bin/python benchmarks/vendor_share.py /tmp/fp

The generator applies vendors on their own random stream, so both batches hold the
same orders and the same stock at every other node. Reads each plan's summary.json
(the cost model's components) and allocations.csv; a package is an (order, node) pair.
"""

import json
import sys
from pathlib import Path

import pandas as pd

COMPONENTS = ("shipping", "handling", "late_days", "splits", "unfilled")


def main(root: Path) -> None:
    nodes = pd.read_csv(root / "with" / "nodes.csv")
    vendors = set(nodes.loc[nodes["kind"] == "vendor", "node_id"])
    plans = {
        name: json.loads((root / f"plan-{name}" / "summary.json").read_text())
        for name in ("with", "without")
    }
    print("| batch | total | bound | gap | units filled | packages |")
    print("|---|---|---|---|---|---|")
    for name, p in plans.items():
        c = p["cost"]
        print(
            f"| {name} vendors | {p['total']:,.2f} | {p['lower_bound']:,.2f} | "
            f"{p['gap'] * 100:.2f} % | {c['units_allocated']:,} / {c['units_ordered']:,} | "
            f"{c['packages']:,} |"
        )
    alloc = pd.read_csv(root / "plan-with" / "allocations.csv")
    at_vendor = alloc[alloc["node_id"].isin(vendors)]
    units, all_units = int(at_vendor["qty"].sum()), int(alloc["qty"].sum())
    packages = at_vendor[["order_id", "node_id"]].drop_duplicates()
    all_packages = len(alloc[["order_id", "node_id"]].drop_duplicates())
    per_vendor = at_vendor.groupby("node_id")["qty"].sum().reindex(sorted(vendors), fill_value=0)
    print(
        f"\nvendors take {units:,} of {all_units:,} allocated units ({units / all_units:.1%}) "
        f"and {len(packages):,} of {all_packages:,} packages ({len(packages) / all_packages:.1%}, "
        f"{packages['order_id'].nunique():,} orders); units per vendor: "
        + ", ".join(f"{v} {q}" for v, q in per_vendor.items())
    )
    saved = plans["without"]["total"] - plans["with"]["total"]
    print(f"saving with vendors: {saved:,.2f} ({saved / plans['without']['total']:.1%})")
    deltas = {k: plans["with"]["cost"][k] - plans["without"]["cost"][k] for k in COMPONENTS}
    print("with minus without: " + ", ".join(f"{k} {v:+,.2f}" for k, v in deltas.items()))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/fp"))
