"""``git tracker hook claude|codex EVENT``: what the agents' own hook entries run (docs/autocapture.md).

Claude Code and Codex run it on their session events with a JSON payload on stdin (Codex's legacy ``notify``
program gets the JSON as its last argument instead). It must never block or fail the agent, so:

- it is dispatched before click and imports no pygit2: json, os and the few small modules below;
- it only touches this clone's local state (the session file, the agent's open note, the worktree mark) and
  appends what the ledger needs to a queue; a detached worker (``autocapture.worker``) writes the ledger, reads
  the session's capacity figures and records an anomaly when something fails;
- it prints nothing on stdout (Claude Code adds SessionStart's and UserPromptSubmit's output to the model's
  context) and exits 0 whatever happens. A command line that is not ``hook claude|codex EVENT`` exits 1 with one
  line on stderr (Claude Code's exit 2 would block the agent: never used).

What each event does (a session's first event is any event of a session with no open automatic window):
- the first event opens the window: a new window id, the note the post-commit hook stamps commits with, the
  worktree mark, and an ``open`` for the worker (which writes the before reading once the session has one);
- ``Stop`` (and Codex's ``notify``): a ``mid`` reading;
- ``SessionEnd``: the window closes at this moment with the session's latest reading;
- any event first closes the automatic windows of this clone whose last event is older than
  ``auto.idle_minutes``, each at its last reading (Codex sends no session end).

The payload's prompt text is never read into anything that is kept: only the session id, the working directory
and the transcript path are taken from it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from gittracker import automarks as marks
from gittracker import clock
from gittracker.autocapture.sessions import (
    SESSION_VERSION,
    all_sessions,
    enqueue,
    load_session,
    save_session,
    session_path,
    spawn_worker,
)
from gittracker.gitfiles import find_git_dirs, head_commit
from gittracker.names import valid_agent_id
from gittracker.noteline import note_line
from gittracker.swapfile import replace_file

# typing costs the hook more than a tenth of its budget to import; the annotations are never evaluated (mypy reads
# them, and treats any TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

USAGE = "usage: git tracker hook claude|codex EVENT  (the agent's hook JSON on stdin; docs/autocapture.md)"
PROVIDERS = ("claude", "codex")
READING_EVENTS = frozenset({"Stop", "notify", "SubagentStop"})  # a turn ended: the meter has moved
END_EVENTS = frozenset({"SessionEnd"})
PAYLOAD_LIMIT = 1 << 20  # a hook payload is a few hundred bytes plus the prompt; never read more than this
SESSION_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")
DEFAULT_IDLE_MINUTES = 30.0
SHORTEST_IDLE = timedelta(minutes=1)  # auto.idle_minutes' least value


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in PROVIDERS or argv[0:1] == ["-h"]:
        stream = sys.stdout if argv[:1] in (["-h"], ["--help"]) else sys.stderr
        print(USAGE, file=stream)
        return 0 if stream is sys.stdout else 1
    provider, event = argv[0], argv[1]
    try:
        payload = _payload(event, argv[2:])
        handle(provider, event, payload, clock.now())
    except Exception as error:  # never the agent's problem: leave a line for the worker to record
        _leave_failure(provider, event, error)
    return 0


def _payload(event: str, rest: list[str]) -> dict[str, Any]:
    """The hook's JSON: stdin, or for Codex's ``notify`` the last argument."""
    raw: str | bytes = rest[-1] if event == "notify" and rest else sys.stdin.buffer.read(PAYLOAD_LIMIT)
    data = json.loads(raw) if raw else {}
    if not isinstance(data, dict):
        raise ValueError("expected the hook's JSON object")
    return data


def session_of(payload: dict[str, Any]) -> str | None:
    """The session id: Claude's and Codex's hooks call it ``session_id``; Codex's ``notify`` ``thread-id``."""
    value = payload.get("session_id", payload.get("thread-id"))
    if isinstance(value, str) and 8 <= len(value) <= 128 and set(value) <= SESSION_CHARS:
        return value
    return None


