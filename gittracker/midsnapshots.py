"""Readings a provider's own data gives between windows (its logs, a proxy's response headers) as ``mid``
snapshots: only the readings that change what is known are written, each with an id derived from its data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gittracker import capacity, clock
from gittracker.context import Context
from gittracker.errors import TrackerError
from gittracker.records import Record

# Readings whose reset times differ by no more than this are the same reading: Codex recomputes a reset time on
# every response, and it jitters by a second or so.
SAME_RESET_SECONDS = 60
# The readings remembered for the next run, written or not, so a reading that comes late (a rollout read after
# newer ones were) is compared with the readings around it: those of the last day, at most this many.
REMEMBERED_READINGS = 128
_REMEMBER_SPAN = timedelta(days=1)


@dataclass
class _Seen:
    ts: str
    fields: dict[str, Any]
    written: bool


def changed_readings(
    readings: list[tuple[str, dict[str, Any]]], remembered: Any
) -> tuple[list[tuple[str, dict[str, Any]]], list[list[Any]]]:
    """The readings of one place (one Codex home: one login at a time) to write, and what to remember for the next run.

    In time order, a reading is written unless it equals the last one written before it (``same_reading``), so
    every reading is either in the ledger or the same as the snapshot in force when it was taken. Earlier runs'
    readings of the last day are remembered with whether they were written: a late reading that falls between
    them is compared with the right one, and a remembered reading it turns into a change is written then. A
    reading older than all that is remembered has nothing known before it and is written. A snapshot's id is
    derived from its data, so a reading written before is never written twice.
    """
    seen = _remembered(remembered)
    seen += [_Seen(ts, fields, False) for ts, fields in readings]
    seen.sort(key=lambda item: item.ts)  # stable: the remembered first, then file order, among equal times
    last: _Seen | None = None
    out: list[tuple[str, dict[str, Any]]] = []
    for item in seen:
        if not item.written and (last is None or not same_reading(last.fields, item.fields)):
            item.written = True
            out.append((item.ts, item.fields))
        if item.written:
            last = item
    return out, _to_remember(seen)


def _remembered(value: Any) -> list[_Seen]:
    """The readings the last run remembered; anything a damaged cache holds instead is forgotten (at worst one
    reading is written again, and its derived id makes that a no-op)."""
    if not isinstance(value, list):
        return []
    return [
        _Seen(item[0], item[1], bool(item[2]))
        for item in value
        if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and _readable(item[1])
    ]


def _readable(fields: Any) -> bool:
    try:
        capacity.Reading.from_fields(fields)
    except TrackerError:
        return False
    return True


def _to_remember(seen: list[_Seen]) -> list[list[Any]]:
    if not seen:
        return []
    horizon = clock.format_ts(clock.parse_ts(seen[-1].ts) - _REMEMBER_SPAN)
    recent = [item for item in seen if item.ts >= horizon][-REMEMBERED_READINGS:]
    while recent and not recent[0].written:  # what an unwritten reading was the same as must be remembered too
        recent.pop(0)
    return [[item.ts, item.fields, item.written] for item in recent]


def same_reading(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Two snapshots' readings are the same: the same meters at the same percents, reset times within a minute,
    the same prompts and parse errors."""
    if old.get("prompts") != new.get("prompts") or old.get("parse_errors") != new.get("parse_errors"):
        return False
    before, after = old.get("meters") or {}, new.get("meters") or {}
    if before.keys() != after.keys():
        return False
    for name, meter in after.items():
        if meter["used"] != before[name]["used"] or meter["limit_id"] != before[name]["limit_id"]:
            return False
        if not _same_reset(before[name]["resets_at"], meter["resets_at"]):
            return False
    return True


def _same_reset(old: str | None, new: str | None) -> bool:
    if old == new:
        return True
    if old is None or new is None:
        return False
    return abs((clock.parse_ts(new) - clock.parse_ts(old)).total_seconds()) <= SAME_RESET_SECONDS


# The fields a snapshot had before meters (schema 1): a reading these describe whole keeps the id it had then.
_LEGACY_METERS = frozenset({"five_hour", "weekly"})


def mid_snapshot(ctx: Context, provider: str, ts: str, fields: dict[str, Any]) -> Record:
    body = {"provider": provider, "phase": "mid", "window_id": None, **fields}
    # A snapshot's id is derived from its data. The 5-hour and weekly meters are the same data the fields of the
    # first schema held, so for a reading of those alone the id is derived from those fields as then: a reading
    # that an earlier version ingested keeps its id, and is not added twice. Any other meter is data no earlier
    # version wrote, and the whole body (meters included) derives the id.
    legacy = set(fields.get("meters") or ()) <= _LEGACY_METERS
    identity = {key: value for key, value in body.items() if key != "meters"} if legacy else None
    return Record.derived(
        "snapshot", source="ingest", agent_id=ctx.agent_id, machine=ctx.machine, ts=ts, identity=identity, **body
    )
