"""What the hooks run: queueing note stamps, flushing them into ``refs/notes/tracker``, rewrites.

The installed shell hook does the common case itself; this module is the slow path (and the whole
path for pre-commit users, ``git-tracker-hook``). It imports only the standard library at module
level: pygit2 is loaded by ``gittracker.git`` only when a flush actually writes notes.

Queue lines (``<common-dir>/tracker/queue``, appended atomically by the hooks):

- ``<commit> <note-json>`` stamps a commit (post-commit, one line per window it belongs to);
- ``shared <commit> <window id> <window id>...`` the commit belongs to several automatic windows at once
  (post-commit): the flusher writes ``records.shared_line`` with its stamps, so churn splits it between them;
- ``copy <from> <to>`` a cherry-pick (post-commit);
- ``rewrite <old> <new> <how>`` one pair of post-rewrite's old -> new mapping (``how``: amend or rebase).

For a cherry-pick or a rewrite the flusher gives the new commit the old commit's note lines (git copies
notes that were already written; this carries the ones still queued) and a ``replaces`` line naming the
old commit, so churn counts the work once (see ``churn``). Commits without a tracker note are left alone.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gittracker.attribution import attribute
from gittracker.files import file_lock
from gittracker.gitfiles import is_object_id
from gittracker.state import LocalState

if TYPE_CHECKING:
    from gittracker.git import Repo

REWRITE_KINDS = frozenset({"amend", "rebase"})


def is_rebase_pick(git_dir: Path) -> bool:
    """A commit made by the rebase machinery itself, not by the user at a stop (see the shell hook)."""
    merge = git_dir / "rebase-merge"
    picking = (merge / "author-script").exists() and not (merge / "amend").exists()
    return (git_dir / "rebase-apply").is_dir() or picking


def queue_post_commit(toplevel: Path) -> bool:
    """The post-commit work in Python (the shell hook's twin). True when something was queued."""
    from gittracker.git import Repo, head_file_commit

    repo = Repo.discover(toplevel)
    state = LocalState(repo.tracker_dir)
    if not state.root.is_dir():
        return False
    if is_rebase_pick(repo.git_dir):
        return False
    found = attribute(state, repo.git_dir, os.environ)
    if found is None:
        return False
    picked_path = repo.git_dir / "CHERRY_PICK_HEAD"
    picked = picked_path.read_text().strip() if picked_path.exists() else ""
    if not found.lines and not picked:
        return False
    sha = head_file_commit(repo.git_dir, repo.common_dir)
    if sha is None:
        return False
    entries = ([f"copy {picked} {sha}"] if is_object_id(picked) else []) + [f"{sha} {line}" for line in found.lines]
    if found.shared:
        entries.append(" ".join(["shared", sha, *found.shared]))
    append_lines(state.queue, entries)
    return True


def append_lines(path: Path, lines: Iterable[str]) -> None:
    # One write per line with O_APPEND: each line (< PIPE_BUF) lands whole even with concurrent writers.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        for line in lines:
            os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _take_queue(state: LocalState) -> list[Path]:
    """Claim the queue by renaming it; also pick up files a killed flusher left behind."""
    taken = sorted(state.root.glob("queue.*.taken"))
    if state.queue.exists():
        claimed = state.root / f"queue.{os.getpid()}.{time.monotonic_ns()}.taken"
        with contextlib.suppress(FileNotFoundError):
            os.replace(state.queue, claimed)
            taken.append(claimed)
    return taken


@dataclass
class Queue:
    """The queue files' lines, sorted out: stamps, rewrites (old, new, how) and unreadable lines."""

    stamps: dict[str, set[str]] = field(default_factory=dict)
    rewrites: list[tuple[str, str, str]] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)

    def add_line(self, raw: bytes, where: str) -> None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.bad.append(f"{where}: not UTF-8")
            return
        head, _, rest = line.partition(" ")
        if head == "copy":
            source, _, dest = rest.partition(" ")
            if is_object_id(source) and is_object_id(dest):
                self.rewrites.append((source, dest, "cherry-pick"))
                return
        elif head == "rewrite":
            old, new, how = [*rest.split(" "), "", ""][:3]
            if is_object_id(old) and is_object_id(new) and how in REWRITE_KINDS:
                self.rewrites.append((old, new, how))
                return
        elif head == "shared":
            if self._add_shared(rest.split(" ")):
                return
        elif is_object_id(head) and rest.startswith("{") and rest.endswith("}"):
            self.stamps.setdefault(head, set()).add(rest)
            return
        if line.strip():
            self.bad.append(f"{where}: not a queue line")

    def _add_shared(self, words: list[str]) -> bool:
        """``shared <commit> <window id>...``: the commit's ``shared`` note line joins its stamps."""
        from gittracker.errors import BadInput
        from gittracker.records import shared_line

        if not words or not is_object_id(words[0]):
            return False
        try:
            line = shared_line(words[1:])
        except BadInput:
            return False
        self.stamps.setdefault(words[0], set()).add(line)
        return True


