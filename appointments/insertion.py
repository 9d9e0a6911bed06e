"""Does one more stop fit a crew's day? The insertion check behind every slot.

A crew leaves its node at the shift start, drives to each stop in order,
waits if early, must *start* each visit inside its window, stays the visit's
minutes, and is back at the node by the shift end. Existing stops keep their
order (the insertion-only schedule); the new stop may go anywhere in it.

For a route of n stops the check is O(n) for all n+1 positions: earliest
start times run forward, latest start times run backward (how late a visit
may start and still keep every later window and the shift end), so each
position is tested with two additions and two comparisons.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from appointments.model import Crew, Depot, Stop
from appointments.travel import Travel


@dataclass(frozen=True)
class Insertion:
    position: int  # index the new stop takes in the route
    start: int  # its visit start, local minutes
    added_drive: int  # extra drive minutes the detour costs


@dataclass(frozen=True)
class Schedule:
    starts: list[int]  # visit start per stop, local minutes
    drive_minutes: int
    back_at: int  # arrival at the node, local minutes


def _legs(depot: Depot, stops: Sequence[Stop], travel: Travel) -> list[int]:
    """Drive minutes depot -> s0 -> s1 ... -> depot (n + 1 legs)."""
    points = [(depot.lat, depot.lon), *((s.lat, s.lon) for s in stops), (depot.lat, depot.lon)]
    return [travel.minutes(*points[i], *points[i + 1]) for i in range(len(points) - 1)]


def schedule(crew: Crew, depot: Depot, stops: Sequence[Stop], travel: Travel) -> Schedule | None:
    """Visit start times of the stops in this order, or None if a window or the shift breaks."""
    legs = _legs(depot, stops, travel)
    t, starts = crew.shift_start, []
    for stop, leg in zip(stops, legs, strict=False):
        t = max(t + leg, stop.window_start)
        if t > stop.window_end:
            return None
        starts.append(t)
        t += stop.minutes
    t += legs[-1]
    if t > crew.shift_end:
        return None
    return Schedule(starts, sum(legs), t)


def _latest(crew: Crew, stops: Sequence[Stop], legs: Sequence[int]) -> list[int]:
    """Latest start of each stop that still keeps every later window and the shift end;
    index n is the latest return to the node."""
    latest = [0] * (len(stops) + 1)
    latest[-1] = crew.shift_end
    for i in range(len(stops) - 1, -1, -1):
        s = stops[i]
        latest[i] = min(s.window_end, latest[i + 1] - legs[i + 1] - s.minutes)
    return latest


@dataclass(frozen=True)
class Prepared:
    """A crew's booked day, ready for many insertion checks (one per window asked)."""

    crew: Crew
    points: list[tuple[float, float]]  # node, stops..., node
    stops: Sequence[Stop]
    legs: list[int]
    latest: list[int]
    free_at: list[int]  # when the crew can leave point i (node: shift start); -1: late
    travel: Travel


def prepare(crew: Crew, depot: Depot, stops: Sequence[Stop], travel: Travel) -> Prepared:
    legs = _legs(depot, stops, travel)
    points = [(depot.lat, depot.lon), *((s.lat, s.lon) for s in stops), (depot.lat, depot.lon)]
    free_at = [crew.shift_start]
    for i, s in enumerate(stops):
        begin = max(free_at[-1] + legs[i], s.window_start) if free_at[-1] >= 0 else -1
        free_at.append(begin + s.minutes if 0 <= begin <= s.window_end else -1)
    return Prepared(crew, points, stops, legs, _latest(crew, stops, legs), free_at, travel)


def insert(day: Prepared, new: Stop) -> Insertion | None:
    """The cheapest position (least added drive) for ``new`` keeping every window and the
    shift; None if there is none."""
    stops, legs, latest, travel = day.stops, day.legs, day.latest, day.travel
    best: Insertion | None = None
    for i in range(len(stops) + 1):
        done = day.free_at[i]
        if done < 0:
            break  # the given route is already late here; nothing later fits
        to_new = travel.minutes(*day.points[i], new.lat, new.lon)
        start = max(done + to_new, new.window_start)
        if start > new.window_end:
            break  # later positions only start later
        from_new = travel.minutes(new.lat, new.lon, *day.points[i + 1])
        arrive_next = start + new.minutes + from_new
        # The next stop starts at max(arrival, its window start); it must not be late.
        next_ok = (
            arrive_next <= latest[i]
            if i == len(stops)
            else max(arrive_next, stops[i].window_start) <= latest[i]
        )
        if next_ok:
            added = to_new + from_new - legs[i]
            if best is None or added < best.added_drive:
                best = Insertion(i, start, added)
    return best


def best_insertion(
    crew: Crew, depot: Depot, stops: Sequence[Stop], new: Stop, travel: Travel
) -> Insertion | None:
    """``insert`` for a single check: the cheapest feasible position of ``new``."""
    return insert(prepare(crew, depot, stops, travel), new)
