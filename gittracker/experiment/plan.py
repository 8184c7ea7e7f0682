"""The counterbalanced plan: which provider does each feature first (AB: A then B; BA: B then A)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gittracker.records import Record

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
