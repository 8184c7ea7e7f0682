"""``git tracker sync``: the ledger and the notes travel through any git remote, merged by union.

One round: ask the remote for its two tips (``git ls-remote``); fetch what this clone lacks into tracking refs
(``refs/tracker-remotes/<remote>/…``), never into its own refs; merge each ref by union, as objects only; push
the merges that give the remote something, without force; only then move this clone's refs, compare-and-swap.
A rejected push (another clone pushed first) starts the round again, a bounded number of times; a remote that
refuses for good is one line, and this clone's refs are as they were.

Merging (DESIGN §2): the ledger holds one file per record at a path made from its id, so a merge is a union of
paths. Two different files at one path cannot come from git-tracker (records are immutable and ids unique): the
file that is a valid record is kept, and of two valid or two invalid ones the one with the smaller blob id, so
every clone keeps the same one; both stay in history, and the report names the path. One exception is no
conflict: a derived record (``ingest``) whose id leaves its stamp out, written by two clones that read the same
logs, differs only in who wrote it (machine, agent, version, source, schema). That is one record: kept by the same
rule, and only counted (``same_record``). Notes are merged per
commit as ``git notes merge -s cat_sort_uniq`` would (the union of their lines, sorted), but by this module, over
whatever fanout either side uses and for commits this clone does not have, where ``git notes merge`` breaks.
"""

from __future__ import annotations

import fnmatch
import random
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gittracker.errors import BadInput, LostRace, Notice, NotInitialised, Refused, TrackerError
from gittracker.git import LEDGER_REF, NOTES_REF, PushResult, Repo, TreeChange, report_skipped, tracking_ref
from gittracker.gitfiles import is_object_id
from gittracker.records import NOT_A_RECORD, Record, Skipped, kind_at, read_stored

SYNC_REFS = (LEDGER_REF, NOTES_REF)
PUSH_ATTEMPTS = 8  # rounds of fetch, merge and push before giving up on a remote that keeps moving
LOCAL_ATTEMPTS = 50  # merges into this clone's refs while local writers (agents, hooks) keep moving them
# How long a quiet sync (after the user's own push) may take in all, the network included.
QUIET_BOUND_SECONDS = 10.0

UNCHANGED = "unchanged"
FAST_FORWARD = "fast-forward"
MERGED = "merge"

DONE = {FAST_FORWARD: "fast-forwarded", MERGED: "merged"}  # what the text says became of a ref

NOTE_MODE = 0o100644


@dataclass(frozen=True)
class Conflict:
    """One record path that held two different files: the one kept and the other (still in history)."""

    path: str
    kept: str
    other: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "kept": self.kept, "other": self.other}


@dataclass
class RefMerge:
    """One ref merged: the tips found here and there, the tip the union makes, and what each side gains."""

    ref: str
    ours: str | None
    theirs: str | None
    tip: str | None = None
    how: str = UNCHANGED
    fetched: Counter[str] = field(default_factory=Counter)  # what this clone gains (records by kind, or notes)
    pushed: Counter[str] = field(default_factory=Counter)  # what the remote gains
    local_gains: bool = False
    remote_gains: bool = False
    skipped: list[Skipped] = field(default_factory=list)  # files from the remote that are no records
    conflicts: list[Conflict] = field(default_factory=list)
    same_record: int = 0  # paths where both sides wrote one record, stamped apart (module docstring)

    @property
    def needs_push(self) -> bool:
        return self.remote_gains and self.tip is not None and self.tip != self.theirs

    @property
    def moves_here(self) -> bool:
        return self.tip is not None and self.tip != self.ours


