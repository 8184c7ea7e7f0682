"""Closing automatic windows nobody closed: Codex sends no session end, and a Claude session can be killed.

A window whose last event is older than ``auto.idle_minutes`` is closed at that last event, with its last reading.
The agents' hooks do this on every event (``autocapture.hook``); ``timer --once`` and ``status`` call
``close_idle`` so a machine where no agent runs any more closes them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.autocapture import worker
from gittracker.autocapture.hook import Handoff
from gittracker.autocapture.sessions import all_sessions, enqueue
from gittracker.config import load
from gittracker.gitfiles import find_git_dirs


def close_idle(toplevel: Path) -> list[dict[str, Any]]:
    """Queue a close for every idle automatic window of this clone, run the worker here (not detached: the caller
    reports what was done), and return the closes it made."""
    found = find_git_dirs(str(toplevel))
    if found is None:
        return []
    tracker = Path(found[2]) / "tracker"
    if not all_sessions(tracker):
        return []
    idle_minutes = load(toplevel).idle_minutes
    work = Handoff(str(tracker), clock.now())
    work.close_idle(lambda: idle_minutes)
    enqueue(tracker, work.items)
    return [done for done in worker.run(tracker) if done.get("op") == "close"]
