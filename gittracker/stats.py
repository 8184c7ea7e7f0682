"""The statistics of STATS.md, each formula implemented once: pure functions, no git, no I/O.

scipy is imported inside the functions that need a distribution or a root finder, never at module level:
``preview`` and ``report`` import this module on every run, and a run that computes no interval (n < 3,
a gate message) must not pay scipy's import time for nothing.

Data conditions (too few windows, no variation, an unbounded interval) are results with a ``note``, so a
report can show them; malformed values (NaN, infinity, negative capacity, mismatched lengths) raise
``BadInput`` naming the offending value, because they mean the caller's data is corrupt.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from gittracker.errors import BadInput

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({"shipped": 1.0, "partial": 0.5, "failed": 0.0})

MIN_WINDOWS = 3  # below this no interval and no efficiency conclusion
MIN_PER_ARM = 4  # below this (and without enough pairs) no test can reach p < 0.05
MIN_PAIRS = 6

NOTE_INSUFFICIENT = f"insufficient data (n < {MIN_WINDOWS})"
NOTE_UNBOUNDED = "unbounded interval (Fieller)"
NOTE_NO_CAPACITY = "no capacity used"
NOTE_NON_FINITE = "non-finite statistic"
NOTE_TOO_FEW_PER_ARM = "insufficient data (a t-test needs >= 2 values per arm)"
NOTE_TOO_FEW_PAIRS = "insufficient data (a paired t-test needs >= 2 pairs)"
NOTE_TOO_FEW_FEATURES = "insufficient data (a crossover needs >= 1 feature per sequence and >= 3 in all)"
NOTE_NO_VARIATION = "no variation: the t statistic is undefined"

__all__ = [
    "DEFAULT_WEIGHTS",
    "MIN_PAIRS",
    "MIN_PER_ARM",
    "MIN_WINDOWS",
    "NOTE_INSUFFICIENT",
    "NOTE_NON_FINITE",
    "NOTE_NO_CAPACITY",
    "NOTE_NO_VARIATION",
    "NOTE_TOO_FEW_FEATURES",
    "NOTE_TOO_FEW_PAIRS",
    "NOTE_TOO_FEW_PER_ARM",
    "NOTE_UNBOUNDED",
    "Comparison",
    "LogVariance",
    "RatioEstimate",
    "WindowQuantities",
    "comparison_gate",
    "converted_comparison",
    "converted_ratio",
    "crossover",
    "crossover_period",
    "crossover_sd",
    "delivered_work",
    "detectable_d",
    "effect_size",
    "efficiency",
    "holm",
    "log_efficiencies",
    "log_ratio_variance",
    "n_per_arm_for_power",
    "n_per_arm_within_reach",
    "paired_log_ratio",
    "pooled_sd",
    "power_paired",
    "power_two_sample",
    "ratio_of_sums",
    "welch_log_ratio",
    "window_quantities",
]


# --- validation -------------------------------------------------------------------------------------


def _number(value: object, what: str) -> float:
    # float and int lead the tuple: isinstance stops at them without the numbers.Real ABC check, which preview would
    # otherwise pay a few hundred thousand times. numbers.Real admits numpy scalars; bool is never a measurement.
    if isinstance(value, bool) or not isinstance(value, float | int | numbers.Real) or not math.isfinite(value):
        raise BadInput(f"{what}: expected a finite number, got {value!r}")
    return float(value)


def _nonnegative(value: object, what: str) -> float:
    number = _number(value, what)
    if number < 0:
        raise BadInput(f"{what}: expected a number >= 0, got {value!r}")
    return number


def _count(value: object, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise BadInput(f"{what}: expected a whole number >= {minimum}, got {value!r}")
    return int(value)


def _open_unit(value: object, what: str) -> float:
    number = _number(value, what)
    if not 0 < number < 1:
        raise BadInput(f"{what}: expected a number strictly between 0 and 1, got {value!r}")
    return number


def _numbers(values: Sequence[float], what: str, check: Callable[[object, str], float]) -> list[float]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise BadInput(f"{what}: expected a list of numbers, got {type(values).__name__}")
    if check is _nonnegative or check is _number:
        plain = _plain_numbers(values, nonnegative=check is _nonnegative)
        if plain is not None:
            return plain
    return [check(value, f"{what}[{index}]") for index, value in enumerate(values)]


def _plain_numbers(values: Sequence[object], *, nonnegative: bool) -> list[float] | None:
    """``values`` as floats when all are plain finite ints and floats (and >= 0 if asked), checked in bulk; None
    when any is not, and each is then checked on its own for the message. Preview checks a few hundred thousand."""
    if not set(map(type, values)) <= {float, int}:
        return None
    try:
        floats = list(map(float, values))  # type: ignore[arg-type]  # ints and floats only, checked above
    except OverflowError:  # an int too large for a float: the check one by one says so
        return None
    if not math.isfinite(sum(floats)) or (nonnegative and floats and min(floats) < 0):
        return None  # a NaN or an infinity makes the sum one too (as may a sum that overflows: checked one by one)
    return floats


def _same_length(first: Sequence[object], second: Sequence[object], what: str) -> None:
    if len(first) != len(second):
        raise BadInput(f"{what}: expected lists of equal length, got {len(first)} and {len(second)}")


# --- small exact helpers ------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _var(values: Sequence[float]) -> float:
    """Sample variance (ddof = 1), two-pass so a large common offset does not cancel away the spread."""
    centre = _mean(values)
    return math.fsum((value - centre) ** 2 for value in values) / (len(values) - 1)


def _exp(value: float) -> float:
    # math.exp raises on overflow; an overflowed ratio is reported as a non-finite statistic instead.
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def _t_quantile(confidence: float, df: float) -> float:
    from scipy import special  # type: ignore[import-untyped,unused-ignore]

    # scipy.special, not scipy.stats: the same functions (t.ppf is stdtrit) at a third of the import
    # time, which is most of what a report costs.
    return float(special.stdtrit(df, 0.5 + confidence / 2))


# --- per-window quantities ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowQuantities:
    """``O_i`` (delivered work), ``C_i`` (capacity, None when unknown) and ``e_i = O_i / C_i``."""

    work: float
    capacity: float | None
    efficiency: float | None

    def __post_init__(self) -> None:
        _nonnegative(self.work, "work")
        if self.capacity is not None:
            _number(self.capacity, "capacity")
        if self.efficiency is not None:
            _nonnegative(self.efficiency, "efficiency")


def delivered_work(outcome: str, quality: float, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> float:
    """``O_i = outcome weight x quality score``; the weights are configurable, the default is STATS.md's."""
    if weights is DEFAULT_WEIGHTS and (type(quality) is float or type(quality) is int) and 0 <= quality <= 1:
        weight = DEFAULT_WEIGHTS.get(outcome)  # the common case, without a message built per window
        if weight is not None:
            return weight * float(quality)
    if outcome not in weights:
        raise BadInput(f"outcome: expected one of {', '.join(weights)}, got {outcome!r}")
    weight = _nonnegative(weights[outcome], f"weight of {outcome}")
    score = _nonnegative(quality, "quality_score")
    if score > 1:
        raise BadInput(f"quality_score: expected a number in [0, 1], got {quality!r}")
    return weight * score


