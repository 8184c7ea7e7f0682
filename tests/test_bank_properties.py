"""Property tests of the experiment's parsers (size, seed, providers, feature id) and of the plan (balanced for any
bank and seed, deterministic, a permutation of the bank) and the status derivation's rule of the newest event."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gittracker.errors import BadInput
from gittracker.experiment.bank import (
    BLOCKED_CAPACITY,
    backlog_pressure,
    current_statuses,
    is_far,
    parse_feature_id,
    parse_size,
)
from gittracker.experiment.plan import Plan, counterbalanced, parse_providers, parse_seed, start_warnings
from gittracker.records import FEATURE_STATUSES, MAX_SEED, PROVIDERS, Record

IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)


# -- parsers --------------------------------------------------------------------------------------------------


@given(st.text(max_size=30))
@example("nan")
@example("-inf")
@example("1e400")
@example("0")
@example("-0.0")
@example(" 2.5 ")
@example("1e308")  # finite, but two of them overflow the median
@example("1_0")  # float() takes it
@example("١٢")  # so it does Arabic-Indic digits
@example("1e9")
@example(".5")
def test_size_is_a_finite_positive_number_or_one_line_naming_size(text: str) -> None:
    written = text.strip()
    try:
        value = float(written) if set(written) <= set("0123456789+-.eE") else math.nan
    except ValueError:
        value = math.nan
    valid = 0 < value <= 1e9
    if valid:
        assert parse_size(text) == value
    else:
        with pytest.raises(BadInput, match=r"^--size: expected") as error:
            parse_size(text)
        assert "\n" not in str(error.value)


@given(st.one_of(st.integers(min_value=-5, max_value=MAX_SEED + 5).map(str), st.text(max_size=12)))
@example(str(MAX_SEED))
@example(str(MAX_SEED + 1))
@example("٣")  # a digit, but not an ASCII one
@example("+7")
@example("9" * 5000)  # past the 4,300 digits Python converts: refused, not an internal error
@example("0" * 30 + "7")
def test_seed_is_a_whole_number_in_range_or_refused(text: str) -> None:
    digits = text.strip()
    valid = set(digits) <= set("0123456789") and 0 < len(digits) <= 19 and int(digits) <= MAX_SEED
    if valid:
        assert parse_seed(text) == int(text)
    else:
        with pytest.raises(BadInput, match=r"^--seed: expected a whole number"):
            parse_seed(text)


@given(st.lists(st.sampled_from([*PROVIDERS, "gpt", "", " glm"]), max_size=3))
def test_providers_are_two_different_known_ones(names: list[str]) -> None:
    text = ",".join(names)
    stripped = [name.strip() for name in names]
    valid = len(stripped) == 2 and set(stripped) <= set(PROVIDERS) and stripped[0] != stripped[1]
    if valid:
        assert parse_providers(text) == (stripped[0], stripped[1])
    else:
        with pytest.raises(BadInput, match=r"^--providers: expected two different providers"):
            parse_providers(text)


@given(st.text(max_size=70))
@example("F-01")
@example("-F")
@example("a" * 64)
@example("a" * 65)
def test_feature_ids_follow_the_records_rule(text: str) -> None:
    valid = (
        1 <= len(text) <= 64 and text.isascii() and (text[0].isalnum()) and all(c.isalnum() or c in "._-" for c in text)
    )
    if valid:
        assert parse_feature_id(text) == text
    else:
        with pytest.raises(BadInput, match=r"^FEATURE: expected a feature id"):
            parse_feature_id(text)


@given(st.floats(min_value=0.01, max_value=1e6), st.floats(min_value=0.01, max_value=1e6))
def test_far_means_under_half_or_over_twice_the_median(size: float, median: float) -> None:
    assert is_far(size, median) == (size * 2 < median or size > 2 * median)
    assert not is_far(size, None)


# -- the plan -------------------------------------------------------------------------------------------------


@given(st.sets(IDS, max_size=40), st.integers(min_value=0, max_value=MAX_SEED))
def test_the_plan_is_balanced_deterministic_and_a_permutation_of_the_bank(ids: set[str], seed: int) -> None:
    orders, odd = counterbalanced(ids, seed)
    assert set(orders) == ids and set(orders.values()) <= {"AB", "BA"}
    ab = sum(1 for order in orders.values() if order == "AB")
    ba = len(ids) - ab
    if len(ids) % 2 == 0:
        assert odd is None and ab == ba
    else:
        assert odd in ids and abs(ab - ba) == 1
        rest = [order for feature_id, order in orders.items() if feature_id != odd]
        assert rest.count("AB") == rest.count("BA")
    assert counterbalanced(sorted(ids, reverse=True), seed) == (orders, odd)  # the input's order does not matter


def test_different_seeds_give_different_plans_for_most_seeds() -> None:
    ids = [f"F-{n:02d}" for n in range(1, 11)]
    plans = {tuple(counterbalanced(ids, seed)[0].values()) for seed in range(50)}
    assert len(plans) > 40  # C(10, 5) = 252 balanced plans: a seed that did nothing would give one


# -- start's warnings, and the newest event wins ---------------------------------------------------------------


def plan_of(orders: dict[str, str]) -> Plan:
    record = Record.new(
        "assignment",
        source="cli",
        agent_id="main",
        machine="aaaaaaaaaaaa",
        seed=1,
        providers=["codex", "glm"],
        orders=orders,
        odd_one_out=None,
        replaces=None,
        reason=None,
    )
    return Plan.of(record)


@given(st.lists(st.sampled_from(["codex", "glm"]), max_size=4), st.sampled_from(["codex", "glm"]))
def test_start_warns_exactly_when_the_providers_so_far_are_not_a_prefix_of_the_plan(
    earlier: list[str], provider: str
) -> None:
    plan = plan_of({"F-1": "BA"})
    warnings = start_warnings({"F-1"}, plan, earlier, "F-1", provider)
    done = list(dict.fromkeys([*earlier, provider]))
    assert bool(warnings) == (done != ["glm", "codex"][: len(done)])


@given(st.lists(st.sampled_from(FEATURE_STATUSES), min_size=1, max_size=6))
def test_the_newest_status_set_by_hand_is_the_status_and_g2_counts_it(statuses: list[str]) -> None:
    def record(kind: str, ts: str, **body: object) -> Record:
        return Record.new(kind, source="cli", agent_id="main", machine="aaaaaaaaaaaa", ts=ts, **body)

    spec = {"title": "t", "size": 1, "spec": "s", "spec_sha256": "0" * 64}
    live = [record("feature", "2026-06-01T10:00:00.000Z", feature_id="F-1", **spec)]
    live.append(record("feature", "2026-06-01T10:00:00.500Z", feature_id="F-2", **spec))
    for number, status in enumerate(statuses, start=1):
        live.append(
            record("feature-status", f"2026-06-01T10:{number:02d}:00.000Z", feature_id="F-1", status=status, note=None)
        )
    assert current_statuses(live, None)["F-1"].status == statuses[-1]
    assert current_statuses(live, None)["F-2"].status == "ready"
    gate = backlog_pressure(live, None)
    assert gate["pass"] is False and gate["features"] == (["F-1"] if statuses[-1] == BLOCKED_CAPACITY else [])
