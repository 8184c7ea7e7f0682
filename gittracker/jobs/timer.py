"""``git tracker timer --once``: run every standing job that is due and not yet done for its slot.

Safe every minute from cron, and with two timers at once: each job has a lock and a record of the last slot it ran
for, under ``<common git dir>/tracker/timer/``. Whichever timer takes a job's lock runs it; another timer meanwhile
skips it (``busy``), and every later run in the same slot finds the record (``done``). The record is written after
the job, so a timer killed in the middle leaves the slot to run again: at least once, never lost. A job that fails
is reported, does not stop the others, and is recorded for its slot: it is tried again in its next slot, not every
minute.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.context import Context
from gittracker.errors import EXIT_INTERNAL, EXIT_OK, TrackerError, storage_failed
from gittracker.files import atomic_write, try_file_lock
from gittracker.jobs.schedule import Job, default_schedule, implicit_close_idle, load_schedule
from gittracker.jobs.standing import JOBS, Outcome, Unavailable

TIMER_DIR = "timer"


def run_once(ctx: Context, schedule_file: str | None = None, *, debug: bool = False) -> dict[str, Any]:
    """Load the schedule (refused whole, before anything runs, when it is not valid), then each job in turn."""
    zone = clock.local_zone(ctx.config.screen_timezone)
    path = Path(schedule_file) if schedule_file else default_schedule(ctx.local.root, ctx.repo.toplevel)
    schedule = load_schedule(path, zone) if path is not None else None
    jobs = schedule.with_standing_jobs() if schedule is not None else (implicit_close_idle(zone),)
    now = clock.now()
    results = [_run(ctx, job, now, debug) for job in jobs]
    return {"at": clock.format_ts(now), "schedule": str(path) if path is not None else None, "jobs": results}


def exit_code(report: dict[str, Any]) -> int:
    """The worst exit code of the jobs that failed (the one table: 1 refused, 2 bad input, 3 a bug), else 0."""
    return max((job["exit_code"] for job in report["jobs"] if job["exit_code"] is not None), default=EXIT_OK)


def _run(ctx: Context, job: Job, now: datetime, debug: bool) -> dict[str, Any]:
    slot = job.timing.due(now)
    following = job.timing.next_slot(now)
    if slot is None:
        when = f"next {clock.format_ts(following)}" if following is not None else "no slot in the coming week"
        return _result(job, "not-due", None, following, f"not due ({when})")
    folder = ctx.local.root / TIMER_DIR
    with try_file_lock(folder / f"{job.id}.lock") as held:
        if not held:
            return _result(job, "busy", slot, following, "another timer is running it now")
        if _done_slot(folder / f"{job.id}.json") >= clock.format_ts(slot):
            return _result(job, "done", slot, following, f"done for the slot of {clock.format_ts(slot)} already")
        attempt = _attempt(ctx, job, debug)
        if attempt.status == "unavailable":
            return _result(job, "unavailable", slot, following, attempt.detail)
        unrecorded = _record(folder / f"{job.id}.json", job, slot, attempt.status)
        return _result(
            job,
            attempt.status,
            slot,
            following,
            attempt.detail + unrecorded,
            outcome=attempt.outcome,
            exit_code=attempt.exit_code,
        )


@dataclass(frozen=True)
class _Attempt:
    status: str  # ran, failed or unavailable
    detail: str
    outcome: Outcome | None = None
    exit_code: int | None = None


def _attempt(ctx: Context, job: Job, debug: bool) -> _Attempt:
    """Run the job; whatever it raises is its own failure, reported with the exit code the table gives it."""
    try:
        outcome = JOBS[job.name](ctx, job.options)
    except Unavailable as error:
        return _Attempt("unavailable", str(error))
    except TrackerError as error:
        return _Attempt("failed", str(error), exit_code=error.exit_code)
    except Exception as error:
        refused = storage_failed(error, "could not write") if isinstance(error, OSError) else None
        if refused is not None:  # the disk said no: the user's to fix, not a bug
            return _Attempt("failed", str(refused), exit_code=refused.exit_code)
        if debug:
            traceback.print_exc(file=sys.stderr)
        message = f"internal error: {type(error).__name__}: {error} (rerun with --debug)"
        return _Attempt("failed", message, exit_code=EXIT_INTERNAL)
    return _Attempt("ran", outcome.detail, outcome)


def _done_slot(path: Path) -> str:
    """The slot the job last ran for ("" for none). A record that cannot be read counts as none: running the job
    again is harmless, and the run writes a good record."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return ""
    slot = data.get("slot") if isinstance(data, dict) else None
    return slot if isinstance(slot, str) else ""


def _record(path: Path, job: Job, slot: datetime, status: str) -> str:
    """Keep the slot as done; returns what to add to the job's line when the disk refused."""
    record = {
        "job": job.name,
        "slot": clock.format_ts(slot),
        "status": status,
        "finished": clock.format_ts(clock.now()),
    }
    try:
        atomic_write(path, json.dumps(record, sort_keys=True) + "\n")
    except OSError as error:
        return f" (could not record the slot as done: {error.strerror or error}; it may run again)"
    return ""


def _result(
    job: Job,
    status: str,
    slot: datetime | None,
    following: datetime | None,
    detail: str,
    *,
    outcome: Outcome | None = None,
    exit_code: int | None = None,
) -> dict[str, Any]:
    return {
        "id": job.id,
        "job": job.name,
        "status": status,
        "slot": clock.format_ts(slot) if slot is not None else None,
        "next": clock.format_ts(following) if following is not None else None,
        "detail": detail,
        "added": outcome.added if outcome is not None else 0,
        "windows": outcome.windows if outcome is not None else [],
        "exit_code": exit_code,
    }


def describe(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The text report: one line per job, those that failed on stderr (so cron, with stdout thrown away, mails
    only failures)."""
    out, err = [], []
    for job in report["jobs"]:
        name = job["id"] if job["id"] == job["job"] else f"{job['id']} ({job['job']})"
        if job["status"] == "failed":
            err.append(f"{name} failed for the slot of {job['slot']}: {job['detail']}")
        elif job["status"] == "ran":
            out.append(f"{name}: ran for the slot of {job['slot']}: {job['detail']}")
        else:
            out.append(f"{name}: {job['detail']}")
    return out, err
