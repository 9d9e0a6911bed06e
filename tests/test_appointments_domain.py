"""Appointments domain, hand-built cases, no database.

Geometry is chosen so times are exact: the travel model drives one degree of
latitude (along a meridian) in exactly 60 minutes, so every leg is a whole hour.
"""

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from appointments.insertion import best_insertion, schedule
from appointments.model import Crew, Depot, Need, Stop
from appointments.slots import Visit, find_slots, ready_date
from appointments.travel import EARTH_RADIUS_MI, Travel
from promise.calendar import NodeCalendar

NY = ZoneInfo("America/New_York")
HOUR_PER_DEGREE = Travel(speed_mph=EARTH_RADIUS_MI * math.pi / 180, road_factor=1.0)
CAL = NodeCalendar(tz="America/New_York", closed_weekdays=frozenset({6}))  # closed Sundays
DEPOT = Depot("N1", 40.0, -74.0, CAL)
EVERY_DAY = {wd: frozenset({"100"}) for wd in range(7)}
H = 60


def crew(skills: set[str] | None = None, start: int = 8 * H, end: int = 18 * H, **kw) -> Crew:
    regions = kw.pop("regions", EVERY_DAY)
    return Crew(
        kw.pop("crew_id", "C1"), "N1", frozenset(skills or {"install"}), start, end, regions
    )


def stop(lat: float, ws: int, we: int, minutes: int, name: str = "s") -> Stop:
    return Stop(name, lat, -74.0, ws, we, minutes)


def test_one_degree_is_one_hour():
    assert HOUR_PER_DEGREE.minutes(40.0, -74.0, 41.0, -74.0) == 60
    assert HOUR_PER_DEGREE.minutes(40.0, -74.0, 43.0, -74.0) == 180


def test_schedule_waits_for_a_window_and_returns_by_shift_end():
    s = schedule(crew(), DEPOT, [stop(41.0, 12 * H, 16 * H, 60)], HOUR_PER_DEGREE)
    assert s is not None
    assert s.starts == [12 * H]  # arrives 09:00, waits until the window opens
    assert s.back_at == 14 * H and s.drive_minutes == 120


def test_insertion_that_would_break_a_later_window_is_refused():
    booked = [stop(41.0, 12 * H, 16 * H, 60, "A")]
    # B (3 h away, 08-12): leave 08:00, start 11:00, 180 min -> 14:00, 2 h to A -> 16:00: fits.
    fits = best_insertion(crew(), DEPOT, booked, stop(43.0, 8 * H, 12 * H, 180), HOUR_PER_DEGREE)
    assert fits is not None and fits.position == 0 and fits.start == 11 * H
    assert fits.added_drive == 180 + 120 - 60
    # One more minute on site makes A start 16:01, after its window: refused (and after A,
    # B would start 15:00, after its own window).
    late = best_insertion(crew(), DEPOT, booked, stop(43.0, 8 * H, 12 * H, 181), HOUR_PER_DEGREE)
    assert late is None


def test_shift_end_is_respected():
    short = crew(end=12 * H)
    ok = best_insertion(short, DEPOT, [], stop(41.0, 8 * H, 12 * H, 120), HOUR_PER_DEGREE)
    assert ok is not None  # 08:00 out, 09:00-11:00 on site, back 12:00
    assert best_insertion(short, DEPOT, [], stop(41.0, 8 * H, 12 * H, 121), HOUR_PER_DEGREE) is None


def _slots(
    crews, *, first=date(2026, 12, 21), days=7, booked=None, ready=None, need=None, earliest=None
):
    visit = Visit("100", 40.0, -74.0, need or Need(frozenset({"install"}), 60))
    return find_slots(
        visit,
        crews,
        {"N1": DEPOT},
        booked or {},
        ready or {"N1": first},
        first,
        days,
        earliest or datetime(2026, 12, 1, tzinfo=NY),
        HOUR_PER_DEGREE,
    )


def test_crew_without_the_skill_is_never_offered():
    slots = _slots(
        [crew({"assembly"}, crew_id="ASM"), crew({"install", "assembly"}, crew_id="BOTH")],
        need=Need(frozenset({"install", "assembly"}), 60),
    )
    assert slots and {s.crew_id for s in slots} == {"BOTH"}
    assert _slots([crew({"assembly"})]) == []


def test_region_not_served_on_tuesday_gets_no_tuesday_slot():
    regions = {wd: frozenset({"100"}) for wd in range(7) if wd != 1}
    slots = _slots([crew(regions=regions)])
    days = {s.day for s in slots}
    assert date(2026, 12, 22) not in days  # Tuesday
    assert {date(2026, 12, 21), date(2026, 12, 23)} <= days