def agent_for(provider: str, session_id: str) -> str | None:
    """``AGENT_ID`` when set (the user named this agent), else ``<provider>-<first 8 of the session id>``: two
    sessions in one repository are two agents."""
    agent = os.environ.get("AGENT_ID") or f"{provider}-{session_id[:8]}"
    return agent if valid_agent_id(agent) else None


def handle(provider: str, event: str, payload: dict[str, Any], now: datetime) -> None:
    session_id = session_of(payload)
    cwd = payload.get("cwd")
    found = find_git_dirs(cwd if isinstance(cwd, str) and os.path.isdir(cwd) else os.getcwd())
    if session_id is None or found is None:
        return  # not a session we can tell apart, or not in a repository we can read from files alone
    top, git_dir, common = found
    tracker = os.path.join(common, "tracker")
    if not os.path.exists(os.path.join(tracker, "install.json")):
        return  # git-tracker is not set up in this repository
    agent = agent_for(provider, session_id)
    if agent is None:
        return
    with _session_lock(tracker):
        _handle_locked(tracker, provider, event, payload, now, session_id, agent, (top, git_dir, common))


def _handle_locked(
    tracker: str,
    provider: str,
    event: str,
    payload: dict[str, Any],
    now: datetime,
    session_id: str,
    agent: str,
    dirs: tuple[str, str, str],
) -> None:
    top, git_dir, common = dirs
    work = Handoff(tracker, now)
    work.close_idle(lambda: _idle_minutes(top))
    path = session_path(tracker, agent, provider)
    session = load_session(path)
    if session is not None and session["window_id"] in work.closing:
        session = None  # it was idle: this event starts a new window
    if session is not None and session.get("session_id") != session_id:
        work.close(session, now, why="new-session")  # AGENT_ID reused by another session
        session = None
    opened_now = False  # a first event that is a Stop: its reading is the window's before, not a mid too
    if session is None:
        if event in END_EVENTS:
            work.flush()
            return  # an end with nothing open: nothing to close
        session = _open(work, provider, agent, session_id, payload, top, git_dir, common)
        if session is None:
            work.flush()
            return
        opened_now = True
    session["last_ts"] = clock.format_ts(now)
    transcript = payload.get("transcript_path")
    if isinstance(transcript, str) and transcript:
        session["transcript"] = transcript  # local state only: a path outside the repository never leaves it
    if event in END_EVENTS:
        work.close(session, now, why="session-end")
    else:
        turn = _turn_of(payload) if event in READING_EVENTS else None
        again = opened_now or (turn is not None and session.get("last_turn") == turn)
        if turn is not None:
            session["last_turn"] = turn
        save_session(path, session)
        if event in READING_EVENTS and not again:
            work.items.append(_item("mid", session, now))
    work.flush()


def _turn_of(payload: dict[str, Any]) -> str | None:
    """The turn a Stop ends (Codex's ``turn_id``, ``notify``'s ``turn-id``, Claude Code's ``prompt_id``): the same
    turn's Stop delivered twice (the hooks of a project file and of the user's both installed) is one reading."""
    for key in ("turn_id", "turn-id", "prompt_id"):
        value = payload.get(key)
        if isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return None


def _open(
    work: Handoff,
    provider: str,
    agent: str,
    session_id: str,
    payload: dict[str, Any],
    top: str,
    git_dir: str,
    common: str,
) -> dict[str, Any] | None:
    """A new automatic window: its note and mark now, so the session's first commit is stamped; the ledger's
    records come from the worker."""
    note = _note_path(work.tracker, agent, provider)
    if os.path.exists(note):
        return None  # a window this agent opened by hand (AGENT_ID set, `start` typed): that one stands
    now = work.now
    window_id = clock.new_id(now)
    opened_ts = clock.format_ts(now)
    transcript = payload.get("transcript_path")
    session: dict[str, Any] = {
        "v": SESSION_VERSION,
        "window_id": window_id,
        "agent_id": agent,
        "provider": provider,
        "session_id": session_id,
        "opened_ts": opened_ts,
        "last_ts": opened_ts,
        "top": top,
        "git_dir": git_dir,
        "commit_start": head_commit(git_dir, common),
        "transcript": transcript if isinstance(transcript, str) else None,
    }
    replace_file(note, note_line(window_id, provider, agent, opened_ts) + "\n")
    marks.mark(git_dir, agent, window_id)
    work.items.append(_item("open", session, now))
    return session


