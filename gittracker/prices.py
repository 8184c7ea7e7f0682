"""What a token costs, per model, so ``proxy compare`` can put the two arms of the sub-agent POC in dollars.

``[prices."MODEL-SUBSTRING"]`` tables in ``.git-tracker.toml`` set ``input``, ``output``, ``cache_write`` and
``cache_read`` in US dollars per million tokens. A model is priced by the longest name that is a substring of it,
case-insensitively: ``haiku`` prices ``claude-haiku-4-5-20251001``, and a ``haiku-3-5`` table would win over it for
``claude-haiku-3-5``. A model no name matches has no price: its cost is unknown, and the
reports say which models those are rather than guessing (docs/configuration.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gittracker.errors import BadInput

PER_TOKENS = 1_000_000  # prices are per million tokens, as the providers publish them
MAX_PRICE = 1_000_000.0  # dollars per million tokens: anything above is a typo
MAX_NAME = 200  # characters of a model name (the telemetry line cuts its strings there too)
FIELDS = ("input", "output", "cache_write", "cache_read")


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens of each kind."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    def cost(self, prompt: int, completion: int, cache_write: int, cache_read: int) -> float:
        """Dollars for these token counts (prompt tokens exclude the cached ones, as Anthropic's usage reports)."""
        return (
            math.fsum(
                (
                    prompt * self.input,
                    completion * self.output,
                    cache_write * self.cache_write,
                    cache_read * self.cache_read,
                )
            )
            / PER_TOKENS
        )

    def to_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in FIELDS}


# The API list prices the providers published, read in November 2025: Anthropic's for Claude Haiku 4.5, Sonnet 4.5
# and Opus 4.5 (cache write = the 5-minute write, 1.25 x input; cache read = 0.1 x input), Z.ai's for GLM-4.6
# (cached input $0.11; cache storage free, so tokens written to the cache are priced as the input they are).
# They are the user's to change ([prices."…"] in .git-tracker.toml): prices move, older models cost otherwise.
DEFAULT_PRICES: Mapping[str, Price] = {
    "haiku": Price(input=1.0, output=5.0, cache_write=1.25, cache_read=0.10),
    "sonnet": Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30),
    "opus": Price(input=5.0, output=25.0, cache_write=6.25, cache_read=0.50),
    "glm": Price(input=0.60, output=2.20, cache_write=0.60, cache_read=0.11),
}


def default_prices() -> dict[str, Price]:
    return dict(DEFAULT_PRICES)


def price_for(model: str | None, prices: Mapping[str, Price]) -> tuple[str, Price] | None:
    """The (name, price) whose name is the longest case-insensitive substring of ``model``; None: unpriced."""
    if not model:
        return None
    wanted = model.lower()
    found = [name for name in prices if name in wanted]
    if not found:
        return None
    name = max(found, key=lambda item: (len(item), item))
    return name, prices[name]


def prices_from(table: Any, where: str) -> dict[str, Price]:
    """``[prices."NAME"]`` tables over the defaults; a name with a default may leave keys out (they keep it).

    Names are kept lower-case (matching is case-insensitive); two that differ only in case are refused.
    """
    if not isinstance(table, dict):
        raise BadInput(f'{where}: prices: expected tables [prices."MODEL-SUBSTRING"] with {", ".join(FIELDS)}')
    prices = default_prices()
    seen: dict[str, str] = {}
    for name, values in table.items():
        key = f"{where}: prices.{_quoted(name)}"
        if not name.strip() or len(name) > MAX_NAME or "\n" in name:
            raise BadInput(f"{key}: expected a model name or part of one (1-{MAX_NAME} characters, one line)")
        lowered = name.lower()
        if lowered in seen:
            raise BadInput(f"{key}: expected each name once, got it again as prices.{_quoted(seen[lowered])}")
        seen[lowered] = name
        prices[lowered] = _price(values, DEFAULT_PRICES.get(lowered), key)
    return prices


def _price(values: Any, default: Price | None, key: str) -> Price:
    if not isinstance(values, dict):
        raise BadInput(f"{key}: expected a table with {', '.join(FIELDS)} (USD per million tokens)")
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        shown = ", ".join(_quoted(str(name)) for name in unknown)
        raise BadInput(f"{key}: unexpected key(s) {shown}; expected {', '.join(FIELDS)}")
    missing = [name for name in FIELDS if name not in values]
    if missing and default is None:
        raise BadInput(f"{key}: expected {', '.join(missing)} too (USD per million tokens; no default for this name)")
    checked = {}
    for name in FIELDS:
        value = values.get(name, getattr(default, name, None))
        if isinstance(value, bool) or not isinstance(value, int | float) or not (0 <= value <= MAX_PRICE):
            raise BadInput(f"{key}.{name}: expected US dollars per million tokens, 0-{MAX_PRICE:g}, got {value!r}")
        checked[name] = float(value)
    return Price(**checked)


def _quoted(name: str) -> str:
    """A name as TOML writes it in a key: bare when it can be, else quoted."""
    bare = name and all(char.isascii() and (char.isalnum() or char in "-_") for char in name)
    # JSON's escapes are TOML's for a basic string: a line break or other control character stays on the one line.
    return name if bare else json.dumps(name[:60])