def read_queue(paths: Iterable[Path]) -> Queue:
    queue = Queue()
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        # The hooks write "\n"-terminated lines; any other line break is part of a malformed line.
        for number, raw in enumerate(data.split(b"\n"), 1):
            queue.add_line(raw, f"{path.name} line {number}")
    return queue


def queue_files(state: LocalState) -> list[Path]:
    return sorted(path for path in [state.queue, *state.root.glob("queue.*.taken")] if path.exists())


def flush(toplevel: Path | Repo) -> int:
    """Write every queued stamp and rewrite into notes. Returns how many commits were stamped."""
    from gittracker.git import Repo

    repo = toplevel if isinstance(toplevel, Repo) else Repo.discover(toplevel)
    state = LocalState(repo.tracker_dir)
    with file_lock(state.flush_lock, timeout=60):
        return _flush_locked(repo, state)


def flush_if_queued(repo: Repo) -> None:
    """Before churn is read from notes: write what the hooks queued (nothing to do, nothing loaded, if
    the queue is empty). A failure leaves the stamps queued; the numbers then miss them, as before."""
    state = LocalState(repo.tracker_dir)
    if queue_files(state):
        with contextlib.suppress(Exception):
            flush(repo)


def _flush_locked(repo: Repo, state: LocalState) -> int:
    taken = _take_queue(state)
    queue = read_queue(taken)
    if queue.stamps:
        repo.add_note_lines(queue.stamps)
        lines = [f"{sha} {line}" for sha, lines in queue.stamps.items() for line in lines]
        append_lines(state.root / "stamped", lines)
    carried = _carry_over(repo, queue.rewrites)
    if carried:
        repo.add_note_lines(carried)
    if queue.bad:
        detail = "skipped malformed queue lines: " + ", ".join(queue.bad[:5])
        _record_anomaly(repo, "hook-queue-malformed", detail)
    for path in taken:
        path.unlink(missing_ok=True)
    return len(queue.stamps)


def _carry_over(repo: Repo, rewrites: list[tuple[str, str, str]]) -> dict[str, set[str]]:
    """The note lines each rewritten or cherry-picked commit's new commit gets: the old commit's lines
    (also those added in this same batch, so a chain amended twice before a flush carries through) and
    a ``replaces`` line naming the old commit. Old commits with no tracker note give nothing."""
    from gittracker.records import replaces_line

    added: dict[str, set[str]] = {}
    notes: dict[str, set[str]] = {}
    for _ in range(len(rewrites) + 1):  # until nothing changes; queue order need not be the rewrites' order
        changed = False
        for old, new, how in rewrites:
            if old == new:  # an amend that changed nothing (same tree, message and dates): no new commit
                continue
            if old not in notes:
                notes[old] = {line for line in repo.note_text(old).splitlines() if line.strip()}
            source = notes[old] | added.get(old, set())
            if not source:
                continue
            stamp = _commit_ts(repo, new)
            if stamp is None:
                continue
            wanted = source | {replaces_line(old, how, stamp)}
            if not wanted <= added.get(new, set()):
                added[new] = added.get(new, set()) | wanted
                changed = True
        if not changed:
            break
    return added


def _commit_ts(repo: Repo, commit: str) -> str | None:
    """A commit's committer time as a tracker timestamp; None when the commit does not exist."""
    from datetime import UTC, datetime

    from gittracker.clock import format_ts

    seconds = repo.commit_time(commit)
    return None if seconds is None else format_ts(datetime.fromtimestamp(seconds, UTC))


def restore_window_notes(repo: Repo, window_id: str) -> int:
    """Re-apply any of a window's stamps that vanished from ``refs/notes/tracker``; returns how many.

    git's own note copying on amend and rebase (``notes.rewriteRef``) writes the notes ref from a tree it
    read earlier, without a compare-and-swap: a stamp written meanwhile by another worktree's flush can
    be overwritten. The flusher logs every stamp it wrote (``stamped``); ``end`` calls this to check its
    window's stamps and put back the lost ones, then forgets them.
    """
    state = LocalState(repo.tracker_dir)
    path = state.root / "stamped"
    with file_lock(state.flush_lock, timeout=60):
        if not path.exists():
            return 0
        keep: list[str] = []
        mine: dict[str, set[str]] = {}
        for raw in path.read_bytes().decode("utf-8", "replace").split("\n"):
            sha, _, line = raw.partition(" ")
            if not line:
                continue
            if f'"{window_id}"' in line:  # its own line, or a shared line naming it (a window id is a ULID)
                mine.setdefault(sha, set()).add(line)
            else:
                keep.append(raw)
        lost = {sha: lines for sha, lines in mine.items() if not lines <= set(repo.note_text(sha).splitlines())}
        alive = set(repo.existing_commits(sorted(lost)))
        restored = {sha: lines for sha, lines in lost.items() if sha in alive}
        if restored:
            repo.add_note_lines(restored)
        from gittracker.files import atomic_write

        atomic_write(path, "".join(f"{line}\n" for line in keep))
    return len(restored)