@dataclass
class SyncReport:
    remote: str
    attempts: int = 0
    atomic: bool | None = None  # how the push went out; None when nothing was pushed
    ledger: RefMerge | None = None
    notes: RefMerge | None = None
    pushed: bool = False
    overlaps_recorded: int = 0  # overlapping-windows anomalies recorded here after the merge

    @property
    def brought_windows(self) -> bool:
        """Whether this clone gained closed (or voided) windows, which may overlap windows it has."""
        return self.ledger is not None and any(self.ledger.fetched[kind] for kind in ("window-close", "void"))

    @property
    def skipped(self) -> list[Skipped]:
        return self.ledger.skipped if self.ledger else []

    def to_dict(self) -> dict[str, Any]:
        ledger, notes = self.ledger, self.notes
        return {
            "remote": self.remote,
            "attempts": self.attempts,
            "fetched": {
                "records": dict(sorted(ledger.fetched.items())) if ledger else {},
                "notes": notes.fetched["notes"] if notes else 0,
            },
            "pushed": {
                "records": dict(sorted(ledger.pushed.items())) if ledger and self.pushed else {},
                "notes": notes.pushed["notes"] if notes and self.pushed else 0,
                "atomic": self.atomic,
            },
            "merged": {"ledger": ledger.how if ledger else UNCHANGED, "notes": notes.how if notes else UNCHANGED},
            "skipped": [{"path": item.path, "reason": item.reason} for item in self.skipped],
            "conflicts": [conflict.to_dict() for merge in (ledger, notes) if merge for conflict in merge.conflicts],
            "same_record": sum(merge.same_record for merge in (ledger, notes) if merge),
            "overlaps_recorded": self.overlaps_recorded,
        }


# -- the command ------------------------------------------------------------------------------------------


def sync_here(start: Path | str = ".", remote: str | None = None) -> SyncReport:
    """Sync the repository at ``start`` with ``remote`` (default: ``sync.remote`` in .git-tracker.toml, else
    origin). Works before ``init`` too (a fresh clone): it moves only the tracker's refs."""
    repo, configured, set_up = _open(start)
    report = sync(repo, remote or configured)
    if set_up and report.brought_windows:
        report.overlaps_recorded = _record_overlaps(repo)
    return report


def _record_overlaps(repo: Repo) -> int:
    """Windows from another clone may overlap this clone's: record the pairs' anomalies (the same record in every
    clone, so they merge as one). They go out with the next sync; ``preview`` does not wait for them."""
    from gittracker.machine import ensure_machine
    from gittracker.overlapledger import record_all

    return record_all(repo, ensure_machine(repo))


def sync_quietly(start: Path | str = ".", remote: str | None = None, *, within: float = QUIET_BOUND_SECONDS) -> str:
    """Sync without a word and within ``within`` seconds, for a hook that must never fail or hold up the user's
    own git command: git may not prompt (no terminal, ``GIT_TERMINAL_PROMPT=0``) and is stopped when time is up.
    Returns one line saying what happened; never raises."""
    deadline = time.monotonic() + within
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skipped files, settings notices: the next sync by hand shows them
            repo, configured, _ = _open(start)  # a hook: overlaps are recorded by the next sync by hand
            report = sync(repo, remote or configured, deadline=deadline)
    except (TrackerError, OSError) as error:
        return f"sync not done: {error}"
    return describe(report.to_dict()).splitlines()[0]


def _open(start: Path | str) -> tuple[Repo, str, bool]:
    """The repository, the remote its settings name, and whether git-tracker is set up in it."""
    from gittracker.config import load
    from gittracker.context import open_context

    try:
        ctx = open_context(start)  # replays journals that killed commands left: those records go out too
    except NotInitialised:
        repo = Repo.discover(start)
        return repo, load(repo.toplevel).remote, False
    return ctx.repo, ctx.config.remote, True


def sync(repo: Repo, remote: str, *, deadline: float | None = None) -> SyncReport:
    """Fetch, merge and push until the remote took what it lacked, then move this clone's refs (see the module
    docstring). Raises ``Refused`` when the remote refuses for good, ``LostRace`` when it kept moving."""
    remotes = repo.remotes()
    if remote not in remotes:
        raise BadInput(
            f"REMOTE: expected the name of one of this repository's remotes (`git remote -v` lists them), got "
            f"{remote!r}"
        )
    _check_ledger_free(repo)
    _warn_forced_refspecs(remote, remotes[remote])
    net = _Network(remote, deadline)
    report = SyncReport(remote)
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        report.attempts = attempt
        try:
            merges = _round(repo, net, report)
        except _TryAgain:
            net.pause(attempt)
            continue
        if merges is not None:
            _adopt(repo, merges, remote)
            report.ledger, report.notes = merges
        report_skipped(report.skipped)
        return report
    raise LostRace(
        f"could not sync with {remote}: other clones kept pushing to it through {PUSH_ATTEMPTS} attempts; nothing "
        "here was changed or lost, run `git tracker sync` again"
    )


