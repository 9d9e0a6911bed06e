"""Promising on the in-memory index: dates worked out by hand (calendar in
test_promise_calendar.py), costs from the default rate card, holds under threads.

Mon 2026-12-07 18:00 UTC is 10:00 in Seattle and 13:00 in New York: before
both nodes' 14:00 cut-off.
"""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from data.rate_card import default_rate_card
from models.lifecycle_errors import InvalidInput
from promise.index import CartLine, PromiseExpired
from tests.promise_network import index

MON = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)


def test_stock_only_in_a_far_dc_gives_its_zone_transit_and_cost() -> None:
    idx = index([("DC-WA", "X", 5, 0)])
    p = idx.promise([CartLine("X", 1)], ship_zip="10001", now=MON)
    by = {o.service: o for o in p.options}
    # Starts Mon 7, 1 processing day: ships Tue 8. Zone 8 ground is 5 carrier days:
    # Wed 9, Thu 10, Fri 11, Sat 12, (Sun) Mon 14. Two-day: Thu 10. Next day: Wed 9.
    assert by["ground"].delivery_date == date(2026, 12, 14)
    assert by["two_day"].delivery_date == date(2026, 12, 10)
    assert by["next_day"].delivery_date == date(2026, 12, 9)
    (pkg,) = by["ground"].packages
    assert (pkg.node_id, pkg.zone, pkg.ship_date) == ("DC-WA", 8, date(2026, 12, 8))
    # Ground zone 8: $12.60 + $1.30/lb x 2 lb = $15.20; handling $1.00 + $0.50 x 1 = $1.50.
    assert (pkg.shipping, pkg.handling, by["ground"].cost) == (15.2, 1.5, 16.7)
    # The date holds if ordered before Seattle's 14:00 PST on Mon 7 = 22:00 UTC.
    assert by["ground"].order_by == datetime(2026, 12, 7, 22, 0, tzinfo=UTC)


def test_after_the_cutoff_the_order_starts_the_next_working_day() -> None:
    idx = index([("DC-WA", "X", 5, 0)])
    late = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)  # 15:00 in Seattle
    p = idx.promise([CartLine("X", 1)], ship_zip="10001", now=late)
    ground = p.option("ground")
    assert ground is not None
    # Starts Tue 8, ships Wed 9; Thu 10, Fri 11, Sat 12, Mon 14, Tue 15.
    assert ground.packages[0].ship_date == date(2026, 12, 9)
    assert ground.delivery_date == date(2026, 12, 15)
    assert ground.order_by == datetime(2026, 12, 8, 22, 0, tzinfo=UTC)


def test_a_node_closed_on_sundays_only_ships_saturday_work_on_monday() -> None:
    idx = index([("DC-NJ", "Y", 5, 0)], calendars={"DC-NJ": {"closed_weekdays": "sun"}})
    sat = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)  # Sat 10:00 EST: a working day
    ground = idx.promise([CartLine("Y", 1)], ship_zip="10001", now=sat).option("ground")
    assert ground is not None
    # Starts Sat 5; 1 processing day skips Sunday: ships Mon 7; zone 2 ground: Tue 8.
    assert ground.packages[0].ship_date == date(2026, 12, 7)
    assert ground.delivery_date == date(2026, 12, 8)


def test_a_full_node_pushes_its_date_out_and_follows_stock_changes() -> None:
    # 100 units/day of capacity, 100 already reserved there: one day of backlog.
    idx = index([("DC-NJ", "Y", 5, 100)], capacity={"DC-NJ": 100})
    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Mon 10:00 EST
    ground = idx.promise([CartLine("Y", 1)], ship_zip="10001", now=now, hold=False)
    # Starts Mon 7, 1 processing + 1 backlog day: ships Wed 9, zone 2: Thu 10.
    assert ground.option("ground").delivery_date == date(2026, 12, 10)  # type: ignore[union-attr]
    # The run releases 60 reserved units: 40 left, no backlog: ships Tue 8, arrives Wed 9.
    idx.apply({("DC-NJ", "Y"): (0, -60)})
    again = idx.promise([CartLine("Y", 1)], ship_zip="10001", now=now, hold=False)
    assert again.option("ground").delivery_date == date(2026, 12, 9)  # type: ignore[union-attr]


