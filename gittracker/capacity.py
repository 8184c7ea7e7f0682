"""Capacity readings: the meters a plan shows, given on the command line (``--used``, ``--left``, ``--weekly``,
``--prompts``) or read from a screen or a provider's own data.

A ``Reading`` is what one look at a provider's meter said. Screens and provider logs (``--from``,
``--auto``) produce the same type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gittracker import clock
from gittracker.errors import BadInput
from gittracker.records import MAX_COUNT, PROVIDERS

# The unit a provider's capacity delta is measured in when its binding meter is a percent meter.
UNITS = {"codex": "percent", "claude": "percent", "glm": "prompts"}
# What a reading adds to a snapshot record (``Reading.snapshot_fields``): the meters, and the 5-hour and weekly
# meters again in the fields every version since the first reads.
READING_FIELDS = (
    "five_hour_used",
    "weekly_used",
    "resets_at",
    "weekly_resets_at",
    "prompts",
    "tokens",
    "parse_errors",
    "meters",
)

# Every meter a plan shows is one of these spans, optionally for one model (``weekly_sonnet``). The minutes order
# them: the default binding meter is the shortest one two readings share.
METER_MINUTES = {"five_hour": 300, "daily": 1440, "weekly": 10080, "monthly": 43830, "annual": 525960}
FIVE_HOUR = "five_hour"
PROMPTS = "prompts"  # GLM's meter: prompts used in the 5-hour window, a count rather than a percent
_METER_NAME = re.compile(r"^(five_hour|daily|weekly|monthly|annual)(?:_([a-z0-9][a-z0-9_]{0,47}))?$")
METER_NAME_SHAPE = "five_hour, daily, weekly, monthly or annual, optionally _<model> (weekly_sonnet), or prompts"


def meter_name(span: str, model: str | None = None) -> str:
    """``weekly`` or ``weekly_sonnet``: the model's name in lower case, anything but letters and digits as ``_``."""
    if not model:
        return span
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[:48].strip("_")
    return f"{span}_{slug}" if slug else span


def valid_meter_name(name: object) -> bool:
    return isinstance(name, str) and (name == PROMPTS or _METER_NAME.fullmatch(name) is not None)


def meter_model(name: str) -> str | None:
    """The model a per-model meter is for (``sonnet`` for ``weekly_sonnet``); None for an account-wide meter."""
    match = _METER_NAME.fullmatch(name)
    return match.group(2) if match else None


def meter_minutes(name: str) -> int:
    """How long the meter's window is (prompts count per 5-hour window)."""
    if name == PROMPTS:
        return METER_MINUTES["five_hour"]
    match = _METER_NAME.fullmatch(name)
    if match is None:
        raise BadInput(f"meter: expected {METER_NAME_SHAPE}, got {name!r}")
    return METER_MINUTES[match.group(1)]


def meter_unit(name: str) -> str:
    return "prompts" if name == PROMPTS else "percent"


def amount_text(unit: str, value: float) -> str:
    """An amount in a meter's unit (``meter_unit``), spelled one way wherever it is shown: ``12.5%``,
    ``1 prompt``, ``224 prompts``."""
    if unit == "prompts":
        return f"{value:g} prompt" if value == 1 else f"{value:g} prompts"
    return f"{value:g}%"


def unit_text(unit: str) -> str:
    """One unit of a meter, for figures per unit: ``lines per %``, ``tokens per prompt``."""
    return "prompt" if unit == "prompts" else "%"


def meter_label(name: str) -> str:
    """How a meter is shown to people: ``5h``, ``weekly``, ``weekly (sonnet)``, ``prompts``."""
    match = _METER_NAME.fullmatch(name)
    if match is None:
        return name
    span = "5h" if match.group(1) == "five_hour" else match.group(1)
    return f"{span} ({match.group(2)})" if match.group(2) else span


@dataclass(frozen=True)
class Meter:
    """One meter as one reading showed it: percent used, when it resets, and the source's id for the limit."""

    name: str
    used: float
    resets_at: str | None = None
    limit_id: str | None = None

    def __post_init__(self) -> None:
        if not valid_meter_name(self.name) or self.name == PROMPTS:
            raise BadInput(f"meter: expected {METER_NAME_SHAPE}, got {self.name!r}")
        if isinstance(self.used, bool) or not isinstance(self.used, int | float) or not 0 <= self.used <= 100:
            raise BadInput(f"meter {self.name}: expected a percent from 0 to 100, got {self.used!r}")

    def stored(self) -> dict[str, Any]:
        return {"used": self.used, "resets_at": self.resets_at, "limit_id": self.limit_id}