def test_holidays_and_closed_days_get_no_slot():
    days = {s.day for s in _slots([crew()])}  # Mon 21 .. Sun 27 December 2026
    assert date(2026, 12, 25) not in days  # Christmas (US holiday calendar)
    assert date(2026, 12, 27) not in days  # Sunday: the node is closed
    assert days == {date(2026, 12, d) for d in (21, 22, 23, 24, 26)}
    # All three windows each working day (a 60 min visit at the depot's door).
    assert len(_slots([crew()])) == 5 * 3


def test_minimum_notice_drops_early_windows():
    earliest = datetime(2026, 12, 21, 12, 0, tzinfo=NY)  # noon Monday
    slots = _slots([crew()], days=1, earliest=earliest)
    assert [(s.window_start, s.window_end) for s in slots] == [(12 * H, 16 * H), (16 * H, 20 * H)]


def test_full_crew_day_offers_nothing_and_a_cancellation_frees_it():
    c = crew(end=12 * H)
    monday = date(2026, 12, 21)
    booked = {("C1", monday): [stop(40.0, 8 * H, 12 * H, 240, "A")]}
    assert [s for s in _slots([c], days=1, booked=booked)] == []
    assert len(_slots([c], days=1, booked={})) == 1  # 08-12 only: the shift ends at noon


def test_ready_date_from_another_node_and_no_slot_before_it():
    other = Depot("N2", 42.0, -74.0, NodeCalendar(tz="America/New_York"))
    depots = {"N1": DEPOT, "N2": other}
    now = datetime(2026, 12, 7, 10, 0, tzinfo=NY)  # Monday, before the 14:00 cut-off
    stock = {("N2", "SOFA"): 1, ("N1", "LAMP"): 5}
    ready = ready_date("N1", {"SOFA": 1, "LAMP": 1}, stock, depots, {"N2": 1}, lambda a, b: 2, now)
    # N2 starts Monday, ships after 1 working day (Tue 8), 2 carrier days (Thu 10), staged: Fri 11.
    assert ready == date(2026, 12, 11)
    assert ready_date("N1", {"LAMP": 1}, stock, depots, {}, lambda a, b: 2, now) == date(
        2026, 12, 7
    )
    assert ready_date("N1", {"TV": 1}, stock, depots, {}, lambda a, b: 2, now) is None
    slots = _slots([crew()], first=date(2026, 12, 7), days=7, ready={"N1": ready}, earliest=now)
    assert min(s.day for s in slots) == date(2026, 12, 11)
    assert all(s.ready_date == date(2026, 12, 11) for s in slots)


def test_slot_times_are_local_to_the_node():
    (first, *_) = _slots([crew()], days=1)
    assert first.starts_at(CAL) == datetime(2026, 12, 21, 8, 0, tzinfo=NY)
    assert first.starts_at(CAL).utcoffset() == timedelta(hours=-5)


def test_routing_keeps_windows_respects_skills_and_cuts_the_zigzag():
    from appointments.routing import DayData, Params, solve

    wide = (8 * H, 20 * H)
    a = crew({"install"}, crew_id="A", end=20 * H)
    b = crew({"assembly"}, crew_id="B", end=20 * H)
    booked = {
        "A": [
            Stop("far1", 42.0, -74.0, *wide, 30, frozenset({"install"}), "100"),
            Stop("near", 41.0, -74.0, *wide, 30, frozenset({"install"}), "100"),
            Stop("far2", 42.0, -74.0, *wide, 30, frozenset({"install"}), "100"),
        ]
    }
    day = date(2026, 12, 21)
    result = solve(DayData(day, DEPOT, [a, b], booked), Params(1.0, HOUR_PER_DEGREE))
    assert result.solved
    assert result.insertion_drive_minutes == 120 + 60 + 60 + 120  # 40 -> 42 -> 41 -> 42 -> 40
    assert result.drive_minutes == 60 + 60 + 0 + 120  # 40 -> 41 -> 42 -> 42 -> 40
    routes = {r.crew_id: r for r in result.routes}
    assert routes["B"].stops == []  # B lacks the skill
    assert [s.appointment_id for s in routes["A"].stops][0] == "near"
    assert all(s.window_start <= s.start <= s.window_end for s in routes["A"].stops)


def test_generated_pools_cover_every_region_each_working_day():
    from data.appointments_gen import generate_pools, nearest_zip3

    regions = nearest_zip3(40.7506, -73.9972, 30)  # around ZIP 10001
    assert len(regions) == 30 and "100" in regions
    crews, services = generate_pools(
        [("NY1", "10001")], [("SOFA", 150.0), ("TV", 40.0), ("LAMP", 3.0)], 40, 30, 4, 0.5
    )
    assert len(crews) == 40 and {c.node_id for c in crews} == {"NY1"}
    for wd in range(6):  # Monday to Saturday: every region has a crew
        assert set().union(*(c.regions[wd] for c in crews)) == set(regions)
    assert all(6 not in c.regions for c in crews)  # no Sunday work
    assert [(s.sku, s.skill) for s in services] == [
        ("SOFA", "two_person_delivery"),
        ("TV", "assembly"),
    ]
