"""``.git-tracker.toml``: user settings, read with tomllib and written with tomli-w."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w

from gittracker.errors import BadInput
from gittracker.plans import Plan, default_plans, plan_for
from gittracker.records import PROVIDERS

CONFIG_NAME = ".git-tracker.toml"
CHURN_SELECTIONS = ("noted", "range")  # which commits are a window's churn (churn.py)

DEFAULTS: dict[str, Any] = {
    "tracker": {"schema": 1, "reset_buffer_minutes": 5, "auto_max_age_minutes": 30},
    "stats": {"baseline": "", "mde": 0.25, "divergence_threshold": 0.10},
    "sync": {"remote": "origin"},
    "ingest": {"timezone": "UTC"},
    "churn": {"selection": "noted"},
}


@dataclass(frozen=True)
class Config:
    reset_buffer_minutes: float = 5.0
    auto_max_age_minutes: float = 30.0
    baseline: str = ""
    mde: float = 0.25
    divergence_threshold: float = 0.10
    remote: str = "origin"
    timezone: str = "UTC"
    churn_selection: str = "noted"  # which commits are a window's churn: "noted" or "range" (churn.py)
    screen_timezone: str | None = None  # the zone pasted screens' times are in; None: this machine's (clock.py)
    capacity: Mapping[str, str] = field(default_factory=dict)  # provider -> binding meter (capacity.py)
    plans: Mapping[str, Plan] = field(default_factory=default_plans)  # provider -> plan and price (plans.py)

    def zone(self) -> tzinfo:
        """The zone that ``ingest`` cuts days in (``ingest.timezone``; UTC unless configured)."""
        return zone_named(self.timezone)


def zone_named(name: str, key: str = "ingest.timezone") -> tzinfo:
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"{key}: expected an IANA zone such as Europe/Berlin or UTC, got {name!r}") from None


def default_text(remote: str | None = None) -> str:
    data = {section: dict(values) for section, values in DEFAULTS.items()}
    if remote:
        data["sync"]["remote"] = remote
    header = "# git-tracker settings (docs/configuration.md). Commit this file to share them.\n"
    return header + tomli_w.dumps(data)


def load(toplevel: Path) -> Config:
    path = toplevel / CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return Config()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BadInput(f"{path.name}: expected TOML ({error})") from None
    try:
        buffer = float(data.get("tracker", {}).get("reset_buffer_minutes", 5))
        max_age = float(data.get("tracker", {}).get("auto_max_age_minutes", 30))
        stats = data.get("stats", {})
        config = Config(
            reset_buffer_minutes=buffer,
            auto_max_age_minutes=max_age,
            baseline=str(stats.get("baseline", "")),
            mde=float(stats.get("mde", 0.25)),
            divergence_threshold=float(stats.get("divergence_threshold", 0.10)),
            remote=str(data.get("sync", {}).get("remote", "origin")),
            timezone=str(data.get("ingest", {}).get("timezone", "UTC")),
            churn_selection=str(data.get("churn", {}).get("selection", "noted")),
            screen_timezone=_optional_text(data.get("tracker", {}).get("timezone")),
            capacity=_capacity(data.get("capacity", {}), path.name),
            plans=_plans(data.get("plans", {}), path.name),
        )
    except (TypeError, ValueError, AttributeError) as error:
        expected = "numbers for reset_buffer_minutes, mde, divergence_threshold"
        raise BadInput(f"{path.name}: expected {expected} ({error})") from None
    if not 0 <= config.reset_buffer_minutes <= 24 * 60:
        raise BadInput(f"{path.name}: tracker.reset_buffer_minutes: expected 0 to 1440 minutes")
    zone_named(config.timezone)
    if config.screen_timezone is not None:
        zone_named(config.screen_timezone, "tracker.timezone")
    if config.churn_selection not in CHURN_SELECTIONS:
        expected = " or ".join(CHURN_SELECTIONS)
        raise BadInput(f"{path.name}: churn.selection: expected {expected}, got {config.churn_selection!r}")
    return config


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _capacity(table: Any, where: str) -> dict[str, str]:
    """``[capacity]``: the meter each provider's windows are measured on (``codex = "weekly"``)."""
    from gittracker.capacity import METER_NAME_SHAPE, valid_meter_name

    if not isinstance(table, dict):
        raise BadInput(f"{where}: capacity: expected a table of provider = meter")
    chosen = {}
    for provider, meter in table.items():
        if provider not in PROVIDERS:
            raise BadInput(f"{where}: capacity.{provider}: expected a provider ({', '.join(PROVIDERS)})")
        if not valid_meter_name(meter):
            raise BadInput(f"{where}: capacity.{provider}: expected {METER_NAME_SHAPE}, got {meter!r}")
        chosen[provider] = meter
    return chosen


def _plans(table: Any, where: str) -> dict[str, Plan]:
    """``[plans.<provider>]``: each provider's plan and price; providers not named keep the default plan."""
    if not isinstance(table, dict):
        raise BadInput(f"{where}: plans: expected tables [plans.codex], [plans.claude], [plans.glm]")
    plans = default_plans()
    for provider, values in table.items():
        if provider not in PROVIDERS:
            raise BadInput(f"{where}: plans.{provider}: expected a provider ({', '.join(PROVIDERS)})")
        if not isinstance(values, dict):
            raise BadInput(f"{where}: plans.{provider}: expected a table with plan, price_usd, prompts")
        plans[provider] = plan_for(provider, values, where)
    return plans
