"""Sync on push: what the pre-push hook starts when ``init --sync-on-push`` turned it on for this clone.

The hook cannot sync before the user's push goes out without holding the push up, and git runs no hook after
a push. So the hook starts this in the background and returns at once: it waits for the ``git push`` process
to exit, then syncs the tracker refs with the same remote, within ``SYNC_BOUND_SECONDS``, and writes its
one-line result to ``<common-dir>/tracker/sync-on-push.log`` (``status`` shows it). It never prints, never
prompts, and nothing it does can change the push's exit status: that was decided before it starts.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gittracker import clock
from gittracker.files import atomic_write
from gittracker.state import LocalState

if TYPE_CHECKING:
    from gittracker.git import Repo

PUSH_WAIT_SECONDS = 900.0  # a push still running after 15 minutes is not one we follow
SYNC_BOUND_SECONDS = 30.0  # the sync itself: fetch, merge and push of the tracker refs
_POLL_SECONDS = 0.05


def after_push(toplevel: Path, remote: str, push_pid: int) -> str:
    """Wait for the push (process ``push_pid``) to end, then sync ``remote`` if it is the sync remote.

    Returns the line it wrote to the log; never raises (a hook's background child has nobody to tell)."""
    with contextlib.suppress(OSError):
        os.setsid()  # the terminal's Ctrl-C and hang-up are for the user's push, not for this
    try:
        from gittracker.git import Repo

        repo = Repo.discover(toplevel)
    except Exception as error:  # no repository: nowhere to write the log either
        return f"sync not done: {type(error).__name__}: {error}"
    try:
        line = _follow(repo, remote, push_pid)
    except Exception as error:  # a detached child: the log is the only place left to say it
        line = f"sync not done: {type(error).__name__}: {error}"
    _write_log(LocalState(repo.tracker_dir), remote, line)
    return line


def _follow(repo: Repo, remote: str, push_pid: int) -> str:
    if not _wait_for_exit(push_pid, PUSH_WAIT_SECONDS):
        return f"sync not done: the push was still running after {PUSH_WAIT_SECONDS:.0f} s"
    from gittracker.config import load

    sync_remote = load(repo.toplevel).remote
    if remote != sync_remote:
        # Tracker data goes only where the user chose to send it (sync.remote), not to every remote pushed to.
        return f"not synced: pushed to {remote!r}, the sync remote is {sync_remote!r}"
    from gittracker.sync import sync_quietly

    return sync_quietly(repo.toplevel, remote, within=SYNC_BOUND_SECONDS)


def _wait_for_exit(pid: int, bound: float) -> bool:
    deadline = time.monotonic() + bound
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL_SECONDS)
    return True


def _alive(pid: int) -> bool:
    if pid <= 1:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process now holds the id: treat as running until the bound
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A finished process its parent has not reaped yet counts as finished (Linux; elsewhere: never)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _write_log(state: LocalState, remote: str, line: str) -> None:
    with contextlib.suppress(Exception):
        atomic_write(state.sync_on_push_log, f"{clock.format_ts(clock.now())} {remote}: {line}\n")


def last_result(state: LocalState) -> str | None:
    """The log's line, for ``status``: when the last sync on push ran and what it did."""
    try:
        return state.sync_on_push_log.read_text(errors="replace").strip() or None
    except OSError:
        return None