class _TryAgain(Exception):
    """The remote moved under this round (a rejected push, a fetch racing another): fetch and merge again."""


@dataclass
class _Network:
    remote: str
    deadline: float | None
    atomic: bool = True  # until the remote says it cannot do atomic pushes

    @property
    def env(self) -> dict[str, str] | None:
        return {"GIT_TERMINAL_PROMPT": "0"} if self.deadline is not None else None

    def pause(self, attempt: int) -> None:
        """Back off before the next round, so that clones that collided do not collide again in step."""
        wait = random.uniform(0.02, 0.1) * attempt
        if self.deadline is not None:
            wait = min(wait, max(0.0, self.deadline - time.monotonic()))
        time.sleep(wait)


def _round(repo: Repo, net: _Network, report: SyncReport) -> tuple[RefMerge, ...] | None:
    """One fetch, merge and push; None when both sides already hold the same tips."""
    local = repo.ref_tips([*SYNC_REFS, *(tracking_ref(net.remote, ref) for ref in SYNC_REFS)])
    there = repo.remote_tips(net.remote, SYNC_REFS, env=net.env, deadline=net.deadline)
    if _same(repo, local, there):
        return None
    theirs = _fetch(repo, net, there, local)
    merges = tuple(MERGERS[ref](repo, local.get(ref), theirs.get(ref)) for ref in SYNC_REFS)
    outgoing = {merge.ref: str(merge.tip) for merge in merges if merge.needs_push}
    if outgoing:
        _push(repo, net, outgoing)
        repo.set_tracking(net.remote, outgoing)
        report.pushed, report.atomic = True, net.atomic
    return merges


def _same(repo: Repo, local: Mapping[str, str], there: Mapping[str, str]) -> bool:
    """Whether both sides hold the same, without reading a tree: the same tips, or, for a ref the remote lacks,
    a local one with nothing in it (``init``'s empty notes commit: nothing to share)."""
    differ = [ref for ref in SYNC_REFS if local.get(ref) != there.get(ref)]
    if any(ref in there for ref in differ):
        return False
    return not repo.with_files([local[ref] for ref in differ if ref in local])


def _fetch(repo: Repo, net: _Network, there: dict[str, str], local: Mapping[str, str]) -> dict[str, str]:
    """Bring what the remote holds and this clone lacks into the tracking refs; the remote's tips.

    A tip whose commit is already here (pushed from here, or brought by ``git clone``) needs no fetch: its
    tracking ref is only pointed at it, which keeps it from being pruned while it is merged.
    """
    have = set(repo.existing_commits(sorted(set(there.values()))))
    missing = [ref for ref, tip in there.items() if tip not in have]
    theirs = dict(there)
    if missing:
        try:
            theirs.update(repo.fetch_into_tracking(net.remote, missing, env=net.env, deadline=net.deadline))
        except LostRace:
            raise _TryAgain from None
    anchors = {ref: theirs.get(ref) for ref in SYNC_REFS if ref not in missing}
    stale = {ref: tip for ref, tip in anchors.items() if local.get(tracking_ref(net.remote, ref)) != tip}
    repo.set_tracking(net.remote, stale)
    return theirs


def _push(repo: Repo, net: _Network, outgoing: dict[str, str]) -> None:
    """Push without force; ``_TryAgain`` when the remote moved, ``Refused`` when it says no for good."""
    result = repo.push_refs(net.remote, outgoing, atomic=net.atomic, env=net.env, deadline=net.deadline)
    if result.atomic_unsupported and net.atomic:
        # Servers that do not offer atomic pushes refuse --atomic before sending anything: push the refs one by
        # one instead. Safe: each ref is a union on its own, and a ref left behind goes out with the next sync.
        net.atomic = False
        result = repo.push_refs(net.remote, outgoing, atomic=False, env=net.env, deadline=net.deadline)
    if result.accepted(outgoing):
        return
    refused = result.refused()
    if refused and all(line.retryable for line in refused):
        raise _TryAgain
    raise Refused(_refusal(net.remote, result))


def _refusal(remote: str, result: PushResult) -> str:
    refused = [line for line in result.refused() if not line.retryable] or result.refused()
    if refused:
        what = "; ".join(f"{line.ref} ({line.reason or line.summary})" for line in refused)
        return (
            f"{remote} refused the push of {what}: nothing here was changed, the tracker data stays in this clone "
            "(docs/sync.md: a rejected push)"
        )
    return f"could not push to {remote}: {result.error}; nothing here was changed"