def efficiency(work: float, capacity: float | None) -> float | None:
    """``e_i = O_i / C_i``; None when the capacity is unknown or not positive (no ratio is meaningful)."""
    if type(work) is float and type(capacity) is float and 0 <= work < math.inf and 0 < capacity < math.inf:
        ratio = work / capacity  # the common case, checked without a call per value
        return ratio if math.isfinite(ratio) else None
    amount = _nonnegative(work, "work")
    if capacity is None:
        return None
    used = _number(capacity, "capacity")
    if used <= 0:
        return None
    ratio = amount / used
    # A subnormal capacity can overflow the ratio; that is not an efficiency anyone can act on.
    return ratio if math.isfinite(ratio) else None


def window_quantities(
    outcome: str, quality: float, capacity: float | None, weights: Mapping[str, float] = DEFAULT_WEIGHTS
) -> WindowQuantities:
    """The three per-window quantities of one closed, completed window."""
    work = delivered_work(outcome, quality, weights)
    return WindowQuantities(work=work, capacity=capacity, efficiency=efficiency(work, capacity))


def log_efficiencies(values: Sequence[float], what: str = "efficiency") -> list[float]:
    """``log(e_i)`` over the windows with ``O_i > 0``: a zero efficiency has no logarithm and is left out."""
    return [math.log(value) for value in _numbers(values, what, _nonnegative) if value > 0]


# --- headline efficiency: ratio of sums with Fieller's interval -------------------------------------


@dataclass(frozen=True)
class RatioEstimate:
    """``R = ΣO / ΣC`` with Fieller's interval; ``ci_width`` is ``(hi - lo) / R`` (relative full width)."""

    n: int
    estimate: float | None
    ci: tuple[float, float] | None
    ci_width: float | None
    note: str | None
    confidence: float = 0.95

    def __post_init__(self) -> None:
        _count(self.n, "n", 0)
        _open_unit(self.confidence, "confidence")
        if self.estimate is not None:
            _number(self.estimate, "estimate")
        if self.ci is not None:
            lo, hi = (_number(bound, "ci") for bound in self.ci)
            # The interval is always built around the estimate; anything else is a bug, not data.
            if self.estimate is None or not lo <= self.estimate <= hi:
                raise BadInput(f"ci: expected an interval around the estimate, got {self.ci!r}")
        if self.ci_width is not None:
            if self.ci is None:
                raise BadInput("ci_width: expected only with an interval")
            _nonnegative(self.ci_width, "ci_width")


