"""The detached worker behind the agents' hooks: it writes what they queued to the ledger.

``python -P -m gittracker.autocapture.worker <tracker dir>``, started by ``autocapture.hook`` (and run in-process
by ``close_idle``). One worker at a time (``auto/worker.lock``); it takes the whole queue, does each item in
order, and looks again after letting go of the lock, so an item queued while it finished is never stranded.

- ``open``: the window's before reading and window-open record (``windows.start``) at the session's first event,
  under the id its commits were already stamped with. A session shows its first capacity figure only with its
  first answer (Claude's status line, Codex's rollout), so when there is none yet the window waits, and the first
  ``mid`` with a reading opens it instead.
- ``mid``: a ``mid`` snapshot with the session's latest reading, every turn, moved or not: the latest time a meter
  was seen at a value is what bounds the unseen use before a reset (``segments``).
- ``close``: the after reading and window-close record (``windows.end``) at the moment the hook gave: a session's
  end, or an idle window's last event. A window that never saw a reading is still written, with its delta
  unknown (``missing-reading``), so the commits stamped with it belong to a window.

A failure is recorded as an ``autocapture-failed`` anomaly (no payload text in it) and the next item goes on.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gittracker import automarks as marks
from gittracker import clock
from gittracker.autocapture.sessions import auto_dir, drop_session, queue_path, session_path
from gittracker.capacity import Reading
from gittracker.context import Context, new_record, open_context
from gittracker.errors import TrackerError
from gittracker.files import try_file_lock

# Claude Code repaints its status line a moment after a turn ends, and its Stop hook may run first: wait this long
# for a reading seen after the event before taking the latest one there is.
STATUSLINE_WAIT = 3.0
FAILED = "autocapture-failed"
LOCK_TRIES = 10  # x 50 ms


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m gittracker.autocapture.worker TRACKER_DIR", file=sys.stderr)
        return 2
    run(Path(argv[0]))
    return 0


def run(tracker: Path) -> list[dict[str, Any]]:
    """Do everything queued; returns what was done (for ``timer --once`` and the tests)."""
    done: list[dict[str, Any]] = []
    lock = Path(auto_dir(tracker)) / "worker.lock"
    refused = 0
    while True:
        with try_file_lock(lock) as taken:
            if taken:
                refused = 0
                for batch in _take(tracker):
                    done += [_do(item) for item in _read(batch)]
                    batch.unlink(missing_ok=True)
        if not taken:
            # Another worker holds it and looks at the queue again once it lets go. Or, for a moment, a process that
            # only asked whether the lock is held (a test, a status check): so ask a few more times before leaving.
            refused += 1
            if refused > LOCK_TRIES:
                return done
            time.sleep(0.05)
            continue
        if not _queued(tracker):
            return done


def _queued(tracker: Path) -> bool:
    try:
        return os.stat(queue_path(tracker)).st_size > 0
    except FileNotFoundError:
        return False


def _take(tracker: Path) -> list[Path]:
    """The queue, renamed away whole (hooks then start a new one), after any a killed worker left taken."""
    folder = Path(auto_dir(tracker))
    left = sorted(folder.glob("queue.taken.*"))
    mine = folder / f"queue.taken.{time.time_ns()}.{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.replace(queue_path(tracker), mine)
        left.append(mine)
    return left


def _read(batch: Path) -> list[dict[str, Any]]:
    import json

    items = []
    with contextlib.suppress(FileNotFoundError), batch.open("rb") as handle:
        for line in handle:
            with contextlib.suppress(ValueError):
                item = json.loads(line)
                if isinstance(item, dict):
                    items.append(item)
    return items


def _do(item: dict[str, Any]) -> dict[str, Any]:
    op = item.get("op")
    session = item.get("session")
    if op == "failed":
        return _hook_failed(item)
    if not isinstance(session, dict):
        return {"op": op, "done": False, "detail": "no session"}
    try:
        ctx = _context(session)
    except (TrackerError, OSError) as error:
        return {"op": op, "window_id": session.get("window_id"), "done": False, "detail": str(error)}
    moment = clock.parse_ts(str(item["ts"]))
    try:
        if op == "open":
            return _open(ctx, session, moment)
        if op == "mid":
            return _mid(ctx, session, moment)
        if op == "close":
            return _close(ctx, session, moment, str(item.get("why", "")))
    except Exception as error:  # recorded as an anomaly; the next item goes on
        _record_failure(ctx, session, op, error)
        return {"op": op, "window_id": session["window_id"], "done": False, "detail": str(error)}
    return {"op": op, "done": False, "detail": "unknown item"}


def _context(session: dict[str, Any]) -> Context:
    top = str(session["top"])
    os.chdir(top)  # the window's worktree: `start` and `end` take HEAD and the worktree from where they run
    return open_context(top, agent_id=str(session["agent_id"]), source="hook")


def _is_open(ctx: Context, session: dict[str, Any]) -> bool:
    window = ctx.local.load(ctx.agent_id).open.get(session["provider"])
    return window is not None and window.get("window_id") == session["window_id"]


def _open(ctx: Context, session: dict[str, Any], moment: datetime) -> dict[str, Any]:
    if _is_open(ctx, session):
        return {"op": "open", "window_id": session["window_id"], "done": False, "detail": "already open"}
    found = session_reading(ctx, session, not_before=None)
    if found is None:
        return {"op": "open", "window_id": session["window_id"], "done": False, "detail": "waiting for a reading"}
    return _start(ctx, session, found[1])


def _start(ctx: Context, session: dict[str, Any], reading: Reading, *, unread: bool = False) -> dict[str, Any]:
    from gittracker.windows import Opening, start

    opening = Opening(
        at=clock.parse_ts(session["opened_ts"]),
        window_id=session["window_id"],
        commit_start=session.get("commit_start"),
        require_reading=not unread,
    )
    start(ctx, session["provider"], reading, opening=opening, override_halt=False)
    _keep_last(ctx, session, reading)
    return {"op": "open", "window_id": session["window_id"], "done": True, "agent_id": ctx.agent_id}


def _mid(ctx: Context, session: dict[str, Any], moment: datetime) -> dict[str, Any]:
    from gittracker.windows import snapshot

    found = session_reading(ctx, session, not_before=moment)
    if found is None:
        return {"op": "mid", "window_id": session["window_id"], "done": False, "detail": "no reading"}
    if not _is_open(ctx, session):
        return _start(ctx, session, found[1])  # the session's first reading: the window's before
    snapshot(ctx, session["provider"], found[1], at=moment)
    _keep_last(ctx, session, found[1])
    return {"op": "mid", "window_id": session["window_id"], "done": True, "agent_id": ctx.agent_id}


def _close(ctx: Context, session: dict[str, Any], moment: datetime, why: str) -> dict[str, Any]:
    from gittracker.windows import end

    tracker = ctx.local.root
    try:
        if _was_closed(ctx, session):
            return {"op": "close", "window_id": session["window_id"], "done": False, "detail": "already closed"}
        if why == "session-end":  # the session's own latest reading, however old
            found = session_reading(ctx, session, not_before=moment, any_age=True)
            reading = found[1] if found is not None else _last_kept(ctx, session)
        else:  # idle: the last reading it had (the session may have moved on in a new window since)
            reading = _last_kept(ctx, session)
            found = None if reading.is_empty() else (moment, reading)
        if not _is_open(ctx, session):
            _start(ctx, session, reading, unread=found is None)
        if why != "session-end":
            moment = max(moment, clock.parse_ts(session["opened_ts"]))
        result = end(ctx, session["provider"], reading, force=True, at=moment)
    finally:
        marks.unmark(Path(session["git_dir"]), ctx.agent_id)
        _last_path(ctx, session).unlink(missing_ok=True)
        drop_session(session_path(tracker, ctx.agent_id, session["provider"]), session["window_id"])
    return {
        "op": "close",
        "window_id": session["window_id"],
        "done": True,
        "agent_id": ctx.agent_id,
        "provider": session["provider"],
        "closed_ts": clock.format_ts(moment),
        "why": why,
        "delta": result["delta"],
    }


def _last_path(ctx: Context, session: dict[str, Any]) -> Path:
    return Path(auto_dir(ctx.local.root)) / "last" / f"{ctx.agent_id}.{session['provider']}.json"


def _keep_last(ctx: Context, session: dict[str, Any], reading: Reading) -> None:
    """The window's latest reading, replaced each time (one small file per agent): what an idle close ends at."""
    import json

    from gittracker.files import atomic_write

    entry = {"window_id": session["window_id"], "reading": reading.snapshot_fields()}
    with contextlib.suppress(OSError):
        atomic_write(_last_path(ctx, session), json.dumps(entry, sort_keys=True), durable=False)


