"""Stamps that must not be lost: a window's commits whose note is missing, found and restored.

A commit loses its stamp when ``git commit`` is killed after it moved the branch but before the
post-commit hook ran, or when the hook could not write the queue (a full disk, a read-only state dir).
``end`` restores its window's missing stamps; ``doctor`` does it for every window of this machine and
reports what else is wrong with the stamp queue (``findings``).

A commit is stamped for a window only when all of these hold (docs/hooks.md#lost-stamps):

- it is in the window's range, ``commit_start..`` the HEAD of the worktree the window was opened in (its
  ``commit_end`` once closed), and is not a merge;
- it carries no ``refs/notes/tracker`` note at all (and no stamp for it is queued);
- its committer e-mail is the one git commits as here (``git var GIT_COMMITTER_IDENT``: ``user.email``
  or ``GIT_COMMITTER_EMAIL``), so commits pulled from other people are never claimed;
- its committer date and its author date lie within the window's open time (a rebased copy of an older
  commit keeps its old author date);
- at its committer date, the only windows open on this machine whose range holds it belong to the window's
  own agent (read from every agent's local state): an agent working in another worktree at the same time
  does not hide it, one working in the same worktree (or one that merged it) does. It then gets the note
  lines of each of those windows.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

from gittracker import clock
from gittracker.errors import TrackerError
from gittracker.files import file_lock, lock_held
from gittracker.findings import Finding
from gittracker.git import Repo
from gittracker.hookrun import queue_files, read_queue
from gittracker.state import AgentState, LocalState
from gittracker.worktrees import Worktree, head_of_worktree


@dataclass(frozen=True)
class LocalWindow:
    """A window open now, or the last one closed per provider, of one agent on this machine."""

    agent_id: str
    window_id: str
    opened: int  # seconds, rounded down: git's commit times have whole seconds
    closed: int | None  # seconds, rounded up; None while open
    commit_start: str | None
    note_line: str
    commit_end: str | None = None  # once closed (kept by this version's end)
    worktree: Worktree | None = None  # where it was opened (None: opened by an older version)

    def holds(self, seconds: int, now: int) -> bool:
        return self.opened <= seconds <= (self.closed if self.closed is not None else now)


def local_windows(state: LocalState) -> list[LocalWindow] | None:
    """Every agent's open and last closed windows; None when an agent's state cannot be read (then
    nobody can tell whose a commit is, and nothing is stamped)."""
    windows = []
    for agent in state.agents():
        agent_state = state.load_readable(agent)
        if agent_state is None:
            return None
        windows += _windows_of(agent, agent_state)
    return windows


def _windows_of(agent: str, agent_state: AgentState) -> list[LocalWindow]:
    found = []
    for window, closed in [(w, None) for w in agent_state.open.values()] + [
        (w, w.get("closed_ts")) for w in agent_state.last_closed.values()
    ]:
        try:
            opened = math.floor(clock.parse_ts(window["opened_ts"]).timestamp())
            end = math.ceil(clock.parse_ts(closed).timestamp()) if closed else None
        except (TrackerError, KeyError, TypeError):
            continue
        found.append(
            LocalWindow(
                agent,
                window["window_id"],
                opened,
                end,
                window.get("commit_start"),
                window["note_line"],
                window.get("commit_end") if closed else None,
                Worktree.from_state(window.get("worktree")),
            )
        )
    return found


def missing_stamps(repo: Repo, targets: list[LocalWindow], windows: list[LocalWindow]) -> dict[str, list[str]]:
    """Commits of the ``targets`` windows that lack their note: commit -> the note lines it should get."""
    email = repo.committer_email()
    if not email or not targets:
        return {}
    noted = {commit for _, commit in repo.notes_listing()}
    noted |= set(read_queue(queue_files(LocalState(repo.tracker_dir))).stamps)
    now = math.ceil(clock.now().timestamp())
    ranges = _Ranges(repo)
    found: dict[str, list[str]] = {}
    for target in targets:
        for commit, committed, authored, committer in ranges.rows(target) or []:
            if commit in found or commit in noted or committer != email:
                continue
            if not (target.holds(committed, now) and target.holds(authored, now)):
                continue
            owners = [window for window in windows if window.holds(committed, now) and ranges.holds(window, commit)]
            if {window.agent_id for window in owners} != {target.agent_id}:
                continue  # another agent had a window open then on this line of history: it may be theirs
            found[commit] = sorted({window.note_line for window in owners})
    return found


class _Ranges:
    """Each window's commits, ``commit_start..`` its end (``commit_end``, else its worktree's HEAD), read once."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self._rows: dict[tuple[str | None, str], list[tuple[str, int, int, str]]] = {}
        self._sets: dict[tuple[str | None, str], set[str]] = {}
        self._bounds_of: dict[LocalWindow, tuple[str | None, str] | None] = {}

    def _bounds(self, window: LocalWindow) -> tuple[str | None, str] | None:
        if window not in self._bounds_of:
            self._bounds_of[window] = self._find_bounds(window)
        return self._bounds_of[window]

    def _find_bounds(self, window: LocalWindow) -> tuple[str | None, str] | None:
        if window.commit_start is not None and not self.repo.has_commit(window.commit_start):
            return None  # its range is gone (rewritten and collected): no bound, so no guess
        end = window.commit_end if window.closed is not None else None
        if end is None or not self.repo.has_commit(end):
            end = head_of_worktree(self.repo, window.worktree).commit
        return None if end is None else (window.commit_start, end)

    def rows(self, window: LocalWindow) -> list[tuple[str, int, int, str]] | None:
        """The window's non-merge commits with their dates; None when its range cannot be told."""
        bounds = self._bounds(window)
        if bounds is None:
            return None
        if bounds not in self._rows:
            self._rows[bounds] = self.repo.commits_with_dates(*bounds)
        return self._rows[bounds]

    def holds(self, window: LocalWindow, commit: str) -> bool:
        """Whether ``commit`` may be the window's: in its range, or its range cannot be told."""
        bounds = self._bounds(window)
        if bounds is None:
            return True
        if bounds not in self._sets:
            self._sets[bounds] = {row[0] for row in self.rows(window) or []}
        return commit in self._sets[bounds]