def ratio_of_sums(work: Sequence[float], capacity: Sequence[float], confidence: float = 0.95) -> RatioEstimate:
    """Delivered work per capacity percent, ``ΣO / ΣC``, with Fieller's interval on n - 1 df."""
    delivered = _numbers(work, "work", _nonnegative)
    used = _numbers(capacity, "capacity", _nonnegative)
    _same_length(delivered, used, "work and capacity")
    level = _open_unit(confidence, "confidence")
    n = len(delivered)
    if n == 0:
        return RatioEstimate(n, None, None, None, NOTE_INSUFFICIENT, level)
    work_scale = max(delivered) or 1.0
    capacity_scale = max(used)
    if capacity_scale == 0:
        return RatioEstimate(n, None, None, None, NOTE_NO_CAPACITY, level)
    # R and Fieller's interval are equivariant under rescaling O and C, so compute on values scaled into
    # [0, 1]: no sum or second moment can overflow, whatever the units or magnitudes.
    o = [value / work_scale for value in delivered]
    c = [value / capacity_scale for value in used]
    scale = work_scale / capacity_scale
    scaled = math.fsum(o) / math.fsum(c)
    try:
        estimate = math.fsum(delivered) / math.fsum(used)
    except OverflowError:
        estimate = scaled * scale
    if not math.isfinite(estimate):
        return RatioEstimate(n, None, None, None, NOTE_NON_FINITE, level)
    if n < MIN_WINDOWS:
        return RatioEstimate(n, estimate, None, None, NOTE_INSUFFICIENT, level)

    t = _t_quantile(level, n - 1)
    q = t * t / n
    mean_c = _mean(c)
    s_cc = _var(c)
    a = mean_c * mean_c - q * s_cc
    if not a > 0:
        return RatioEstimate(n, estimate, None, None, NOTE_UNBOUNDED, level)
    # STATS.md's quadratic a·R² + b·R + c, with b = -2(Ō·C̄ - q·s_OC) and c = Ō² - q·s_OO, rewritten in
    # δ = R - R̂ (Ō = R̂·C̄ exactly): a·δ² + 2q·g·δ - q·v = 0 with v = var(O - R̂·C) and g = cov(O - R̂·C, C).
    # Same roots, but b² - 4ac taken from raw moments cancels catastrophically when O is nearly
    # proportional to C (the best-determined data) and can come out negative; 4(q²g² + a·q·v) cannot.
    residual = [x - scaled * y for x, y in zip(o, c, strict=True)]
    mean_r = _mean(residual)
    v = _var(residual)
    g = math.fsum((r - mean_r) * (y - mean_c) for r, y in zip(residual, c, strict=True)) / (n - 1)
    half_b = q * g
    discriminant = half_b * half_b + a * q * v
    if not (math.isfinite(discriminant) and discriminant >= 0):
        return RatioEstimate(n, estimate, None, None, NOTE_UNBOUNDED, level)
    # The larger root directly and the other from the product of roots (-q·v / a), so neither is the
    # difference of two nearly equal numbers. The product is <= 0, so the roots straddle δ = 0.
    far = -(half_b + math.copysign(math.sqrt(discriminant), half_b)) / a
    near = (-q * v / a) / far if far != 0 else 0.0
    # R is a ratio of non-negative sums: the interval is Fieller's intersected with [0, ∞) (STATS.md).
    lo = max(0.0, estimate + min(far, near) * scale)
    hi = estimate + max(far, near) * scale
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return RatioEstimate(n, estimate, None, None, NOTE_UNBOUNDED, level)
    # A relative width is undefined at R = 0 (nothing delivered); the interval is then the point 0.
    width = (hi - lo) / estimate if estimate > 0 else None
    if width is not None and not math.isfinite(width):
        width = None
    return RatioEstimate(n, estimate, (lo, hi), width, None, level)


