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


def best_insertion(
    crew: Crew, depot: Depot, stops: Sequence[Stop], new: Stop, travel: Travel
) -> Insertion | None:
    """The cheapest position (least added drive) for ``new`` keeping every window and the
    shift; None if there is none. ``stops`` must be feasible in their order."""
    legs = _legs(depot, stops, travel)
    latest = _latest(crew, stops, legs)
    points = [(depot.lat, depot.lon), *((s.lat, s.lon) for s in stops), (depot.lat, depot.lon)]
    best: Insertion | None = None
    done = crew.shift_start  # when the crew is free to leave the previous point
    for i in range(len(stops) + 1):
        prev, nxt = points[i], points[i + 1]
        to_new = travel.minutes(*prev, new.lat, new.lon)
        start = max(done + to_new, new.window_start)
        if start <= new.window_end:
            from_new = travel.minutes(new.lat, new.lon, *nxt)
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
        if i < len(stops):
            done = max(done + legs[i], stops[i].window_start) + stops[i].minutes
            if done - stops[i].minutes > stops[i].window_end:
                return best  # the given route is already late here; nothing later fits
    return best
