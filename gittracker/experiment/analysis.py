"""The matched and crossover comparisons of the experiment (STATS.md), from plain inputs: no ledger, no preview.

Per (feature, provider) the efficiency is a ratio of sums, ``ΣO / ΣC`` over the provider's completed windows on the
feature whose capacity is known on its headline meter, as the provider's own headline is. The order a feature was
actually done in is read from the windows: the provider whose first window on it opened first did period 1.

- matched: a paired t-test on ``log(e_A / e_B)`` per feature, re-expressed in work per subscription dollar;
- crossover (with a plan): the Hills-Armitage analysis, grouped by the sequence actually done, which cancels a
  constant period (learning) effect and shows it: the provider effect in dollars, the period effect unit-free.

Each says when it cannot conclude (too few pairs, an arm HALTED by the stop rule, no conversion into dollars) and,
prospectively, how many more pairs or features 80 % power at ``mde`` needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gittracker import stats
from gittracker.experiment.plan import Plan

MIN_PER_SEQUENCE = 2  # a crossover with fewer in a sequence has no spread of d there to trust
MIN_SPREAD_PAIRS = 3  # the SD of the log ratios (for power) from fewer is no estimate
TARGET_POWER = 0.8
SOURCE = "(STATS.md)"


@dataclass(frozen=True)
class FeatureWindow:
    """One closed window on a feature. ``work`` None: no outcome yet. ``capacity`` None: unknown, or not counted
    (on another meter than the provider's headline, or left out as overlapping): it only tells the order."""

    feature_id: str
    provider: str
    opened_ts: str
    work: float | None
    capacity: float | None


@dataclass(frozen=True)
class ArmInfo:
    """A provider's headline meter, what one unit of it costs in dollars (or why unknown), and its stop rule."""

    provider: str
    meter: str | None
    usd_per_unit: float | None
    log_variance: stats.LogVariance | None
    reason: str | None
    halted: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "meter": self.meter,
            "usd_per_unit": self.usd_per_unit,
            "reason": self.reason,
            "halted": self.halted,
        }


def ratio_of_sums_by_feature(items: Iterable[tuple[str, float, float]]) -> dict[str, float]:
    """Feature -> ``ΣO / ΣC`` over its ``(feature, work, capacity)`` items; a feature with ``ΣC = 0`` has none, nor
    one whose sums or ratio overflow a float (a subnormal capacity, say), as ``stats.efficiency`` has it for a
    window: an infinite efficiency has no logarithm, and the tests after it refuse it."""
    work: dict[str, float] = {}
    capacity: dict[str, float] = {}
    for feature, done, used in items:
        work[feature] = work.get(feature, 0.0) + done
        capacity[feature] = capacity.get(feature, 0.0) + used
    ratios = {
        feature: work[feature] / capacity[feature] for feature in sorted(work) if 0 < capacity[feature] < math.inf
    }
    return {feature: ratio for feature, ratio in ratios.items() if math.isfinite(ratio)}


def efficiencies(windows: Sequence[FeatureWindow]) -> dict[str, dict[str, float]]:
    """Provider -> feature -> efficiency, over the windows with an outcome and a counted capacity."""
    counted: dict[str, list[tuple[str, float, float]]] = {}
    for window in windows:
        if window.work is not None and window.capacity is not None:
            counted.setdefault(window.provider, []).append((window.feature_id, window.work, window.capacity))
    return {provider: ratio_of_sums_by_feature(items) for provider, items in counted.items()}


def first_opened(windows: Sequence[FeatureWindow]) -> dict[tuple[str, str], str]:
    """(feature, provider) -> when the provider's first window on the feature opened."""
    first: dict[tuple[str, str], str] = {}
    for window in windows:
        key = (window.feature_id, window.provider)
        if key not in first or window.opened_ts < first[key]:
            first[key] = window.opened_ts
    return first


def experiment_block(
    windows: Sequence[FeatureWindow],
    arms: Mapping[str, ArmInfo],
    plan: Plan | None,
    baseline: str | None,
    mde: float,
) -> dict[str, Any] | None:
    """preview's ``experiment``: the plan, the matched comparisons and the crossover; None with no plan and no
    feature done by two providers compared."""
    effs = efficiencies(windows)
    pairs = _compared_pairs(effs, arms, plan, baseline)
    if plan is None and not pairs:
        return None
    return {
        "plan": _plan_dict(plan),
        "matched": [_matched(_arm(arms, a), _arm(arms, b), effs, mde) for a, b in pairs],
        "crossover": _crossover(plan, effs, first_opened(windows), arms, mde) if plan is not None else None,
    }


def _arm(arms: Mapping[str, ArmInfo], provider: str) -> ArmInfo:
    return arms.get(provider) or ArmInfo(provider, None, None, None, f"{provider} has no windows yet", None)


def _compared_pairs(
    effs: Mapping[str, Mapping[str, float]], arms: Mapping[str, ArmInfo], plan: Plan | None, baseline: str | None
) -> list[tuple[str, str]]:
    """With a plan its (A, B); else each provider with a feature in common with the baseline, against it."""
    if plan is not None:
        return [plan.providers]
    if baseline is None:
        return []
    theirs = effs.get(baseline, {})
    return [
        (provider, baseline)
        for provider in sorted(arms)
        if provider != baseline and set(effs.get(provider, {})) & set(theirs)
    ]


