"""``.git-tracker.toml``: user settings, read with tomllib and written with tomli-w."""

from __future__ import annotations

import math
import os
import tomllib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w

from gittracker.errors import BadInput, Notice
from gittracker.plans import Plan, default_plans, plan_for
from gittracker.prices import Price, default_prices, prices_from
from gittracker.records import PROVIDERS

CONFIG_NAME = ".git-tracker.toml"
CHURN_SELECTIONS = ("noted", "range")  # which commits are a window's churn (churn.py)
OVERLAP_POLICIES = ("exclude", "apportion")  # what preview does with overlapping windows (overlaps.py)

DEFAULTS: dict[str, Any] = {
    "tracker": {"schema": 1, "reset_buffer_minutes": 5, "auto_max_age_minutes": 30},
    "stats": {"baseline": "", "mde": 0.25, "divergence_threshold": 0.10, "overlap": "exclude"},
    "sync": {"remote": "origin"},
    "ingest": {"timezone": "UTC"},
    "churn": {"selection": "noted"},
    "auto": {"idle_minutes": 30, "reset_gap_minutes": 2},
}


@dataclass(frozen=True)
class Config:
    reset_buffer_minutes: float = 5.0
    auto_max_age_minutes: float = 30.0
    baseline: str = ""
    mde: float = 0.25
    divergence_threshold: float = 0.10
    overlap: str = "exclude"  # overlapping windows: "exclude" from the statistics or "apportion" by tokens
    remote: str = "origin"
    timezone: str = "UTC"
    churn_selection: str = "noted"  # which commits are a window's churn: "noted" or "range" (churn.py)
    idle_minutes: float = 30.0  # an automatic window with no event for this long is closed at its last reading
    reset_gap_minutes: float = 2.0  # a window's delta across a reset is kept when the unseen time is shorter
    screen_timezone: str | None = None  # the zone pasted screens' times are in; None: this machine's (clock.py)
    capacity: Mapping[str, str] = field(default_factory=dict)  # provider -> binding meter (capacity.py)
    plans: Mapping[str, Plan] = field(default_factory=default_plans)  # provider -> plan and price (plans.py)
    prices: Mapping[str, Price] = field(default_factory=default_prices)  # model substring -> token prices (prices.py)

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


def env_count(name: str, default: int) -> int:
    """A whole-number setting from the environment (``GIT_TRACKER_ROUND_BYTES``, …): ``default`` when unset or
    empty; anything but a whole number of at least 1 is refused, naming the variable."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit() and int(value) >= 1):
        raise BadInput(f"{name}: expected a whole number of at least 1, got {value[:40]!r}")
    return int(value)


def default_text(remote: str | None = None) -> str:
    data = {section: dict(values) for section, values in DEFAULTS.items()}
    if remote:
        data["sync"]["remote"] = remote
    header = "# git-tracker settings (docs/configuration.md). Commit this file to share them.\n"
    return header + tomli_w.dumps(data)


# The scalar settings: (table, key) -> (check, what it must be). ``check`` returns the value as Config holds it,
# or None when the value is not acceptable. The tables [capacity], [plans] and [prices] have parsers of their own.
Check = Callable[[Any], Any]


def _number(low: float, high: float) -> Check:
    def check(value: Any) -> float | None:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
        return float(value) if ok and math.isfinite(value) else None

    return check


def _choice(*choices: str) -> Check:
    return lambda value: value if isinstance(value, str) and value in choices else None


def _zone(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        zone_named(value)
    except BadInput:
        return None
    return value


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() and "\n" not in value else None


def _version(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


# (table, key) -> (the Config field it sets, or None when only checked; its check; what it must be)
SETTINGS: dict[tuple[str, str], tuple[str | None, Check, str]] = {
    ("tracker", "schema"): (None, _version, "a layout version (1)"),
    ("tracker", "reset_buffer_minutes"): ("reset_buffer_minutes", _number(0, 24 * 60), "a number of minutes 0-1440"),
    ("tracker", "auto_max_age_minutes"): ("auto_max_age_minutes", _number(0, 7 * 24 * 60), "minutes 0-10080"),
    ("tracker", "timezone"): ("screen_timezone", _zone, "an IANA zone such as Europe/Berlin or UTC"),
    ("stats", "baseline"): ("baseline", _choice("", *PROVIDERS), '"" or one of ' + ", ".join(PROVIDERS)),
    ("stats", "mde"): ("mde", _number(1e-6, 100), "a relative difference above 0 (0.25 = 25 %)"),
    ("stats", "divergence_threshold"): ("divergence_threshold", _number(1e-6, 100), "a fraction above 0 (0.10)"),
    ("stats", "overlap"): ("overlap", _choice(*OVERLAP_POLICIES), " or ".join(f'"{p}"' for p in OVERLAP_POLICIES)),
    ("sync", "remote"): ("remote", _name, "a remote's name"),
    ("ingest", "timezone"): ("timezone", _zone, "an IANA zone such as Europe/Berlin or UTC"),
    ("auto", "idle_minutes"): ("idle_minutes", _number(1, 7 * 24 * 60), "minutes 1-10080"),
    ("auto", "reset_gap_minutes"): ("reset_gap_minutes", _number(0, 24 * 60), "minutes 0-1440"),
    ("churn", "selection"): ("churn_selection", _choice(*CHURN_SELECTIONS), " or ".join(CHURN_SELECTIONS)),
}
TABLES = ("capacity", "plans", "prices")  # whole tables with parsers of their own


def load(toplevel: Path) -> Config:
    """``.git-tracker.toml`` checked against one schema: a wrong value is exit 2 naming the file, the key and what
    it must be; a key this version does not know is a warning, so a newer file still works."""
    path = toplevel / CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return Config()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BadInput(f"{CONFIG_NAME}: expected TOML ({error})") from None
    values: dict[str, Any] = {}
    for section, table in data.items():
        if section in TABLES:
            continue
        if not isinstance(table, dict):
            raise BadInput(f"{CONFIG_NAME}: {section}: expected a table ([{section}])")
        for key, value in table.items():
            values.update(_setting(section, key, value))
    return Config(
        **values,
        capacity=_capacity(data.get("capacity", {}), CONFIG_NAME),
        plans=_plans(data.get("plans", {}), CONFIG_NAME),
        prices=prices_from(data.get("prices", {}), CONFIG_NAME),
    )


def _setting(section: str, key: str, value: Any) -> dict[str, Any]:
    known = SETTINGS.get((section, key))
    if known is None:
        unknown = f"{CONFIG_NAME}: unknown setting {section}.{key}, ignored (docs/configuration.md)"
        warnings.warn(Notice(unknown), stacklevel=3)
        return {}
    field_name, check, expected = known
    checked = check(value)
    if checked is None:
        raise BadInput(f"{CONFIG_NAME}: {section}.{key}: expected {expected}, got {_shown(value)}")
    return {field_name: checked} if field_name else {}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


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
