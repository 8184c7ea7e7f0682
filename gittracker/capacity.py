"""Capacity readings given on the command line (``--used``, ``--left``, ``--weekly``, ``--prompts``).

A ``Reading`` is what one look at a provider's meter said. Screens and provider logs (``--from``,
``--auto``) produce the same type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gittracker import clock
from gittracker.errors import BadInput
from gittracker.records import MAX_COUNT, PROVIDERS

# The unit a provider's capacity delta is measured in (STATS.md: prompts for glm, else percent).
UNITS = {"codex": "percent", "claude": "percent", "glm": "prompts"}
# What a reading adds to a snapshot record (``Reading.snapshot_fields``).
READING_FIELDS = ("five_hour_used", "weekly_used", "resets_at", "weekly_resets_at", "prompts", "tokens", "parse_errors")


@dataclass(frozen=True)
class Reading:
    five_hour_used: float | None = None
    weekly_used: float | None = None
    resets_at: str | None = None
    weekly_resets_at: str | None = None
    prompts: int | None = None
    tokens: int | None = None
    parse_errors: tuple[str, ...] = field(default=())

    def is_empty(self) -> bool:
        return self.five_hour_used is None and self.weekly_used is None and self.prompts is None

    def value(self, unit: str) -> float | None:
        return (
            float(self.prompts)
            if unit == "prompts" and self.prompts is not None
            else (self.five_hour_used if unit == "percent" else None)
        )

    def snapshot_fields(self) -> dict[str, Any]:
        return {
            "five_hour_used": self.five_hour_used,
            "weekly_used": self.weekly_used,
            "resets_at": self.resets_at,
            "weekly_resets_at": self.weekly_resets_at,
            "prompts": self.prompts,
            "tokens": self.tokens,
            "parse_errors": list(self.parse_errors),
        }


def check_provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise BadInput(f"unknown provider {provider!r}: expected one of {', '.join(PROVIDERS)}")
    return provider


def parse_percent(text: str, option: str) -> float:
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise BadInput(f"{option}: expected a percent from 0 to 100, got {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise BadInput(f"{option}: expected a percent from 0 to 100, got {text!r}")
    return value


def parse_count(text: str, option: str) -> int:
    expected = f"{option}: expected a whole number from 0 to {MAX_COUNT}, got {text[:40]!r}"
    try:
        value = int(text.strip())
    except ValueError:
        raise BadInput(expected) from None
    if not 0 <= value <= MAX_COUNT:
        raise BadInput(expected)
    return value


def from_options(
    *,
    used: str | None = None,
    left: str | None = None,
    weekly: str | None = None,
    prompts: str | None = None,
    resets_at: str | None = None,
    weekly_resets_at: str | None = None,
) -> Reading:
    if used is not None and left is not None:
        raise BadInput("--used and --left: expected one of them, not both")
    five_hour = parse_percent(used, "--used") if used is not None else None
    if left is not None:
        five_hour = round(100.0 - parse_percent(left, "--left"), 6)
    return Reading(
        five_hour_used=five_hour,
        weekly_used=parse_percent(weekly, "--weekly") if weekly is not None else None,
        resets_at=clock.format_ts(clock.parse_ts(resets_at, "--resets-at")) if resets_at else None,
        weekly_resets_at=(
            clock.format_ts(clock.parse_ts(weekly_resets_at, "--weekly-resets-at")) if weekly_resets_at else None
        ),
        prompts=parse_count(prompts, "--prompts") if prompts is not None else None,
    )


def require_binding(provider: str, reading: Reading, command: str) -> None:
    """start/end need the value the delta is computed from; say exactly which option gives it."""
    unit = UNITS[provider]
    if reading.value(unit) is None:
        wanted = "--prompts N" if unit == "prompts" else "--used PCT or --left PCT"
        raise BadInput(f"{command} {provider}: expected a capacity reading ({wanted})")