def _plan_dict(plan: Plan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    orders = list(plan.orders.values())
    return {
        "record_id": plan.record_id,
        "seed": plan.seed,
        "providers": list(plan.providers),
        "features": len(orders),
        "ab": orders.count("AB"),
        "ba": orders.count("BA"),
        "odd_one_out": plan.odd_one_out,
    }


def _cannot_conclude(a: ArmInfo, b: ArmInfo, too_few: str | None) -> str | None:
    """Every reason the comparison's figures are withheld, in one line; None when there is none."""
    held = _period_withheld(a, b, too_few)
    reasons = [held] if held is not None else []
    unknown = [arm.reason or f"{arm.provider}: no price" for arm in (a, b) if arm.usd_per_unit is None]
    if unknown:
        reasons.append("not comparable: " + "; ".join(unknown))
    elif not _convertible(a, b):
        reasons.append(
            f"not comparable: {a.provider}'s and {b.provider}'s prices per unit ({a.usd_per_unit:g} and "
            f"{b.usd_per_unit:g} USD) are too far apart to convert one into the other"
        )
    return "; ".join(reasons) or None


def _period_withheld(a: ArmInfo, b: ArmInfo, too_few: str | None) -> str | None:
    """Why the period effect is withheld: too few features or a halt; it is unit-free, so prices do not matter."""
    reasons = [f"{arm.provider} HALTED: {arm.halted}" for arm in (a, b) if arm.halted]
    return "; ".join([*reasons, *([too_few] if too_few is not None else [])]) or None


def _convertible(a: ArmInfo, b: ArmInfo) -> bool:
    """The exchange factor B's price / A's is a float above 0: a subnormal price would make it 0 or infinite,
    which stats refuses."""
    rate_a, rate_b = a.usd_per_unit, b.usd_per_unit
    return rate_a is not None and rate_b is not None and 0 < rate_b / rate_a < math.inf


def _in_dollars(native: stats.Comparison, a: ArmInfo, b: ArmInfo) -> stats.Comparison:
    """A's work per dollar over B's: the native ratio x (B's dollars per unit / A's), the rates' uncertainty in."""
    rate_a, rate_b = a.usd_per_unit, b.usd_per_unit
    if rate_a is None or rate_b is None:  # _cannot_conclude holds the figures back first: a caller's bug
        raise ValueError(f"no price for {a.provider if rate_a is None else b.provider}")
    uncertain = [arm.log_variance for arm in (a, b) if arm.log_variance is not None]
    return stats.converted_comparison(native, rate_b / rate_a, uncertain)


def _figures(test: stats.Comparison | None) -> dict[str, Any]:
    if test is None:
        return {"method": None, "ratio": None, "ci": None, "p": None, "df": None}
    ci = list(test.ci) if test.ci is not None else None
    return {"method": test.method, "ratio": test.ratio, "ci": ci, "p": test.p, "df": test.df}


# -- matched: paired by feature --------------------------------------------------------------------------


def _matched(a: ArmInfo, b: ArmInfo, effs: Mapping[str, Mapping[str, float]], mde: float) -> dict[str, Any]:
    mine, theirs = effs.get(a.provider, {}), effs.get(b.provider, {})
    both = sorted(set(mine) & set(theirs))
    # A feature with no work delivered in either arm has no log ratio: it cannot be a pair.
    features = [f for f in both if mine[f] > 0 and theirs[f] > 0]
    n = len(features)
    too_few = (
        None if n >= stats.MIN_PAIRS else f"too few pairs to conclude: have {n}, need >= {stats.MIN_PAIRS} {SOURCE}"
    )
    withheld = _cannot_conclude(a, b, too_few)
    test = None
    if withheld is None:
        test = _in_dollars(stats.paired_log_ratio([mine[f] for f in features], [theirs[f] for f in features]), a, b)
    logs = [math.log(mine[f]) - math.log(theirs[f]) for f in features]
    return {
        "provider": a.provider,
        "versus": b.provider,
        "currency": "USD",
        "arms": [a.to_dict(), b.to_dict()],
        "pairs": n,
        "features": features,
        "without_work": [f for f in both if f not in features],
        **_figures(test),
        "note": withheld if test is None else test.note,
        "power": _paired_power(logs, mde),
    }


def _paired_power(logs: Sequence[float], mde: float) -> dict[str, Any]:
    """Prospective power of the paired test at ``mde`` from the SD of the log ratios, and the pairs 80 % needs."""
    n = len(logs)
    spread = _sd(logs) if n >= MIN_SPREAD_PAIRS else None
    if spread is None or spread <= 0:
        why = f"spread unknown: needs >= {MIN_SPREAD_PAIRS} pairs with a spread, has {n}"
        return _power_dict(mde, spread, None, None, None, n, why)
    d = stats.effect_size(mde, spread)
    needed = _needed(d, paired=True)
    note = None if needed is not None else _out_of_reach(mde, "pairs")
    return _power_dict(mde, spread, d, stats.power_paired(d, n), needed, n, note)


def _needed(d: float, *, paired: bool = False) -> int | None:
    """Pairs (paired) or features per sequence 80 % power needs at ``d``; None when no experiment reaches it."""
    return stats.n_per_arm_within_reach(d, TARGET_POWER, paired=paired)


def _out_of_reach(mde: float, what: str) -> str:
    return f"80 % power at mde {mde:g} is out of reach: it needs more {what} than any experiment can have"


def _sd(values: Sequence[float]) -> float:
    centre = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / (len(values) - 1))


