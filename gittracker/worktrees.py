"""Which worktree a window was opened in, and that worktree's HEAD later on.

Two agents may work at the same time in two ``git worktree``s of one repository. A window's ``commit_start`` is
the HEAD of the worktree ``start`` ran in, and its ``commit_end`` the HEAD of that same worktree, wherever ``end``
runs (another worktree, the main one). So the open window remembers its worktree, in the agent's local state only
(``<common-dir>/tracker/agents/<id>/state.json``), never on the ledger or in notes, which travel: its git dir
relative to the common dir (``.`` for the main worktree, ``worktrees/<id>`` for a linked one), the name of its
folder (for ``status``), and the branch it had checked out (for when the worktree is removed before ``end``).

A window opened by an older version, or rebuilt from the ledger by ``doctor --fix``, has no worktree: it takes
HEAD where the command runs, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gittracker.git import Repo

# What a linked worktree's git dir looks like relative to the common dir; anything else in a state file is
# not trusted as a place to read a HEAD from.
_LINKED = re.compile(r"worktrees/[^/\\]+")


@dataclass(frozen=True)
class Worktree:
    """Where a window was opened: local facts about this machine, never recorded on the ledger."""

    git_dir: str  # relative to the common dir: "." (the main worktree) or "worktrees/<id>"
    name: str  # the worktree's folder name, for display
    branch: str | None  # refs/heads/… checked out there at start; None when HEAD was detached

    def to_state(self) -> dict[str, Any]:
        return {"git_dir": self.git_dir, "name": self.name, "branch": self.branch}

    @classmethod
    def from_state(cls, data: Any) -> Worktree | None:
        """The worktree a state entry names; None for an entry without one (or one this version cannot trust)."""
        if not isinstance(data, dict):
            return None
        git_dir, name, branch = data.get("git_dir"), data.get("name"), data.get("branch")
        if not isinstance(git_dir, str) or not (git_dir == "." or _LINKED.fullmatch(git_dir)):
            return None
        if git_dir != "." and git_dir.split("/", 1)[1] in (".", ".."):
            return None
        if not isinstance(name, str) or not (branch is None or _is_ref(branch)):
            return None
        return cls(git_dir, name, branch)


def _is_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("refs/")


def here(repo: Repo) -> Worktree:
    """The worktree a command runs in."""
    relative = repo.git_dir.relative_to(repo.common_dir) if repo.git_dir != repo.common_dir else None
    return Worktree("." if relative is None else relative.as_posix(), repo.toplevel.name, repo.head_branch())


def name_of(window: dict[str, Any]) -> str | None:
    """The name of the worktree an open window (a state entry) was opened in; None when it is not known."""
    worktree = Worktree.from_state(window.get("worktree"))
    return None if worktree is None else worktree.name


@dataclass(frozen=True)
class Head:
    """A window's worktree's HEAD, and the one line to show when that worktree was gone and HEAD was guessed."""

    commit: str | None
    warning: str | None = None


def head_of(repo: Repo, window: dict[str, Any]) -> Head:
    """HEAD of the worktree an open window (a state entry) was opened in (see ``head_of_worktree``)."""
    return head_of_worktree(repo, Worktree.from_state(window.get("worktree")), f"{window.get('provider')} window")


def head_of_worktree(repo: Repo, worktree: Worktree | None, what: str = "window") -> Head:
    """HEAD of ``worktree``; HEAD here when it is not known (a window opened by an older version).

    If that worktree was removed meanwhile: the tip of the branch it had checked out, when that branch still
    exists (its commits are there), else HEAD where this command runs; either way the warning says which.
    """
    if worktree is None:
        return Head(repo.head())
    found, commit = repo.worktree_head(worktree.git_dir)
    if found:
        return Head(commit)
    gone = f"the worktree {worktree.name} this {what} was opened in was removed"
    tip = repo.resolve_commit(worktree.branch) if worktree.branch else None
    if worktree.branch is not None and tip is not None:
        return Head(tip, f"{gone}: commit_end is the tip of its branch {_short(worktree.branch)}")
    lost = f"its branch {_short(worktree.branch)} is gone too" if worktree.branch else "its HEAD was detached"
    return Head(repo.head(), f"{gone} and {lost}: commit_end is HEAD here ({repo.toplevel.name})")


def _short(branch: str) -> str:
    return branch.removeprefix("refs/heads/")
