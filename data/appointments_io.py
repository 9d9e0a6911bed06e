"""Resource pools and item services as files: optional CSVs beside a batch.

- ``crews.csv``: crew_id, node_id, skills (space-separated), shift_start, shift_end (HH:MM,
  local to the node);
- ``crew_regions.csv``: crew_id, weekday (mon..sun), zip3;
- ``item_services.csv``: sku, service, skill, minutes (on site, per unit).

A folder without them has no pools (nothing is offered). Every bad cell is
reported with file, row and column, and nothing is loaded.
"""

from pathlib import Path

import pandas as pd

from appointments.model import AppointmentRuleError, Crew, Service, clock, parse_clock
from models.errors import BatchValidationError, Problem

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FILES = {
    "crews.csv": ("crew_id", "node_id", "skills", "shift_start", "shift_end"),
    "crew_regions.csv": ("crew_id", "weekday", "zip3"),
    "item_services.csv": ("sku", "service", "skill", "minutes"),
}


def _read(folder: Path, name: str, problems: list[Problem]) -> pd.DataFrame | None:
    path = folder / name
    if not path.exists():
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError) as exc:
        problems.append(Problem(name, f"cannot be read: {exc}"))
        return None
    missing = [c for c in FILES[name] if c not in frame.columns]
    if missing:
        problems.append(Problem(name, f"missing column(s): {', '.join(missing)}"))
        return None
    return frame


def read_pools(folder: Path) -> tuple[list[Crew], list[Service]]:
    """Crews (with regions) and item services from ``folder``; BatchValidationError if bad."""
    problems: list[Problem] = []
    crews_f = _read(folder, "crews.csv", problems)
    regions_f = _read(folder, "crew_regions.csv", problems)
    services_f = _read(folder, "item_services.csv", problems)
    regions: dict[str, dict[int, set[str]]] = {}
    if regions_f is not None:
        for i, row in enumerate(regions_f.itertuples(index=False), start=1):
            wd = str(row.weekday).strip().lower()[:3]
            if wd not in WEEKDAYS:
                problems.append(
                    Problem("crew_regions.csv", f"{row.weekday!r} is not a weekday", i, "weekday")
                )
                continue
            z = str(row.zip3).strip()
            if len(z) != 3 or not z.isdigit():
                problems.append(Problem("crew_regions.csv", f"{z!r} is not a ZIP3", i, "zip3"))
                continue
            regions.setdefault(str(row.crew_id), {}).setdefault(WEEKDAYS.index(wd), set()).add(z)
    crews: list[Crew] = []
    if crews_f is not None:
        seen: set[str] = set()
        for i, row in enumerate(crews_f.itertuples(index=False), start=1):
            cid = str(row.crew_id).strip()
            if not cid or cid in seen:
                problems.append(
                    Problem("crews.csv", f"crew_id {cid!r} is empty or repeated", i, "crew_id")
                )
                continue
            seen.add(cid)
            try:
                start = parse_clock(str(row.shift_start), "shift_start")
                end = parse_clock(str(row.shift_end), "shift_end")
                crews.append(
                    Crew(
                        cid,
                        str(row.node_id).strip(),
                        frozenset(str(row.skills).split()),
                        start,
                        end,
                        {wd: frozenset(z) for wd, z in regions.get(cid, {}).items()},
                    )
                )
            except AppointmentRuleError as exc:
                column = str(exc).split(":")[0]
                problems.append(
                    Problem(
                        "crews.csv",
                        str(exc),
                        i,
                        column if column in FILES["crews.csv"] else "shift_end",
                    )
                )
        for cid in sorted(set(regions) - seen):
            problems.append(
                Problem("crew_regions.csv", f"crew {cid!r} is not in crews.csv", None, "crew_id")
            )
    services: list[Service] = []
    if services_f is not None:
        for i, row in enumerate(services_f.itertuples(index=False), start=1):
            try:
                services.append(
                    Service(str(row.sku), str(row.service), str(row.skill), int(str(row.minutes)))
                )
            except (ValueError, AppointmentRuleError) as exc:
                problems.append(Problem("item_services.csv", str(exc), i, "minutes"))
    if problems:
        raise BatchValidationError(problems)
    return crews, services


def write_pools(folder: Path, crews: list[Crew], services: list[Service]) -> None:
    """The files ``read_pools`` reads (the generator's output)."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        [
            (
                c.crew_id,
                c.node_id,
                " ".join(sorted(c.skills)),
                clock(c.shift_start),
                clock(c.shift_end),
            )
            for c in crews
        ],
        columns=list(FILES["crews.csv"]),
    ).to_csv(folder / "crews.csv", index=False)
    pd.DataFrame(
        [
            (c.crew_id, WEEKDAYS[wd], z)
            for c in crews
            for wd, zs in sorted(c.regions.items())
            for z in sorted(zs)
        ],
        columns=list(FILES["crew_regions.csv"]),
    ).to_csv(folder / "crew_regions.csv", index=False)
    pd.DataFrame(
        [(s.sku, s.service, s.skill, s.minutes) for s in services],
        columns=list(FILES["item_services.csv"]),
    ).to_csv(folder / "item_services.csv", index=False)