def stamp_missing(repo: Repo, window_ids: set[str] | None = None) -> dict[str, list[str]]:
    """Stamp the commits of this machine's windows (all, or ``window_ids``) that lack their note.

    Returns commit -> the note lines written. Runs under the flush lock, after the queue is written, so
    a stamp a hook queued meanwhile is seen as queued, not as missing.
    """
    from gittracker.hookrun import flush

    state = LocalState(repo.tracker_dir)
    flush(repo)
    with file_lock(state.flush_lock, timeout=60):
        windows = local_windows(state)
        if windows is None:
            return {}
        targets = [w for w in windows if window_ids is None or w.window_id in window_ids]
        found = missing_stamps(repo, targets, windows)
        if found:
            repo.add_note_lines(found)
    return found


# -- what doctor reports ---------------------------------------------------------------------------------


def _flusher_running(state: LocalState) -> bool:
    """A flusher holds ``flush.lock`` while it works (the kernel releases it if the flusher dies)."""
    return lock_held(state.flush_lock)


# The codes of ``findings`` that ``repair`` fixes.
FIXABLE = frozenset({"flush-marker-stale", "stamps-queued", "queue-damaged", "stamps-missing"})


def findings(repo: Repo) -> list[Finding]:
    """Problems with note stamps: queued and not written, a dead flusher's marker, damaged queue files,
    window commits without their note. Each says what ``doctor --fix`` (``repair``) does about it."""
    state = LocalState(repo.tracker_dir)
    if not state.root.is_dir():
        return []
    found: list[Finding] = []
    running = _flusher_running(state)
    if state.flush_marker.exists() and not running:
        found.append(
            Finding(
                "flush-marker-stale",
                f"{state.flush_marker} was left by a note flusher that died: new stamps wait for it",
                "doctor --fix removes it and writes the queued stamps",
                True,
            )
        )
    files = queue_files(state)
    queue = read_queue(files)
    # Rewrite lines are left queued on purpose while no window is open (every reader flushes first).
    waiting = sum(len(lines) for lines in queue.stamps.values())
    if waiting and not running:
        names = ", ".join(path.name for path in files)
        found.append(
            Finding(
                "stamps-queued",
                f"{waiting} note stamp(s) queued in {names} and not written to refs/notes/tracker",
                "doctor --fix writes them (as `git tracker flush` does)",
                True,
            )
        )
    if queue.bad:
        shown = "; ".join(queue.bad[:3]) + ("; …" if len(queue.bad) > 3 else "")
        found.append(
            Finding(
                "queue-damaged",
                f"{len(queue.bad)} unreadable line(s) in the stamp queue ({shown})",
                "doctor --fix writes the readable lines and drops the rest (an anomaly lists them); "
                "the stamps they held are restored from the windows below",
                True,
            )
        )
    found += _missing_findings(repo, state)
    return found


def _missing_findings(repo: Repo, state: LocalState) -> list[Finding]:
    windows = local_windows(state)
    if windows is None:
        return [
            Finding(
                "stamps-unverifiable",
                "an agent's local state cannot be read, so commits without a note cannot be told apart",
                "repair that agent's state.json (doctor reports it), then run doctor again",
            )
        ]
    with contextlib.suppress(TrackerError):
        missing = missing_stamps(repo, windows, windows)
        if missing:
            example = sorted(missing)[0]
            return [
                Finding(
                    "stamps-missing",
                    f"{len(missing)} commit(s) made in this machine's windows have no note (e.g. {example[:10]})",
                    "doctor --fix stamps them (`git tracker end` does the same for its window)",
                    True,
                )
            ]
    return []


def repair(repo: Repo) -> list[str]:
    """What ``doctor --fix`` does about ``findings``: clear a dead flusher's marker, write the queue, stamp
    the commits that lack their note. Returns one line per thing done."""
    state = LocalState(repo.tracker_dir)
    done = []
    if state.flush_marker.exists() and not _flusher_running(state):
        state.clear_stale_flush_marker()
        done.append(f"removed {state.flush_marker.name} left by a dead flusher")
    queued = bool(queue_files(state))
    stamped = stamp_missing(repo)  # writes the queue first
    if queued:
        done.append("wrote the queued note stamps")
    if stamped:
        done.append(f"stamped {len(stamped)} commit(s) that had lost their note: {', '.join(c[:10] for c in stamped)}")
    return done
