"""Properties of the experiment block (gittracker/experiment/analysis.py ``experiment_block``) over arbitrary inputs:
any windows on a small pool of features, any arms (missing, unpriced, halted), any plan over a subset of the
features, any baseline and mde. It never raises (preview would exit 3), every figure it gives is finite, an interval
holds its ratio, no "more pairs needed" is negative, and ``pairs`` is the number of features the test used, counted
here independently of the module."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from gittracker import stats
from gittracker.experiment.analysis import ArmInfo, FeatureWindow, experiment_block
from gittracker.experiment.plan import Plan
from gittracker.records import ORDERS, PROVIDERS

FEATURES = ("F-01", "F-02", "F-03", "F-04", "F-05", "F-06", "F-07", "F-08")
# Few timestamps: ties between two providers' first windows on a feature (the plan's order then holds) are common.
OPENED = ("2026-06-01T08:00:00.000Z", "2026-06-01T09:00:00.000Z", "2026-06-02T08:00:00.000Z")
PLAN_ID = "01KT0000000000000000000000"

# None (no outcome / not counted), 0, and positive values from the subnormal to the largest float, with ordinary
# ones weighted in so that enough features reach the >= 6 pairs where the tests and the power run.
amounts = st.one_of(
    st.none(),
    st.just(0.0),
    st.floats(min_value=0.1, max_value=50.0),
    st.floats(min_value=5e-324, max_value=1.7976931348623157e308, allow_nan=False, allow_infinity=False),
    st.sampled_from([5e-324, 1e-300, 1e-10, 1e10, 1e300, 1.7976931348623157e308]),
)
providers = st.sampled_from(PROVIDERS)

windows_strategy = st.lists(
    st.builds(FeatureWindow, st.sampled_from(FEATURES), providers, st.sampled_from(OPENED), amounts, amounts),
    max_size=40,
)

prices = st.one_of(
    st.none(),
    st.floats(min_value=1e-3, max_value=10.0),
    st.floats(min_value=5e-324, max_value=1.7976931348623157e308, allow_nan=False, allow_infinity=False),
)
log_variances = st.one_of(
    st.none(),
    st.builds(
        stats.LogVariance,
        st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
        st.floats(min_value=0.5, max_value=1e4),
    ),
)


@st.composite
def arm_of(draw: st.DrawFn, provider: str) -> ArmInfo:
    price = draw(prices)
    reason = None if price is not None else f"{provider}: no price"
    halted = draw(st.sampled_from([None, "3 failed windows in a row"]))
    return ArmInfo(provider, draw(st.sampled_from(["weekly", "five_hour", "prompts"])), price, draw(log_variances),
                   reason, halted)  # fmt: skip


@st.composite
def arms_strategy(draw: st.DrawFn) -> dict[str, ArmInfo]:
    present = draw(st.lists(providers, unique=True))
    return {provider: draw(arm_of(provider)) for provider in present}


@st.composite
def plans(draw: st.DrawFn) -> Plan | None:
    if draw(st.booleans()):
        return None
    first, second = draw(st.lists(providers, min_size=2, max_size=2, unique=True))
    chosen = draw(st.lists(st.sampled_from(FEATURES), min_size=1, unique=True))
    orders = {feature: draw(st.sampled_from(ORDERS)) for feature in sorted(chosen)}
    odd = draw(st.sampled_from([None, *sorted(chosen)]))
    return Plan(PLAN_ID, draw(st.integers(0, 2**31)), (first, second), orders, odd)


mdes = st.one_of(
    st.floats(min_value=0.0, max_value=2.0, exclude_min=True),
    st.sampled_from([5e-324, 1e-300, 1e-12, 1e-6, 0.05, 0.1, 2.0]),
)
baselines = st.one_of(st.none(), providers)


# -- the independent count: which features a comparison of A with B can use -----------------------------------

LARGEST = Fraction(sys.float_info.max)
NEAR = Fraction(1, 10**9)  # within this of a float's limits, float rounding may fall either way


def efficiency_of(windows: Sequence[FeatureWindow], provider: str, feature: str) -> tuple[bool, bool]:
    """(certainly usable, borderline) for the provider's ``ΣO / ΣC`` on the feature, in exact rational arithmetic:
    usable when some window is counted, the sums and the ratio fit in a float and the ratio is above 0 (it has a
    logarithm). Borderline: a sum or the ratio so close to a float's limits that summing in floats may decide
    either way."""
    counted = [w for w in windows if w.provider == provider and w.feature_id == feature]
    pairs = [(Fraction(w.work), Fraction(w.capacity)) for w in counted if w.work is not None and w.capacity is not None]
    work = sum((done for done, _ in pairs), Fraction(0))
    capacity = sum((used for _, used in pairs), Fraction(0))
    if capacity == 0:
        return False, False
    ratio = work / capacity
    top = max(work, capacity, ratio)
    near_top = LARGEST * (1 - NEAR) < top < LARGEST * (1 + NEAR)
    fits = top <= LARGEST
    near_zero = 0 < ratio < Fraction(1e-323)
    return fits and ratio > 0 and not (near_top or near_zero), near_top or near_zero


def expected_pairs(
    windows: Sequence[FeatureWindow], a: str, b: str, among: Sequence[str] = FEATURES
) -> tuple[int, int]:
    """The fewest and the most features the test of A with B may use: those with a log efficiency on both sides,
    the borderline ones counted or not."""
    certain = borderline = 0
    for feature in among:
        (usable_a, edge_a), (usable_b, edge_b) = (efficiency_of(windows, p, feature) for p in (a, b))
        if usable_a and usable_b:
            certain += 1
        elif (usable_a or edge_a) and (usable_b or edge_b):
            borderline += 1
    return certain, certain + borderline


def pairs_agree(found: int, windows: Sequence[FeatureWindow], a: str, b: str, among: Sequence[str] = FEATURES) -> bool:
    fewest, most = expected_pairs(windows, a, b, among)
    return fewest <= found <= most


# -- walking the block's figures ------------------------------------------------------------------------------


def numbers_in(value: Any, where: str = "experiment") -> Iterator[tuple[str, float]]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int | float):
        yield where, float(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from numbers_in(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from numbers_in(item, f"{where}[{index}]")


def check_figures(test: Mapping[str, Any], where: str) -> None:
    ratio, ci, p = test["ratio"], test["ci"], test["p"]
    if ci is not None:
        assert ratio is not None, f"{where}: an interval without a ratio"
        low, high = ci
        assert 0 <= low <= ratio <= high, f"{where}: ci {ci} does not hold ratio {ratio}"
    if p is not None:
        assert 0 <= p <= 1, f"{where}: p {p}"


def check_power(power: Mapping[str, Any], where: str) -> None:
    if power["more"] is not None:
        assert power["more"] >= 0 and power["needed"] is not None, where
    if power["power"] is not None:
        assert 0 <= power["power"] <= 1, where
    if power["needed"] is None:
        assert power["note"], f"{where}: no figure and no note saying why"


def check_block(
    block: dict[str, Any] | None,
    windows: Sequence[FeatureWindow],
    arms: Mapping[str, ArmInfo],
    plan: Plan | None,
    baseline: str | None,
) -> None:
    if block is None:
        assert plan is None, "a plan always gives a block"
        return
    for where, number in numbers_in(block):
        assert math.isfinite(number), f"{where} = {number}"
    for matched in block["matched"]:
        a, b = matched["provider"], matched["versus"]
        where = f"matched {a} vs {b}"
        assert matched["pairs"] == len(matched["features"]), where
        assert pairs_agree(matched["pairs"], windows, a, b), f"{where}: {matched['pairs']} pairs"
        check_figures(matched, where)
        check_power(matched["power"], where)
        if matched["ratio"] is None:
            assert matched["note"], f"{where}: no ratio and no note saying why"
    if plan is None:
        assert block["crossover"] is None
        assert all(m["versus"] == baseline for m in block["matched"])
        return
    assert [(m["provider"], m["versus"]) for m in block["matched"]] == [plan.providers]
    crossover = block["crossover"]
    a, b = plan.providers
    assert crossover["pairs"] == len(crossover["sequences"]["AB"]) + len(crossover["sequences"]["BA"])
    assert pairs_agree(crossover["pairs"], windows, a, b, sorted(plan.orders)), f"crossover: {crossover['pairs']}"
    check_figures(crossover, "crossover")
    check_figures(crossover["period"], "crossover period")
    check_power(crossover["power"], "crossover")
    if crossover["ratio"] is not None:
        assert crossover["pairs"] >= stats.MIN_PAIRS and not any(arms[p].halted for p in (a, b) if p in arms)


# -- the properties -------------------------------------------------------------------------------------------


T0, T1 = OPENED[0], OPENED[1]
CODEX_CLAUDE = Plan(PLAN_ID, 0, ("codex", "claude"), {"F-01": "AB", "F-02": "BA", "F-03": "AB"}, "F-03")
PRICED = {p: ArmInfo(p, "weekly", 0.05, None, None, None) for p in ("codex", "claude")}
# Three features done both ways, claude's efficiency 1, 1/2, 1/4 of codex's: a spread of the log ratios (~0.69).
SPREAD = [
    FeatureWindow("F-01", "codex", T0, 1.0, 1.0),
    FeatureWindow("F-01", "claude", T1, 1.0, 1.0),
    FeatureWindow("F-02", "claude", T0, 1.0, 2.0),
    FeatureWindow("F-02", "codex", T1, 1.0, 1.0),
    FeatureWindow("F-03", "codex", T0, 1.0, 1.0),
    FeatureWindow("F-03", "claude", T1, 1.0, 4.0),
]


OVERFLOW = [FeatureWindow("F-01", "codex", T0, 1.0, 5e-324), FeatureWindow("F-01", "claude", T1, 1.0, 1.0)]


# An efficiency that overflows a float (work 1 over a subnormal capacity) reached the crossover's SD as inf, and
# stats refused it: preview exited on "ab[0][0]: expected a finite number, got inf". The matched count took it
# as a pair too.
@example(OVERFLOW, {}, CODEX_CLAUDE, None, 1.0)
@example(OVERFLOW, PRICED, None, "claude", 1.0)
# The smallest mde the configuration accepts (1e-6) over a spread of 0.69: 80 % power needs ~4e12 pairs, beyond
# stats' ceiling of 2^40, and n_per_arm_for_power raised (preview exited with "d: ... needs more than ...").
@example(SPREAD, PRICED, CODEX_CLAUDE, None, 1e-6)
@example(SPREAD, PRICED, None, "claude", 1e-6)
@given(windows_strategy, arms_strategy(), plans(), baselines, mdes)
def test_experiment_block_never_raises_and_its_figures_hold(
    windows: list[FeatureWindow], arms: dict[str, ArmInfo], plan: Plan | None, baseline: str | None, mde: float
) -> None:
    block = experiment_block(windows, arms, plan, baseline, mde)
    check_block(block, windows, arms, plan, baseline)


def ordinary(feature: str, provider: str, opened: str, work: float, capacity: float) -> FeatureWindow:
    return FeatureWindow(feature, provider, opened, work, capacity)


# Six features done both ways with a spread of log ratios: the tests and the power run (the interesting branch).
@st.composite
def complete_experiments(draw: st.DrawFn) -> tuple[list[FeatureWindow], Plan]:
    first, second = draw(st.lists(providers, min_size=2, max_size=2, unique=True))
    chosen = draw(st.lists(st.sampled_from(FEATURES), min_size=6, unique=True))
    orders = {feature: draw(st.sampled_from(ORDERS)) for feature in sorted(chosen)}
    windows = []
    for feature, order in orders.items():
        early, late = OPENED[0], OPENED[draw(st.integers(0, 2))]
        one, two = (first, second) if order == "AB" else (second, first)
        for provider, opened in ((one, early), (two, late)):
            work = draw(st.floats(min_value=0.01, max_value=1e6))
            capacity = draw(st.floats(min_value=0.01, max_value=1e6))
            windows.append(ordinary(feature, provider, opened, work, capacity))
    return windows, Plan(PLAN_ID, 7, (first, second), orders, None)


SIX_DONE = [FeatureWindow(f"F-0{n}", p, T0, 1.0, float(n)) for n in range(1, 7) for p in ("codex", "claude")]
SIX_PLANNED = Plan(PLAN_ID, 7, ("codex", "claude"), dict.fromkeys([f"F-0{n}" for n in range(1, 7)], "AB"), None)


# A subnormal price made the exchange factor (B's price / A's) infinite or 0, and stats refused it: preview exited
# on "factor: expected a finite number, got inf".
@example((SIX_DONE, SIX_PLANNED), {**PRICED, "codex": ArmInfo("codex", "weekly", 5e-324, None, None, None)}, None, 1.0)
@example(
    (SIX_DONE, SIX_PLANNED),
    {
        "codex": ArmInfo("codex", "weekly", 2.0, None, None, None),
        "claude": ArmInfo("claude", "weekly", 5e-324, None, None, None),
    },
    None,
    1.0,
)
@given(complete_experiments(), arms_strategy(), baselines, mdes)
def test_a_finished_experiment_never_raises_and_its_figures_hold(
    experiment: tuple[list[FeatureWindow], Plan], arms: dict[str, ArmInfo], baseline: str | None, mde: float
) -> None:
    windows, plan = experiment
    block = experiment_block(windows, arms, plan, baseline, mde)
    assert block is not None
    check_block(block, windows, arms, plan, baseline)
    matched = block["matched"][0]
    assert matched["pairs"] == len(plan.orders)
