"""Churn computed from history: lines added and deleted, files and commits between two commits.

Never typed in, never stored by hand: a window's churn is whatever git says happened between its
``commit_start`` and ``commit_end``. The policies are explicit and part of every result:

- renames: ``--no-renames`` by default (a rename is a delete plus an add); ``-M`` optional;
- merges: excluded by default; ``first_parent`` counts each merge on the first-parent line as its diff
  against the first parent (PR-level churn) and skips the merged side's own commits;
- binary files: counted as files, with 0 lines (git prints ``-`` for their line counts);
- gross (default): the sum over the commits in the range; net: one diff from start to end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gittracker.errors import BadInput, GitFailed
from gittracker.git import Repo


@dataclass(frozen=True)
class Churn:
    added: int
    deleted: int
    files: int
    commits: int
    binary_files: int
    mode: str
    renames: str
    merges: str
    range: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Policy:
    renames: bool = False
    first_parent: bool = False
    net: bool = False

    def describe(self) -> tuple[str, str]:
        renames = "detected (-M): a rename counts its edits only" if self.renames else "off (--no-renames)"
        merges = "first-parent diffs (--first-parent)" if self.first_parent else "excluded (--no-merges)"
        return renames, merges


def _rows(text: str) -> tuple[int, int, set[str], set[str]]:
    added = deleted = 0
    files: set[str] = set()
    binary: set[str] = set()
    for line in text.split("\n"):
        if not line or line.startswith("\0"):
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        path = parts[-1]
        if parts[0] == "-" and parts[1] == "-":
            binary.add(path)
        else:
            added += int(parts[0])
            deleted += int(parts[1])
        files.add(path)
    return added, deleted, files, binary


def resolve_range(repo: Repo, spec: str) -> tuple[str | None, str]:
    """``A..B`` (``..B`` or a single ``B`` meaning from the root) into commit ids."""
    start_text, dots, end_text = spec.partition("..")
    if not dots:
        start_text, end_text = "", spec
    if end_text.startswith("."):
        raise BadInput(f"RANGE: expected REV..REV (two dots), got {spec!r}")
    end = repo.resolve_commit(end_text or "HEAD")
    if end is None:
        raise BadInput(f"RANGE: {end_text or 'HEAD'!r} is not a commit in this repository")
    start = repo.resolve_commit(start_text) if start_text else None
    if start_text and start is None:
        raise BadInput(f"RANGE: {start_text!r} is not a commit in this repository")
    return start, end


def churn_of_window(repo: Repo, window_id: str, start: str | None, end: str | None, policy: Policy) -> Churn:
    """A closed window's churn: its range while its commits exist; once a rewrite and a gc removed them,
    the rewritten commits that carry the window's note (notes follow amend and rebase)."""
    if (end is None or repo.has_commit(end)) and (start is None or repo.has_commit(start)):
        return churn_between(repo, start, end, policy)
    commits = repo.commits_noted_with(window_id)
    renames, merges = policy.describe()
    label = f"window {window_id} via notes ({len(commits)} rewritten commit(s))"
    if not commits:
        return Churn(0, 0, 0, 0, 0, "gross", renames, merges, label + ": none found")
    log = repo.numstat_commits(commits, renames=policy.renames, first_parent=policy.first_parent)
    added, deleted, files, binary = _rows(log)
    return Churn(added, deleted, len(files), log.count("\0"), len(binary), "gross", renames, merges, label)


def churn_if_known(repo: Repo, start: str | None, end: str | None) -> Churn | None:
    """Default-policy churn, or None when the range's commits are gone (collected after a rewrite):
    unknown, never zero."""
    try:
        return churn_between(repo, start, end, Policy())
    except GitFailed:
        return None


def churn_between(repo: Repo, start: str | None, end: str | None, policy: Policy) -> Churn:
    """Churn from ``start`` (exclusive; None = from the root) to ``end`` (inclusive)."""
    renames, merges = policy.describe()
    label = f"{start[:10] if start else '(root)'}..{end[:10] if end else '(none)'}"
    if end is None or start == end:  # no commits in the window (or none in the repository yet)
        return Churn(0, 0, 0, 0, 0, "net" if policy.net else "gross", renames, merges, label)
    revisions = [f"^{start}", end] if start else [end]
    if policy.net:
        added, deleted, files, binary = _rows(repo.numstat_diff(start, end, renames=policy.renames))
        commits = repo.count_commits(revisions, first_parent=policy.first_parent)
    else:
        log = repo.numstat_log(revisions, renames=policy.renames, first_parent=policy.first_parent)
        added, deleted, files, binary = _rows(log)
        commits = log.count("\0")
    return Churn(
        added, deleted, len(files), commits, len(binary), "net" if policy.net else "gross", renames, merges, label
    )
