"""One currency across providers: a window's capacity as subscription dollars (pure: no git, no I/O).

A percent of Codex's week and a percent of Claude's 5-hour window are not the same amount of money, so
providers are compared per dollar of their plan (docs/statistics.md):

- a weekly, monthly or annual meter: the share of that period of the plan's price, ``ΔW/100 · price of a week``;
- GLM's prompts: the share of the 5-hour prompt quota, ``Δprompts / quota · price of a 5-hour period``;
- any other meter (five_hour, daily, a model's bucket): through ``k``, the weekly percent that one percent of
  that meter costs, estimated as a ratio of sums over the provider's windows where both deltas are known
  (``stats.ratio_of_sums``, Fieller's interval), unknown below n = 3; its delta-method variance on the log
  scale is what comparisons add to their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gittracker import stats
from gittracker.capacity import METER_MINUTES, PROMPTS, meter_label, meter_minutes
from gittracker.errors import BadInput
from gittracker.plans import Plan, price_per_minute
from gittracker.records import finite_number

WEEKLY = "weekly"
# Meters whose whole window is a period the plan's price covers: a percent of it is a share of that price.
PRICED_SPANS = {"weekly": "week", "monthly": "month", "annual": "year"}

# One window's deltas: the binding meter, its delta, and the other meters' deltas (window-close.other_deltas).
WindowDeltas = tuple[str, float | None, Mapping[str, float | None]]


@dataclass(frozen=True)
class Conversion:
    """What one unit of a provider's meter costs in subscription dollars, or why that is unknown.

    ``usd_per_unit`` is dollars per percent of the meter (per prompt for ``prompts``). When it goes through
    the weekly meter, ``k`` is the estimated weekly percent per percent of the meter and ``log_variance`` the
    delta-method variance of ``log k``; an exact conversion has neither.
    """

    provider: str
    meter: str
    plan: Plan
    method: str
    usd_per_unit: float | None
    k: stats.RatioEstimate | None = None
    log_variance: stats.LogVariance | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        if (self.usd_per_unit is None) == (self.reason is None):
            raise BadInput("conversion: expected either a rate or the reason it has none")
        if self.usd_per_unit is not None and not (math.isfinite(self.usd_per_unit) and self.usd_per_unit > 0):
            raise BadInput(f"usd_per_unit: expected a number > 0, got {self.usd_per_unit!r}")

    @property
    def known(self) -> bool:
        return self.usd_per_unit is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "conversion": self.method,
            "usd_per_unit": self.usd_per_unit,
            "k": self._k_dict(),
            "reason": self.reason,
        }

    def _k_dict(self) -> dict[str, Any] | None:
        if self.k is None:
            return None
        return {
            "from": self.meter,
            "to": WEEKLY,
            "estimate": self.k.estimate,
            "ci": list(self.k.ci) if self.k.ci else None,
            "n": self.k.n,
            "note": self.k.note,
            "log_variance": self.log_variance.variance if self.log_variance else None,
            "df": self.log_variance.df if self.log_variance else None,
        }


def period_price(plan: Plan, minutes: float) -> float:
    """The plan's price for ``minutes`` of time: the monthly price spread evenly over plans.DAYS_PER_MONTH days."""
    return price_per_minute(plan) * minutes


def paired_deltas(windows: Iterable[WindowDeltas], meter: str) -> list[tuple[float, float]]:
    """``(weekly delta, meter delta)`` of each window where both are known, whichever of them was binding."""
    pairs = []
    for binding, delta, others in windows:
        shown = {**others, binding: delta}
        weekly, short = _known(shown.get(WEEKLY)), _known(shown.get(meter))
        if weekly is not None and short is not None:
            pairs.append((weekly, short))
    return pairs


def _known(value: object) -> float | None:
    # Deltas come from ledger records another version may have written: only finite, non-negative numbers count.
    return float(value) if finite_number(value) and value >= 0 else None


def conversion(provider: str, meter: str, plan: Plan, pairs: Sequence[tuple[float, float]]) -> Conversion:
    """Dollars per unit of ``meter`` on ``plan``; ``pairs`` are ``paired_deltas`` of the provider's windows."""
    span = PRICED_SPANS.get(meter)
    if span is not None:
        rate = period_price(plan, METER_MINUTES[meter]) / 100
        return _priced(provider, meter, plan, f"share of the plan's {span}", rate)
    if meter == PROMPTS:
        if plan.prompts is None:
            reason = f"{provider} prompts: plan {plan.name!r} has no prompt quota (set plans.{provider}.prompts)"
            return Conversion(provider, meter, plan, "share of the prompt quota", None, reason=reason)
        rate = period_price(plan, meter_minutes(PROMPTS)) / plan.prompts
        return _priced(provider, meter, plan, "share of the prompt quota", rate)
    return _through_weekly(provider, meter, plan, pairs)


def _through_weekly(provider: str, meter: str, plan: Plan, pairs: Sequence[tuple[float, float]]) -> Conversion:
    """A meter without a price of its own: ``k = ΣΔweekly / ΣΔmeter`` over the windows with both deltas."""
    weekly = [pair[0] for pair in pairs]
    short = [pair[1] for pair in pairs]
    k = stats.ratio_of_sums(weekly, short)
    variance = stats.log_ratio_variance(weekly, short)
    method = "through the weekly meter"
    reason = _why_k_unknown(f"{provider} {meter} -> {WEEKLY} conversion", meter, k)
    if reason is None and k.estimate is not None and variance is not None:
        rate = k.estimate * period_price(plan, METER_MINUTES[WEEKLY]) / 100
        return _priced(provider, meter, plan, method, rate, k, variance)
    return Conversion(provider, meter, plan, method, None, k, None, reason or f"{provider} {meter}: k unknown")


def _priced(
    provider: str,
    meter: str,
    plan: Plan,
    method: str,
    rate: float,
    k: stats.RatioEstimate | None = None,
    variance: stats.LogVariance | None = None,
) -> Conversion:
    """The conversion at ``rate``, or unknown when that is no usable price (a price of 1e-320 a month underflows)."""
    if math.isfinite(rate) and rate > 0:
        return Conversion(provider, meter, plan, method, rate, k, variance)
    reason = f"{provider} {meter}: one unit costs {rate!r} USD on plan {plan.name!r}, no usable price"
    return Conversion(provider, meter, plan, method, None, k, None, reason)


def _why_k_unknown(what: str, meter: str, k: stats.RatioEstimate) -> str | None:
    if k.n < stats.MIN_WINDOWS:
        return f"{what} needs n >= {stats.MIN_WINDOWS} windows with both deltas, has {k.n}"
    if k.note == stats.NOTE_NO_CAPACITY:
        return f"{what}: the {meter_label(meter)} meter did not move in the {k.n} windows with both deltas"
    if k.estimate is None:
        return f"{what}: k from {k.n} windows is no finite number ({k.note})"
    if k.estimate == 0:
        return f"{what}: the weekly meter did not move in the {k.n} windows with both deltas"
    if k.ci is None:
        return f"{what}: k = {k.estimate:.3g} from {k.n} windows, but with an {k.note}"
    return None
