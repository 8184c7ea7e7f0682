"""The agents' sessions this clone follows, and the queue of work their hooks hand to the worker.

Everything lives under ``<common git dir>/tracker/auto/`` (local state, never committed):

- ``sessions/<agent>.<provider>.json``: one small file per automatic window, replaced (never appended to) on
  each event, so nothing grows per turn: the session and window ids, the worktree, when the window opened, the
  last event, and where the session's own readings are (Codex's rollout path; Claude's come from the status line
  cache keyed by the session id).
- ``queue``: one JSON line per thing to do on the ledger (open, mid, close), appended with ``O_APPEND`` by the
  hooks and taken whole by the worker.
- ``worker.lock``: the one worker at a time.

This module is on the hooks' hot path: it imports json and os, nothing else of weight.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

SESSION_VERSION = 1


def auto_dir(tracker: Path) -> Path:
    return tracker / "auto"


def sessions_dir(tracker: Path) -> Path:
    return auto_dir(tracker) / "sessions"


def session_path(tracker: Path, agent_id: str, provider: str) -> Path:
    return sessions_dir(tracker) / f"{agent_id}.{provider}.json"


def queue_path(tracker: Path) -> Path:
    return auto_dir(tracker) / "queue"


def load_session(path: Path) -> dict[str, Any] | None:
    """A session file, or None when there is none or it is not one (a torn file is replaced by the next event)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("v") != SESSION_VERSION:
        return None
    if not all(isinstance(data.get(key), str) for key in ("window_id", "agent_id", "provider", "opened_ts", "last_ts")):
        return None
    return data


def save_session(path: Path, session: dict[str, Any]) -> None:
    """Write, then rename: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(json.dumps(session, sort_keys=True))
    os.replace(scratch, path)


def drop_session(path: Path, window_id: str) -> None:
    """Remove a session file, unless a newer window of the same agent has replaced it meanwhile."""
    current = load_session(path)
    if current is None or current["window_id"] == window_id:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def all_sessions(tracker: Path) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(sessions_dir(tracker)):
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                session = load_session(Path(entry.path))
                if session is not None:
                    found.append((Path(entry.path), session))
    return found


def enqueue(tracker: Path, items: list[dict[str, Any]]) -> None:
    """Append the items, one line each, in one write (``O_APPEND``: concurrent hooks never interleave)."""
    if not items:
        return
    data = "".join(json.dumps(item, sort_keys=True) + "\n" for item in items).encode()
    path = queue_path(tracker)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def spawn_worker(tracker: Path) -> None:
    """Start the worker, detached: its own session, no terminal, stdin/stdout/stderr on /dev/null, so the agent
    that ran the hook never waits for it (Claude Code waits for the hook's output pipes to close)."""
    import sys

    pid = os.fork()
    if pid:
        return
    try:  # the child: never return into the hook
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.execv(sys.executable, [sys.executable, "-P", "-m", "gittracker.autocapture.worker", str(tracker)])
    finally:
        os._exit(0)