# --- comparisons ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Efficiency of arm A relative to arm B as a ratio (``> 1``: A delivers more per capacity), with CI and p.

    ``n_a`` and ``n_b`` count the values actually used (zero efficiencies have no logarithm); for a paired
    test both are the number of pairs. ``ratio`` needs one value per arm; ``ci``, ``p``, ``df`` and ``se`` (the
    standard error of the log ratio) need a defined t statistic, otherwise ``note`` says why they are missing.
    """

    method: str
    n_a: int
    n_b: int
    ratio: float | None
    ci: tuple[float, float] | None
    p: float | None
    df: float | None
    note: str | None
    confidence: float = 0.95
    se: float | None = None

    def __post_init__(self) -> None:
        if self.method not in {"welch", "paired", "crossover", "period"}:
            raise BadInput(f"method: expected welch, paired or crossover, got {self.method!r}")
        _count(self.n_a, "n_a", 0)
        _count(self.n_b, "n_b", 0)
        _open_unit(self.confidence, "confidence")
        if self.ratio is not None:
            _nonnegative(self.ratio, "ratio")
        if self.ci is not None:
            lo, hi = (_nonnegative(bound, "ci") for bound in self.ci)
            if not lo <= hi:
                raise BadInput(f"ci: expected lo <= hi, got {self.ci!r}")
        if self.p is not None and not 0 <= _number(self.p, "p") <= 1:
            raise BadInput(f"p: expected a probability, got {self.p!r}")
        if self.df is not None and _number(self.df, "df") <= 0:
            raise BadInput(f"df: expected a positive number, got {self.df!r}")
        if self.se is not None and _number(self.se, "se") <= 0:
            raise BadInput(f"se: expected a positive standard error, got {self.se!r}")


def _t_comparison(
    method: str, n_a: int, n_b: int, difference: float, se: float, df: float, confidence: float
) -> Comparison:
    """The log-scale difference, its standard error and df as a ratio, a t interval and a two-sided p."""
    from scipy import special  # type: ignore[import-untyped,unused-ignore]

    p = min(1.0, 2 * float(special.stdtr(df, -abs(difference / se))))
    half = _t_quantile(confidence, df) * se
    ratio = _exp(difference)
    lo, hi = _exp(difference - half), _exp(difference + half)
    if not (math.isfinite(ratio) and math.isfinite(hi)):
        return Comparison(method, n_a, n_b, None, None, p, df, NOTE_NON_FINITE, confidence, se)
    return Comparison(method, n_a, n_b, ratio, (lo, hi), p, df, None, confidence, se)


def _ratio_only(method: str, n_a: int, n_b: int, difference: float | None, note: str, confidence: float) -> Comparison:
    ratio = None if difference is None else _exp(difference)
    if ratio is not None and not math.isfinite(ratio):
        ratio, note = None, NOTE_NON_FINITE
    return Comparison(method, n_a, n_b, ratio, None, None, None, note, confidence)


def welch_log_ratio(
    efficiency_a: Sequence[float], efficiency_b: Sequence[float], confidence: float = 0.95
) -> Comparison:
    """Welch's t-test on ``log(e_i)`` of independent windows; ratio of geometric means ``exp(ȳ_a - ȳ_b)``."""
    ya = log_efficiencies(efficiency_a, "efficiency_a")
    yb = log_efficiencies(efficiency_b, "efficiency_b")
    level = _open_unit(confidence, "confidence")
    na, nb = len(ya), len(yb)
    difference = _mean(ya) - _mean(yb) if na and nb else None
    if difference is None or na < 2 or nb < 2:
        return _ratio_only("welch", na, nb, difference, NOTE_TOO_FEW_PER_ARM, level)
    ua, ub = _var(ya) / na, _var(yb) / nb
    se2 = ua + ub
    if se2 == 0:
        return _ratio_only("welch", na, nb, difference, NOTE_NO_VARIATION, level)
    # Welch-Satterthwaite, written with the weights u/se² so tiny variances cannot underflow to 0/0.
    wa, wb = ua / se2, ub / se2
    df = 1 / (wa * wa / (na - 1) + wb * wb / (nb - 1))
    return _t_comparison("welch", na, nb, difference, math.sqrt(se2), df, level)


def paired_log_ratio(
    efficiency_a: Sequence[float], efficiency_b: Sequence[float], confidence: float = 0.95
) -> Comparison:
    """Paired t-test on ``log(e_a / e_b)`` per matched feature (position i of both lists is one feature).

    A feature with a zero efficiency on either side has no log ratio and is left out.
    """
    ea = _numbers(efficiency_a, "efficiency_a", _nonnegative)
    eb = _numbers(efficiency_b, "efficiency_b", _nonnegative)
    _same_length(ea, eb, "efficiency_a and efficiency_b")
    level = _open_unit(confidence, "confidence")
    d = [math.log(a) - math.log(b) for a, b in zip(ea, eb, strict=True) if a > 0 and b > 0]
    n = len(d)
    difference = _mean(d) if n else None
    if difference is None or n < 2:
        return _ratio_only("paired", n, n, difference, NOTE_TOO_FEW_PAIRS, level)
    variance = _var(d)
    if variance == 0:
        return _ratio_only("paired", n, n, difference, NOTE_NO_VARIATION, level)
    return _t_comparison("paired", n, n, difference, math.sqrt(variance / n), n - 1, level)


