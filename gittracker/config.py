"""``.git-tracker.toml``: user settings, read with tomllib and written with tomli-w."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w

from gittracker.errors import BadInput

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

    def zone(self) -> tzinfo:
        """The zone that ``ingest`` cuts days in (``ingest.timezone``; UTC unless configured)."""
        return zone_named(self.timezone)


def zone_named(name: str) -> tzinfo:
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"ingest.timezone: expected an IANA zone such as Europe/Berlin or UTC, got {name!r}") from None


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
        )
    except (TypeError, ValueError, AttributeError) as error:
        expected = "numbers for reset_buffer_minutes, mde, divergence_threshold"
        raise BadInput(f"{path.name}: expected {expected} ({error})") from None
    if not 0 <= config.reset_buffer_minutes <= 24 * 60:
        raise BadInput(f"{path.name}: tracker.reset_buffer_minutes: expected 0 to 1440 minutes")
    zone_named(config.timezone)
    if config.churn_selection not in CHURN_SELECTIONS:
        expected = " or ".join(CHURN_SELECTIONS)
        raise BadInput(f"{path.name}: churn.selection: expected {expected}, got {config.churn_selection!r}")
    return config