def test_a_dearer_service_that_arrives_later_is_not_offered() -> None:
    # A card whose two-day takes 2 days everywhere, ground 1 day in zone 2.
    card = default_rate_card()
    card.loc[card["service"] == "two_day", "transit_days"] = 2
    idx = index([("DC-NJ", "Y", 5, 0)], rate_card=card)
    p = idx.promise([CartLine("Y", 1)], ship_zip="10001", now=MON, hold=False)
    # Starts Mon 7 (13:00 in New Jersey), ships Tue 8. Ground zone 2: Wed 9 for $7.60 +
    # $0.35 + $1.50 handling = $9.45; two-day: Thu 10 for $13.68 + $0.63 + $1.50: later
    # and dearer, so not offered. Next day: Wed 9, as soon as ground but dearer: offered.
    assert [(o.service, o.delivery_date, o.cost) for o in p.options] == [
        ("ground", date(2026, 12, 9), 9.45),
        ("next_day", date(2026, 12, 9), 25.35),
    ]
    assert [(u.service, u.reason) for u in p.unavailable] == [
        ("two_day", "ground arrives sooner (2026-12-09) for no more")
    ]


def test_split_when_no_node_holds_the_cart_and_one_node_when_one_does() -> None:
    idx = index([("DC-WA", "X", 5, 0), ("DC-NJ", "Y", 5, 0)])
    ground = idx.promise([CartLine("X", 1), CartLine("Y", 2)], ship_zip="10001", now=MON).option(
        "ground"
    )
    assert ground is not None
    assert sorted(p.node_id for p in ground.packages) == ["DC-NJ", "DC-WA"]
    assert ground.splits == 1
    assert ground.delivery_date == date(2026, 12, 14)  # the far package decides
    # Y at the Manhattan store too (zone 2 from itself, no processing day): ships Mon 7,
    # arrives Tue 8, earlier than DC-NJ's Wed 9.
    idx2 = index([("DC-NJ", "Y", 5, 0), ("ST-NYC", "Y", 5, 0)])
    g2 = idx2.promise([CartLine("Y", 1)], ship_zip="10001", now=MON).option("ground")
    assert g2 is not None and g2.delivery_date == date(2026, 12, 8)
    assert [p.node_id for p in g2.packages] == ["ST-NYC"]


def test_pickup_lists_only_stores_holding_the_whole_cart_nearest_first() -> None:
    idx = index(
        [("ST-NYC", "A", 3, 0), ("ST-NYC", "B", 3, 0), ("ST-BK", "A", 3, 0), ("DC-NJ", "B", 9, 0)]
    )
    p = idx.promise([CartLine("A", 1), CartLine("B", 1)], pickup_zip="10001", now=MON)
    assert [s.node_id for s in p.pickup] == ["ST-NYC"]
    # A store with no processing day: ready the day it starts (Mon 7, before cut-off).
    assert p.pickup[0].ready_date == date(2026, 12, 7)
    only_a = idx.promise([CartLine("A", 1)], pickup_zip="11201", radius_miles=10, now=MON)
    assert [s.node_id for s in only_a.pickup] == ["ST-BK", "ST-NYC"]


def test_a_live_promise_holds_its_units_and_an_expired_one_does_not() -> None:
    idx = index([("DC-NJ", "Y", 3, 0)])
    p = idx.promise([CartLine("Y", 2)], ship_zip="10001", now=MON)
    assert p.held and p.option("ground") is not None
    total, _ = idx.availability("Y", now=MON + timedelta(minutes=14))
    assert total == 1
    second = idx.promise([CartLine("Y", 2)], ship_zip="10001", now=MON + timedelta(minutes=1))
    assert not second.options and not second.held
    assert idx.claim(p.promise_id, now=MON + timedelta(minutes=14)) is not None
    idx.unclaim(p.promise_id)
    # 15 minutes later the hold stops counting, with no sweeper: the next call drops it.
    later = MON + timedelta(minutes=15)
    assert idx.availability("Y", now=later)[0] == 3
    with pytest.raises(PromiseExpired):
        idx.claim(p.promise_id, now=later)