@dataclass(frozen=True)
class Reading:
    """What one look at a provider's meters said: every percent meter shown, GLM's prompt count, tokens if known,
    and what could not be read (``parse_errors``)."""

    meters: tuple[Meter, ...] = ()
    prompts: int | None = None
    tokens: int | None = None
    parse_errors: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [meter.name for meter in self.meters]
        if len(set(names)) != len(names):
            raise BadInput(f"reading: expected each meter once, got {', '.join(names)}")

    @classmethod
    def of(
        cls,
        *,
        five_hour_used: float | None = None,
        weekly_used: float | None = None,
        resets_at: str | None = None,
        weekly_resets_at: str | None = None,
        prompts: int | None = None,
        tokens: int | None = None,
        parse_errors: tuple[str, ...] = (),
    ) -> Reading:
        """A reading of the two account meters every plan used to show (and GLM's prompts)."""
        meters = []
        if five_hour_used is not None:
            meters.append(Meter("five_hour", five_hour_used, resets_at))
        if weekly_used is not None:
            meters.append(Meter("weekly", weekly_used, weekly_resets_at))
        return cls(tuple(meters), prompts, tokens, tuple(parse_errors))

    @classmethod
    def from_fields(cls, body: Mapping[str, Any]) -> Reading:
        """A reading as a snapshot record (either schema) or the status-line cache stores it; BadInput for anything
        else, whatever its shape (a damaged cache or state file is bad input, never a crash)."""
        try:
            return cls._from_fields(body)
        except (AttributeError, TypeError, KeyError, ValueError):
            raise BadInput(f"reading: expected the fields of a snapshot ({', '.join(READING_FIELDS)})") from None

    @classmethod
    def _from_fields(cls, body: Mapping[str, Any]) -> Reading:
        stored = body.get("meters")
        if stored is None:  # a first-schema snapshot: the 5-hour and weekly fields are all it has
            return cls.of(
                five_hour_used=body.get("five_hour_used"),
                weekly_used=body.get("weekly_used"),
                resets_at=body.get("resets_at"),
                weekly_resets_at=body.get("weekly_resets_at"),
                prompts=body.get("prompts"),
                tokens=body.get("tokens"),
                parse_errors=tuple(body.get("parse_errors") or ()),
            )
        meters = tuple(
            Meter(name, value["used"], value.get("resets_at"), value.get("limit_id")) for name, value in stored.items()
        )
        return cls(meters, body.get("prompts"), body.get("tokens"), tuple(body.get("parse_errors") or ()))

    def meter(self, name: str) -> Meter | None:
        return next((meter for meter in self.meters if meter.name == name), None)

    def names(self) -> list[str]:
        """The meters this reading has values for, prompts included."""
        return [meter.name for meter in self.meters] + ([PROMPTS] if self.prompts is not None else [])

    def used(self, name: str) -> float | None:
        """The meter's value: percent used, or GLM's prompt count for ``prompts``."""
        if name == PROMPTS:
            return None if self.prompts is None else float(self.prompts)
        found = self.meter(name)
        return None if found is None else float(found.used)

    def resets_of(self, name: str) -> str | None:
        found = self.meter(name)
        return None if found is None else found.resets_at

    @property
    def five_hour_used(self) -> float | None:
        return self.used("five_hour")

    @property
    def weekly_used(self) -> float | None:
        return self.used("weekly")

    @property
    def resets_at(self) -> str | None:
        return self.resets_of("five_hour")

    @property
    def weekly_resets_at(self) -> str | None:
        return self.resets_of("weekly")

    def is_empty(self) -> bool:
        return not self.meters and self.prompts is None

    def with_errors(self, *codes: str) -> Reading:
        """The same reading with ``codes`` added to its parse errors (each once)."""
        errors = list(self.parse_errors)
        errors += [code for code in codes if code not in errors]
        return replace(self, parse_errors=tuple(errors))

    def snapshot_fields(self) -> dict[str, Any]:
        return {
            "five_hour_used": self.five_hour_used,
            "weekly_used": self.weekly_used,
            "resets_at": self.resets_at,
            "weekly_resets_at": self.weekly_resets_at,
            "prompts": self.prompts,
            "tokens": self.tokens,
            "parse_errors": list(self.parse_errors),
            "meters": {meter.name: meter.stored() for meter in self.meters},
        }

    def summary(self, show_reset: Callable[[str, str], str] | None = None, used: str = "") -> str:
        """``5h 36% used (resets 2026-10-04T12:57:00Z), weekly 38%``, shortest meter first: what was read.

        ``show_reset(meter name, stored time)`` words a reset time (the echo shows it as local clocks do); ``used``
        follows the first percent.
        """
        parts: list[str] = []
        for meter in sorted(self.meters, key=lambda item: (meter_minutes(item.name), item.name)):
            text = f"{meter_label(meter.name)} {meter.used:g}%" + ("" if parts else used)
            if meter.resets_at:
                text += f" (resets {show_reset(meter.name, meter.resets_at) if show_reset else meter.resets_at})"
            parts.append(text)
        if self.prompts is not None:
            parts.append(f"{self.prompts} prompts")
        return ", ".join(parts) or "nothing"


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
    # A reset time belongs to a meter's reading: given alone it would be dropped without a word.
    if resets_at and used is None and left is None:
        raise BadInput("--resets-at: expected with --used PCT or --left PCT (the 5-hour reading it resets)")
    if weekly_resets_at and weekly is None:
        raise BadInput("--weekly-resets-at: expected with --weekly PCT (the weekly reading it resets)")
    five_hour = parse_percent(used, "--used") if used is not None else None
    if left is not None:
        five_hour = round(100.0 - parse_percent(left, "--left"), 6)
    return Reading.of(
        five_hour_used=five_hour,
        weekly_used=parse_percent(weekly, "--weekly") if weekly is not None else None,
        resets_at=clock.format_ts(clock.parse_ts(resets_at, "--resets-at")) if resets_at else None,
        weekly_resets_at=(
            clock.format_ts(clock.parse_ts(weekly_resets_at, "--weekly-resets-at")) if weekly_resets_at else None
        ),
        prompts=parse_count(prompts, "--prompts") if prompts is not None else None,
    )


