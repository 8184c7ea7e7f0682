"""``git tracker schedule check FILE``: the schedule's captures against the resets this machine knows of.

A capture is a reading a planned window takes: its before (the start) and its after (the end). One taken less than
``tracker.reset_buffer_minutes`` after a reset of its provider is unreliable, and ``start``/``end`` refuse it; this
says so a week ahead. The resets known are the latest each meter of the provider showed on this machine
(``LocalState.known_resets``), repeated every 5 hours, day or week for the meters of that span (which assumes use
goes on without a pause: a 5-hour window that lapses starts again at the next use).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.capacity import meter_minutes, valid_meter_name
from gittracker.context import Context
from gittracker.errors import BadInput
from gittracker.jobs.schedule import PlannedWindow, Schedule, load_schedule

HORIZON = timedelta(days=7)
# Meters whose window has a fixed length, so one known reset gives every other: 5 hours, a day, a week (months vary).
PERIODIC_MINUTES = frozenset({300, 1440, 10080})


def check(ctx: Context, file: str) -> dict[str, Any]:
    schedule = load_schedule(Path(file), clock.local_zone(ctx.config.screen_timezone))
    now = clock.now()
    until = now + HORIZON
    buffer = timedelta(minutes=ctx.config.reset_buffer_minutes)
    providers = sorted({window.provider for window in schedule.windows})
    resets = {
        p: projected_resets(ctx.local.known_resets(p), now - buffer, until + timedelta(days=1)) for p in providers
    }
    conflicts: list[dict[str, Any]] = []
    captures = 0
    for window in schedule.windows:
        for start in window.starts_between(now, until):
            captures += 2
            conflicts += _in_buffer(window, start, resets[window.provider], buffer)
    return {
        "file": str(schedule.path),
        "from": clock.format_ts(now),
        "until": clock.format_ts(until),
        "buffer_minutes": ctx.config.reset_buffer_minutes,
        "windows": len(schedule.windows),
        "captures": captures,
        "conflicts": conflicts,
        "unknown_resets": [p for p in providers if not resets[p]],
        "jobs": _jobs(schedule, now),
    }


def projected_resets(known: dict[str, str], low: datetime, high: datetime) -> list[tuple[str, datetime]]:
    """(meter, instant) of every reset from ``low`` to ``high`` that the known ones give, in time order."""
    found = []
    for meter, text in sorted(known.items()):
        if not valid_meter_name(meter) or not isinstance(text, str):
            continue
        try:
            reset = clock.parse_ts(text)
        except BadInput:  # a hand-edited state file: no evidence
            continue
        minutes = meter_minutes(meter)
        if minutes not in PERIODIC_MINUTES:
            found += [(meter, reset)] if low <= reset <= high else []
            continue
        period = timedelta(minutes=minutes)
        first, last = math.ceil((low - reset) / period), math.floor((high - reset) / period)
        found += [(meter, reset + period * k) for k in range(first, last + 1)]
    return sorted(found, key=lambda item: (item[1], item[0]))


def _in_buffer(
    window: PlannedWindow, start: datetime, resets: list[tuple[str, datetime]], buffer: timedelta
) -> list[dict[str, Any]]:
    found = []
    for capture, moment in (("start", start), ("end", start + window.duration)):
        for meter, reset in resets:
            if reset <= moment < reset + buffer:
                found.append(
                    {
                        "window": window.number,
                        "label": window.label(),
                        "provider": window.provider,
                        "capture": capture,
                        "at": clock.format_ts(moment),
                        "meter": meter,
                        "reset": clock.format_ts(reset),
                        "minutes_after": round((moment - reset).total_seconds() / 60, 1),
                    }
                )
    return found


def _jobs(schedule: Schedule, now: datetime) -> list[dict[str, Any]]:
    jobs = []
    for job in schedule.with_standing_jobs():
        following = job.timing.next_slot(now)
        jobs.append(
            {
                "id": job.id,
                "job": job.name,
                "timing": job.timing.describe(),
                "next": clock.format_ts(following) if following is not None else None,
            }
        )
    return jobs


def describe(report: dict[str, Any]) -> str:
    head = (
        f"schedule {report['file']}: {report['windows']} planned window(s), {len(report['jobs'])} job(s); "
        f"{report['captures']} capture(s) from {report['from']} to {report['until']}, reset buffer "
        f"{report['buffer_minutes']:g} min"
    )
    lines = [head]
    for c in report["conflicts"]:
        lines.append(
            f"conflict: {c['label']} {c['capture']} at {c['at']}: {c['minutes_after']:g} min after the "
            f"{c['provider']} {c['meter']} reset at {c['reset']}"
        )
    for provider in report["unknown_resets"]:
        lines.append(
            f"unknown: no reading on this machine shows when {provider}'s meters reset: its windows were not "
            "checked (record one reading first, e.g. `git tracker snapshot` or a window)"
        )
    for job in report["jobs"]:
        name = job["id"] if job["id"] == job["job"] else f"{job['id']} ({job['job']})"
        lines.append(f"job {name}: {job['timing']}; next {job['next'] or 'not in the coming week'}")
    conflicts = len(report["conflicts"])
    lines.append(
        f"{conflicts} capture(s) inside the reset buffer" if conflicts else "no capture inside the reset buffer"
    )
    return "\n".join(lines)