def _adopt(repo: Repo, merges: tuple[RefMerge, ...], remote: str) -> None:
    """Move this clone's refs to the merged tips, compare-and-swap. A local writer (an agent appending, a hook
    writing notes) that moved a ref meanwhile is merged in too; what it wrote goes out with the next sync."""
    targets = {merge.ref: str(merge.tip) for merge in merges if merge.moves_here}
    olds = {merge.ref: merge.ours for merge in merges}
    message = f"tracker: sync with {remote}"
    for _ in range(LOCAL_ATTEMPTS):
        moves = {ref: (tip, olds[ref]) for ref, tip in targets.items() if tip != olds[ref]}
        if not moves or repo.move_refs(moves, message):
            return
        current = repo.ref_tips(SYNC_REFS)
        for ref in list(targets):
            now = current.get(ref)
            if now != olds[ref]:
                olds[ref] = now
                targets[ref] = str(MERGERS[ref](repo, now, targets[ref]).tip)
        time.sleep(random.uniform(0.001, 0.01))
    raise LostRace(f"could not update {', '.join(sorted(targets))}: local writers kept moving them; run sync again")


# -- merging ----------------------------------------------------------------------------------------------


def merge_ledger(repo: Repo, ours: str | None, theirs: str | None) -> RefMerge:
    """The union of two ledger tips: every record path of either side (module docstring for two files at one
    path). Files from the remote that are no record (by their path) are kept and reported, never fatal."""
    merge = RefMerge(LEDGER_REF, ours, theirs)
    additions: dict[str, tuple[str | bytes, int]] = {}
    for change in repo.tree_changes(ours, theirs) if ours != theirs else []:
        kind = kind_at(change.path)
        if not _writable(change.path):
            merge.skipped.append(_unwritable(change.path))
        elif change.ours is None:
            additions[change.path] = (str(change.theirs), change.mode)
            merge.fetched[kind or "other"] += 1
            merge.local_gains = True
            if kind is None:
                merge.skipped.append(Skipped(change.path, NOT_A_RECORD, "expected <kind>/<yyyy>/<mm>/<dd>/<id>.json"))
        elif change.theirs is None:
            merge.pushed[kind or "other"] += 1
            merge.remote_gains = True
        else:
            _settle(repo, merge, change, additions)
    return _finish(repo, merge, additions, "tracker: merge the ledger")


def _settle(repo: Repo, merge: RefMerge, change: TreeChange, additions: dict[str, tuple[str | bytes, int]]) -> None:
    """Two different files at one path: keep the one every clone would keep (module docstring)."""
    ours, theirs = str(change.ours), str(change.theirs)
    read = {
        blob: read_stored(change.path, data)
        for blob, data in zip((ours, theirs), repo.blob_bodies([ours, theirs]), strict=True)
    }
    kept = min((ours, theirs), key=lambda blob: (isinstance(read[blob], Skipped), blob))
    other = theirs if kept == ours else ours
    if _same_record(read[ours], read[theirs]):
        merge.same_record += 1
    else:
        merge.conflicts.append(Conflict(change.path, kept, other))
    if kept == theirs:
        additions[change.path] = (theirs, change.mode)
        merge.local_gains = True
    else:
        merge.remote_gains = True


def _writable(path: str) -> bool:
    """Whether a merge can hold this path: libgit2, which writes merge commits, takes UTF-8 names only."""
    try:
        path.encode()
    except UnicodeEncodeError:
        return False
    return True


def _unwritable(path: str) -> Skipped:
    """A file whose name is not UTF-8 (only a hand-made commit has one): left where it is, in that side's history."""
    shown = path.encode(errors="surrogateescape").decode(errors="backslashreplace")
    return Skipped(shown, "name not UTF-8", "left out of the merge; it stays in the history of the side that has it")


# What says who wrote a record, not what it records: two clones may write one derived record with these apart.
WRITER_FIELDS = frozenset({"machine", "agent_id", "tool_version", "source", "schema_version"})


