"""The official capacity a telemetry line carries (Anthropic's ``anthropic-ratelimit-unified-*`` headers) as a
capacity reading: ``five_hour`` and ``weekly`` meters, percent used, reset times as stored times.

The headers give the share used as a fraction: used = utilization x 100, rounded to two decimals. A share past 1
(the server reports use past the limit) is stored as 100 % with the parse error ``used-over-100-clamped``, as the
Claude status line's is. The headers' ``status`` is not stored: a snapshot has no field for it.
"""

from __future__ import annotations

from gittracker import clock
from gittracker.capacity import Meter, Reading
from gittracker.proxy.telemetry import Capacity, Limit
from gittracker.proxyevents import GLM

CLAMPED = "used-over-100-clamped"  # as sources.statusline.CLAMPED (a test holds them equal)


def reading_of(backend_provider: str, capacity: Capacity | None) -> Reading | None:
    """The Claude reading a line's capacity gives; None when it gives none (no headers, or a GLM response, whose
    capacity is counted in prompts, not read from headers)."""
    if capacity is None or backend_provider == GLM:
        return None
    meters: list[Meter] = []
    errors: list[str] = []
    for name, limit in (("five_hour", capacity.five_hour), ("weekly", capacity.seven_day)):
        if limit is not None:
            meters.append(_meter(name, limit, errors))
    return Reading(tuple(meters), parse_errors=tuple(errors)) if meters else None


def _meter(name: str, limit: Limit, errors: list[str]) -> Meter:
    used = round(limit.utilization * 100, 2)
    if used > 100:
        used = 100.0
        if CLAMPED not in errors:
            errors.append(CLAMPED)
    return Meter(name, used, clock.epoch_text(limit.resets_at))
