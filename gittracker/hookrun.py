"""What the hooks run: queueing note stamps, flushing them into ``refs/notes/tracker``, rewrites.

The installed shell hook does the common case itself; this module is the slow path (and the whole
path for pre-commit users, ``git-tracker-hook``). It imports only the standard library at module
level: pygit2 is loaded by ``gittracker.git`` only when a flush actually writes notes.

Queue lines (``<common-dir>/tracker/queue``, appended atomically by the hooks):
``<commit> <note-json>`` stamps a commit; ``copy <from> <to>`` copies a cherry-picked commit's note.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from gittracker.state import LocalState, file_lock

if TYPE_CHECKING:
    from gittracker.git import Repo

_HEX = frozenset("0123456789abcdef")


def _is_sha(text: str) -> bool:
    return len(text) == 40 and set(text) <= _HEX


def open_note_lines(state: LocalState, agent_id: str) -> list[str]:
    lines = []
    for path in sorted((state.agent_dir(agent_id) / "open").glob("*.note")):
        with contextlib.suppress(OSError):
            line = path.read_text().strip()
            if line:
                lines.append(line)
    return lines


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
    agent = os.environ.get("AGENT_ID") or "main"
    if "/" in agent or agent.startswith("."):
        return False
    if is_rebase_pick(repo.git_dir):
        return False
    picked_path = repo.git_dir / "CHERRY_PICK_HEAD"
    picked = picked_path.read_text().strip() if picked_path.exists() else ""
    lines = open_note_lines(state, agent)
    if not lines and not picked:
        return False
    sha = head_file_commit(repo.git_dir, repo.common_dir)
    if sha is None:
        return False
    entries = ([f"copy {picked} {sha}"] if _is_sha(picked) else []) + [f"{sha} {line}" for line in lines]
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


def _parse_queue(paths: Iterable[Path]) -> tuple[dict[str, set[str]], list[tuple[str, str]], list[str]]:
    stamps: dict[str, set[str]] = {}
    copies: list[tuple[str, str]] = []
    bad: list[str] = []
    for path in paths:
        try:
            text = path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            continue
        # The hooks write "\n"-terminated lines; any other line break is part of a malformed line.
        for number, line in enumerate(text.split("\n"), 1):
            head, _, rest = line.partition(" ")
            if head == "copy":
                source, _, dest = rest.partition(" ")
                if _is_sha(source) and _is_sha(dest):
                    copies.append((source, dest))
                    continue
            elif _is_sha(head) and rest.startswith("{") and rest.endswith("}"):
                stamps.setdefault(head, set()).add(rest)
                continue
            if line.strip():
                bad.append(f"{path.name} line {number}")
    return stamps, copies, bad


def flush(toplevel: Path | Repo, mapping: list[tuple[str, str]] | None = None) -> int:
    """Write every queued stamp into notes. Returns how many commits were stamped.

    With ``mapping`` (post-rewrite's old -> new pairs) it also carries the notes of rewritten commits
    over, so stamps that were still queued when git copied notes for the rewrite are not lost.
    """
    from gittracker.git import Repo

    repo = toplevel if isinstance(toplevel, Repo) else Repo.discover(toplevel)
    state = LocalState(repo.tracker_dir)
    with file_lock(state.flush_lock, timeout=60):
        return _flush_locked(repo, state, mapping)


def _flush_locked(repo: Repo, state: LocalState, mapping: list[tuple[str, str]] | None) -> int:
    taken = _take_queue(state)
    stamps, copies, bad = _parse_queue(taken)
    if stamps:
        repo.add_note_lines(stamps)
        append_lines(state.root / "stamped", [f"{sha} {line}" for sha, lines in stamps.items() for line in lines])
    for source, dest in copies + list(mapping or []):
        lines = [line for line in repo.note_text(source).splitlines() if line.strip()]
        if lines:
            repo.add_note_lines({dest: lines})
    if bad:
        _record_anomaly(repo, "hook-queue-malformed", "skipped malformed queue lines: " + ", ".join(bad[:5]))
    for path in taken:
        path.unlink(missing_ok=True)
    return len(stamps)


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
            if f'"id":"{window_id}"' in line:
                mine.setdefault(sha, set()).add(line)
            else:
                keep.append(raw)
        lost = {sha: lines for sha, lines in mine.items() if not lines <= set(repo.note_text(sha).splitlines())}
        alive = set(repo.existing_commits(sorted(lost)))
        restored = {sha: lines for sha, lines in lost.items() if sha in alive}
        if restored:
            repo.add_note_lines(restored)
        from gittracker.state import atomic_write

        atomic_write(path, "".join(f"{line}\n" for line in keep))
    return len(restored)


def _record_anomaly(repo: Repo, code: str, detail: str) -> None:
    from gittracker.names import valid_agent_id
    from gittracker.records import Record

    agent = os.environ.get("AGENT_ID") or "main"

    record = Record.new(
        "anomaly",
        source="hook",
        agent_id=agent if valid_agent_id(agent) else "main",
        code=code,
        window_id=None,
        detail=detail[:4000],
    )
    repo.append_records([record])


def read_mapping(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and _is_sha(parts[0]) and _is_sha(parts[1]):
            pairs.append((parts[0], parts[1]))
    return pairs


def _warn(hook: str, error: BaseException, toplevel: Path) -> None:
    """A hook never fails the user's git command: say what went wrong and leave an anomaly."""
    print(f"git-tracker: {hook} hook: {error} (your commit is fine; see `git tracker anomalies`)", file=sys.stderr)
    with contextlib.suppress(Exception):
        from gittracker.git import Repo

        _record_anomaly(Repo.discover(toplevel), "hook-failed", f"{hook}: {error}")


def main(argv: list[str] | None = None) -> int:
    """``git-tracker-hook post-commit|post-rewrite [TYPE]|flush`` (and ``python -m gittracker.hookrun``)."""
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
            # args: [TYPE (amend|rebase; informational)] [DIR]; pre-commit passes neither nor a mapping.
            toplevel = Path(args[2] if len(args) > 2 else ".")
            mapping = read_mapping(sys.stdin.read()) if not sys.stdin.isatty() else []
            flush(toplevel, mapping)
        elif hook == "flush":
            toplevel = Path(args[1] if len(args) > 1 else ".")
            _flush_until_empty(toplevel)
        else:
            print(f"git-tracker-hook: expected post-commit, post-rewrite or flush, got {hook!r}", file=sys.stderr)
            return 2
    except Exception as error:
        if os.environ.get("GIT_TRACKER_DEBUG"):
            raise
        _warn(hook, error, Path("."))
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
