"""What each provider's plan costs, so a window's capacity can also be read as subscription dollars.

``[plans.<provider>]`` in ``.git-tracker.toml`` names the plan (``plan = "max-5x"``) and may set its price
(``price_usd``, per month) and, for GLM, its prompt quota per 5-hour window (``prompts``). Anything not set comes
from the table below: list prices as the providers published them in late 2026, marked as defaults wherever a
figure rests on them, because prices change and discounts exist (docs/configuration.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gittracker.errors import BadInput
from gittracker.records import PROVIDERS

# provider -> plan -> (price in US dollars per month, prompts per 5-hour window or None)
KNOWN_PLANS: Mapping[str, Mapping[str, tuple[float, int | None]]] = {
    "codex": {"plus": (20.0, None), "business": (30.0, None), "pro": (200.0, None)},
    "claude": {"pro": (20.0, None), "max-5x": (100.0, None), "max-20x": (200.0, None)},
    "glm": {"lite": (18.0, 120), "pro": (30.0, 600), "max": (80.0, 2400)},
}
DEFAULT_PLAN = {"codex": "plus", "claude": "pro", "glm": "lite"}

DAYS_PER_MONTH = 365.25 / 12  # a month's price covers this many days on average
MAX_PRICE = 1_000_000.0
MAX_PROMPTS = 10**9


@dataclass(frozen=True)
class Plan:
    """One provider's plan: its price per month, GLM's prompt quota, and which of them the user set."""

    provider: str
    name: str
    price_usd: float
    prompts: int | None
    price_is_default: bool
    prompts_is_default: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.name,
            "price_usd_per_month": self.price_usd,
            "prompts_per_5h": self.prompts,
            "price_is_default": self.price_is_default,
            "prompts_is_default": self.prompts_is_default,
        }


def default_plans() -> dict[str, Plan]:
    return {provider: plan_for(provider, {}) for provider in PROVIDERS}


def plan_for(provider: str, table: Mapping[str, Any], where: str = ".git-tracker.toml") -> Plan:
    """``[plans.<provider>]`` as a ``Plan``; BadInput names the key and what it must be."""
    prefix = f"{where}: plans.{provider}"
    unknown = set(table) - {"plan", "price_usd", "prompts"}
    if unknown:
        raise BadInput(f"{prefix}: unexpected key(s) {', '.join(sorted(unknown))}; expected plan, price_usd, prompts")
    name = table.get("plan", DEFAULT_PLAN[provider])
    if not isinstance(name, str) or not name.strip():
        raise BadInput(f"{prefix}.plan: expected a plan name, got {name!r}")
    known = KNOWN_PLANS[provider].get(name)
    price = table.get("price_usd", known[0] if known else None)
    if price is None:
        names = ", ".join(KNOWN_PLANS[provider])
        raise BadInput(f"{prefix}.price_usd: expected a price per month for plan {name!r} (known plans: {names})")
    if isinstance(price, bool) or not isinstance(price, int | float) or not (0 < price <= MAX_PRICE):
        raise BadInput(f"{prefix}.price_usd: expected a price per month above 0, got {price!r}")
    prompts = table.get("prompts", known[1] if known else None)
    whole = isinstance(prompts, int) and not isinstance(prompts, bool)
    if prompts is not None and not (whole and 0 < prompts <= MAX_PROMPTS):
        raise BadInput(f"{prefix}.prompts: expected a whole number of prompts per 5-hour window, got {prompts!r}")
    return Plan(
        provider=provider,
        name=name,
        price_usd=float(price),
        prompts=prompts,
        price_is_default="price_usd" not in table,
        prompts_is_default=prompts is not None and "prompts" not in table,
    )


def price_per_minute(plan: Plan) -> float:
    """The plan's price spread evenly over time: what a share of a meter's window is worth."""
    return plan.price_usd / (DAYS_PER_MONTH * 24 * 60)
