"""Which automatic windows are open in a worktree, for the post-commit hook.

An automatic window (opened by an agent's own hook, not by a typed ``start``) leaves one small file,
``<worktree git dir>/tracker-auto/<agent id>``, holding its window id. The shell hook globs that folder
(builtins only) when a commit carries no agent of its own: one file means that window's commit; several mean
a commit shared by all of them. The folder lives in the worktree's own git dir, so another worktree of the
same repository never sees it.
"""

from __future__ import annotations

import contextlib
import os

from gittracker.swapfile import replace_file

MARKS = "tracker-auto"
Where = str | os.PathLike[str]  # strings on the hooks' hot path, where pathlib costs more than the work


def marks_dir(worktree_git_dir: Where) -> str:
    return os.path.join(worktree_git_dir, MARKS)


def mark(worktree_git_dir: Where, agent_id: str, window_id: str) -> None:
    """Say that ``agent_id``'s automatic window ``window_id`` is open in this worktree (write, then rename)."""
    replace_file(os.path.join(marks_dir(worktree_git_dir), agent_id), window_id + "\n")


def unmark(worktree_git_dir: Where, agent_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(marks_dir(worktree_git_dir), agent_id))


def marked(worktree_git_dir: Where) -> dict[str, str]:
    """Agent id -> window id of the automatic windows open in this worktree."""
    found: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(marks_dir(worktree_git_dir)):
            if entry.name.startswith("."):
                continue
            with contextlib.suppress(OSError), open(entry.path) as handle:
                found[entry.name] = handle.read().strip()
    return found