def _record_anomaly(repo: Repo, code: str, detail: str) -> None:
    from gittracker.machine import ensure_machine
    from gittracker.names import valid_agent_id
    from gittracker.records import Record

    agent = os.environ.get("AGENT_ID") or "main"

    record = Record.new(
        "anomaly",
        source="hook",
        agent_id=agent if valid_agent_id(agent) else "main",
        machine=ensure_machine(repo),
        code=code,
        window_id=None,
        detail=detail[:4000],
    )
    repo.append_records([record])


def queue_rewrites(toplevel: Path, mapping: list[tuple[str, str]], how: str) -> None:
    """post-rewrite in Python (the shell hook's twin): queue the old -> new pairs for the flusher."""
    from gittracker.git import Repo

    state = LocalState(Repo.discover(toplevel).tracker_dir)
    if mapping and state.root.is_dir():
        append_lines(state.queue, [f"rewrite {old} {new} {how}" for old, new in mapping])


def read_mapping(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and is_object_id(parts[0]) and is_object_id(parts[1]):
            pairs.append((parts[0], parts[1]))
    return pairs


def _warn(hook: str, error: BaseException, toplevel: Path) -> None:
    """A hook never fails the user's git command: say what went wrong and leave an anomaly."""
    print(f"git-tracker: {hook} hook: {error} (your commit is fine; see `git tracker anomalies`)", file=sys.stderr)
    with contextlib.suppress(Exception):
        from gittracker.git import Repo

        _record_anomaly(Repo.discover(toplevel), "hook-failed", f"{hook}: {error}")


def main(argv: list[str] | None = None) -> int:
    """``git-tracker-hook post-commit|post-rewrite [TYPE]|flush|after-push`` (and ``python -m gittracker.hookrun``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: git-tracker-hook post-commit | post-rewrite TYPE [DIR] | flush [DIR]", file=sys.stderr)
        return 2
    hook = args[0]
    try:
        if hook == "post-commit":
            toplevel = Path(args[1] if len(args) > 1 else ".")
            if queue_post_commit(toplevel):
                flush(toplevel)
        elif hook == "post-rewrite":
            # args: [TYPE (amend|rebase)] [DIR]; pre-commit passes neither nor a mapping.
            how = args[1] if len(args) > 1 and args[1] in REWRITE_KINDS else "rebase"
            toplevel = Path(args[2] if len(args) > 2 else ".")
            mapping = read_mapping(sys.stdin.read()) if not sys.stdin.isatty() else []
            queue_rewrites(toplevel, mapping, how)
            flush(toplevel)
        elif hook == "flush":
            toplevel = Path(args[1] if len(args) > 1 else ".")
            _flush_until_empty(toplevel)
        elif hook == "after-push":
            return _after_push(args[1:])
        else:
            print(
                f"git-tracker-hook: expected post-commit, post-rewrite, flush or after-push, got {hook!r}",
                file=sys.stderr,
            )
            return 2
    except Exception as error:
        if os.environ.get("GIT_TRACKER_DEBUG"):
            raise
        _warn(hook, error, Path("."))
    return 0


def _after_push(args: list[str]) -> int:
    """``after-push DIR REMOTE PID``: what the pre-push hook starts in the background (``syncpush``)."""
    if len(args) != 3 or not args[2].isdigit():
        print("usage: git-tracker-hook after-push DIR REMOTE PUSH_PID", file=sys.stderr)
        return 2
    from gittracker.syncpush import after_push

    after_push(Path(args[0]), args[1], int(args[2]))
    return 0


def _flush_until_empty(toplevel: Path) -> None:
    """The detached flusher a post-commit hook started after creating the ``flush.running`` marker.

    Order matters: remove the marker, then re-read the queue. A hook that found the marker left its
    stamp to us; it appended before we removed the marker, so the re-read sees it. If the queue is not
    empty we claim the marker again (or another hook already did, and its flusher takes over).
    """
    from gittracker.git import Repo

    repo = Repo.discover(toplevel)
    state = LocalState(repo.tracker_dir)
    for _ in range(100):
        flush(repo)
        state.remove_flush_marker()
        if not state.queue.exists():
            return
        try:
            state.flush_marker.mkdir()
        except FileExistsError:
            return


if __name__ == "__main__":
    raise SystemExit(main())