def _power_dict(
    mde: float, sd: float | None, d: float | None, power: float | None, needed: int | None, have: int, note: str | None
) -> dict[str, Any]:
    return {
        "mde": mde,
        "sd": sd,
        "d": d,
        "power": power,
        "needed": needed,
        "more": None if needed is None else max(0, needed - have),
        "note": note,
    }


# -- crossover: Hills-Armitage by the sequence actually done ------------------------------------------------


def _crossover(
    plan: Plan,
    effs: Mapping[str, Mapping[str, float]],
    opened: Mapping[tuple[str, str], str],
    arms: Mapping[str, ArmInfo],
    mde: float,
) -> dict[str, Any]:
    a, b = _arm(arms, plan.providers[0]), _arm(arms, plan.providers[1])
    mine, theirs = effs.get(a.provider, {}), effs.get(b.provider, {})
    sequences: dict[str, list[str]] = {"AB": [], "BA": []}
    deviations, not_done, without_work = [], [], []
    for feature, planned in sorted(plan.orders.items()):
        if feature not in mine or feature not in theirs:
            not_done.append(feature)
            continue
        if mine[feature] <= 0 or theirs[feature] <= 0:
            without_work.append(feature)  # no log efficiency: no d
            continue
        done = _order_done(feature, planned, a.provider, b.provider, opened)
        if done != planned:
            deviations.append({"feature_id": feature, "planned": planned, "done": done})
        sequences[done].append(feature)
    ab = [(mine[f], theirs[f]) for f in sequences["AB"]]
    ba = [(theirs[f], mine[f]) for f in sequences["BA"]]
    n1, n2 = len(ab), len(ba)
    gate = _crossover_gate(n1, n2)
    withheld = _cannot_conclude(a, b, gate)
    # The period effect is unit-free: it needs no conversion into dollars, only enough features and no halt.
    halted = any(arm.halted for arm in (a, b))
    period_test = stats.crossover_period(ab, ba) if gate is None and not halted else None
    provider_test = _in_dollars(stats.crossover(ab, ba), a, b) if withheld is None else None
    period = _figures(period_test)
    del period["method"]
    return {
        "provider": a.provider,
        "versus": b.provider,
        "currency": "USD",
        "arms": [a.to_dict(), b.to_dict()],
        "pairs": n1 + n2,
        "sequences": sequences,
        "deviations": deviations,
        "not_done": not_done,
        "without_work": without_work,
        **_figures(provider_test),
        "period": {**period, "note": period_test.note if period_test is not None else _period_withheld(a, b, gate)},
        "note": withheld if provider_test is None else provider_test.note,
        "power": _crossover_power(ab, ba, mde),
    }


def _order_done(feature: str, planned: str, a: str, b: str, opened: Mapping[tuple[str, str], str]) -> str:
    """AB when A's first window on the feature opened before B's; a tie keeps the plan's order."""
    first_a, first_b = opened[(feature, a)], opened[(feature, b)]
    if first_a == first_b:
        return planned
    return "AB" if first_a < first_b else "BA"


def _crossover_gate(n1: int, n2: int) -> str | None:
    if n1 + n2 >= stats.MIN_PAIRS and min(n1, n2) >= MIN_PER_SEQUENCE:
        return None
    return (
        f"too few pairs to conclude: have {n1 + n2} ({n1} AB, {n2} BA), need >= {stats.MIN_PAIRS} "
        f"with >= {MIN_PER_SEQUENCE} in each sequence {SOURCE}"
    )


def _crossover_power(
    ab: Sequence[tuple[float, float]], ba: Sequence[tuple[float, float]], mde: float
) -> dict[str, Any]:
    """Prospective power of the crossover's two-sample test of d at ``mde``, and the features 80 % needs (two
    sequences of the per-sequence n)."""
    n1, n2 = len(ab), len(ba)
    spread = stats.crossover_sd(ab, ba)
    if spread is None or spread <= 0:
        why = f"spread unknown: needs >= 3 features with >= 1 in each sequence and a spread, has {n1} AB, {n2} BA"
        return _power_dict(mde, spread, None, None, None, n1 + n2, why)
    d = stats.effect_size(mde, spread)
    per_sequence = _needed(d)
    needed = None if per_sequence is None else 2 * per_sequence
    note = None if needed is not None else _out_of_reach(mde, "features")
    return _power_dict(mde, spread, d, stats.power_two_sample(d, n1, n2), needed, n1 + n2, note)