def _same_record(a: Record | Skipped, b: Record | Skipped) -> bool:
    """Two valid records that differ only in who wrote them."""
    if isinstance(a, Skipped) or isinstance(b, Skipped):
        return False
    what = {key: value for key, value in a.to_dict().items() if key not in WRITER_FIELDS}
    return what == {key: value for key, value in b.to_dict().items() if key not in WRITER_FIELDS}


def merge_notes(repo: Repo, ours: str | None, theirs: str | None) -> RefMerge:
    """The union of two notes tips, commit by commit: a note only one side has is taken as it is, where that side
    keeps it; two notes of one commit become the sorted union of their lines (``cat_sort_uniq``).

    Notes are matched by the commit their path names, whatever fanout (``abcd…``, ``ab/cd…``, ``ab/cd/ef…``) each
    side keeps them at, so one commit's note is never kept twice; a commit the tree diff shows on one side only
    is where the other side has no note for it, except in a tree that already held two notes for one commit.
    Files in the notes tree that are no note are unioned like ledger files.
    """
    merge = RefMerge(NOTES_REF, ours, theirs)
    additions: dict[str, tuple[str | bytes, int]] = {}
    sides: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}
    for change in repo.tree_changes(ours, theirs) if ours != theirs else []:
        commit = change.path.replace("/", "")
        if not is_object_id(commit):
            _union_file(repo, merge, change, additions)
            continue
        mine, other = sides.setdefault(commit, ([], []))
        if change.ours is not None:
            mine.append((change.path, change.ours))
        if change.theirs is not None:
            other.append((change.path, change.theirs))
    both = []
    for _commit, (mine, other) in sorted(sides.items()):
        if not other:
            merge.pushed["notes"] += 1
            merge.remote_gains = True
        elif not mine:
            additions.update({path: (blob, NOTE_MODE) for path, blob in other})  # paths this clone lacks
            merge.fetched["notes"] += 1
            merge.local_gains = True
        elif {blob for _, blob in mine} != {blob for _, blob in other}:
            both.append((mine, other))
    bodies = dict(
        zip(
            blobs := sorted({b for pair in both for side in pair for _, b in side}),
            repo.blob_bodies(blobs),
            strict=True,
        )
    )
    for mine, other in both:
        _merge_note(merge, mine, [bodies[b] for _, b in mine], [bodies[b] for _, b in other], additions)
    return _finish(repo, merge, additions, "Notes merged by 'git tracker sync'")


def _merge_note(
    merge: RefMerge,
    mine: list[tuple[str, str]],
    ours: list[bytes],
    theirs: list[bytes],
    additions: dict[str, tuple[str | bytes, int]],
) -> None:
    """One commit noted on both sides, differently: the union of the notes' lines, at this clone's path(s)."""
    union = cat_sort_uniq(*ours, *theirs)
    if any(text != union for text in ours):
        additions.update({path: (union, NOTE_MODE) for path, _ in mine})
        merge.fetched["notes"] += 1
        merge.local_gains = True
    if any(text != union for text in theirs):
        merge.pushed["notes"] += 1
        merge.remote_gains = True


def _union_file(repo: Repo, merge: RefMerge, change: TreeChange, additions: dict[str, tuple[str | bytes, int]]) -> None:
    """A file that is no note: taken from whichever side has it, or settled as two versions of one ledger file."""
    if not _writable(change.path):
        merge.skipped.append(_unwritable(change.path))
    elif change.ours is None:
        additions[change.path] = (str(change.theirs), change.mode)
        merge.local_gains = True
    elif change.theirs is None:
        merge.remote_gains = True
    else:
        _settle(repo, merge, change, additions)


def cat_sort_uniq(*notes: bytes) -> bytes:
    """Notes merged as git's ``cat_sort_uniq`` strategy does: every non-empty line of any of them, sorted (by
    bytes), each once, each ending in a newline."""
    lines = {line for note in notes for line in note.split(b"\n") if line}
    return b"".join(line + b"\n" for line in sorted(lines))


