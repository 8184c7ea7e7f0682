"""Claude Code status-line JSON: what a ``statusLine`` command reads on stdin (v2.1.80+)::

    {"model": {"id": "claude-opus-4-1", "display_name": "Opus"},
     "workspace": {"current_dir": "/repo", "project_dir": "/repo"}, "session_id": "…", "version": "2.1.90",
     "cost": {"total_cost_usd": 0.42},
     "rate_limits": {"five_hour": {"used_percentage": 23.5, "resets_at": 1738425600},
                     "seven_day": {"used_percentage": 41.2, "resets_at": 1738857600}}}

``rate_limits`` appears only for subscribers and only after the session's first API response, so a
payload without it is valid and yields an empty ``Reading``. This runs on every repaint: stdlib only.

Every window in ``rate_limits`` becomes a meter: ``five_hour``, ``seven_day`` (the ``weekly`` meter) and a
per-model week such as ``seven_day_sonnet`` (``weekly_sonnet``) or ``seven_day_opus`` (``weekly_opus``); the key
is the name, so no ``limit_id`` is kept. Claude Code's own schema has those per-model keys; the payloads reported
so far (2.1.80 to 2.1.237) carry ``five_hour`` and ``seven_day``, and ``seven_day_sonnet`` only at times. Keys of
another form (``extra_usage``: spend, not a window) are passed over.
"""

from __future__ import annotations

import json
from typing import Any

from gittracker import clock
from gittracker.capacity import Meter, Reading, meter_name
from gittracker.errors import BadInput
from gittracker.records import finite_number as _number
from gittracker.records import reject_constant

SHAPE = '{"rate_limits": {"five_hour": {"used_percentage": N, "resets_at": EPOCH_SECONDS}, "seven_day": {…}}}'
LIMITS_SHAPE = '{"five_hour": {"used_percentage": N, "resets_at": EPOCH_SECONDS}, "seven_day": {…}}'
WINDOW_SHAPE = '{"used_percentage": N, "resets_at": EPOCH_SECONDS}'
CLAMPED = "used-over-100-clamped"  # the server reports utilisation past the limit; 100 is "all used"


def parse_statusline(text: str) -> tuple[Reading, dict[str, Any]]:
    """The capacity reading in one status-line payload, and the fields worth displaying.

    The dict has ``model`` (display name), ``model_id``, ``session_id``, ``cwd``, ``project_dir``,
    ``version``, ``transcript_path``, ``output_style``, ``cost_usd`` and ``context_used_percentage``;
    each is None when absent or of an unexpected type (display fields never fail a repaint).
    """
    try:
        data = json.loads(text, parse_constant=reject_constant)
    except (ValueError, RecursionError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BadInput(f"claude status line: expected one JSON object like {SHAPE} ({detail})") from None
    if not isinstance(data, dict):
        raise BadInput(f"claude status line: expected a JSON object like {SHAPE}, got {_kind(data)}")
    errors: list[str] = []
    meters: list[Meter] = []
    limits = data.get("rate_limits")
    if limits is not None:
        if not isinstance(limits, dict):
            raise BadInput(f"claude status line: expected rate_limits like {LIMITS_SHAPE}, got {_kind(limits)}")
        for key in limits:
            name = _meter_name(key)
            if name is None or any(meter.name == name for meter in meters):
                continue  # not a window, or one spelled twice (seven_day_Sonnet, seven_day_sonnet): the first counts
            used, when = _window(limits, key, errors)
            if used is not None:
                meters.append(Meter(name, used, when))
    meters.sort(key=_shortest_first)
    return Reading(tuple(meters), parse_errors=tuple(errors)), _display(data)


def _shortest_first(meter: Meter) -> tuple[bool, str]:
    return (meter.name != "five_hour", meter.name)  # five_hour, weekly, then the models' weeks


def _meter_name(key: str) -> str | None:
    """The meter a ``rate_limits`` key is: five_hour, seven_day -> weekly, seven_day_<model> -> weekly_<model>."""
    for prefix, span in (("five_hour", "five_hour"), ("seven_day", "weekly")):
        if key == prefix:
            return span
        if key.startswith(prefix + "_"):
            name = meter_name(span, key[len(prefix) + 1 :])
            return name if name != span else None  # a key with no model in it is not the account's meter
    return None


def _window(limits: dict[str, Any], name: str, errors: list[str]) -> tuple[float | None, str | None]:
    bucket = limits.get(name)
    if bucket is None:
        return None, None
    if not isinstance(bucket, dict):
        raise BadInput(f"claude status line: expected rate_limits.{name} like {WINDOW_SHAPE}, got {_kind(bucket)}")
    used = bucket.get("used_percentage")
    value: float | None = None
    if used is not None:
        if not _number(used) or used < 0:
            raise BadInput(
                f"claude status line: expected rate_limits.{name}.used_percentage to be a percent 0-100, "
                f"got {_show(used)}"
            )
        value = float(used)
        if value > 100:
            value = 100.0
            if CLAMPED not in errors:
                errors.append(CLAMPED)
    resets = bucket.get("resets_at")
    when: str | None = None
    if resets is not None:
        problem = f"claude status line: expected rate_limits.{name}.resets_at in epoch seconds, got {_show(resets)}"
        if not _number(resets):
            raise BadInput(problem)
        try:
            when = clock.epoch_text(resets)
        except ValueError:
            raise BadInput(problem) from None
    return value, when


def _display(data: dict[str, Any]) -> dict[str, Any]:
    workspace = data.get("workspace")
    return {
        "model": _text(data.get("model"), "display_name"),
        "model_id": _text(data.get("model"), "id"),
        "session_id": _text(data, "session_id"),
        "cwd": _text(workspace, "current_dir") or _text(data, "cwd"),
        "project_dir": _text(workspace, "project_dir"),
        "version": _text(data, "version"),
        "transcript_path": _text(data, "transcript_path"),
        "output_style": _text(data.get("output_style"), "name"),
        "cost_usd": _num(data.get("cost"), "total_cost_usd"),
        "context_used_percentage": _num(data.get("context_window"), "used_percentage"),
    }


def _text(parent: Any, key: str) -> str | None:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, str) else None


def _num(parent: Any, key: str) -> float | None:
    value = parent.get(key) if isinstance(parent, dict) else None
    return float(value) if _number(value) else None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _show(value: Any) -> str:
    text = _kind(value) if isinstance(value, dict | list) else repr(value)
    return text if len(text) <= 60 else text[:59] + "…"