def _last_kept(ctx: Context, session: dict[str, Any]) -> Reading:
    import json

    try:
        entry = json.loads(_last_path(ctx, session).read_text())
        if entry["window_id"] == session["window_id"]:
            return Reading.from_fields(entry["reading"])
    except (OSError, ValueError, KeyError, TypeError, TrackerError):
        pass
    return Reading()


def _was_closed(ctx: Context, session: dict[str, Any]) -> bool:
    """The window is already closed on the ledger (a close item seen twice)."""
    closed = ctx.local.load(ctx.agent_id).last_closed.get(session["provider"])
    return closed is not None and closed.get("window_id") == session["window_id"]


def session_reading(
    ctx: Context, session: dict[str, Any], not_before: datetime | None, *, any_age: bool = False
) -> tuple[datetime, Reading] | None:
    """The session's own latest capacity reading: Claude's from its status line (kept per session by
    ``git tracker statusline``), Codex's from its rollout (the transcript path its hooks name). ``not_before``:
    wait a moment for one seen at or after it (a status line repaints after the Stop hook has run). Unless
    ``any_age``, one older than ``tracker.auto_max_age_minutes`` is none."""
    max_age = timedelta(days=36500) if any_age else timedelta(minutes=ctx.config.auto_max_age_minutes)
    if session["provider"] == "codex":
        from gittracker.sources.codex_logs import session_rate_limits

        rollout = session.get("transcript")
        return session_rate_limits(Path(rollout), clock.now(), max_age) if isinstance(rollout, str) else None
    from gittracker.statuscache import session_statusline_reading

    deadline = time.monotonic() + (STATUSLINE_WAIT if not_before is not None else 0)
    while True:
        found = session_statusline_reading(str(session["session_id"]), max_age)
        if not_before is None or (found is not None and found[0] >= not_before) or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _hook_failed(item: dict[str, Any]) -> dict[str, Any]:
    """A hook that failed before it could queue its work: an anomaly in the repository it ran in."""
    detail = str(item.get("detail", ""))[:300]
    with contextlib.suppress(Exception):
        ctx = open_context(str(item["top"]), agent_id="main", source="hook")
        anomaly = new_record(ctx, "anomaly", clock.now(), code=FAILED, window_id=None, detail=detail)
        ctx.repo.append_records([anomaly])
        return {"op": "failed", "done": True, "detail": detail}
    return {"op": "failed", "done": False, "detail": detail}


def _record_failure(ctx: Context, session: dict[str, Any], op: object, error: Exception) -> None:
    """One anomaly naming the window, what was being done and the error's kind and line (never payload text: the
    worker never had any)."""
    detail = f"{op}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    with contextlib.suppress(Exception):
        anomaly = new_record(ctx, "anomaly", clock.now(), code=FAILED, window_id=session["window_id"], detail=detail)
        ctx.repo.append_records([anomaly])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
