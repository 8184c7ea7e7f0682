"""Churn computed from history: lines added and deleted, files and commits.

Never typed in, never stored by hand. Which commits count is the *selection*, stated in every result:

- ``noted`` (the default for a window): the commits that carry the window's note in
  ``refs/notes/tracker`` — its own work, whatever else landed between ``commit_start`` and
  ``commit_end`` (a merge or rebase of upstream, another agent's commits in the same worktree);
- ``range``: every commit from ``commit_start`` (exclusive) to ``commit_end`` (inclusive), the only
  selection for ``REV..REV``.

The policies within a selection are explicit too:

- renames: ``--no-renames`` by default (a rename is a delete plus an add); ``-M`` optional;
- merges: excluded by default; ``first_parent`` counts each merge as its diff against the first parent
  (PR-level churn) and, for a range, skips the merged side's own commits;
- binary files: counted as files, with 0 lines (git prints ``-`` for their line counts);
- gross (default): the sum over the commits; net: one diff from start to end (a range by nature).

How the noted commits of a window are found (docs/hooks.md#rewrites): a rewritten commit keeps its note
until gc, and git copies the note to the new commit, so both carry the window. The hooks record on the
new commit which commit(s) it replaces (a ``replaces`` note line); a commit that an existing commit
says it replaces is not counted. Notes written before those lines existed are handled by what git keeps
across a rewrite: an unreachable noted commit whose author line (name, e-mail, date) equals a reachable
noted commit's of the same window is taken to be the original of that copy. A window whose noted
commits all no longer exist (rewritten by a tool that does not carry notes, then collected) has unknown
churn, never 0.

A commit whose note has a ``shared`` line (made while several automatic windows were open in its worktree and
naming none of them: docs/hooks.md#attribution) is counted in each window its note names, with its added and
deleted lines split equally between those windows (``split_evenly``): over the windows, its lines add up to the
commit's once. Under the ``range`` selection every window counts every commit of its range, shared or not.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from gittracker.config import CHURN_SELECTIONS
from gittracker.errors import BadInput, GitFailed
from gittracker.files import write_cache
from gittracker.git import Repo
from gittracker.gitfiles import is_object_id
from gittracker.records import shared_windows

SELECTION_TEXT = {"noted": "commits carrying its note", "range": "every commit in the range"}


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
    selection: str
    shared_commits: int = 0  # commits among ``commits`` whose lines were split with other windows

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UnknownChurn:
    """Churn that history can no longer tell: printed as nulls, never as zeros."""

    reason: str
    mode: str
    renames: str
    merges: str
    range: str
    selection: str

    def to_dict(self) -> dict[str, Any]:
        counts = dict.fromkeys(("added", "deleted", "files", "commits", "binary_files", "shared_commits"))
        return {**counts, **asdict(self)}


@dataclass(frozen=True)
class Policy:
    renames: bool = False
    first_parent: bool = False
    net: bool = False

    def describe(self) -> tuple[str, str]:
        renames = "detected (-M): a rename counts its edits only" if self.renames else "off (--no-renames)"
        merges = "first-parent diffs (--first-parent)" if self.first_parent else "excluded (--no-merges)"
        return renames, merges

    @property
    def is_default(self) -> bool:
        return self == Policy()


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


def range_label(start: str | None, end: str | None) -> str:
    return f"{start[:10] if start else '(root)'}..{end[:10] if end else '(none)'}"


def churn_between(repo: Repo, start: str | None, end: str | None, policy: Policy) -> Churn:
    """Churn from ``start`` (exclusive; None = from the root) to ``end`` (inclusive): the range selection."""
    renames, merges = policy.describe()
    mode = "net" if policy.net else "gross"
    label = range_label(start, end)
    if end is None or start == end:  # no commits in the window (or none in the repository yet)
        return Churn(0, 0, 0, 0, 0, mode, renames, merges, label, "range")
    revisions = [f"^{start}", end] if start else [end]
    if policy.net:
        added, deleted, files, binary = _rows(repo.numstat_diff(start, end, renames=policy.renames))
        commits = repo.count_commits(revisions, first_parent=policy.first_parent)
    else:
        log = repo.numstat_log(revisions, renames=policy.renames, first_parent=policy.first_parent)
        added, deleted, files, binary = _rows(log)
        commits = log.count("\0")
    return Churn(added, deleted, len(files), commits, len(binary), mode, renames, merges, label, "range")


def range_churn_if_known(repo: Repo, start: str | None, end: str | None, policy: Policy) -> Churn | UnknownChurn:
    """The range selection, or unknown when the range's commits are gone (collected after a rewrite)."""
    try:
        return churn_between(repo, start, end, policy)
    except GitFailed:
        renames, merges = policy.describe()
        reason = "the commits of its range no longer exist (rewritten, then collected by git gc)"
        return UnknownChurn(reason, "net" if policy.net else "gross", renames, merges, range_label(start, end), "range")


