"""The agents' sessions this clone follows, and the queue of work their hooks hand to the worker.

Everything lives under ``<common git dir>/tracker/auto/`` (local state, never committed):

- ``sessions/<agent>.<provider>.json``: one small file per automatic window, replaced (never appended to) on
  each event, so nothing grows per turn: the session and window ids, the worktree, when the window opened, the
  last event, and where the session's own readings are (Codex's rollout path; Claude's come from the status line
  cache keyed by the session id).
- ``queue``: one JSON line per thing to do on the ledger (open, mid, close), appended with ``O_APPEND`` by the
  hooks and taken whole by the worker.
- ``worker.lock``: the one worker at a time.

This module is on the hooks' hot path: it imports json and os, nothing else of weight (paths are strings here:
pathlib alone costs a tenth of the hook's budget).
"""

from __future__ import annotations

import contextlib
import json
import os

from gittracker.swapfile import replace_file

# typing costs the hook more than a tenth of its budget to import; the annotations are never evaluated (mypy reads
# them, and treats any TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


Where = str | os.PathLike[str]

SESSION_VERSION = 1


def auto_dir(tracker: Where) -> str:
    return os.path.join(tracker, "auto")


def sessions_dir(tracker: Where) -> str:
    return os.path.join(tracker, "auto", "sessions")


def session_path(tracker: Where, agent_id: str, provider: str) -> str:
    return os.path.join(sessions_dir(tracker), f"{agent_id}.{provider}.json")


def queue_path(tracker: Where) -> str:
    return os.path.join(tracker, "auto", "queue")


def load_session(path: Where) -> dict[str, Any] | None:
    """A session file, or None when there is none or it is not one (a torn file is replaced by the next event)."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("v") != SESSION_VERSION:
        return None
    if not all(isinstance(data.get(key), str) for key in ("window_id", "agent_id", "provider", "opened_ts", "last_ts")):
        return None
    return data


def save_session(path: str, session: dict[str, Any]) -> None:
    replace_file(path, json.dumps(session, sort_keys=True))


def drop_session(path: Where, window_id: str) -> None:
    """Remove a session file, unless a newer window of the same agent has replaced it meanwhile."""
    current = load_session(path)
    if current is None or current["window_id"] == window_id:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def all_sessions(tracker: Where) -> list[tuple[str, dict[str, Any]]]:
    found = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(sessions_dir(tracker)):
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                session = load_session(entry.path)
                if session is not None:
                    found.append((entry.path, session))
    return found


def enqueue(tracker: Where, items: list[dict[str, Any]]) -> None:
    """Append the items, one line each, in one write (``O_APPEND``: concurrent hooks never interleave)."""
    if not items:
        return
    data = "".join(json.dumps(item, sort_keys=True) + "\n" for item in items).encode()
    path = queue_path(tracker)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def spawn_worker(tracker: Where) -> None:
    """Start the worker, detached: its own session, no terminal, stdin/stdout/stderr on /dev/null, so the agent
    that ran the hook never waits for it (Claude Code waits for the hook's output pipes to close). It starts Python
    only once the hook has exited: a start-up competing with the hook for the CPU would make the agent wait."""
    import sys

    hook = os.getpid()
    if os.fork():
        return
    try:  # the child: never return into the hook
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        _wait_for_exit(hook)
        os.execv(sys.executable, [sys.executable, "-P", "-m", "gittracker.autocapture.worker", os.fspath(tracker)])
    finally:
        os._exit(0)


def _wait_for_exit(pid: int, limit: float = 2.0) -> None:
    """Until ``pid`` (this child's parent) has exited, when this child is handed to another parent."""
    import time

    deadline = time.monotonic() + limit
    while os.getppid() == pid and time.monotonic() < deadline:
        time.sleep(0.002)