def test_64_concurrent_carts_never_promise_the_same_unit_twice() -> None:
    idx = index([("DC-NJ", "L", 10, 0), ("ST-NYC", "L", 3, 0)])
    got: list[int] = []
    start = threading.Barrier(64)

    def shop() -> None:
        start.wait()
        p = idx.promise([CartLine("L", 1)], ship_zip="10001", now=MON)
        ground = p.option("ground")
        got.append(0 if ground is None else 1)

    threads = [threading.Thread(target=shop) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(got) == 13  # exactly the 13 units there are
    assert int(idx.held.sum()) == 13
    assert idx.availability("L", now=MON)[0] == 0


def test_listing_says_what_can_arrive_and_by_when() -> None:
    idx = index([("DC-WA", "X", 5, 0), ("DC-NJ", "Y", 1, 0)])
    rows = idx.listing(["X", "Y", "A"], "10001", now=MON)
    assert [(r.sku, r.deliverable, r.ground, r.next_day) for r in rows] == [
        ("X", True, date(2026, 12, 14), date(2026, 12, 9)),
        ("Y", True, date(2026, 12, 9), date(2026, 12, 9)),
        ("A", False, None, None),
    ]


def test_bad_input_names_the_field() -> None:
    idx = index([("DC-NJ", "Y", 3, 0)])
    with pytest.raises(InvalidInput) as e:
        idx.promise([CartLine("NOPE", 1)], ship_zip="10001", now=MON)
    assert e.value.errors[0].field == "lines.0.sku"
    with pytest.raises(InvalidInput) as e:
        idx.promise([CartLine("Y", 1)], ship_zip="00000", now=MON)
    assert e.value.errors[0].field == "ship_zip"
    with pytest.raises(InvalidInput) as e:
        idx.promise([], ship_zip="10001", now=MON)
    assert e.value.errors[0].field == "lines"


def test_promises_kept_counts_plans_that_meet_the_date_and_says_why_not() -> None:
    from services.promise import promises_kept

    idx = index([("DC-NJ", "Y", 5, 0), ("DC-WA", "Y", 5, 0)])
    promised = [
        ("O1", "ground", date(2026, 12, 9), "10001", MON),
        ("O2", "ground", date(2026, 12, 9), "10001", MON),
        ("O3", "ground", date(2026, 12, 9), "10001", MON),
    ]
    plan = [("O1", 1, "DC-NJ", 1), ("O2", 1, "DC-WA", 1), ("O3", 1, "DC-NJ", 1)]
    ordered = {("O1", 1): 1, ("O2", 1): 1, ("O3", 1): 2}
    kpi = promises_kept(idx, promised, plan, ordered)
    assert (kpi["promised_orders"], kpi["promises_broken"]) == (3, 2)
    assert kpi["promises_kept"] == round(1 / 3, 4)
    why = {b["order_id"]: b for b in kpi["broken"]}
    # DC-WA ships Tue 8 and zone 8 ground arrives Mon 14, after the promised Wed 9.
    assert why["O2"]["planned"] == "2026-12-14" and "DC-WA ships 2026-12-08" in why["O2"]["why"]
    assert "not (fully) sourced" in why["O3"]["why"]


def test_promises_kept_queues_a_full_node_first_come_first_served() -> None:
    from services.promise import promises_kept

    # DC-NJ picks 2 units a day and holds the run's 4 units (reserved 4 after the apply).
    idx = index([("DC-NJ", "Y", 10, 4)], capacity={"DC-NJ": 2})
    promised = [
        (f"O{i}", "ground", date(2026, 12, 9), "10001", MON + timedelta(minutes=i))
        for i in range(4)
    ]
    plan = [(f"O{i}", 1, "DC-NJ", 1) for i in range(4)]
    ordered = {(f"O{i}", 1): 1 for i in range(4)}
    kpi = promises_kept(idx, promised, plan, ordered)
    # O0, O1 have 0 and 1 unit ahead: no backlog, ship Tue 8, arrive Wed 9: kept.
    # O2, O3 have 2 and 3 ahead: one day of backlog, ship Wed 9, arrive Thu 10: broken.
    assert sorted(b["order_id"] for b in kpi["broken"]) == ["O2", "O3"]
    assert kpi["promises_kept"] == 0.5


def test_promises_kept_waves_a_node_by_ship_by_date() -> None:
    from services.promise import promises_kept

    # DC-NJ picks 1 unit a day; the run's two 1-unit orders are all its work.
    idx = index([("DC-NJ", "Y", 10, 2)], capacity={"DC-NJ": 1})
    promised = [
        # 10001, zone 2, 1 carrier day: promised Thu 10, so it must leave by Wed 9.
        ("O-near", "ground", date(2026, 12, 10), "10001", MON),
        # 98101, zone 8, 5 carrier days: promised Mon 14, so it must leave Tue 8.
        ("O-far", "ground", date(2026, 12, 14), "98101", MON + timedelta(minutes=5)),
    ]
    plan = [("O-near", 1, "DC-NJ", 1), ("O-far", 1, "DC-NJ", 1)]
    ordered = {("O-near", 1): 1, ("O-far", 1): 1}
    kpi = promises_kept(idx, promised, plan, ordered)
    # O-far ships first (Tue 8: Wed 9, Thu 10, Fri 11, Sat 12, Mon 14), O-near a day
    # later (Wed 9, arrives Thu 10): both kept. By promised date, O-near would go
    # first and O-far ship Wed 9 and arrive Tue 15.
    assert kpi["promises_kept"] == 1.0
