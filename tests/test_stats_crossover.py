"""The crossover's period effect and the spread of d (stats.crossover_period, stats.crossover_sd), checked against an
independent computation: an OLS fit of ``y = feature + period + treatment`` by numpy's least squares."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st  # type: ignore[import-untyped,unused-ignore]

from gittracker import stats as gs
from gittracker.errors import BadInput


def ols_crossover(ab: list[tuple[float, float]], ba: list[tuple[float, float]]) -> dict[str, float]:
    """Least squares on every observation: a dummy per feature, period 2, treatment A; the t intervals by hand."""
    rows, y = [], []
    features = len(ab) + len(ba)
    for index, (pair, sequence) in enumerate([(p, "AB") for p in ab] + [(p, "BA") for p in ba]):
        for period, value in enumerate(pair):
            dummy = [0.0] * features
            dummy[index] = 1.0
            on_a = 1.0 if (sequence == "AB") == (period == 0) else 0.0
            rows.append([*dummy, float(period), on_a])
            y.append(math.log(value))
    x, target = np.array(rows), np.array(y)
    coef, *_ = np.linalg.lstsq(x, target, rcond=None)
    residual = target - x @ coef
    df = len(target) - x.shape[1]
    sigma2 = float(residual @ residual) / df
    cov = sigma2 * np.linalg.inv(x.T @ x)
    t = st.t.ppf(0.975, df)
    out = {"df": df, "sigma2": sigma2}
    for name, column, sign in (("treatment", -1, 1.0), ("period", -2, -1.0)):
        # The period column is period 2; the period effect reported is period 1 over period 2: its negative.
        estimate, se = sign * coef[column], math.sqrt(cov[column, column])
        out[name] = estimate
        out[f"{name}_lo"], out[f"{name}_hi"] = estimate - t * se, estimate + t * se
        out[f"{name}_p"] = 2 * st.t.sf(abs(estimate / se), df)
    return out


Pairs = list[tuple[float, float]]


def simulated(rng: np.random.Generator, n1: int, n2: int, tau: float, period: float) -> tuple[Pairs, Pairs]:
    """Efficiencies ``exp(feature + period + treatment + noise)``; ``period`` is π₁ - π₂."""

    def pair(first_is_a: bool) -> tuple[float, float]:
        feature = rng.normal(0, 1.0)
        y1 = feature + period + (tau if first_is_a else 0.0) + rng.normal(0, 0.3)
        y2 = feature + (0.0 if first_is_a else tau) + rng.normal(0, 0.3)
        return (math.exp(y1), math.exp(y2))

    return [pair(True) for _ in range(n1)], [pair(False) for _ in range(n2)]


@pytest.mark.parametrize(("seed", "n1", "n2"), [(1, 8, 4), (2, 5, 5), (3, 2, 9), (4, 1, 2)])
def test_provider_and_period_effects_match_least_squares(seed: int, n1: int, n2: int) -> None:
    ab, ba = simulated(np.random.default_rng(seed), n1, n2, tau=math.log(1.4), period=math.log(0.7))
    fit = ols_crossover(ab, ba)
    provider, period = gs.crossover(ab, ba), gs.crossover_period(ab, ba)
    assert period.method == "period" and (period.n_a, period.n_b) == (n1, n2)
    for name, test in (("treatment", provider), ("period", period)):
        assert test.df == fit["df"] == n1 + n2 - 2
        assert test.ratio == pytest.approx(math.exp(fit[name]), rel=1e-10)
        assert test.ci is not None
        assert test.ci[0] == pytest.approx(math.exp(fit[f"{name}_lo"]), rel=1e-9)
        assert test.ci[1] == pytest.approx(math.exp(fit[f"{name}_hi"]), rel=1e-9)
        assert test.p == pytest.approx(fit[f"{name}_p"], rel=1e-8, abs=1e-14)
    # d = (y1 - y2) / 2 has variance sigma² / 2: the pooled SD of d is the OLS residual SD over sqrt(2).
    assert gs.crossover_sd(ab, ba) == pytest.approx(math.sqrt(fit["sigma2"] / 2), rel=1e-10)


def test_period_effect_is_the_learning_and_ignores_the_provider_effect() -> None:
    ab, ba = simulated(np.random.default_rng(5), 6, 6, tau=0.0, period=math.log(0.6))
    faster_a = [(x * 3, y) for x, y in ab], [(x, y * 3) for x, y in ba]  # A three times as efficient
    assert gs.crossover_period(*faster_a).ratio == pytest.approx(gs.crossover_period(ab, ba).ratio, rel=1e-12)
    assert gs.crossover(*faster_a).ratio == pytest.approx(3 * (gs.crossover(ab, ba).ratio or 0.0), rel=1e-12)
    # A constant exchange rate between the providers' units (all of A's efficiencies x 5) leaves the period alone.
    in_dollars = [(x * 5, y) for x, y in ab], [(x, y * 5) for x, y in ba]
    assert gs.crossover_period(*in_dollars).ratio == pytest.approx(gs.crossover_period(ab, ba).ratio, rel=1e-12)


def test_too_few_or_no_spread() -> None:
    assert gs.crossover_period([(1.0, 2.0)], [(2.0, 1.0)]).note == gs.NOTE_TOO_FEW_FEATURES
    assert gs.crossover_sd([(1.0, 2.0)], [(2.0, 1.0)]) is None
    assert gs.crossover_sd([(1.0, 2.0), (1.0, 3.0)], []) is None  # no BA: no crossover
    same = [(1.0, 2.0), (1.0, 2.0)], [(2.0, 1.0)]
    assert gs.crossover_sd(*same) == 0.0 and gs.crossover_period(*same).note == gs.NOTE_NO_VARIATION
    with pytest.raises(BadInput, match=r"ab\[0\]"):
        gs.crossover_sd([(1.0, math.nan)], [(1.0, 2.0)])
