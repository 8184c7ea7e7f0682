"""The experiment's matched and crossover comparisons (gittracker/experiment/analysis.py): bias against the naive
paired comparison, the crossover interval's coverage, the gates and power, and preview end to end."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from scipy import stats as st  # type: ignore[import-untyped,unused-ignore]

from gittracker import clock
from gittracker.capacity import Reading
from gittracker.context import open_context
from gittracker.demo import pinned_clock
from gittracker.experiment.analysis import ArmInfo, FeatureWindow, experiment_block
from gittracker.experiment.plan import Plan
from gittracker.formatting import experiment_lines
from gittracker.records import Record
from gittracker.windows import complete, end, start
from tests.conftest import Sandbox

A, B = "codex", "glm"
USD = {A: 0.05, B: 0.02}  # what one unit of each arm's meter costs: the comparisons are in work per dollar
DAY0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def arms(halted: dict[str, str] | None = None, price: dict[str, float | None] | None = None) -> dict[str, ArmInfo]:
    prices = {**USD, **(price or {})}
    return {
        p: ArmInfo(p, "weekly", prices[p], None, None if prices[p] else f"{p}: no price", (halted or {}).get(p))
        for p in (A, B)
    }


def plan_of(orders: dict[str, str]) -> Plan:
    return Plan("01KT0000000000000000000000", 7, (A, B), orders, None)


def when(minutes: int) -> str:
    return clock.format_ts(DAY0 + timedelta(minutes=minutes))


def windows_of(done: Sequence[tuple[str, str, float, float]]) -> list[FeatureWindow]:
    """(feature, sequence done, e_A, e_B) -> one window each, work 1, capacity 1/e, opened in that sequence."""
    found = []
    for index, (feature, sequence, e_a, e_b) in enumerate(done):
        first, second = (A, B) if sequence == "AB" else (B, A)
        effs = {A: e_a, B: e_b}
        found.append(FeatureWindow(feature, first, when(100 * index), 1.0, 1.0 / effs[first]))
        found.append(FeatureWindow(feature, second, when(100 * index + 50), 1.0, 1.0 / effs[second]))
    return found


def simulate(
    rng: np.random.Generator, n_ab: int, n_ba: int, tau: float, period: float, noise: float = 0.1
) -> list[tuple[str, str, float, float]]:
    """Per feature (id, sequence, e_A, e_B) in native units: log e = feature + period (π₁ - π₂ in period 1) + τ on A
    + noise."""
    done = []
    for index in range(n_ab + n_ba):
        sequence = "AB" if index < n_ab else "BA"
        feature = rng.normal(0.0, 1.0)
        a_first = sequence == "AB"
        y_a = feature + tau + (period if a_first else 0.0) + rng.normal(0.0, noise)
        y_b = feature + (0.0 if a_first else period) + rng.normal(0.0, noise)
        done.append((f"F-{index + 1:02d}", sequence, math.exp(y_a), math.exp(y_b)))
    return done


def block_of(done: Sequence[tuple[str, str, float, float]], **arm_options: Any) -> dict[str, Any]:
    plan = plan_of({feature: sequence for feature, sequence, _, _ in done})
    found = experiment_block(windows_of(done), arms(**arm_options), plan, A, 0.25)
    assert found is not None
    return found


def covers(ci: Sequence[float] | None, value: float) -> bool:
    assert ci is not None
    return ci[0] <= value <= ci[1]


TAU, PERIOD = math.log(1.3), math.log(0.5)  # A 30 % more efficient per unit; period 2 twice period 1 (learning)
TRUE_USD = math.exp(TAU) * USD[B] / USD[A]  # A's work per dollar over B's


def test_the_crossover_recovers_the_provider_effect_where_the_naive_paired_comparison_is_biased() -> None:
    # Unbalanced: 16 features done A first, 4 B first; in every one the second period was twice as efficient.
    block = block_of(simulate(np.random.default_rng(16), 16, 4, TAU, PERIOD))
    naive, crossover = block["matched"][0], block["crossover"]
    assert naive["method"] == "paired" and crossover["method"] == "crossover"
    # The naive paired ratio mixes the learning in: E[log ratio] = τ + (π₁ - π₂)(16 - 4)/20, far below the truth.
    expected_bias = PERIOD * (16 - 4) / 20
    assert math.log(naive["ratio"] / TRUE_USD) == pytest.approx(expected_bias, abs=0.1)
    assert not covers(naive["ci"], TRUE_USD), (naive["ratio"], naive["ci"], TRUE_USD)
    # The crossover cancels it, and shows it: period 1 over period 2 about 0.5.
    assert covers(crossover["ci"], TRUE_USD), (crossover["ratio"], crossover["ci"], TRUE_USD)
    assert covers(crossover["period"]["ci"], math.exp(PERIOD)) and crossover["period"]["ci"][1] < 1
    assert crossover["sequences"] == {
        "AB": [f"F-{i:02d}" for i in range(1, 17)],
        "BA": ["F-17", "F-18", "F-19", "F-20"],
    }
    assert crossover["deviations"] == [] and crossover["note"] is None


def test_over_2000_experiments_the_crossover_interval_covers_the_truth_95_percent_of_the_time() -> None:
    # Each experiment: 2-8 features per sequence (>= 6 in all), a learning effect, noise of 40 %, A 30 % better.
    rng = np.random.default_rng(2000)
    hits = {"crossover": 0, "period": 0}
    runs = 2000
    for _ in range(runs):
        n_ab, n_ba = (int(n) for n in rng.integers(2, 9, size=2))
        done = simulate(rng, max(n_ab, 6 - n_ba), n_ba, TAU, math.log(0.7), noise=0.4)
        block = block_of(done)
        hits["crossover"] += covers(block["crossover"]["ci"], TRUE_USD)
        hits["period"] += covers(block["crossover"]["period"]["ci"], 0.7)
    coverage = {name: count / runs for name, count in hits.items()}
    assert 0.94 <= coverage["crossover"] <= 0.96, coverage
    assert 0.94 <= coverage["period"] <= 0.96, coverage


def test_gates_hold_the_figures_back_and_say_why() -> None:
    done = simulate(np.random.default_rng(3), 4, 1, TAU, PERIOD)
    block = block_of(done)
    matched, crossover = block["matched"][0], block["crossover"]
    assert (matched["pairs"], matched["method"], matched["ratio"], matched["ci"], matched["p"]) == (5, *[None] * 4)
    assert matched["note"] == "too few pairs to conclude: have 5, need >= 6 (STATS.md)"
    assert crossover["method"] is None and crossover["ratio"] is None and crossover["period"]["ratio"] is None
    assert crossover["note"] == (
        "too few pairs to conclude: have 5 (4 AB, 1 BA), need >= 6 with >= 2 in each sequence (STATS.md)"
    )
    # Six pairs but a single BA feature: the matched test runs, the crossover still cannot conclude.
    block = block_of(simulate(np.random.default_rng(3), 5, 1, TAU, PERIOD))
    assert block["matched"][0]["method"] == "paired" and block["crossover"]["method"] is None
    assert block_of(simulate(np.random.default_rng(3), 4, 2, TAU, PERIOD))["crossover"]["method"] == "crossover"


def test_a_halted_arm_or_an_unknown_price_is_not_conclusive() -> None:
    done = simulate(np.random.default_rng(4), 5, 5, TAU, PERIOD)
    halted = block_of(done, halted={B: "2 negative-delta anomalies in 3 windows (more than 1 per 3)"})
    for comparison in (halted["matched"][0], halted["crossover"]):
        assert comparison["ratio"] is None and comparison["method"] is None
        assert comparison["note"] == "glm HALTED: 2 negative-delta anomalies in 3 windows (more than 1 per 3)"
    assert halted["crossover"]["period"]["ratio"] is None
    unpriced = block_of(done, price={A: None})
    assert unpriced["matched"][0]["note"] == "not comparable: codex: no price"
    assert unpriced["crossover"]["ratio"] is None
    # The period effect is unit-free: it stands without a price.
    assert unpriced["crossover"]["period"]["ratio"] == block_of(done)["crossover"]["period"]["ratio"]


def smallest(power_of: Any) -> int:
    return next(n for n in range(2, 100_000) if power_of(n) >= 0.8)


def nct_power(df: int, ncp: float) -> float:
    tc = st.t.ppf(0.975, df)
    return float(st.nct.sf(tc, df, ncp) + st.nct.cdf(-tc, df, ncp))


def test_power_and_how_many_more_match_an_independent_computation() -> None:
    done = simulate(np.random.default_rng(5), 3, 2, TAU, PERIOD, noise=0.5)
    block = block_of(done)
    logs = [math.log(e_a / e_b) for _, _, e_a, e_b in done]
    s = float(np.std(logs, ddof=1))
    d = math.log(1.25) / s
    power = block["matched"][0]["power"]
    assert power["sd"] == pytest.approx(s, rel=1e-12) and power["d"] == pytest.approx(d, rel=1e-12)
    assert power["power"] == pytest.approx(nct_power(4, d * math.sqrt(5)), abs=1e-9)
    needed = smallest(lambda n: nct_power(n - 1, d * math.sqrt(n)))
    assert (power["needed"], power["more"]) == (needed, needed - 5)
    halves = {
        seq: [(math.log(a) - math.log(b)) / 2 * (1 if seq == "AB" else -1) for _, q, a, b in done if q == seq]
        for seq in ("AB", "BA")
    }
    s_d = math.sqrt(sum(float(np.var(v, ddof=1)) * (len(v) - 1) for v in halves.values()) / 3)
    d = math.log(1.25) / s_d
    power = block["crossover"]["power"]
    assert power["sd"] == pytest.approx(s_d, rel=1e-10)
    assert power["power"] == pytest.approx(nct_power(3, d / math.sqrt(1 / 3 + 1 / 2)), abs=1e-9)
    per_sequence = smallest(lambda n: nct_power(2 * n - 2, d / math.sqrt(2 / n)))
    assert (power["needed"], power["more"]) == (2 * per_sequence, max(0, 2 * per_sequence - 5))
    two = block_of(done[:2])["matched"][0]["power"]
    assert two["power"] is None and two["needed"] is None and two["note"].startswith("spread unknown")


def test_order_is_read_from_the_windows_and_deviations_are_listed() -> None:
    done = simulate(np.random.default_rng(6), 4, 4, TAU, PERIOD)
    plan = plan_of({feature: ("BA" if feature == "F-02" else sequence) for feature, sequence, _, _ in done})
    extra = [FeatureWindow("F-01", B, when(-10), None, None)]  # glm's pending window on F-01 opened first
    block = experiment_block(windows_of(done) + extra, arms(), plan, A, 0.25)
    assert block is not None
    crossover = block["crossover"]
    assert crossover["deviations"] == [
        {"feature_id": "F-01", "planned": "AB", "done": "BA"},
        {"feature_id": "F-02", "planned": "BA", "done": "AB"},
    ]
    assert "F-01" in crossover["sequences"]["BA"] and "F-02" in crossover["sequences"]["AB"]
    lines = experiment_lines(block)
    assert any("done out of the plan's order: F-01 (planned AB, done BA)" in line for line in lines)


def test_no_plan_compares_with_the_baseline_and_nothing_matched_is_null() -> None:
    done = simulate(np.random.default_rng(7), 3, 3, TAU, PERIOD)
    block = experiment_block(windows_of(done), arms(), None, B, 0.25)
    assert block is not None and block["plan"] is None and block["crossover"] is None
    assert [(m["provider"], m["versus"], m["pairs"]) for m in block["matched"]] == [(A, B, 6)]
    alone = [w for w in windows_of(done) if w.provider == A]
    assert experiment_block(alone, arms(), None, B, 0.25) is None
    # With a plan the block is there before any feature is done, saying what is missing.
    empty = experiment_block([], arms(), plan_of({"F-01": "AB", "F-02": "BA"}), None, 0.25)
    assert empty is not None and empty["crossover"]["not_done"] == ["F-01", "F-02"]


# -- end to end: windows written by the real machinery, preview --json through the CLI --------------------------


pinned = pinned_clock  # GIT_TRACKER_NOW for the in-process windows, as the demo pins it


# feature -> (order planned, order done, codex windows [(work quality, weekly %)], glm windows [(quality, prompts)])
SCRIPT: dict[str, tuple[str, str, list[tuple[float, float]], list[tuple[float, int]]]] = {
    "F-01": ("AB", "AB", [(0.9, 4.0)], [(0.8, 30)]),
    "F-02": ("BA", "BA", [(1.0, 3.0)], [(0.7, 45)]),
    "F-03": ("AB", "BA", [(0.8, 6.0), (0.9, 2.0)], [(0.9, 25)]),  # done out of order; two codex windows
    "F-04": ("BA", "BA", [(0.6, 2.0)], [(1.0, 60)]),
    "F-05": ("AB", "AB", [(1.0, 5.0)], [(0.85, 20)]),
    "F-06": ("BA", "BA", [(0.7, 3.5)], [(0.6, 35)]),
    "F-07": ("AB", "AB", [(0.95, 2.5)], [(0.9, 50)]),
    "F-08": ("BA", "BA", [(0.9, 4.5)], [(0.8, 15)]),
}


def drive(box: Sandbox) -> None:
    ctx = open_context(box.path, agent_id="main", source="automation")
    orders = {feature: planned for feature, (planned, *_) in SCRIPT.items()}
    assignment = Record.new(
        "assignment", source="cli", agent_id="main", machine=ctx.machine, ts=when(0),
        seed=7, providers=[A, B], orders=orders, odd_one_out=None, replaces=None, reason=None,
    )  # fmt: skip
    ctx.repo.append_records([assignment])  # orders chosen here (assign draws them from a seed: tests/test_assign.py)
    weekly, prompts, minute = 0.0, 0, 10
    for feature, (_, done, codex, glm) in SCRIPT.items():
        sequence = {A: [(q, float(c)) for q, c in codex], B: [(q, float(c)) for q, c in glm]}
        for provider in (A, B) if done == "AB" else (B, A):
            for quality, used in sequence[provider]:
                if provider == A:
                    before, after = Reading.of(weekly_used=weekly), Reading.of(weekly_used=weekly + used)
                    weekly += used
                else:
                    before, after = Reading(prompts=prompts), Reading(prompts=prompts + int(used))
                    prompts += int(used)
                with pinned(DAY0 + timedelta(minutes=minute)):
                    start(ctx, provider, before, feature_id=feature)
                with pinned(DAY0 + timedelta(minutes=minute + 20)):
                    end(ctx, provider, after)
                    complete(ctx, None, "shipped", str(quality))
                minute += 30


def independent(usd: dict[str, float]) -> dict[str, Any]:
    """From SCRIPT alone: per feature ΣO/ΣC, scipy's paired t-test and an OLS fit of the crossover."""
    eff = {p: {} for p in (A, B)}  # type: dict[str, dict[str, float]]
    for feature, (_, _, codex, glm) in SCRIPT.items():
        eff[A][feature] = sum(q for q, _ in codex) / sum(c for _, c in codex)
        eff[B][feature] = sum(q for q, _ in glm) / sum(c for _, c in glm)
    features = sorted(SCRIPT)
    factor = usd[B] / usd[A]
    ya = np.log([eff[A][f] for f in features])
    yb = np.log([eff[B][f] for f in features])
    paired = st.ttest_rel(ya + math.log(factor), yb)  # the test is of equal work per dollar
    diff = ya - yb
    half = st.t.ppf(0.975, len(diff) - 1) * np.std(diff, ddof=1) / math.sqrt(len(diff))
    matched = {
        "ratio": math.exp(diff.mean()) * factor,
        "ci": [math.exp(diff.mean() - half) * factor, math.exp(diff.mean() + half) * factor],
        "p": float(paired.pvalue),
    }
    # OLS: y = feature + period 2 + on A, every observation.
    rows, y = [], []
    for index, feature in enumerate(features):
        done = SCRIPT[feature][1]
        for period, provider in enumerate((A, B) if done == "AB" else (B, A)):
            dummy = [0.0] * len(features)
            dummy[index] = 1.0
            rows.append([*dummy, float(period), 1.0 if provider == A else 0.0])
            y.append(math.log(eff[provider][feature]))
    x, target = np.array(rows), np.array(y)
    coef, *_ = np.linalg.lstsq(x, target, rcond=None)
    df = len(target) - x.shape[1]
    sigma2 = float((target - x @ coef) @ (target - x @ coef)) / df
    cov = sigma2 * np.linalg.inv(x.T @ x)
    t = st.t.ppf(0.975, df)
    tau, se_tau = coef[-1], math.sqrt(cov[-1, -1])
    pi, se_pi = -coef[-2], math.sqrt(cov[-2, -2])
    crossover = {
        "ratio": math.exp(tau) * factor,
        "ci": [math.exp(tau - t * se_tau) * factor, math.exp(tau + t * se_tau) * factor],
        "p": 2 * float(st.t.sf(abs((tau + math.log(factor)) / se_tau), df)),
        "period": {
            "ratio": math.exp(pi),
            "ci": [math.exp(pi - t * se_pi), math.exp(pi + t * se_pi)],
            "p": 2 * float(st.t.sf(abs(pi / se_pi), df)),
        },
    }
    return {"matched": matched, "crossover": crossover}