def _period_halves(features: Sequence[tuple[float, float]], what: str) -> list[float]:
    if isinstance(features, str | bytes) or not isinstance(features, Sequence):
        raise BadInput(f"{what}: expected a list of (period 1, period 2) efficiency pairs")
    halves = []
    for index, pair in enumerate(features):
        if not isinstance(pair, Sequence) or isinstance(pair, str | bytes) or len(pair) != 2:
            raise BadInput(f"{what}[{index}]: expected a (period 1, period 2) efficiency pair, got {pair!r}")
        first = _nonnegative(pair[0], f"{what}[{index}][0]")
        second = _nonnegative(pair[1], f"{what}[{index}][1]")
        if first > 0 and second > 0:
            halves.append((math.log(first) - math.log(second)) / 2)
    return halves


def _crossover_halves(
    ab: Sequence[tuple[float, float]], ba: Sequence[tuple[float, float]], confidence: float
) -> tuple[list[float], list[float], float]:
    return _period_halves(ab, "ab"), _period_halves(ba, "ba"), _open_unit(confidence, "confidence")


def _pooled_halves(d_ab: Sequence[float], d_ba: Sequence[float]) -> float:
    """The pooled variance of d over both sequences, on n1 + n2 - 2 df (callers check there is one)."""
    n1, n2 = len(d_ab), len(d_ba)
    return ((n1 - 1) * (_var(d_ab) if n1 > 1 else 0.0) + (n2 - 1) * (_var(d_ba) if n2 > 1 else 0.0)) / (n1 + n2 - 2)


def _crossover_test(method: str, d_ab: list[float], d_ba: list[float], sign: int, level: float) -> Comparison:
    """``mean(d_AB) + sign x mean(d_BA)`` as a ratio with the pooled two-sample t interval: sign -1 is the provider
    effect, +1 the period effect. Both have the same standard error, ``s_d·sqrt(1/n1 + 1/n2)``."""
    n1, n2 = len(d_ab), len(d_ba)
    estimate = _mean(d_ab) + sign * _mean(d_ba) if n1 and n2 else None
    if estimate is None or n1 + n2 < 3:
        return _ratio_only(method, n1, n2, estimate, NOTE_TOO_FEW_FEATURES, level)
    pooled = _pooled_halves(d_ab, d_ba)
    if pooled == 0:
        return _ratio_only(method, n1, n2, estimate, NOTE_NO_VARIATION, level)
    se = math.sqrt(pooled * (1 / n1 + 1 / n2))
    return _t_comparison(method, n1, n2, estimate, se, n1 + n2 - 2, level)


def crossover(
    ab: Sequence[tuple[float, float]], ba: Sequence[tuple[float, float]], confidence: float = 0.95
) -> Comparison:
    """Hills-Armitage analysis of a counterbalanced AB/BA assignment: the effect of A versus B.

    Each item is one feature's ``(period-1 efficiency, period-2 efficiency)``; ``ab`` lists the features
    done by A first, ``ba`` those done by B first. With ``y = log e`` and ``d = (y₁ - y₂) / 2`` per feature,
    under ``y = feature + period + treatment``:

        E[d | AB] = (π₁ - π₂)/2 + (τ_A - τ_B)/2        E[d | BA] = (π₁ - π₂)/2 - (τ_A - τ_B)/2

    so ``mean(d_AB) - mean(d_BA) = τ_A - τ_B`` whatever the (constant) period effect, and the feature
    effect cancels within each d. Sign convention: ``ratio = exp(τ_A - τ_B)``, A's efficiency relative to
    B's, as in the other comparisons. The test is the classic pooled-variance two-sample t-test of d.
    Features with a zero efficiency in either period have no log and are left out.
    """
    d_ab, d_ba, level = _crossover_halves(ab, ba, confidence)
    # The difference of two half-differences estimates τ_A - τ_B itself (not twice it), so no factor 2.
    return _crossover_test("crossover", d_ab, d_ba, -1, level)


def crossover_period(
    ab: Sequence[tuple[float, float]], ba: Sequence[tuple[float, float]], confidence: float = 0.95
) -> Comparison:
    """The period effect of the same AB/BA data: ``ratio = exp(π₁ - π₂)``, period 1's efficiency over period 2's.

    From the expectations in ``crossover``, ``mean(d_AB) + mean(d_BA) = π₁ - π₂`` whatever the providers' effect;
    its standard error is the provider effect's (same pooled SD of d, same n1 + n2 - 2 df). Below 1: the second
    period was more efficient (learning). Unit-free: a constant exchange rate between the providers' units adds
    to one sequence's d what it takes from the other's.
    """
    d_ab, d_ba, level = _crossover_halves(ab, ba, confidence)
    return _crossover_test("period", d_ab, d_ba, +1, level)