def _note_path(tracker: str, agent: str, provider: str) -> str:
    """The note the post-commit hook stamps the agent's commits with (as a typed ``start`` leaves it)."""
    return os.path.join(tracker, "agents", agent, "open", f"{provider}.note")


@contextlib.contextmanager
def _session_lock(tracker: str) -> Iterator[None]:
    """One event at a time per clone: Codex runs the hooks of ``$CODEX_HOME/hooks.json`` and of the project's
    ``.codex/hooks.json`` at the same moment, and two first events must not open two windows. An ``flock``: the
    kernel lets go if the hook is killed."""
    import fcntl

    path = os.path.join(tracker, "auto", "lock")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Handoff:
    """What this event hands to the worker, and the windows it found idle."""

    def __init__(self, tracker: str, now: datetime) -> None:
        self.tracker = tracker
        self.now = now
        self.items: list[dict[str, Any]] = []
        self.closing: set[str] = set()

    def close_idle(self, idle_minutes: Callable[[], float]) -> None:
        """Close the windows whose last event is older than ``idle_minutes()``, asked only when some window has been
        quiet for longer than the least it can be (reading the settings is most of this hook's cost)."""
        limit: timedelta | None = None
        for _, session in all_sessions(self.tracker):
            last = clock.parse_ts(session["last_ts"])
            if self.now - last <= SHORTEST_IDLE:
                continue
            limit = limit or timedelta(minutes=idle_minutes())
            if self.now - last > limit:
                self.close(session, last, why="idle")

    def close(self, session: dict[str, Any], moment: datetime, why: str) -> None:
        """Close at ``moment``: the window's note and mark go now (later commits are not its work); the
        ledger's close, and the session file, with the worker."""
        self.closing.add(session["window_id"])
        note = _note_path(self.tracker, session["agent_id"], session["provider"])
        with contextlib.suppress(OSError):
            with open(note) as handle:
                ours = f'"id":"{session["window_id"]}"' in handle.read()
            if ours:
                os.unlink(note)  # only this window's note: a window typed meanwhile keeps its own
        with contextlib.suppress(OSError):
            marks.unmark(session["git_dir"], session["agent_id"])
        self.items.append({**_item("close", session, moment), "why": why})

    def flush(self) -> None:
        if self.items:
            enqueue(self.tracker, self.items)
            spawn_worker(self.tracker)


def _item(op: str, session: dict[str, Any], moment: datetime) -> dict[str, Any]:
    return {"op": op, "ts": clock.format_ts(moment), "session": session}


def _idle_minutes(top: str) -> float:
    """``auto.idle_minutes`` from the repository's settings; read here with tomllib alone (the settings module
    costs more than this hook may take). A file the full reader would refuse gives the default: the worker,
    which reads it properly, says what is wrong."""
    path = os.path.join(top, ".git-tracker.toml")
    if not os.path.exists(path):
        return DEFAULT_IDLE_MINUTES
    import tomllib

    try:
        with open(path, "rb") as handle:
            value = tomllib.load(handle).get("auto", {}).get("idle_minutes", DEFAULT_IDLE_MINUTES)
    except (OSError, ValueError, AttributeError):
        return DEFAULT_IDLE_MINUTES
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= 7 * 24 * 60
    return float(value) if ok else DEFAULT_IDLE_MINUTES


def _leave_failure(provider: str, event: str, error: Exception) -> None:
    """Queue the failure for the worker to record as an anomaly; if even that fails, there is nowhere to say it
    that the agent would not show as the hook's fault."""
    with contextlib.suppress(Exception):
        found = find_git_dirs(os.getcwd())
        if found is None:
            return
        tracker = os.path.join(found[2], "tracker")
        if not os.path.isdir(tracker):
            return
        detail = f"hook {provider} {event}: {type(error).__name__}"
        item = {"op": "failed", "ts": clock.format_ts(clock.now()), "detail": detail, "top": found[0]}
        enqueue(tracker, [item])
        spawn_worker(tracker)