def close(got: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return all(close(got[key], value) for key, value in want.items())
    if isinstance(want, list):
        return len(got) == len(want) and all(close(g, w) for g, w in zip(got, want, strict=True))
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


def test_preview_end_to_end_equals_an_independent_computation(tracked: Sandbox) -> None:
    drive(tracked)
    report = json.loads(tracked.ok("preview", "--json"))
    usd = {p: report["providers"][p]["dollars"]["usd_per_unit"] for p in (A, B)}
    assert report["providers"][A]["meter"] == "weekly" and report["providers"][B]["meter"] == "prompts"
    block = report["experiment"]
    assert block["plan"]["providers"] == [A, B] and (block["plan"]["ab"], block["plan"]["ba"]) == (4, 4)
    want = independent(usd)
    matched, crossover = block["matched"][0], block["crossover"]
    assert matched["pairs"] == 8 and matched["method"] == "paired"
    assert close(matched, want["matched"]), (matched, want["matched"])
    assert crossover["sequences"] == {"AB": ["F-01", "F-05", "F-07"], "BA": ["F-02", "F-03", "F-04", "F-06", "F-08"]}
    assert crossover["deviations"] == [{"feature_id": "F-03", "planned": "AB", "done": "BA"}]
    assert close(crossover, want["crossover"]), (crossover, want["crossover"])
    # preview's own comparison with the baseline is paired on the same per-feature ratios of sums: they agree.
    # (Two codex windows on F-03: the latest alone would give another ratio.)
    assert report["baseline"] == A
    versus = report["comparisons"][B]
    assert versus["method"] == "paired" and versus["n_a"] == 8
    assert versus["ratio"] == pytest.approx(1 / matched["ratio"], rel=1e-9) and versus["p"] == pytest.approx(
        matched["p"]
    )
    text = tracked.ok("preview")
    assert "Experiment (plan seed 7, A = codex, B = glm; 8 features: 4 AB, 4 BA):" in text
    assert "crossover, codex v glm in work per $ (3 AB, 5 BA): x" in text
    assert "period 1 over period 2: x" in text and "F-03 (planned AB, done BA)" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_plan_whose_first_provider_has_no_window_yet_is_reported_not_crashed_on(tracked: Sandbox) -> None:
    """The plan is made before any window: preview and decide must say what is missing, not fail (exit 3)."""
    for feature in ("F-01", "F-02"):
        (tracked.path / f"{feature}.md").write_text(f"# {feature}\n")
        tracked.ok("bank", "add", feature, "--title", f"feature {feature}", "--spec", f"{feature}.md", "--size", "3")
    tracked.ok("assign", "--seed", "7")
    tracked.ok("start", "glm", "--prompts", "1", "--feature", "F-01")
    tracked.commit()
    tracked.ok("end", "glm", "--prompts", "9")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "0.9")
    block = json.loads(tracked.ok("preview", "--json"))["experiment"]
    assert block["matched"][0]["method"] is None and "codex has no windows yet" in block["matched"][0]["note"]
    assert block["crossover"]["method"] is None and "codex has no windows yet" in block["crossover"]["note"]
    assert "Verdict: stay lean" in tracked.ok("decide")


def test_the_period_effect_withheld_says_only_what_it_needs_not_a_price() -> None:
    """The period effect is unit-free: too few features withhold it, a missing price does not (nor is it named)."""
    few = block_of(simulate(np.random.default_rng(3), 4, 1, TAU, PERIOD), price={A: None})["crossover"]
    assert few["note"].startswith("too few pairs to conclude") and "not comparable" in few["note"]
    assert (
        few["period"]["note"].startswith("too few pairs to conclude") and "not comparable" not in few["period"]["note"]
    )
