"""Appointments through the service and HTTP: booking, the last-slot race, cancelling,
bad input as problem+json naming the field.

Network (tests/lifecycle_fixtures.py): DC1 in New York 10001 holds B. One crew
at DC1 (install, 08:00-12:00) serves ZIP3 100 Monday to Saturday; installing
B takes 150 minutes, so a crew's day holds exactly one visit (two would need
300 minutes plus driving in a 240-minute shift).
"""

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from appointments.model import Crew, Service
from data.appointments_repo import AppointmentsRepo
from data.lifecycle_db import Database
from data.store import Store
from models.api import CaptureOrder, Role
from services import appointments as svc
from services import orders
from tests.lifecycle_fixtures import ADMIN, KEYS, NODE_KEYS, make_db, web_order

PROBLEM = "application/problem+json"
H = 60
NYC = {"line1": "1 Broadway", "city": "New York", "state": "NY", "zip": "10003"}
MORNING = (8 * H, 12 * H)


def working_day(offset: int) -> date:
    """The first Monday-to-Friday, non-holiday day at least ``offset`` days ahead."""
    import holidays

    d = datetime.now(UTC).date() + timedelta(days=offset)
    while d.weekday() >= 5 or d in holidays.US():
        d += timedelta(days=1)
    return d


def setup_pool(db: Database, end: int = 12 * H) -> None:
    svc.put_item_services(db, [Service("B", "install", "install", 150)])
    regions = {wd: frozenset({"100"}) for wd in range(6)}
    svc.put_crews(db, [Crew("NY-1", "DC1", frozenset({"install"}), 8 * H, end, regions)])


def new_order(
    db: Database, lines: list[dict[str, Any]] | None = None, zip_to: dict | None = None
) -> str:
    body = web_order(ship_to=zip_to or NYC, lines=lines or [{"sku": "B", "qty": 1}])
    return orders.capture(db, CaptureOrder.model_validate(body), ADMIN).order_id


@pytest.fixture()
def db() -> Iterator[Database]:
    d = make_db()
    setup_pool(d)
    yield d
    d.close()


@pytest.fixture()
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(bootstrap_admin=False), db)) as c:
        yield c


def h(role: Role) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


def field_problem(r: Any, status: int = 422) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    return str(r.json()["errors"][0]["field"]) if r.json()["errors"] else r.json()["detail"]


