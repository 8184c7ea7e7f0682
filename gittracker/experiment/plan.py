"""The counterbalanced plan: which provider does each feature first (AB: A then B; BA: B then A)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from gittracker.errors import BadInput
from gittracker.records import MAX_SEED, ORDERS, PROVIDERS, Record

ASSIGNMENT = "assignment"


@dataclass(frozen=True)
class Plan:
    """The live plan: the latest assignment record not voided. ``providers`` is (A, B)."""

    record_id: str
    seed: int
    providers: tuple[str, str]
    orders: Mapping[str, str]  # feature id -> "AB" or "BA"
    odd_one_out: str | None

    @classmethod
    def of(cls, record: Record) -> Plan:
        first, second = record["providers"]
        return cls(
            record_id=record.id,
            seed=record["seed"],
            providers=(first, second),
            orders=MappingProxyType(dict(record["orders"])),
            odd_one_out=record["odd_one_out"],
        )

    def order_of(self, feature_id: str) -> tuple[str, str] | None:
        """The feature's providers in the order it is to be done, or None when the plan does not hold it."""
        order = self.orders.get(feature_id)
        if order is None:
            return None
        first, second = self.providers
        return (first, second) if order == "AB" else (second, first)


def current_plan(live: Iterable[Record]) -> Plan | None:
    """The plan in force: the newest live assignment (``live``: records not voided, in id order)."""
    latest = None
    for record in live:
        if record.kind == ASSIGNMENT:
            latest = record
    return Plan.of(latest) if latest is not None else None


# -- building a plan (``assign``) -------------------------------------------------------------------------------

DEFAULT_PROVIDERS = ("codex", "glm")


def parse_seed(text: str) -> int:
    """``--seed``: a whole number from 0 to MAX_SEED, written in decimal digits."""
    digits = text.strip()
    # The length first: Python refuses to convert more than 4,300 digits, and no seed has more than 19.
    if len(digits) > len(str(MAX_SEED)) or not digits.isascii() or not digits.isdigit() or int(digits) > MAX_SEED:
        raise BadInput(f"--seed: expected a whole number from 0 to {MAX_SEED}, got {text[:80]!r}")
    return int(digits)


def parse_providers(text: str) -> tuple[str, str]:
    """``--providers A,B``: two different known providers, A first."""
    names = [name.strip() for name in text.split(",")]
    if len(names) != 2 or any(name not in PROVIDERS for name in names) or names[0] == names[1]:
        raise BadInput(
            f"--providers: expected two different providers of {', '.join(PROVIDERS)} as A,B, got {text[:80]!r}"
        )
    return names[0], names[1]


def _rank(seed: int, feature_id: str) -> str:
    """A feature's place in the seed's permutation: a digest, the same on every machine and Python version."""
    return hashlib.sha256(f"{seed}:{feature_id}".encode()).hexdigest()


def odd_order(seed: int) -> str:
    """The order of an odd bank's last feature: one more bit of the seed's digest."""
    return ORDERS[hashlib.sha256(f"{seed}:odd-one-out".encode()).digest()[0] & 1]


def counterbalanced(feature_ids: Iterable[str], seed: int) -> tuple[dict[str, str], str | None]:
    """Each feature's order, AB or BA, and the odd one out (None for an even bank).

    The features in the seed's order (sha256 of ``seed:feature_id``): the first half AB, the second half BA; with
    an odd count the last one is the odd one out, its order from one more bit of the seed.
    """
    ranked = sorted(set(feature_ids), key=lambda feature_id: (_rank(seed, feature_id), feature_id))
    half = len(ranked) // 2
    orders = dict.fromkeys(ranked[:half], ORDERS[0])
    orders.update(dict.fromkeys(ranked[half : 2 * half], ORDERS[1]))
    odd = ranked[-1] if len(ranked) % 2 else None
    if odd is not None:
        orders[odd] = odd_order(seed)
    return dict(sorted(orders.items())), odd


# -- ``start --feature``: is this window the plan's? ----------------------------------------------------------


def start_warnings(
    bank: Collection[str], plan: Plan | None, earlier: Sequence[str], feature_id: str, provider: str
) -> list[str]:
    """What ``start --feature`` warns about (the window opens all the same): a feature the bank does not hold, one
    the plan does not, a provider not in the plan, or a provider out of the plan's order for the feature.
    ``earlier``: the providers of the feature's earlier windows, in the order they were opened."""
    if bank and feature_id not in bank:
        return [f"feature {feature_id} is not in the task bank (`git tracker bank list`)"]
    if plan is None:
        return []
    warnings = []
    order = plan.order_of(feature_id)
    if order is None and bank:
        warnings.append(f"feature {feature_id} is not in the plan (`git tracker assign --replan WHY` to include it)")
    if provider not in plan.providers:
        warnings.append(f"{provider} is not one of the plan's providers ({', '.join(plan.providers)})")
    elif order is not None:
        done = list(dict.fromkeys([*earlier, provider]))
        if done != list(order[: len(done)]):
            warnings.append(
                f"{provider} is out of the plan's order for {feature_id}: planned {' then '.join(order)}, "
                f"this window makes it {' then '.join(done)}"
            )
    return warnings
