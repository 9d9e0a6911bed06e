"""SQL of appointments: item services, crews and their regions, bookings, crew days,
routes and the capacity view. Runs on the cursor (and transaction) it is given.

The crews table is small and read by every slot search, so it is cached in the
process-wide cache and dropped by every write to it.
"""

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from appointments.model import Crew, Service, Stop
from data.repo_base import CursorRepo, now
from models.lifecycle_errors import WriteConflict

CREWS_CACHE = "appointment_crews"
SERVICES_CACHE = "appointment_item_services"


def _skills(text: str) -> frozenset[str]:
    return frozenset(text.split())


class AppointmentsRepo(CursorRepo):
    """Named reads and writes of appointments."""

    # -- services an item needs ------------------------------------------------------

    def item_services(self, skus: Iterable[str]) -> dict[str, Service]:
        """The services of these SKUs (the whole small table is cached until written)."""
        every = self.cache.get(SERVICES_CACHE)
        if every is None:
            rows = self.rows("SELECT sku, service, skill, minutes FROM item_services")
            every = {r[0]: Service(r[0], r[1], r[2], int(r[3])) for r in rows}
            self.cache[SERVICES_CACHE] = every
        return {s: every[s] for s in set(skus) if s in every}

    def order_visit(
        self, order_id: str
    ) -> tuple[str, dict[str, int], dict[tuple[str, str], int]] | None:
        """One read for a slot search: the order's ship ZIP, open units per SKU (ordered -
        cancelled) and its reserved units per (node, SKU); None if there is no such order."""
        rows = self.rows(
            "SELECT 'line', o.ship_zip, l.sku, l.ordered_qty - l.cancelled_qty "
            "FROM orders o JOIN line_state l USING (order_id) WHERE o.order_id = ? "
            "UNION ALL SELECT r.node_id, NULL, r.sku, r.qty FROM reservations r "
            "WHERE r.order_id = ?",
            [order_id, order_id],
        )
        if not rows:
            return None
        ship_zip = ""
        lines: dict[str, int] = {}
        held: dict[tuple[str, str], int] = {}
        for kind, zip_code, sku, qty in rows:
            if kind == "line":
                ship_zip = zip_code or ""
                if qty > 0:
                    lines[sku] = lines.get(sku, 0) + int(qty)
            else:
                held[(kind, sku)] = held.get((kind, sku), 0) + int(qty)
        return ship_zip, lines, held

    def put_item_services(self, services: Sequence[Service]) -> None:
        self.cache.pop(SERVICES_CACHE, None)
        for s in services:
            self.exec("DELETE FROM item_services WHERE sku = ?", [s.sku])
            self.exec(
                "INSERT INTO item_services (sku, service, skill, minutes) VALUES (?, ?, ?, ?)",
                [s.sku, s.service, s.skill, s.minutes],
            )
        self.cache.pop(SERVICES_CACHE, None)

    # -- crews -----------------------------------------------------------------------

    def crews(self) -> list[Crew]:
        """Every crew with its regions by weekday (cached until a crew is written)."""
        hit = self.cache.get(CREWS_CACHE)
        if hit is not None:
            return list(hit)
        regions: dict[str, dict[int, set[str]]] = {}
        for crew_id, weekday, zip3 in self.rows("SELECT crew_id, weekday, zip3 FROM crew_regions"):
            regions.setdefault(crew_id, {}).setdefault(int(weekday), set()).add(zip3)
        out = [
            Crew(
                crew_id,
                node_id,
                _skills(skills),
                int(start),
                int(end),
                {wd: frozenset(z) for wd, z in regions.get(crew_id, {}).items()},
            )
            for crew_id, node_id, skills, start, end in self.rows(
                "SELECT crew_id, node_id, skills, shift_start, shift_end FROM crews "
                "ORDER BY crew_id"
            )
        ]
        self.cache[CREWS_CACHE] = tuple(out)
        return out

    def crew(self, crew_id: str) -> Crew | None:
        return next((c for c in self.crews() if c.crew_id == crew_id), None)

    def put_crews(self, crews: Sequence[Crew]) -> None:
        """Insert or replace crews and their regions."""
        self.cache.pop(CREWS_CACHE, None)
        for c in crews:
            self.delete_crew(c.crew_id)
            self.exec(
                "INSERT INTO crews (crew_id, node_id, skills, shift_start, shift_end) "
                "VALUES (?, ?, ?, ?, ?)",
                [c.crew_id, c.node_id, " ".join(sorted(c.skills)), c.shift_start, c.shift_end],
            )
            rows = [(c.crew_id, wd, z) for wd, zs in c.regions.items() for z in sorted(zs)]
            if rows:
                frame = pd.DataFrame(rows, columns=["crew_id", "weekday", "zip3"])
                with self.frame(frame) as view:
                    self.exec(f"INSERT INTO crew_regions SELECT crew_id, weekday, zip3 FROM {view}")
        self.cache.pop(CREWS_CACHE, None)

    def delete_crew(self, crew_id: str) -> bool:
        self.cache.pop(CREWS_CACHE, None)
        self.exec("DELETE FROM crew_regions WHERE crew_id = ?", [crew_id])
        return self.exec("DELETE FROM crews WHERE crew_id = ?", [crew_id]) > 0

    # -- bookings --------------------------------------------------------------------

    def booked_stops(
        self, crew_ids: Sequence[str], first: date, last: date
    ) -> dict[tuple[str, date], list[Stop]]:
        """Booked stops per (crew, day) in [first, last], in their route order."""
        if not crew_ids:
            return {}
        rows = self.rows(
            "SELECT crew_id, day, appointment_id, lat, lon, window_start, window_end, minutes, "
            "skills, zip FROM appointments WHERE status = 'booked' AND day BETWEEN ? AND ? "
            "AND list_contains(?, crew_id) ORDER BY crew_id, day, seq",
            [first, last, sorted(set(crew_ids))],
        )
        out: dict[tuple[str, date], list[Stop]] = {}
        for crew_id, day, aid, lat, lon, ws, we, minutes, skills, zip_code in rows:
            out.setdefault((crew_id, day), []).append(
                Stop(aid, lat, lon, int(ws), int(we), int(minutes), _skills(skills), zip_code[:3])
            )
        return out

    def day_bookings(self, day: date, node_id: str | None = None) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT * FROM appointments WHERE status = 'booked' AND day = ? "
            "AND (? IS NULL OR node_id = ?) ORDER BY crew_id, seq",
            [day, node_id, node_id],
        )

    def appointment(self, appointment_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM appointments WHERE appointment_id = ?", [appointment_id])

    def order_appointments(self, order_id: str) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT * FROM appointments WHERE order_id = ? ORDER BY created_at", [order_id]
        )

    def touch_crew_day(self, crew_id: str, day: date, node_id: str, drive_minutes: int) -> None:
        """Claim the crew's day for this transaction (a concurrent writer of the same day
        conflicts and retries) and record its drive minutes."""
        try:
            self.exec(
                "INSERT INTO crew_days (crew_id, day, node_id, version, drive_minutes) "
                "VALUES (?, ?, ?, 1, ?) ON CONFLICT (crew_id, day) DO UPDATE SET "
                "version = crew_days.version + 1, drive_minutes = excluded.drive_minutes",
                [crew_id, day, node_id, drive_minutes],
            )
        except duckdb.ConstraintException:  # another transaction created the row first
            raise WriteConflict(f"crew {crew_id} on {day} changed meanwhile") from None

    def insert_appointment(self, row: dict[str, Any]) -> None:
        names = list(row)
        self.exec(
            f"INSERT INTO appointments ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [row[n] for n in names],
        )

    def set_status(self, appointment_id: str, status: str) -> None:
        self.exec(
            "UPDATE appointments SET status = ?, updated_at = ? WHERE appointment_id = ?",
            [status, now(), appointment_id],
        )

    def set_sequence(self, crew_id: str, day: date, order: Sequence[tuple[str, int]]) -> None:
        """The day's stops of a crew in this order: (appointment_id, planned start)."""
        for seq, (aid, start) in enumerate(order):
            self.exec(
                "UPDATE appointments SET crew_id = ?, seq = ?, planned_start = ?, updated_at = ? "
                "WHERE appointment_id = ?",
                [crew_id, seq, start, now(), aid],
            )

    # -- routes and capacity -----------------------------------------------------------

    def save_routes(self, day: date, node_id: str, routes: Sequence[dict[str, Any]]) -> None:
        """Replace the day's route work items of a node."""
        self.exec("DELETE FROM crew_routes WHERE day = ? AND node_id = ?", [day, node_id])
        for r in routes:
            self.exec(
                "INSERT INTO crew_routes (crew_id, day, node_id, stops, drive_minutes, "
                "insertion_drive_minutes) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    r["crew_id"],
                    day,
                    node_id,
                    json.dumps(r["stops"]),
                    r["drive_minutes"],
                    r["insertion_drive_minutes"],
                ],
            )

    def crew_routes(self, day: date, node_id: str | None = None) -> list[dict[str, Any]]:
        rows = self.dicts(
            "SELECT crew_id, day, node_id, stops, drive_minutes, insertion_drive_minutes "
            "FROM crew_routes WHERE day = ? AND (? IS NULL OR node_id = ?) ORDER BY crew_id",
            [day, node_id, node_id],
        )
        for r in rows:
            r["stops"] = json.loads(r["stops"])
        return rows

    def capacity(self, first: date, last: date, node_id: str | None = None) -> list[dict[str, Any]]:
        return self.dicts(
            "SELECT * FROM appointment_capacity WHERE day BETWEEN ? AND ? "
            "AND (? IS NULL OR node_id = ?) ORDER BY node_id, day",
            [first, last, node_id, node_id],
        )

    def nodes_with_bookings(self, day: date) -> list[str]:
        rows = self.rows(
            "SELECT DISTINCT node_id FROM appointments WHERE status = 'booked' AND day = ? "
            "ORDER BY node_id",
            [day],
        )
        return [r[0] for r in rows]

    def bulk_book(self, appointments: pd.DataFrame, crew_days: pd.DataFrame) -> None:
        """Set-wise load of already-routed bookings (migration from another system,
        benchmarks): ``appointments`` has the table's columns, ``crew_days`` crew_id, day,
        node_id, drive_minutes."""
        with self.frame(appointments) as view:
            names = ", ".join(appointments.columns)
            self.exec(f"INSERT INTO appointments ({names}) SELECT {names} FROM {view}")
        with self.frame(crew_days) as view:
            self.exec(
                "INSERT INTO crew_days (crew_id, day, node_id, drive_minutes) "
                f"SELECT crew_id, day, node_id, drive_minutes FROM {view}"
            )
