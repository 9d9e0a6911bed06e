"""A scenario spec is refused before anything runs, naming the file, line and key."""

import pytest

from scenarios.spec import SpecError, parse_spec

GOOD = """\
name: study
days: 3
orders_per_day: 200
base:
  strategy: optimize
  weights: {late: 6}
scenarios:
  - name: dc-only
    ship_from_store: false
  - name: late-x3
    weights: {late: 18}
"""


def test_scenarios_are_the_base_with_their_changes() -> None:
    base, dc_only, late = parse_spec(GOOD).resolved()
    assert (base.name, base.ship_from_store, base.weights.late) == ("base", True, 6.0)
    assert (dc_only.ship_from_store, dc_only.strategy, dc_only.weights.late) == (
        False,
        "optimize",
        6.0,
    )
    assert (late.ship_from_store, late.weights.late, late.weights.split) == (True, 18.0, 2.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("ship_from_store: false", "bopis_share: 1.5"),
            "spec.yaml line 9: scenarios[0].bopis_share: Input should be less than or equal to 1",
        ),
        (
            GOOD.replace("ship_from_store: false", "shipfromstore: false"),
            "spec.yaml line 9: scenarios[0].shipfromstore: Extra inputs are not permitted",
        ),
        (
            GOOD.replace("{late: 18}", "{late: -1}"),
            "spec.yaml line 11: scenarios[1].weights.late: "
            "Input should be greater than or equal to 0",
        ),
        (
            GOOD.replace("{late: 18}", "{lateness: 3}"),
            "spec.yaml line 11: scenarios[1].weights.lateness: Extra inputs are not permitted",
        ),
        (
            GOOD.replace("days: 3", "days: 0"),
            "spec.yaml line 2: days: Input should be greater than or equal to 1",
        ),
        (
            GOOD.replace("strategy: optimize", "strategy: fastest"),
            "spec.yaml line 5: base.strategy: Input should be 'optimize', 'greedy' or 'nearest'",
        ),
        (GOOD.replace("name: late-x3", "name: dc-only"), "'dc-only' is used twice"),
        (GOOD.replace("  - name: dc-only\n", "  - name: dc-only\n   bad: [\n"), "spec.yaml line"),
        ("- just\n- a list\n", "spec.yaml line 1: the spec must be a mapping"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_key_and_line(text: str, expected: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(text, "spec.yaml")
    assert expected in str(err.value)


def test_service_mix_must_add_up() -> None:
    text = GOOD.replace("ship_from_store: false", "service_mix: {ground: 0.5, next_day: 0.2}")
    with pytest.raises(SpecError, match=r"line 9: scenarios\[0\]\.service_mix: .*add up to 1"):
        parse_spec(text, "spec.yaml")