# The typed option that gives each meter, for the errors that ask for one.
_OPTION_OF = {"five_hour": "--used PCT or --left PCT", "weekly": "--weekly PCT", PROMPTS: "--prompts N"}


def window_meter(close: Mapping[str, Any]) -> str:
    """The meter a window-close's delta is on; records of the first schema are on the 5-hour meter (glm: prompts)."""
    meter = close.get("meter")
    if isinstance(meter, str):
        return meter
    return PROMPTS if close.get("unit") == "prompts" else FIVE_HOUR


def default_meters(provider: str, reading: Reading) -> list[str]:
    """The meters a window's delta may be taken on unless ``[capacity]`` says otherwise: GLM's prompt count, and for
    the others the account-wide percent meters (never one model's bucket)."""
    if UNITS[provider] == "prompts":
        return [PROMPTS] if reading.prompts is not None else []
    return [meter.name for meter in reading.meters if meter_model(meter.name) is None]


def binding_meter(provider: str, before: Reading, after: Reading, configured: str | None = None) -> str | None:
    """The meter a window's delta is taken on: the configured one (``[capacity]``), else the shortest default meter
    both readings have; None when they share none."""
    if configured:
        return configured
    shared = set(default_meters(provider, before)) & set(default_meters(provider, after))
    return min(shared, key=lambda name: (meter_minutes(name), name)) if shared else None


def require_binding(provider: str, reading: Reading, command: str, configured: str | None = None) -> None:
    """start/end need a value a delta can be computed from; say exactly which option gives it."""
    if configured:
        if reading.used(configured) is None:
            wanted = _OPTION_OF.get(configured, f"a reading that shows the {meter_label(configured)} meter")
            raise BadInput(
                f"{command} {provider}: capacity.{provider} is {configured!r}, so expected a reading with it ({wanted})"
            )
        return
    if not default_meters(provider, reading):
        wanted = "--prompts N" if UNITS[provider] == "prompts" else "--used PCT, --left PCT or --weekly PCT"
        raise BadInput(f"{command} {provider}: expected a capacity reading ({wanted})")