def crossover_sd(ab: Sequence[tuple[float, float]], ba: Sequence[tuple[float, float]]) -> float | None:
    """The pooled SD of the half-differences d over both sequences (what the crossover's power rests on).

    None with fewer than 3 features in all or none in a sequence (as for the test itself).
    """
    d_ab, d_ba, _ = _crossover_halves(ab, ba, 0.95)
    if not d_ab or not d_ba or len(d_ab) + len(d_ba) < 3:
        return None
    return math.sqrt(_pooled_halves(d_ab, d_ba))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order: monotone in the sorted order, capped at 1."""
    raw = _numbers(pvalues, "pvalues", _nonnegative)
    for index, value in enumerate(raw):
        if value > 1:
            raise BadInput(f"pvalues[{index}]: expected a probability in [0, 1], got {value!r}")
    m = len(raw)
    adjusted = [0.0] * m
    running = 0.0
    # Sorting is stable, so tied p-values keep their input order and get the same adjusted value anyway.
    for rank, index in enumerate(sorted(range(m), key=raw.__getitem__)):
        running = max(running, min(1.0, (m - rank) * raw[index]))
        adjusted[index] = running
    return adjusted


# --- one currency: comparisons whose units are converted by an estimated rate ----------------------


@dataclass(frozen=True)
class LogVariance:
    """The variance of an estimate's logarithm (delta method) and the degrees of freedom it rests on."""

    variance: float
    df: float

    def __post_init__(self) -> None:
        _nonnegative(self.variance, "variance")
        if _number(self.df, "df") <= 0:
            raise BadInput(f"df: expected a positive number, got {self.df!r}")


def log_ratio_variance(numerator: Sequence[float], denominator: Sequence[float]) -> LogVariance | None:
    """Delta-method variance of ``log(Σx / Σy)`` over paired values: ``var(x - r·y) / (n·x̄²)`` on n - 1 df.

    Linearising ``log x̄ - log ȳ`` around the means turns each pair into ``(x - r·y) / x̄`` (``r = Σx / Σy``); the
    variance of their mean is the formula. None below ``MIN_WINDOWS`` pairs, as for the ratio itself, and when
    either sum is 0 (the ratio has no logarithm).
    """
    xs = _numbers(numerator, "numerator", _nonnegative)
    ys = _numbers(denominator, "denominator", _nonnegative)
    _same_length(xs, ys, "numerator and denominator")
    n = len(xs)
    if n < MIN_WINDOWS:
        return None
    x_scale, y_scale = max(xs), max(ys)
    if x_scale == 0 or y_scale == 0:
        return None
    # Rescaling x or y shifts log r by a constant and leaves its variance alone: compute on values in [0, 1],
    # where no square can overflow (and x̄ >= 1/n, so the division cannot either).
    x = [value / x_scale for value in xs]
    y = [value / y_scale for value in ys]
    ratio = math.fsum(x) / math.fsum(y)
    mean_x = _mean(x)
    variance = _var([a - ratio * b for a, b in zip(x, y, strict=True)]) / (n * mean_x * mean_x)
    return LogVariance(variance, n - 1)


def _log_variance(value: object, what: str) -> LogVariance:
    if not isinstance(value, LogVariance):
        raise BadInput(f"{what}: expected a LogVariance, got {type(value).__name__}")
    return value


def _positive(value: object, what: str) -> float:
    number = _number(value, what)
    if number <= 0:
        raise BadInput(f"{what}: expected a number > 0, got {value!r}")
    return number


def converted_ratio(estimate: RatioEstimate, rate: float, uncertainty: LogVariance | None = None) -> RatioEstimate:
    """``R / rate``: a ratio of sums per unit of another currency, ``rate`` of which buy one unit of capacity.

    An exact rate divides the estimate and Fieller's interval alike (the relative width stays). A rate known up
    to ``uncertainty``, the delta-method variance of its logarithm on ``df`` degrees of freedom, widens each side
    of Fieller's interval on the log scale by the rate's own t half-width, in quadrature (the MOVER combination
    of two independent intervals): ``lo' = R'·exp(-sqrt(log(R/lo)² + (t·se)²))`` and
    ``hi' = R'·exp(sqrt(log(hi/R)² + (t·se)²))``, with ``t`` on the rate's df.
    """
    if not isinstance(estimate, RatioEstimate):
        raise BadInput(f"estimate: expected a RatioEstimate, got {type(estimate).__name__}")
    divisor = _positive(rate, "rate")
    spread = None if uncertainty is None else _log_variance(uncertainty, "uncertainty")
    n, level = estimate.n, estimate.confidence
    if estimate.estimate is None:
        return RatioEstimate(n, None, None, None, estimate.note, level)
    value = estimate.estimate / divisor
    if not math.isfinite(value):
        return RatioEstimate(n, None, None, None, NOTE_NON_FINITE, level)
    if estimate.ci is None:
        return RatioEstimate(n, value, None, None, estimate.note, level)
    lo, hi = estimate.ci
    if spread is None or spread.variance == 0 or estimate.estimate <= 0:
        # A zero estimate stays zero whatever the rate: only the exact division applies.
        return RatioEstimate(n, value, (lo / divisor, hi / divisor), estimate.ci_width, None, level)
    half = _t_quantile(level, spread.df) * math.sqrt(spread.variance)
    below = math.log(estimate.estimate / lo) if lo > 0 else math.inf
    above = math.log(hi / estimate.estimate)
    low = value * math.exp(-math.hypot(below, half))
    high = value * _exp(math.hypot(above, half))
    if not math.isfinite(high):
        return RatioEstimate(n, value, None, None, NOTE_UNBOUNDED, level)
    return RatioEstimate(n, value, (low, high), (high - low) / value, None, level)


