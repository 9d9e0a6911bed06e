"""Weight profiles: versions, refusal of bad ones, what-if = real re-plan, audited activation."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from models.api import Actor, Role, RunRequest
from models.lifecycle_errors import InvalidInput, NotFound
from services import sourcing
from services import weights as profiles
from tests.lifecycle_fixtures import KEYS, make_db

ANN = Actor(name="ann", role=Role.MERCHANDISER)
BOB = Actor(name="bob", role=Role.MERCHANDISER)
KPI_KEYS = ("total", "shipping", "handling", "late_days", "splits", "unfilled", "packages")


def test_profiles_are_versioned_and_bad_ones_refused_naming_the_key() -> None:
    db = make_db(keys=False)
    v1 = profiles.create(db, "late-heavy", {"late": 15}, "try it", ANN)
    v2 = profiles.create(db, "late-heavy", {"late": 20}, None, BOB)
    assert (v1.version, v2.version, v2.versions) == (1, 2, [1, 2])
    assert profiles.show(db, "late-heavy@1")["weights"]["late"] == 15.0
    assert profiles.show(db, "late-heavy")["weights"] == {
        "shipping": 1.0,
        "handling": 1.0,
        "late": 20.0,
        "split": 2.0,
        "unfilled": 1.0,
    }
    with pytest.raises(
        InvalidInput, match=r"weights\.late: Input should be greater than or equal to 0"
    ):
        profiles.create(db, "bad", {"late": -1}, None, ANN)
    with pytest.raises(InvalidInput, match=r"weights\.lateness: Extra inputs are not permitted"):
        profiles.create(db, "bad", {"lateness": 3}, None, ANN)
    with pytest.raises(InvalidInput, match=r"^name: "):
        profiles.create(db, "Bad Name", {}, None, ANN)
    with pytest.raises(NotFound):
        profiles.show(db, "late-heavy@9")
    assert [p["name"] for p in profiles.list_profiles(db)] == ["late-heavy"]


def test_whatif_equals_the_real_replan_and_the_next_run_uses_the_active_profile() -> None:
    db = make_db(keys=False, orders=True)
    first = sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ANN)
    assert first.status == "applied"
    profiles.create(db, "late-heavy", {"late": 400, "split": 0, "shipping": 0.5}, None, ANN)

    r = profiles.whatif(db, "late-heavy", time_limit=5)
    assert r["run_id"] == first.run_id and r["strategy"] == "greedy"
    # The current weights' re-plan is the run itself.
    for k in KPI_KEYS:
        assert r["current"][k] == pytest.approx(first.kpis[k]), k
    assert r["candidate"] != r["current"]  # the weights matter on this batch

    act = profiles.activate(db, "late-heavy", BOB)
    assert (act["name"], act["version"], act["from_name"], act["actor"]) == (
        "late-heavy",
        1,
        None,
        "bob",
    )
    second = sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ANN)
    assert second.weights["late"] == 400.0 and second.weights["shipping"] == 0.5
    for k in KPI_KEYS:  # what the what-if promised is what the real run did
        assert second.kpis[k] == pytest.approx(r["candidate"][k]), k
    for k in r["delta"]:
        assert r["delta"][k] == pytest.approx(r["candidate"][k] - r["current"][k])

    profiles.create(db, "default", {}, None, ANN)
    again = profiles.activate(db, "default", ANN)
    assert (again["from_name"], again["from_version"], again["actor"]) == ("late-heavy", 1, "ann")
    assert [(a["name"], a["actor"]) for a in profiles.audit(db)] == [
        ("late-heavy", "bob"),
        ("default", "ann"),
    ]


def test_compare_and_sweep_replan_the_last_batch() -> None:
    db = make_db(keys=False, orders=True)
    sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ANN)
    profiles.create(db, "cheap", {"late": 0}, None, ANN)
    profiles.create(db, "punctual", {"late": 400}, None, ANN)
    both = profiles.compare(db, "cheap", "punctual", time_limit=5)
    rows = profiles.sweep(db, "late", [0.0, 400.0], time_limit=5)
    assert both["a"]["kpis"] == {k: v for k, v in rows[0].items() if k != "value"}
    assert both["b"]["kpis"] == {k: v for k, v in rows[1].items() if k != "value"}
    assert [r["value"] for r in rows] == [0.0, 400.0]
    assert rows[1]["late_days"] <= rows[0]["late_days"]
    with pytest.raises(InvalidInput, match="component"):
        profiles.sweep(db, "speed", [1.0])


@pytest.fixture()
def client() -> Iterator[TestClient]:
    db = make_db(orders=True)
    with TestClient(create_app(Settings(bootstrap_admin=False), db)) as c:
        yield c


def h(role: Role, **extra: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role], **extra}


def test_api_merchandisers_write_analysts_read(client: TestClient) -> None:
    body = {"name": "late-heavy", "weights": {"late": 15}}
    denied = client.post("/weights/profiles", json=body, headers=h(Role.ANALYST))
    assert denied.status_code == 403
    made = client.post(
        "/weights/profiles", json=body, headers=h(Role.MERCHANDISER, **{"Idempotency-Key": "k1"})
    )
    assert made.status_code == 201 and made.json()["version"] == 1
    replay = client.post(
        "/weights/profiles", json=body, headers=h(Role.MERCHANDISER, **{"Idempotency-Key": "k1"})
    )
    assert replay.json()["version"] == 1  # the retry did not make version 2
    bad = client.post(
        "/weights/profiles",
        json={"name": "x", "weights": {"late": -2}},
        headers=h(Role.MERCHANDISER),
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "weights.late" in bad.text
    listed = client.get("/weights/profiles", headers=h(Role.ANALYST))
    assert [p["name"] for p in listed.json()] == ["late-heavy"]
    assert client.get("/weights/active", headers=h(Role.ANALYST)).status_code == 404
    act = client.post(
        "/weights/profiles/late-heavy/activate", json={}, headers=h(Role.MERCHANDISER)
    )
    assert act.status_code == 200 and act.json()["actor"] == "merchandiser"
    assert client.get("/weights/active", headers=h(Role.ANALYST)).json()["name"] == "late-heavy"
    assert (
        client.post(
            "/weights/profiles/late-heavy/activate", json={}, headers=h(Role.ANALYST)
        ).status_code
        == 403
    )
    audit = client.get("/weights/activations", headers=h(Role.ANALYST)).json()
    assert [(a["name"], a["version"]) for a in audit] == [("late-heavy", 1)]
    cmp = client.post(
        "/weights/compare", json={"a": "late-heavy", "b": "late-heavy@1"}, headers=h(Role.ANALYST)
    )
    assert cmp.status_code == 404  # nothing to compare on before a sourcing run
    nothing = client.post(
        "/weights/whatif", json={"profile": "late-heavy"}, headers=h(Role.ANALYST)
    )
    assert nothing.status_code == 404  # no sourcing run kept yet


def test_dom_weights_sweep_draws_the_curve_and_lists_each_value(tmp_path) -> None:
    """The command end to end (its progress bar once crashed on the lazy console)."""
    from typer.testing import CliRunner

    from cli.main import app

    path = str(tmp_path / "dom.duckdb")
    db = make_db(path, keys=False, orders=True)
    sourcing.run_sourcing(db, RunRequest(strategy="greedy"), ANN)
    db.close()
    out = tmp_path / "sweep.png"
    args = ["weights", "sweep", "late", "--values", "0,400", "--time-limit", "1"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--db", path])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "Sweep of late" in result.output