def parse_selection(text: str, where: str) -> str:
    if text not in CHURN_SELECTIONS:
        raise BadInput(f"{where}: expected one of {', '.join(CHURN_SELECTIONS)}, got {text!r}")
    return text


# -- what the notes say --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteFacts:
    """What one commit's note says: the windows it was made in, the commits it replaces, whether those windows
    share it (a ``shared`` line)."""

    windows: tuple[str, ...]
    replaces: tuple[str, ...]
    shared: bool = False


def parse_note(body: bytes) -> NoteFacts:
    """Read a note leniently: our JSON lines in any order, repeated, separated by blank lines (git's
    ``concatenate`` mode), beside lines we do not know (a newer version's, or a person's), which are skipped."""
    windows: set[str] = set()
    replaces: set[str] = set()
    shared = False
    for raw in body.split(b"\n"):
        line = raw.strip()
        if not line.startswith(b"{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:  # also UnicodeDecodeError
            continue
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            continue
        if data.get("kind") == "window":
            windows.add(data["id"])
        elif data.get("kind") == "replaces" and is_object_id(data["id"]):
            replaces.add(data["id"])
        elif shared_windows(data) is not None:
            shared = True
    return NoteFacts(tuple(sorted(windows)), tuple(sorted(replaces)), shared)


def split_evenly(amount: int, sharers: tuple[str, ...], member: str, commit: str) -> int:
    """``member``'s part of a shared commit's ``amount`` of lines: an equal part in whole lines, the remainder
    handed one line each to the sharers from a seat the commit id picks (so no window always gets the odd line).
    Over all ``sharers`` (sorted, distinct) the parts add up to ``amount`` exactly."""
    count = len(sharers)
    base, rest = divmod(amount, count)
    seat = (sharers.index(member) + int(commit[:8], 16)) % count
    return base + (1 if seat < rest else 0)


NOTES_MAGIC = b"git-tracker notes index 2\n"
BLOBS_MAGIC = b"git-tracker note blobs 2\n"
STATS_MAGIC = b"git-tracker commit stats 1\n"
FILES_MAGIC = b"git-tracker commit files 1\n"


class NoteIndex:
    """Every note of ``refs/notes/tracker``, read in one pass: which commits carry which window, and
    which commits say they replace others.

    Cached in ``<tracker>/cache/notes-index`` with the notes tip it was read at: while the tip stays,
    nothing is read again. When it moved, only note blobs not seen before are read (each blob's facts
    are kept in ``notes-blobs``; a blob never changes).
    """

    def __init__(
        self,
        windows: dict[str, list[str]],
        replaces: dict[str, tuple[str, ...]],
        shares: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.windows = windows  # window id -> the commits whose note names it
        self.replaces = replaces  # commit -> the commits its note says it replaces
        self.shares = shares or {}  # shared commit -> the windows its note names (sorted), which split its lines

    @classmethod
    def read(cls, repo: Repo, cache_dir: Path | None) -> NoteIndex:
        tip = repo.notes_tip()
        index_path = cache_dir / "notes-index" if cache_dir else None
        blobs_path = cache_dir / "notes-blobs" if cache_dir else None
        cached = _load_marshal(index_path, NOTES_MAGIC)
        if isinstance(cached, tuple) and len(cached) == 4 and cached[0] == tip:
            return cls(cached[1], cached[2], cached[3])
        loaded = _load_marshal(blobs_path, BLOBS_MAGIC)
        blobs: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = loaded if isinstance(loaded, dict) else {}
        listing = repo.notes_listing(tip) if tip else []
        missing = sorted({blob for blob, _ in listing if blob not in blobs})
        for blob, body in zip(missing, repo.blob_bodies(missing), strict=True):
            facts = parse_note(body)
            blobs[blob] = (facts.windows, facts.replaces, facts.shared)
        windows: dict[str, list[str]] = {}
        replaces: dict[str, tuple[str, ...]] = {}
        shares: dict[str, tuple[str, ...]] = {}
        for blob, commit in listing:
            named, replaced, shared = blobs[blob]
            for window_id in named:
                windows.setdefault(window_id, []).append(commit)
            if replaced:
                replaces[commit] = replaced
            if shared and len(named) > 1:
                shares[commit] = named
        if missing or len(blobs) > len(listing):
            current = {blob for blob, _ in listing}
            _save_marshal(blobs_path, BLOBS_MAGIC, {blob: blobs[blob] for blob in current})
        _save_marshal(index_path, NOTES_MAGIC, (tip, windows, replaces, shares))
        return cls(windows, replaces, shares)


# -- per-commit numstat, cached by commit id (a commit never changes) ----------------------------------------


class CommitStat(NamedTuple):
    """One commit under the default policy (no renames; a merge has no diff of its own)."""

    added: int
    deleted: int
    author: str  # "name <email> seconds zone": git keeps it across amend, rebase and cherry-pick
    merge: bool


class CommitStats:
    """``CommitStat`` by commit id, and the paths each commit touched (binary ones apart).

    Cached in ``<tracker>/cache/commit-stats`` and ``commit-files`` (marshal: several times faster to
    load than JSON); preview needs only the first, so the paths are loaded when asked for.
    """

    def __init__(self, repo: Repo, cache_dir: Path | None) -> None:
        self.repo = repo
        self.stats_path = cache_dir / "commit-stats" if cache_dir else None
        self.files_path = cache_dir / "commit-files" if cache_dir else None
        loaded = _load_marshal(self.stats_path, STATS_MAGIC)
        self.raw: dict[str, tuple[int, int, str, bool]] = loaded if isinstance(loaded, dict) else {}
        self._files: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] | None = None
        self._new_files: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def ensure(self, commits: Iterable[str]) -> None:
        """Compute the ones not cached yet, with one ``git log --no-walk`` for all of them."""
        missing = sorted({commit for commit in commits if commit not in self.raw})
        if not missing:
            return
        parts = self.repo.commit_stats_log(missing).split("\0")[1:]
        for at in range(0, len(parts) - 2, 3):
            sha, parents, body = parts[at : at + 3]
            author, _, rows = body.partition("\n")
            added, deleted, files, binary = _rows(rows)
            self.raw[sha] = (added, deleted, author, len(parents.split()) > 1)
            self._new_files[sha] = (tuple(sorted(files)), tuple(sorted(binary)))

    def __getitem__(self, sha: str) -> CommitStat:
        return CommitStat._make(self.raw[sha])

    def files(self, sha: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(paths, binary paths) of a commit that ``ensure`` has seen."""
        if sha in self._new_files:
            return self._new_files[sha]
        if self._files is None:
            loaded = _load_marshal(self.files_path, FILES_MAGIC)
            self._files = loaded if isinstance(loaded, dict) else {}
        if sha not in self._files:  # the stats were cached, the paths were lost: compute both again
            self.raw.pop(sha, None)
            self.ensure([sha])
            return self._new_files[sha]
        return self._files[sha]

    def lines(self, commits: Iterable[str]) -> int:
        """Added plus deleted lines of these commits, merges left out (preview's hot path)."""
        total = 0
        for commit in commits:
            added, deleted, _, merge = self.raw[commit]
            if not merge:
                total += added + deleted
        return total

    def save(self) -> None:
        if not self._new_files:
            return
        if self._files is None:
            loaded = _load_marshal(self.files_path, FILES_MAGIC)
            self._files = loaded if isinstance(loaded, dict) else {}
        self._files.update(self._new_files)
        _save_marshal(self.files_path, FILES_MAGIC, self._files)
        _save_marshal(self.stats_path, STATS_MAGIC, self.raw)
        self._new_files = {}


# -- the commits of windows ------------------------------------------------------------------------------


class WindowChurn:
    """Windows' churn under one selection, for one window or thousands at once.

    ``prepare`` works out the noted commits of many windows in one pass (one read of the notes, one
    existence check, one ``git log`` for commits not cached yet); ``churn`` and ``lines`` then answer
    per window. Range results are cached by range. ``save`` keeps the caches.
    """

    def __init__(self, repo: Repo, cache_dir: Path | None, selection: str = "noted") -> None:
        self.repo = repo
        self.selection = parse_selection(selection, "churn selection")
        self.cache_dir = cache_dir
        self.stats = CommitStats(repo, cache_dir)
        self._notes: NoteIndex | None = None
        self._commits: dict[str, list[str] | None] = {}
        self._noted_count: dict[str, int] = {}
        self._range_path = cache_dir / "churn-lines.json" if cache_dir else None
        self._range: dict[str, Any] = _load_json(self._range_path)
        self._range_dirty = False
        self.split_commits: set[str] = set()  # shared commits whose lines were split for a window asked about

    # -- noted --------------------------------------------------------------------------------------

    def notes(self) -> NoteIndex:
        if self._notes is None:
            self._notes = NoteIndex.read(self.repo, self.cache_dir)
        return self._notes

    def prepare(self, window_ids: Iterable[str]) -> None:
        """Find the noted commits of these windows, all in one pass."""
        wanted = sorted({window_id for window_id in window_ids if window_id not in self._commits})
        if not wanted:
            return
        index = self.notes()
        noted = {window_id: index.windows.get(window_id, []) for window_id in wanted}
        candidates = {commit for commits in noted.values() for commit in commits}
        # Only a commit that exists can vouch that it replaces another (its own replacement may be gone).
        alive = set(self.repo.existing_commits(sorted(candidates | set(index.replaces))))
        replaced = {old for commit, olds in index.replaces.items() if commit in alive for old in olds if old != commit}
        gone = candidates - alive
        kept: dict[str, list[str]] = {}
        for window_id, commits in noted.items():  # set tests first: most windows have nothing to drop
            self._noted_count[window_id] = len(commits)
            present = [c for c in commits if c not in gone] if not gone.isdisjoint(commits) else commits
            if not commits:
                self._commits[window_id] = []
            elif not present:
                self._commits[window_id] = None  # unknown: its commits were collected
            elif replaced.isdisjoint(present):
                kept[window_id] = present
            else:
                # Every present commit replaced, by commits that do not carry this window: someone edited
                # the notes. The originals are then the only evidence of the work left.
                kept[window_id] = [commit for commit in present if commit not in replaced] or present
        self.stats.ensure(commit for commits in kept.values() for commit in commits)
        originals = self._copied_originals(kept)
        for window_id, commits in kept.items():
            dropped = originals.get(window_id)
            self._commits[window_id] = [c for c in commits if c not in dropped] if dropped else commits

    def _copied_originals(self, kept: dict[str, list[str]]) -> dict[str, set[str]]:
        """Per window, unreachable commits that share their author line with a reachable commit of the
        same window: originals whose copy git made (and noted) without a ``replaces`` line."""
        groups: list[set[str]] = []
        raw = self.stats.raw
        for commits in kept.values():
            if len(commits) < 2 or len({raw[commit][2] for commit in commits}) == len(commits):
                continue  # no two commits share an author line: nothing to tell apart
            by_author: dict[str, set[str]] = {}
            for commit in commits:
                by_author.setdefault(raw[commit][2], set()).add(commit)
            groups += [group for group in by_author.values() if len(group) > 1]
        if not groups:
            return {}
        unreachable = self.repo.unreachable_commits(set().union(*groups))
        dropped = set()
        for group in groups:
            if group - unreachable:  # some member is reachable: the unreachable ones are its originals
                dropped |= group & unreachable
        found = {window_id: set(commits) & dropped for window_id, commits in kept.items()}
        return {window_id: commits for window_id, commits in found.items() if commits}

    def commits_of(self, window_id: str) -> list[str] | None:
        """The window's own commits (merges included), or None when they no longer exist."""
        if window_id not in self._commits:
            self.prepare([window_id])
        return self._commits[window_id]

    # -- results --------------------------------------------------------------------------------------

    def churn(
        self, window_id: str, start: str | None, end: str | None, policy: Policy | None = None
    ) -> Churn | UnknownChurn:
        policy = policy or Policy()
        if self.selection == "range" or policy.net:
            return self._range_churn(start, end, policy)
        renames, merges = policy.describe()
        label = f"window {window_id}"
        commits = self.commits_of(window_id)
        if commits is None:
            count = self._noted_count.get(window_id, 0)
            reason = (
                f"its {count} noted commit(s) no longer exist (rewritten by a tool that does not carry notes, "
                "such as git filter-branch, then collected)"
            )
            return UnknownChurn(reason, "gross", renames, merges, label, "noted")
        if not policy.is_default:
            return self._churn_under(window_id, commits, policy, label)
        counted = [commit for commit in commits if not self.stats[commit].merge]
        files = {path for commit in counted for path in self.stats.files(commit)[0]}
        binary = {path for commit in counted for path in self.stats.files(commit)[1]}
        added = sum(self._part(window_id, commit, self.stats[commit].added) for commit in counted)
        deleted = sum(self._part(window_id, commit, self.stats[commit].deleted) for commit in counted)
        shared = sum(1 for commit in counted if self._shares_of(window_id, commit))
        return Churn(
            added, deleted, len(files), len(counted), len(binary), "gross", renames, merges, label, "noted", shared
        )

    def _churn_under(self, window_id: str, commits: list[str], policy: Policy, label: str) -> Churn:
        """A window's noted commits under a policy the per-commit cache does not hold (renames, first parent)."""
        renames, merges = policy.describe()
        log = self.repo.numstat_commits(commits, renames=policy.renames, first_parent=policy.first_parent)
        added = deleted = shared = 0
        files: set[str] = set()
        binary: set[str] = set()
        for commit, rows in _rows_by_commit(log):
            commit_added, commit_deleted, commit_files, commit_binary = _rows(rows)
            added += self._part(window_id, commit, commit_added)
            deleted += self._part(window_id, commit, commit_deleted)
            shared += 1 if self._shares_of(window_id, commit) else 0
            files |= commit_files
            binary |= commit_binary
        counted = log.count("\0")
        return Churn(added, deleted, len(files), counted, len(binary), "gross", renames, merges, label, "noted", shared)

    def _shares_of(self, window_id: str, commit: str) -> tuple[str, ...]:
        """The windows that split a shared commit with this one (itself included); empty when it is its alone."""
        sharers = self.notes().shares.get(commit, ())
        return sharers if window_id in sharers else ()

    def _part(self, window_id: str, commit: str, amount: int) -> int:
        sharers = self._shares_of(window_id, commit)
        if not sharers:
            return amount
        self.split_commits.add(commit)
        return split_evenly(amount, sharers, window_id, commit)

    def lines(self, window_id: str, start: str | None, end: str | None) -> int | None:
        """Added plus deleted lines under the default policy; None when unknown."""
        if self.selection == "range":
            key = f"{start or ''}..{end or ''}"
            if key not in self._range:
                found = self._range_churn(start, end, Policy())
                self._range[key] = found.added + found.deleted if isinstance(found, Churn) else None
                self._range_dirty = True
            value = self._range[key]
            return value if isinstance(value, int) else None
        commits = self.commits_of(window_id)
        if commits is None:
            return None
        shares = self.notes().shares
        if not shares or shares.keys().isdisjoint(commits):
            return self.stats.lines(commits)
        total = 0
        for commit in commits:
            added, deleted, _, merge = self.stats.raw[commit]
            if not merge:
                total += self._part(window_id, commit, added) + self._part(window_id, commit, deleted)
        return total

    def _range_churn(self, start: str | None, end: str | None, policy: Policy) -> Churn | UnknownChurn:
        return range_churn_if_known(self.repo, start, end, policy)

    def save(self) -> None:
        self.stats.save()
        if self._range_dirty and self._range_path is not None:
            _save_json(self._range_path, self._range)
            self._range_dirty = False


def _rows_by_commit(log: str) -> Iterable[tuple[str, str]]:
    """``git log --numstat --format=%x00%H`` cut into (commit, its numstat rows)."""
    for chunk in log.split("\0")[1:]:
        commit, _, rows = chunk.partition("\n")
        yield commit.strip(), rows


def _load_marshal(path: Path | None, magic: bytes) -> Any:
    """A cache written by ``_save_marshal``; None when missing, damaged or from another version."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
        return marshal.loads(data[len(magic) :]) if data.startswith(magic) else None
    except (OSError, ValueError, EOFError, TypeError):
        return None


def _save_marshal(path: Path | None, magic: bytes, value: Any) -> None:
    if path is not None and path.parent.parent.is_dir():  # only inside an initialised tracker dir
        write_cache(path, magic + marshal.dumps(value))


def _load_json(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_json(path: Path, data: dict[str, Any]) -> None:
    if path.parent.parent.is_dir():  # only inside an initialised tracker dir
        write_cache(path, json.dumps(data, separators=(",", ":")))


def window_churn(ctx: Any, records: Iterable[Any] = ()) -> WindowChurn:
    """Windows' churn under the repository's ``churn.selection``, with queued stamps written first and the noted
    commits of every closed window in ``records`` worked out in one pass (``ctx``: a ``windows.Context``)."""
    from gittracker import hookrun

    if ctx.set_up:  # where git-tracker is not set up, reading writes nothing
        hookrun.flush_if_queued(ctx.repo)
    churns = WindowChurn(ctx.repo, ctx.repo.cache_dir, ctx.config.churn_selection)
    if churns.selection == "noted":
        churns.prepare(r["window_id"] for r in records if r.kind == "window-close")
    return churns