def converted_comparison(test: Comparison, factor: float, uncertainties: Sequence[LogVariance] = ()) -> Comparison:
    """A comparison re-expressed in a common currency, with the uncertainty of the exchange rates carried in.

    ``factor`` multiplies the ratio (A's efficiency over B's): ``rate_b / rate_a`` when ``rate`` is what one unit
    of an arm's capacity costs in the common currency. ``uncertainties`` are the delta-method variances of the
    estimated rates' logarithms; they add to the test's log-scale variance, and the df follow by
    Welch-Satterthwaite: ``se'² = se² + Σ v_j`` and ``df' = se'⁴ / (se⁴/df + Σ v_j²/df_j)``. A test without a
    t statistic keeps its note, with the ratio converted.
    """
    if not isinstance(test, Comparison):
        raise BadInput(f"test: expected a Comparison, got {type(test).__name__}")
    scale = _positive(factor, "factor")
    if isinstance(uncertainties, str | bytes) or not isinstance(uncertainties, Sequence):
        raise BadInput(f"uncertainties: expected a list of LogVariance, got {type(uncertainties).__name__}")
    extra = [_log_variance(item, f"uncertainties[{index}]") for index, item in enumerate(uncertainties)]
    method, level = test.method, test.confidence
    if test.ratio is None or test.ratio == 0:
        ratio = None if test.ratio is None else 0.0
        return Comparison(method, test.n_a, test.n_b, ratio, None, None, None, test.note, level)
    difference = math.log(test.ratio) + math.log(scale)
    if test.se is None or test.df is None:
        return _ratio_only(method, test.n_a, test.n_b, difference, test.note or NOTE_NO_VARIATION, level)
    added = [item for item in extra if item.variance > 0]
    se2 = test.se * test.se + math.fsum(item.variance for item in added)
    # Written with the shares w = v / se'², as in welch_log_ratio, so tiny variances cannot underflow to 0/0.
    share = test.se * test.se / se2
    inverse_df = share * share / test.df + math.fsum((item.variance / se2) ** 2 / item.df for item in added)
    return _t_comparison(method, test.n_a, test.n_b, difference, math.sqrt(se2), 1 / inverse_df, level)


# --- power and sample size ----------------------------------------------------------------------------


def _power(d: float, df: int, ncp_factor: float, alpha: float) -> float:
    from scipy import special  # type: ignore[import-untyped,unused-ignore]

    # Power is symmetric in d; taking |ncp| puts the non-negligible tail in sf, which is accurate, and
    # leaves cdf only the far tail, where it returns NaN for a value that is ~0 (STATS.md's guard).
    ncp = abs(d) * ncp_factor
    critical = float(special.stdtrit(df, 1 - alpha / 2))
    upper = 1.0 - float(special.nctdtr(df, ncp, critical))  # nct.sf; a NaN stays NaN for the guard below
    lower = float(special.nctdtr(df, ncp, -critical))  # nct.cdf
    if math.isnan(upper):
        # sf itself gives up only at astronomically large ncp (~1e9), where the mass is all above tc.
        upper = 1.0 if ncp > critical else 0.0
    lower = 0.0 if math.isnan(lower) else lower
    return min(1.0, max(0.0, upper + lower))


def power_two_sample(d: float, n1: int, n2: int, alpha: float = 0.05) -> float:
    """Prospective power of a two-sided two-sample t-test at Cohen's ``d`` (noncentral t, df = n1 + n2 - 2)."""
    size = _number(d, "d")
    first = _count(n1, "n1", 1)
    second = _count(n2, "n2", 1)
    level = _open_unit(alpha, "alpha")
    if first + second < 3:
        raise BadInput(f"n1 + n2: expected at least 3 (one degree of freedom), got {first + second}")
    return _power(size, first + second - 2, 1 / math.sqrt(1 / first + 1 / second), level)


def power_paired(d: float, n: int, alpha: float = 0.05) -> float:
    """Prospective power of a two-sided paired t-test at ``d`` (SD of the differences), df = n - 1."""
    size = _number(d, "d")
    pairs = _count(n, "n", 2)
    level = _open_unit(alpha, "alpha")
    return _power(size, pairs - 1, math.sqrt(pairs), level)


