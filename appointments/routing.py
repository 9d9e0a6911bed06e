"""Route one node's day: vehicle routing with time windows over its crews (OR-Tools).

The model, in the routing library's words:

- one vehicle per crew working that day, starting and ending at the node, its
  time dimension bounded by the shift [shift_start, shift_end];
- one visit per booked appointment, mandatory (no disjunction: a booked window
  is a promise), its start cumul inside the booked window, its transit the
  minutes on site plus the drive to the next point; waiting is slack;
- skills and regions as allowed vehicles: only crews with every skill that
  serve the visit's ZIP3 on that weekday may take it;
- arc cost = drive minutes, so the objective is the day's total drive time.

The search starts from the insertion-only schedule (the routes bookings built,
feasible by construction), so the result is never worse than it and every
window is kept even if the time limit cuts the search short.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from appointments.insertion import schedule
from appointments.model import Crew, Depot, Stop
from appointments.travel import Travel


@dataclass(frozen=True)
class DayData:
    day: date
    depot: Depot
    crews: Sequence[Crew]
    booked: dict[str, list[Stop]]  # crew_id -> stops in their insertion order


@dataclass(frozen=True)
class Params:
    time_limit_s: float = 10.0
    travel: Travel = field(default_factory=Travel)


@dataclass(frozen=True)
class RouteStop:
    appointment_id: str
    start: int  # planned visit start, local minutes
    window_start: int
    window_end: int


@dataclass(frozen=True)
class CrewRoute:
    crew_id: str
    stops: list[RouteStop]
    drive_minutes: int
    insertion_drive_minutes: int


@dataclass(frozen=True)
class Result:
    routes: list[CrewRoute]
    drive_minutes: int
    insertion_drive_minutes: int
    solved: bool  # False: the insertion schedule is kept as it was
    wall_seconds: float


def _insertion_routes(data: DayData, travel: Travel) -> list[CrewRoute]:
    out = []
    for crew in data.crews:
        stops = data.booked.get(crew.crew_id, [])
        sched = schedule(crew, data.depot, stops, travel)
        if sched is None:
            raise ValueError(f"crew {crew.crew_id}'s booked day does not route as booked")
        rs = [
            RouteStop(s.appointment_id, t, s.window_start, s.window_end)
            for s, t in zip(stops, sched.starts, strict=True)
        ]
        out.append(CrewRoute(crew.crew_id, rs, sched.drive_minutes, sched.drive_minutes))
    return out


def solve(data: DayData, params: Params | None = None) -> Result:
    """The day's routes with least total drive, every booked window and shift kept."""
    import time

    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    params = params or Params()
    travel = params.travel
    t0 = time.perf_counter()
    baseline = _insertion_routes(data, travel)
    base_drive = sum(r.drive_minutes for r in baseline)
    visits = [s for c in data.crews for s in data.booked.get(c.crew_id, [])]
    if not visits:
        return Result(baseline, 0, 0, True, time.perf_counter() - t0)
    crews = list(data.crews)
    booked_by = {
        s.appointment_id: v for v, c in enumerate(crews) for s in data.booked.get(c.crew_id, [])
    }
    points = [(data.depot.lat, data.depot.lon), *((s.lat, s.lon) for s in visits)]
    drive = [[travel.minutes(*a, *b) for b in points] for a in points]
    on_site = [0, *(s.minutes for s in visits)]
    transit = [[on_site[i] + drive[i][j] for j in range(len(points))] for i in range(len(points))]

    manager = pywrapcp.RoutingIndexManager(len(points), len(crews), 0)
    routing = pywrapcp.RoutingModel(manager)
    drive_cb = routing.RegisterTransitMatrix(drive)
    time_cb = routing.RegisterTransitMatrix(transit)
    routing.SetArcCostEvaluatorOfAllVehicles(drive_cb)
    day_end = max(c.shift_end for c in crews)
    routing.AddDimension(time_cb, day_end, day_end, False, "time")
    clock = routing.GetDimensionOrDie("time")
    for v, crew in enumerate(crews):
        clock.CumulVar(routing.Start(v)).SetRange(crew.shift_start, crew.shift_end)
        clock.CumulVar(routing.End(v)).SetRange(crew.shift_start, crew.shift_end)
    weekday = data.day.weekday()
    for i, stop in enumerate(visits, start=1):
        index = manager.NodeToIndex(i)
        clock.CumulVar(index).SetRange(stop.window_start, stop.window_end)
        allowed = [
            v
            for v, c in enumerate(crews)
            if stop.skills <= c.skills
            and (not stop.zip3 or stop.zip3 in c.regions.get(weekday, ()))
        ]
        # (SetAllowedVehiclesForIndex's Span argument does not bind from Python in
        # OR-Tools 9.15; constraining the visit's vehicle variable is equivalent.)
        routing.VehicleVar(index).SetValues(allowed or [booked_by[stop.appointment_id]])

    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    search.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    search.time_limit.FromMilliseconds(int(params.time_limit_s * 1000))
    position = {s.appointment_id: i for i, s in enumerate(visits, start=1)}
    start_routes = [
        [position[s.appointment_id] for s in data.booked.get(c.crew_id, [])] for c in crews
    ]
    initial = routing.ReadAssignmentFromRoutes(start_routes, True)
    found = (
        routing.SolveFromAssignmentWithParameters(initial, search)
        if initial is not None
        else routing.SolveWithParameters(search)
    )
    if found is None:
        return Result(baseline, base_drive, base_drive, False, time.perf_counter() - t0)
    by_crew = {r.crew_id: r for r in baseline}
    routes = []
    for v, crew in enumerate(crews):
        stops, minutes = [], 0
        index = routing.Start(v)
        while not routing.IsEnd(index):
            nxt = found.Value(routing.NextVar(index))
            minutes += drive[manager.IndexToNode(index)][manager.IndexToNode(nxt)]
            index = nxt
            node = manager.IndexToNode(index)
            if node:
                s = visits[node - 1]
                start = found.Min(clock.CumulVar(index))
                stops.append(RouteStop(s.appointment_id, start, s.window_start, s.window_end))
        routes.append(
            CrewRoute(crew.crew_id, stops, minutes, by_crew[crew.crew_id].insertion_drive_minutes)
        )
    total = sum(r.drive_minutes for r in routes)
    return Result(routes, total, base_drive, True, time.perf_counter() - t0)