def test_slots_book_and_the_day_is_full_then_cancel_frees_it(db: Database, client: TestClient):
    day = working_day(3)
    first, second = new_order(db), new_order(db)
    r = client.get(
        "/appointments/slots",
        params={"order_id": first, "start": day.isoformat(), "days": 1},
        headers=h(Role.CHANNEL),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["skills"] == ["install"] and body["minutes_on_site"] == 150
    # 08-12 only: the shift ends at noon, so a later window cannot start and finish.
    assert [s["window"] for s in body["slots"]] == ["08:00-12:00"]
    cart = client.get(
        "/appointments/slots",
        params={"cart": "B:1", "zip": "10003", "start": day.isoformat(), "days": 1},
        headers=h(Role.CHANNEL),
    )
    assert cart.json()["slots"] == body["slots"]  # a cart to the same ZIP: the same offer
    assert body["slots"][0]["starts_at"].endswith("-05:00") or body["slots"][0][
        "starts_at"
    ].endswith("-04:00")
    booking = {"order_id": first, "day": day.isoformat(), "window": "08:00-12:00"}
    retry = {**h(Role.CHANNEL), "Idempotency-Key": "book-first-1"}
    booked = client.post("/appointments", json=booking, headers=retry)
    assert booked.status_code == 201, booked.text
    # A retry with the same key and body gets the same booking, not a second one.
    assert client.post("/appointments", json=booking, headers=retry).json() == booked.json()
    aid = booked.json()["appointment_id"]
    assert booked.json()["crew_id"] == "NY-1" and booked.json()["stop_number"] == 1
    # The crew's day is full now: no slot that day for the second order, a 409 with next slots.
    r = client.get(
        "/appointments/slots",
        params={"order_id": second, "start": day.isoformat(), "days": 1},
        headers=h(Role.CHANNEL),
    )
    assert r.json()["slots"] == []
    taken = client.post(
        "/appointments",
        json={"order_id": second, "day": day.isoformat(), "window": "08:00-12:00"},
        headers=h(Role.CHANNEL),
    )
    assert taken.status_code == 409 and taken.headers["content-type"].startswith(PROBLEM)
    nxt = taken.json()["next_slots"]
    assert nxt and all(s["day"] > day.isoformat() for s in nxt)
    # Cancelling frees the capacity; the timeline has both events.
    assert (
        client.post(f"/appointments/{aid}/cancel", headers=h(Role.CHANNEL)).json()["status"]
        == "cancelled"
    )
    again = client.post(
        "/appointments",
        json={"order_id": second, "day": day.isoformat(), "window": "08:00-12:00"},
        headers=h(Role.CHANNEL),
    )
    assert again.status_code == 201, again.text
    events = client.get(f"/orders/{first}/events", headers=h(Role.CUSTOMER_SERVICE)).json()
    kinds = [e["event_type"] for e in events["items"]]
    assert "appointment_booked" in kinds and "appointment_cancelled" in kinds


def test_reschedule_moves_the_visit_and_frees_the_old_day(db: Database, client: TestClient):
    day, later = working_day(3), working_day(3) + timedelta(days=1)
    while later.weekday() >= 5:
        later += timedelta(days=1)
    oid = new_order(db)
    aid = client.post(
        "/appointments",
        json={"order_id": oid, "day": day.isoformat(), "window": "08:00-12:00"},
        headers=h(Role.CHANNEL),
    ).json()["appointment_id"]
    moved = client.post(
        f"/appointments/{aid}/reschedule",
        json={"day": later.isoformat(), "window": "08:00-12:00"},
        headers=h(Role.CUSTOMER_SERVICE),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["day"] == later.isoformat() and moved.json()["appointment_id"] != aid
    assert client.get(f"/appointments/{aid}", headers=h(Role.CHANNEL)).json()["status"] == (
        "cancelled"
    )
    other = new_order(db)
    free = svc.search_slots(db, svc.SlotRequest(order_id=other, first_day=day, days=1))
    assert [(s.day, s.window_start) for s in free.slots] == [(day, 8 * H)]


def test_64_clients_race_for_the_last_slot_exactly_one_books(db: Database):
    day = working_day(3)
    ids = [new_order(db) for _ in range(64)]
    wins: list[dict] = []
    refused: list[svc.SlotTaken] = []
    other: list[BaseException] = []
    start = threading.Barrier(64)

    def go(oid: str) -> None:
        start.wait()
        try:
            wins.append(svc.book(db, svc.SlotRequest(order_id=oid), day, MORNING, ADMIN))
        except svc.SlotTaken as exc:
            refused.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            other.append(exc)

    threads = [threading.Thread(target=go, args=(oid,)) for oid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert other == []
    assert len(wins) == 1 and len(refused) == 63
    assert all(exc.next_slots and exc.next_slots[0]["day"] != day.isoformat() for exc in refused)
    booked = db.read(
        lambda r: r.rows(
            "SELECT count(*) FROM appointments WHERE status = 'booked' AND day = ?", [day]
        )
    )
    assert booked[0][0] == 1


def test_bad_input_names_the_field(db: Database, client: TestClient):
    day = working_day(3).isoformat()
    plain = new_order(db, lines=[{"sku": "A", "qty": 1}])
    ok = new_order(db)
    get = lambda **p: client.get("/appointments/slots", params=p, headers=h(Role.CHANNEL))  # noqa: E731
    post = lambda **b: client.post("/appointments", json=b, headers=h(Role.CHANNEL))  # noqa: E731
    r = get(order_id="NOPE")
    assert r.status_code == 404 and "order_id" in r.json()["detail"]
    assert field_problem(get(order_id=plain)) == "order_id"  # no service line
    assert field_problem(get(cart="B:1", zip="94105")) == "zip"  # not served
    assert field_problem(get(cart="B:x", zip="10003")) == "cart"
    assert field_problem(get(order_id=ok, days=0)) == "query.days"
    assert field_problem(post(order_id=ok, day=day, window="09:00-13:00")) == "window"
    assert field_problem(post(order_id=ok, day=day, window="8-12")) == "window"
    assert field_problem(post(order_id=ok, day="2020-01-06", window="08:00-12:00")) == "day"
    assert field_problem(post(order_id=plain, day=day, window="08:00-12:00")) == "order_id"
    # Nothing half-booked by any of those.
    assert db.read(lambda r: r.rows("SELECT count(*) FROM appointments"))[0][0] == 0


def test_pools_are_edited_by_merchandisers_only(client: TestClient):
    crew = {
        "node_id": "DC1",
        "skills": ["assembly"],
        "shift_start": "09:00",
        "shift_end": "17:00",
        "regions": {"mon": ["100", "101"]},
    }
    assert (
        client.put("/appointments/crews/NY-2", json=crew, headers=h(Role.CHANNEL)).status_code
        == 403
    )
    r = client.put("/appointments/crews/NY-2", json=crew, headers=h(Role.MERCHANDISER))
    assert r.status_code == 200, r.text
    listed = client.get(
        "/appointments/crews", params={"node_id": "DC1"}, headers=h(Role.ANALYST)
    ).json()
    assert {c["crew_id"] for c in listed} == {"NY-1", "NY-2"}
    bad = dict(crew, regions={"funday": ["100"]})
    assert field_problem(
        client.put("/appointments/crews/NY-3", json=bad, headers=h(Role.MERCHANDISER))
    ).startswith("regions")
    late = dict(crew, shift_start="18:00")
    assert (
        field_problem(
            client.put("/appointments/crews/NY-3", json=late, headers=h(Role.MERCHANDISER))
        )
        == "body"
    )
    assert (
        client.delete("/appointments/crews/NY-2", headers=h(Role.MERCHANDISER)).status_code == 204
    )


def test_route_day_writes_work_items_and_the_capacity_view_adds_up(tmp_path):
    from typer.testing import CliRunner

    from appointments.travel import Travel
    from cli.main import app
    from data.geo import zip_table

    path = str(tmp_path / "appt.duckdb")
    db = make_db(path)
    setup_pool(db, end=20 * H)  # a 12-hour shift: both 150-minute visits fit
    day = working_day(3)
    for window in ((12 * H, 16 * H), MORNING):
        svc.book(db, svc.SlotRequest(order_id=new_order(db)), day, window, ADMIN)
    db.close()
    runner = CliRunner()
    out = runner.invoke(
        app, ["appointments", "route", "--date", day.isoformat(), "--db", path, "--time-limit", "1"]
    )
    assert out.exit_code == 0, out.output
    assert "DC1" in out.output
    db = Database(Store(path))
    try:
        (route,) = db.read(lambda r: AppointmentsRepo(r.cur, r.cache).crew_routes(day))
        assert route["crew_id"] == "NY-1"
        assert [s["window"] for s in route["stops"]] == [[8 * H, 12 * H], [12 * H, 16 * H]]
        t = zip_table()
        (a,), (b,) = (t.index_of([z]) for z in ("10001", "10003"))
        leg = Travel().minutes(t.lat[a], t.lon[a], t.lat[b], t.lon[b])
        back = Travel().minutes(t.lat[b], t.lon[b], t.lat[a], t.lon[a])
        assert route["drive_minutes"] == leg + back  # out, 0 between the two, back
        with TestClient(create_app(Settings(bootstrap_admin=False), db)) as client:
            listed = client.get(
                "/appointments/routes",
                params={"day": day.isoformat()},
                headers={"X-API-Key": NODE_KEYS["DC1"]},
            )
        assert listed.status_code == 200, listed.text
        assert [s["appointment_id"] for s in listed.json()[0]["stops"]] == [
            s["appointment_id"] for s in route["stops"]
        ]
        (cap,) = svc.capacity(db, day, day)
        assert cap["node_id"] == "DC1" and cap["appointments"] == 2
        assert cap["service_hours"] == 5.0 and cap["shift_hours"] == 12.0
        assert cap["drive_hours"] == round((leg + back) / 60, 2)
        assert cap["utilisation"] == round((300 + leg + back) / 720, 4)
    finally:
        db.close()


def test_pool_files_load_and_bad_cells_are_named(tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    (tmp_path / "crews.csv").write_text(
        "crew_id,node_id,skills,shift_start,shift_end\nC1,DC1,install assembly,08:00,18:00\n"
        "C2,DC1,install,19:00,18:00\n"
    )
    (tmp_path / "crew_regions.csv").write_text("crew_id,weekday,zip3\nC1,mon,100\nC1,funday,100\n")
    out = CliRunner().invoke(
        app, ["appointments", "load", str(tmp_path), "--db", str(tmp_path / "x.duckdb")]
    )
    assert out.exit_code == 1
    assert "crew_regions.csv row 2 column 'weekday'" in out.output
    assert "crews.csv row 2" in out.output


def test_awaiting_flag_and_a_failed_visit_offers_new_slots(db: Database, client: TestClient):
    oid = new_order(db)
    status = client.get(f"/appointments/orders/{oid}", headers=h(Role.CUSTOMER_SERVICE)).json()
    assert status["needs_appointment"] and status["awaiting_appointment"]
    plain = new_order(db, lines=[{"sku": "A", "qty": 1}])
    other = client.get(f"/appointments/orders/{plain}", headers=h(Role.CUSTOMER_SERVICE)).json()
    assert not other["needs_appointment"] and not other["awaiting_appointment"]
    day = working_day(3)
    aid = client.post(
        "/appointments",
        json={"order_id": oid, "day": day.isoformat(), "window": "08:00-12:00"},
        headers=h(Role.CHANNEL),
    ).json()["appointment_id"]
    status = client.get(f"/appointments/orders/{oid}", headers=h(Role.CUSTOMER_SERVICE)).json()
    assert not status["awaiting_appointment"]
    failed = client.post(
        f"/appointments/{aid}/complete",
        json={"outcome": "failed"},
        headers=h(Role.CUSTOMER_SERVICE),
    )
    assert failed.status_code == 200, failed.text
    assert failed.json()["appointment"]["status"] == "failed" and failed.json()["next_slots"]
    status = client.get(f"/appointments/orders/{oid}", headers=h(Role.CUSTOMER_SERVICE)).json()
    assert status["awaiting_appointment"]
    bad = client.post(
        f"/appointments/{aid}/complete", json={"outcome": "maybe"}, headers=h(Role.CUSTOMER_SERVICE)
    )
    assert field_problem(bad) == "outcome"