def pooled_sd(groups: Sequence[Sequence[float]]) -> float | None:
    """Pooled SD ``sqrt(Σ(n_k - 1)s_k² / Σ(n_k - 1))``; pass ``log_efficiencies`` of each arm.

    None when no group has two values (no degree of freedom to estimate a spread from).
    """
    if isinstance(groups, str | bytes) or not isinstance(groups, Sequence):
        raise BadInput("groups: expected a list of lists of numbers")
    samples = [_numbers(group, f"groups[{index}]", _number) for index, group in enumerate(groups)]
    df = sum(len(sample) - 1 for sample in samples if len(sample) > 1)
    if df == 0:
        return None
    total = math.fsum((len(sample) - 1) * _var(sample) for sample in samples if len(sample) > 1)
    return math.sqrt(total / df)


def effect_size(mde: float, s: float) -> float:
    """Cohen's ``d = log(1 + mde) / s`` for a relative efficiency difference ``mde`` and log-scale SD ``s``."""
    relative = _number(mde, "mde")
    spread = _number(s, "s")
    if relative <= 0:
        raise BadInput(f"mde: expected a relative difference > 0, got {mde!r}")
    if spread <= 0:
        raise BadInput(f"s: expected a standard deviation > 0, got {s!r}")
    return math.log1p(relative) / spread


_LARGEST_N = 1 << 40  # d ~ 1e-6 needs ~1e13 per arm; beyond this the question is not a real one


def n_per_arm_for_power(d: float, power: float = 0.8, alpha: float = 0.05, paired: bool = False) -> int:
    """The smallest n per arm (or number of pairs) whose prospective power at ``d`` reaches ``power``."""
    size = abs(_number(d, "d"))
    target = _open_unit(power, "power")
    level = _open_unit(alpha, "alpha")
    if size == 0:
        raise BadInput("d: expected a non-zero effect size (no sample detects d = 0)")
    if target <= level:
        raise BadInput(f"power: expected more than alpha ({level}), got {power!r}")

    def reaches(n: int) -> bool:
        achieved = power_paired(size, n, level) if paired else power_two_sample(size, n, n, level)
        return achieved >= target

    # Power rises monotonically with n: double to bracket, then bisect, so a tiny d costs ~2·log2(n) calls.
    low, high = 1, 2
    while not reaches(high):
        low, high = high, high * 2
        if high > _LARGEST_N:
            raise BadInput(f"d: {d!r} needs more than {_LARGEST_N} per arm")
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle
    return high


def n_per_arm_within_reach(d: float, power: float = 0.8, alpha: float = 0.05, paired: bool = False) -> int | None:
    """``n_per_arm_for_power``, or None where no sample reaches ``power``: a ``d`` of 0 (it underflowed) or one that
    needs more than 2^40 per arm (a tiny ``stats.mde``, which the configuration allows, over a wide spread)."""
    if d == 0 or not math.isfinite(d):
        return None
    try:
        return n_per_arm_for_power(d, power, alpha, paired)
    except BadInput:
        return None


def detectable_d(n1: int, n2: int, power: float = 0.8, alpha: float = 0.05) -> float:
    """The Cohen's d a two-sample t-test with n1 v n2 detects with probability ``power`` (root of power(d))."""
    from scipy import optimize  # type: ignore[import-untyped,unused-ignore]

    target = _open_unit(power, "power")
    level = _open_unit(alpha, "alpha")
    if target <= level:
        raise BadInput(f"power: expected more than alpha ({level}), got {power!r}")
    power_two_sample(1.0, n1, n2, level)  # validates n1 and n2 before the root finder sees them

    def shortfall(d: float) -> float:
        return power_two_sample(d, n1, n2, level) - target

    # At d = 0 the power is alpha < target; double until it passes the target, and the root is bracketed.
    high = 1.0
    while shortfall(high) < 0:
        high *= 2
        if high > 1e6:  # power reaches any target < 1 long before; guards a misbehaving nct
            raise BadInput(f"power: {power!r} is not reachable with {n1} v {n2}")
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-13, rtol=1e-13))


# --- gates --------------------------------------------------------------------------------------------


def comparison_gate(n_a: int, n_b: int, matched_pairs: int = 0) -> str | None:
    """None when a comparison is possible, else the one-line reason preview shows instead of a test."""
    arms = (_count(n_a, "n_a", 0), _count(n_b, "n_b", 0))
    pairs = _count(matched_pairs, "matched_pairs", 0)
    if pairs >= MIN_PAIRS or min(arms) >= MIN_PER_ARM:
        return None
    return (
        f"no comparison yet: needs >= {MIN_PER_ARM} windows per arm or >= {MIN_PAIRS} matched pairs "
        f"(have {arms[0]} v {arms[1]} windows, {pairs} pairs); below that no test can reach p < 0.05"
    )