def _finish(repo: Repo, merge: RefMerge, additions: Mapping[str, tuple[str | bytes, int]], message: str) -> RefMerge:
    """Choose the merged tip: one side's own tip when it already holds the union, else a merge commit of both."""
    ours, theirs = merge.ours, merge.theirs
    if ours is not None and theirs is not None and not merge.remote_gains and not repo.with_files([ours]):
        ours = None  # an empty tip (``init``'s notes commit) is replaced, not merged: then both sides hold one tip
    if ours is None or theirs is None:
        merge.tip = ours or theirs
        merge.how = FAST_FORWARD if ours is None and theirs is not None else UNCHANGED
        merge.remote_gains = merge.remote_gains and ours is not None
        return merge
    if not merge.local_gains:
        merge.tip = ours
        if merge.remote_gains and not repo.is_ancestor(theirs, ours):
            _merge_commit(repo, merge, additions, message)
        return merge
    if not merge.remote_gains and repo.is_ancestor(ours, theirs):
        merge.tip, merge.how = theirs, FAST_FORWARD
        return merge
    _merge_commit(repo, merge, additions, message)
    return merge


def _merge_commit(repo: Repo, merge: RefMerge, additions: Mapping[str, tuple[str | bytes, int]], message: str) -> None:
    tree, displaced = repo.tree_with(merge.ours, additions)
    merge.conflicts += [Conflict(path, "directory", "file") for path in displaced]
    merge.tip = repo.merge_commit(tree, [str(merge.ours), str(merge.theirs)], message)
    merge.how = MERGED


MERGERS: dict[str, Callable[[Repo, str | None, str | None], RefMerge]] = {
    LEDGER_REF: merge_ledger,
    NOTES_REF: merge_notes,
}


# -- checks -----------------------------------------------------------------------------------------------


def _check_ledger_free(repo: Repo) -> None:
    where = repo.ledger_checked_out_in()
    if where is not None:
        raise Refused(
            f"tracker-ledger is checked out in {where}: sync moves it, which would leave that work tree's index "
            "behind; switch that work tree to another branch first"
        )


def _warn_forced_refspecs(remote: str, refspecs: list[str]) -> None:
    """A forced fetch refspec onto the tracker's own refs (``+refs/notes/*:refs/notes/*``, a mirror's
    ``+refs/heads/*:refs/heads/*``) lets a plain ``git fetch`` replace what this clone has not synced yet."""
    for spec in refspecs:
        destination = spec.partition(":")[2]
        hit = [ref for ref in SYNC_REFS if destination and fnmatch.fnmatchcase(ref, destination)]
        if spec.startswith("+") and hit:
            warnings.warn(
                Notice(
                    f"remote.{remote}.fetch has {spec}: a plain `git fetch` overwrites this clone's {hit[0]} "
                    "with the remote's, losing what was not synced yet; remove that refspec (docs/sync.md)"
                ),
                stacklevel=2,
            )


# -- what the command prints ------------------------------------------------------------------------------


def describe(data: Mapping[str, Any]) -> str:
    """The text ``sync`` prints: one line of what moved, then one per file that needs a look."""
    fetched, pushed, merged = _amounts(data["fetched"]), _amounts(data["pushed"]), data["merged"]
    if fetched is None and pushed is None:
        head = f"{data['remote']}: in sync, nothing to fetch or push"
    else:
        head = f"{data['remote']}: fetched {fetched or 'nothing'}; pushed {pushed or 'nothing'}"
        moved = [f"{ref} {DONE[how]}" for ref, how in merged.items() if how != UNCHANGED]
        head += f"; here: {', '.join(moved)}" if moved else ""
    lines = [head]
    lines += [f"  kept, but no record: {item['path']} ({item['reason']})" for item in data["skipped"]]
    lines += [
        f"  two versions of {item['path']}: kept {item['kept'][:12]}, the other ({item['other'][:12]}) stays in "
        "history (docs/sync.md)"
        for item in data["conflicts"]
    ]
    recorded = data.get("overlaps_recorded", 0)
    if recorded:
        lines.append(
            f"  recorded {recorded} overlapping-windows anomal{'ies' if recorded != 1 else 'y'}: windows of one "
            "provider open at once (docs/agents.md)"
        )
    return "\n".join(lines)


def _amounts(side: Mapping[str, Any]) -> str | None:
    records: Mapping[str, int] = side["records"]
    total, notes = sum(records.values()), side["notes"]
    parts = []
    if total:
        kinds = ", ".join(f"{count} {kind}" for kind, count in records.items())
        parts.append(f"{total} record{'s' if total != 1 else ''} ({kinds})")
    if notes:
        parts.append(f"the notes of {notes} commit{'s' if notes != 1 else ''}")
    return " and ".join(parts) or None
