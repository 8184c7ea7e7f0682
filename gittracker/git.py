"""All git access: the ``git`` CLI and pygit2, in one place.

pygit2 is imported lazily: commands that only read local state (and every hook) never pay for it.
Internal git commands run with hooks disabled and without the caller's ``GIT_*`` location variables,
so a tracker call made from inside a hook can neither recurse into our hooks nor aim at the wrong
repository.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gittracker.errors import GitFailed, LostRace, NotARepository, Refused, StorageFailed, UnsupportedRepository
from gittracker.gitfiles import is_object_id, ref_tip
from gittracker.records import (
    BULK_KINDS,
    KINDS,
    MISSING,
    Record,
    Skipped,
    SkippedWarning,
    read_stored,
    record_path,
)

if TYPE_CHECKING:
    import pygit2

LEDGER_REF = "refs/heads/tracker-ledger"
NOTES_REF = "refs/notes/tracker"
TRACKER_NAME = "git-tracker"
TRACKER_EMAIL = "git-tracker@localhost"
CAS_ATTEMPTS = 200
STALE_LOCK_SECONDS = 5.0
INITIAL_NOTES_MESSAGE = "Notes ref created by 'git tracker init'"

# Variables that point git at a repository or alter what it does; stripped from internal calls.
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
    "GIT_REFLOG_ACTION",
    "GIT_QUARANTINE_PATH",
)


class LedgerMoved(Exception):
    """``append_records_on``: the ledger is no longer at the tip the write was decided from."""


ANY_TIP = object()  # _cas_update without an expected tip: any tip will do


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _LOCATION_VARS}
    env.update(extra or {})
    return env


def run_git(
    args: list[str],
    cwd: Path | str | None = None,
    *,
    check: bool = True,
    stdin: str | None = None,
    hooks_off: bool = True,
    env: Mapping[str, str] | None = None,
    allowed: tuple[int, ...] = (0,),
    shielded: bool = False,
) -> str:
    """Run ``git`` with hooks off and a clean environment (plus ``env``); return stdout.

    With ``check``, an exit status outside ``allowed`` is a ``GitFailed`` naming git's last error line.
    ``shielded``: git runs out of reach of the terminal's Ctrl-C and is waited for (``_run_to_the_end``).
    """
    data = None if stdin is None else stdin.encode()
    out = _git_process(args, cwd, data, hooks_off, env, allowed if check else None, shielded)
    # As a text-mode pipe reads it (universal newlines), with undecodable bytes kept rather than refused.
    return out.decode(errors="surrogateescape").replace("\r\n", "\n").replace("\r", "\n")


def run_git_bytes(args: list[str], cwd: Path | str | None = None, *, stdin: bytes | None = None) -> bytes:
    """``run_git`` for output that must stay bytes (object contents, whose sizes git gives in bytes)."""
    return _git_process(args, cwd, stdin, True, None, (0,), False)


def _git_process(
    args: list[str],
    cwd: Path | str | None,
    stdin: bytes | None,
    hooks_off: bool,
    env: Mapping[str, str] | None,
    allowed: tuple[int, ...] | None,
    shielded: bool,
) -> bytes:
    command = ["git", *(["-c", "core.hooksPath=/dev/null"] if hooks_off else []), *args]
    try:
        code, out, err = _run_to_the_end(command, cwd, clean_env(env), stdin, shielded=shielded)
    except FileNotFoundError:
        raise GitFailed("git is not installed or not on PATH") from None
    if allowed is not None and code not in allowed:
        detail = (err.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise GitFailed(f"git {args[0]} failed: {detail}")
    return out


_FORMAT_NAMES = {"sha256": "SHA-256"}


def _rev_parse(start: Path, *options: str) -> list[str] | None:
    """``git rev-parse`` run in ``start``: its lines, or None when git refuses (not a repository, no work tree)."""
    done = subprocess.run(
        ["git", "rev-parse", *options], cwd=start, env=clean_env(), capture_output=True, text=True, check=False
    )
    return done.stdout.splitlines() if done.returncode == 0 else None


def _no_work_tree(start: Path) -> NotARepository:
    """Why ``start`` has no work tree to track: not in a repository, a bare repository, or inside a git directory."""
    found = _rev_parse(start, "--is-bare-repository", "--is-inside-git-dir", "--absolute-git-dir")
    if found is None or len(found) != 3:
        return NotARepository("not inside a git work tree (run this in your repository, after `git init`)")
    bare, _, git_dir = found
    if bare == "true":
        return NotARepository(
            f"{git_dir} is a bare repository: it has no work tree, so no commits of yours to track; run this in a "
            f"clone of it (`git clone {git_dir}`)"
        )
    return NotARepository(f"inside the git directory {git_dir}: run this in the repository's work tree")


class GitRun(NamedTuple):
    """What one git process did: its exit status and its output as text."""

    code: int
    out: str
    err: str

    def last_error(self) -> str:
        """git's last line on stderr: where it says what went wrong."""
        lines = [line.strip() for line in self.err.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.code}"


def run_git_result(
    args: list[str],
    cwd: Path | str,
    *,
    env: Mapping[str, str] | None = None,
    deadline: float | None = None,
    stdin: str | None = None,
) -> GitRun:
    """Run ``git`` (hooks off, clean environment) for a caller that reads git's verdict itself; never raises for
    git's own failures.

    With a ``deadline`` (a ``time.monotonic()`` value), git runs in a session of its own, away from the terminal,
    so neither git nor a helper it starts (ssh, a credential helper) can stop to ask for input; when time is up
    the whole process group is killed, so the bound holds for those helpers too.
    """
    command = ["git", "-c", "core.hooksPath=/dev/null", *args]
    data = None if stdin is None else stdin.encode()
    try:
        if deadline is None:
            code, out, err = _run_to_the_end(command, cwd, clean_env(env), data)
            return GitRun(code, _as_text(out), _as_text(err))
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=clean_env(env),
            stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise GitFailed("git is not installed or not on PATH") from None
    try:
        out, err = process.communicate(data, timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise GitFailed(f"git {args[0]} did not finish in time and was stopped") from None
    return GitRun(process.returncode, _as_text(out), _as_text(err))


def _run_to_the_end(
    command: list[str], cwd: Path | str | None, env: dict[str, str], data: bytes | None, *, shielded: bool = False
) -> tuple[int, bytes, bytes]:
    """Run git and wait for it, even through Ctrl-C.

    ``subprocess.run`` kills its child with SIGKILL a quarter of a second after Ctrl-C: a git killed while it
    holds ``config.lock`` or ``index.lock`` leaves that file behind, and every later git command that needs it
    fails until the user deletes it. Ctrl-C from a terminal reaches git too (same process group) and stops it,
    so we wait for it, then go on with the interrupt.

    Even git's own handling is not enough for a config write: git 2.39 interrupted while it writes the config
    leaves ``config.lock`` about once in twenty tries. A ``shielded`` git (the config writes, each a few
    milliseconds) runs in a process group of its own, which the terminal's Ctrl-C does not reach: it finishes
    its write, and the interrupt takes effect after it.
    """
    stdin = None if data is None else subprocess.PIPE
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        process_group=0 if shielded else None,
    )
    try:
        out, err = process.communicate(data)
    except KeyboardInterrupt:
        _wait_through_interrupts(process)
        raise
    return process.returncode, out, err


def _wait_through_interrupts(process: subprocess.Popen[bytes]) -> None:
    """Read git's output to its end (so a full pipe cannot block it) while further Ctrl-Cs are ignored."""
    while True:
        try:
            process.communicate()
            return
        except KeyboardInterrupt:
            continue


def _as_text(data: bytes) -> str:
    return data.decode(errors="surrogateescape").replace("\r\n", "\n").replace("\r", "\n")


def _abs(base: Path, value: str) -> Path:
    path = Path(value)
    return (path if path.is_absolute() else base / path).resolve()


@dataclass(frozen=True)
class Repo:
    """A non-bare repository: its work tree, its git dir and the common dir shared by worktrees."""

    toplevel: Path
    git_dir: Path
    common_dir: Path
    # False where git-tracker is not set up (never initialised, or uninstalled): reading such a repository must
    # write nothing under its git dir, not even a cache.
    keeps_caches: bool = True

    @classmethod
    def discover(cls, start: Path | str = ".") -> Repo:
        """The repository ``start`` is in; every command finds it here, so a repository git-tracker cannot work
        in is refused here, once, with the same line whatever the command."""
        start = Path(start)
        if not start.is_dir():
            raise NotARepository(f"not a directory: {start}")
        lines = _rev_parse(start, "--show-toplevel", "--absolute-git-dir", "--git-common-dir", "--show-object-format")
        if lines is None or len(lines) != 4:
            raise _no_work_tree(start)
        toplevel, git_dir, common, object_format = lines
        if object_format != "sha1":
            raise UnsupportedRepository(
                f"{toplevel} is a {_FORMAT_NAMES.get(object_format, object_format)} repository: git-tracker works "
                "only in SHA-1 repositories (libgit2, the git library it uses, cannot read them)"
            )
        return cls(Path(toplevel).resolve(), Path(git_dir).resolve(), _abs(start.resolve(), common))

    @property
    def tracker_dir(self) -> Path:
        return self.common_dir / "tracker"

    @property
    def cache_dir(self) -> Path | None:
        """Where what can be computed again is kept (parsed records, churn); None: keep nothing."""
        return self.tracker_dir / "cache" if self.keeps_caches else None

    def without_caches(self) -> Repo:
        """This repository, read without keeping any cache."""
        return replace(self, keeps_caches=False)

    def git(self, *args: str, check: bool = True, stdin: str | None = None, hooks_off: bool = True) -> str:
        return run_git(list(args), cwd=self.toplevel, check=check, stdin=stdin, hooks_off=hooks_off)

    @cached_property
    def pygit(self) -> pygit2.Repository:
        import pygit2

        return pygit2.Repository(str(self.toplevel))

    # -- commits ------------------------------------------------------------------------------------

    def head(self) -> str | None:
        """The commit HEAD points at; None on an unborn branch (a repository with no commits)."""
        out = self.git("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).strip()
        return out or None

    def head_branch(self) -> str | None:
        """The branch HEAD is on (``refs/heads/…``), also before its first commit; None when HEAD is detached."""
        out = self.git("symbolic-ref", "-q", "HEAD", check=False).strip()
        return out or None

    def worktree_head(self, git_dir: str) -> tuple[bool, str | None]:
        """(found, HEAD's commit) of the worktree of this repository whose git dir is ``git_dir`` (relative to the
        common dir: ``.`` or ``worktrees/<id>``). found is False when that worktree was removed; the commit is
        None on an unborn branch."""
        path = self.common_dir / git_dir
        if path.resolve() == self.git_dir:
            return True, self.head()
        if not (path / "HEAD").is_file():
            return False, None
        # git reads a linked worktree's HEAD from its own git dir (and the refs from the common one).
        args = ["--git-dir", str(path), "rev-parse", "-q", "--verify", "HEAD^{commit}"]
        out = run_git(args, self.toplevel, check=False)
        return True, out.strip() or None

    def resolve_commit(self, rev: str) -> str | None:
        out = self.git("rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}", check=False)
        return out.strip() or None

    def commit_time(self, sha: str) -> int | None:
        """A commit's committer time (seconds since the epoch); None when there is no such commit."""
        try:
            return int(self.pygit[sha].peel(_pygit2().Commit).commit_time)
        except (KeyError, ValueError, _pygit2().GitError):
            return None

    def numstat_log(self, revisions: list[str], *, renames: bool, first_parent: bool) -> str:
        """``git log --numstat`` over revisions: commit headers ``\x00<sha>`` then numstat rows.

        Merges are excluded unless ``first_parent`` (then each merge counts as its diff against the first
        parent, i.e. what the pull request brought in).
        """
        args = ["log", "--numstat", "--format=%x00%H", "-M" if renames else "--no-renames", "--no-color"]
        args += ["--first-parent"] if first_parent else ["--no-merges"]
        return self.git(*args, *revisions, "--")

    def numstat_diff(self, old: str | None, new: str, *, renames: bool) -> str:
        """``git diff --numstat`` from ``old`` (the empty tree when None) to ``new``."""
        base = old or self.git("hash-object", "-t", "tree", "/dev/null").strip()
        return self.git("diff", "--numstat", "--no-color", "-M" if renames else "--no-renames", base, new, "--")

    def has_commit(self, sha: str) -> bool:
        return self.resolve_commit(sha) is not None

    def existing_commits(self, shas: list[str]) -> list[str]:
        """The ones of ``shas`` that are commits in this repository (one ``cat-file`` for all)."""
        if not shas:
            return []
        kinds = self.git("cat-file", "--batch-check=%(objecttype)", stdin="\n".join(shas) + "\n").split("\n")
        return [sha for sha, kind in zip(shas, kinds, strict=False) if kind == "commit"]

    def numstat_commits(self, commits: list[str], *, renames: bool, first_parent: bool) -> str:
        """``git log --numstat`` of exactly these commits (``\x00<sha>`` headers), read from stdin."""
        args = ["log", "--no-walk=unsorted", "--stdin", "--numstat", "--format=%x00%H"]
        args += ["-M" if renames else "--no-renames"]
        args += ["--diff-merges=first-parent"] if first_parent else ["--no-merges"]
        return self.git(*args, "--", stdin="".join(f"{commit}\n" for commit in commits))

    def commit_stats_log(self, commits: list[str]) -> str:
        """Per-commit numstat under the default policy (no renames, merges without a diff), for caching.

        Each commit starts with ``\x00<sha>\x00<parents>\x00<author> <email> <date> <zone>`` followed
        by its numstat rows; merges are listed (so the caller knows they are merges) with no rows.
        """
        args = ["log", "--no-walk=unsorted", "--stdin", "--numstat", "--no-renames", "--diff-merges=off"]
        args += ["--date=raw", "--format=%x00%H%x00%P%x00%an <%ae> %ad"]
        return self.git(*args, "--", stdin="".join(f"{commit}\n" for commit in commits))

    def unreachable_commits(self, commits: Iterable[str]) -> set[str]:
        """The ones of ``commits`` that no branch, tag, remote branch or HEAD reaches (git's own refs only:
        the ledger branch and the notes are left out, they never hold the user's commits)."""
        wanted = sorted(set(commits))
        if not wanted:
            return set()
        patterns = (LEDGER_REF, "refs/remotes/*/tracker-ledger", "refs/notes/*", "refs/tracker-remotes/*")
        negatives = ["--not", *(f"--exclude={pattern}" for pattern in patterns), "--all"]
        found: set[str] = set()
        # The candidates go on the command line, before --not (whether --not also applies to revisions
        # read with --stdin differs between git versions); in chunks well under the argument limit.
        for at in range(0, len(wanted), 2000):
            chunk = wanted[at : at + 2000]
            found |= set(self.git("rev-list", *chunk, *negatives, "--").split()) & set(chunk)
        return found

    def committer_email(self) -> str | None:
        """The e-mail git would commit as here and now (``user.email``, or ``GIT_COMMITTER_EMAIL``)."""
        ident = self.git("var", "GIT_COMMITTER_IDENT", check=False)
        start, end = ident.find("<"), ident.find(">")
        return ident[start + 1 : end] if 0 <= start < end else None

    def commits_with_dates(self, start: str | None, end: str) -> list[tuple[str, int, int, str]]:
        """Non-merge commits in ``start..end``: (id, committer time, author time, committer e-mail)."""
        revisions = [f"^{start}", end] if start else [end]
        out = self.git("log", "--no-merges", "--format=%H %ct %at %ce", *revisions, "--")
        rows = []
        for line in out.splitlines():
            parts = line.split(" ", 3)
            if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
                rows.append((parts[0], int(parts[1]), int(parts[2]), parts[3]))
        return rows

    def notes_listing(self, tip: str | None = None) -> list[tuple[str, str]]:
        """Every note of ``refs/notes/tracker`` (or of the notes commit ``tip``) as (note blob, annotated
        commit), at any fanout."""
        if tip is None:
            listing = self.git("notes", "--ref", NOTES_REF, "list", check=False).split()
            return list(zip(listing[0::2], listing[1::2], strict=False))
        pairs = []
        for line in self.git("ls-tree", "-r", tip).splitlines():
            meta, _, path = line.partition("\t")
            parts = meta.split()
            commit = path.replace("/", "")
            if len(parts) == 3 and parts[1] == "blob" and is_object_id(commit):
                pairs.append((parts[2], commit))
        return pairs

    def blob_bodies(self, blobs: list[str]) -> list[bytes]:
        """The contents of these blobs (empty for a missing one), in order; one ``cat-file --batch``."""
        if not blobs:
            return []
        out = run_git_bytes(["cat-file", "--batch"], self.toplevel, stdin="".join(f"{b}\n" for b in blobs).encode())
        return list(_batch_bodies(out))

    def count_commits(self, revisions: list[str], *, first_parent: bool) -> int:
        args = ["rev-list", "--count", *(["--first-parent"] if first_parent else ["--no-merges"]), *revisions]
        return int(self.git(*args, "--").strip() or 0)

    # -- config ---------------------------------------------------------------------------------------

    def _write_config(self, *args: str, check: bool = True) -> None:
        run_git(["config", *args], cwd=self.toplevel, check=check, shielded=True)

    def config_get_all(self, key: str) -> list[str]:
        """The repository's own values of ``key``; an empty list when it has none (git exits 1 then). Any
        other failure is raised: it must not read as "unset"."""
        return run_git(["config", "--local", "--get-all", key], self.toplevel, allowed=(0, 1)).splitlines()

    def config_set(self, key: str, value: str) -> None:
        self._write_config("--local", key, value)

    def config_replace_all(self, key: str, value: str) -> None:
        """``key`` set to ``value`` alone, however many values it had."""
        self._write_config("--local", "--replace-all", key, value)

    def config_add(self, key: str, value: str) -> None:
        self._write_config("--local", "--add", key, value)

    def config_unset_all(self, key: str) -> None:
        self._write_config("--local", "--unset-all", key, check=False)

    def config_unset_value(self, key: str, value: str) -> None:
        # --fixed-value: the value is a literal, not a regex (git >= 2.30).
        self._write_config("--local", "--fixed-value", "--unset-all", key, value, check=False)

    def config_remove_section_if_empty(self, section: str) -> bool:
        """Remove ``[section]`` when no key is left in it (``--unset`` may leave the empty header behind)."""
        if self.git("config", "--local", "--get-regexp", f"^{section}\\.", check=False).strip():
            return False
        self._write_config("--local", "--remove-section", section, check=False)
        return True

    @property
    def config_file(self) -> Path:
        """The file ``git config --local`` writes (shared by every worktree)."""
        return self.common_dir / "config"

    def config_bytes_after_add(self, original: bytes, key: str, value: str, scratch: Path) -> bytes:
        """The bytes ``config_add(key, value)`` turns ``original`` into, computed by git on a copy.

        ``uninstall`` compares the config with this to know that nobody else changed it since ``init``;
        then it puts the original bytes back, where ``--unset`` may leave an empty section header or
        otherwise differ from what was there.
        """
        from gittracker.files import temp_path

        scratch.mkdir(parents=True, exist_ok=True)
        copy = temp_path(scratch / "config")
        try:
            copy.write_bytes(original)
            run_git(["config", "--file", str(copy), "--add", key, value], cwd=self.toplevel)
            return copy.read_bytes()
        finally:
            copy.unlink(missing_ok=True)

    def replace_config_file(self, expected: bytes, data: bytes) -> bool:
        """Put ``data`` in the config file if it still holds ``expected``; False if it changed meanwhile.

        Written the way git writes it, through ``config.lock`` (created exclusively, renamed over the
        config), so a concurrent ``git config`` either finishes first (and we see its change) or waits
        for us. Our lock is a hard link to a temp file named with our pid: if we are killed holding it,
        ``remove_dead_config_writes`` can tell the lock is ours and remove it.
        """
        from gittracker.files import temp_path

        config = self.config_file
        lock = config.with_name("config.lock")
        tmp = temp_path(config)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), config.stat().st_mode & 0o7777)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:  # the link is made inside the try: a Ctrl-C just after it must still undo it
                try:
                    os.link(tmp, lock)
                except FileExistsError:
                    raise GitFailed(
                        f"{lock} exists: another git process is changing the config (if none is, delete that file)"
                    ) from None
                if config.read_bytes() != expected:
                    return False
                os.rename(lock, config)
                return True
            finally:
                with contextlib.suppress(FileNotFoundError):
                    if os.path.samefile(lock, tmp):
                        lock.unlink()
        finally:
            tmp.unlink(missing_ok=True)

    def dead_config_writes(self) -> list[Path]:
        """Temp files of a ``replace_config_file`` that was killed, and the ``config.lock`` it still held."""
        from gittracker.files import dead_temp_files

        found = []
        lock = self.config_file.with_name("config.lock")
        for leftover in dead_temp_files(self.common_dir, only="config"):
            with contextlib.suppress(FileNotFoundError):
                if lock.exists() and os.path.samefile(lock, leftover):
                    found.append(lock)
            found.append(leftover)
        return found

    def remove_dead_config_writes(self) -> list[Path]:
        removed = []
        for leftover in self.dead_config_writes():  # the lock comes before the temp file it links to
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed.append(leftover)
        return removed

    def config_lock_age(self) -> float | None:
        """Seconds since ``config.lock`` was created, or None when there is none."""
        try:
            return time.time() - self.config_file.with_name("config.lock").stat().st_mtime
        except FileNotFoundError:
            return None

    def is_tracked(self, path: Path) -> bool:
        """Whether ``path`` (in this work tree) is a file git tracks."""
        done = self.git("ls-files", "--", str(path), check=False)
        return bool(done.strip())

    def is_ignored(self, path: Path) -> bool:
        """Whether git ignores ``path`` (in this work tree): a .gitignore, info/exclude or core.excludesFile
        pattern matches it. A file git tracks is never ignored (``is_tracked``)."""
        return run_git_result(["check-ignore", "-q", "--", str(path)], self.toplevel).code == 0

    def hooks_dir(self) -> Path:
        """Where git looks for hooks: ``core.hooksPath`` when set, else ``<common-dir>/hooks``."""
        out = self.git("rev-parse", "--git-path", "hooks", hooks_off=False).strip()
        return _abs(self.toplevel, out)

    # -- the ledger branch --------------------------------------------------------------------------

    def ledger_tip(self) -> str | None:
        return self._ref_tip(LEDGER_REF)

    def _ref_tip(self, ref: str) -> str | None:
        """A ref's commit, from git's files where they tell (a report whose caches are current then never loads
        pygit2 for it), else from libgit2."""
        known, tip = ref_tip(str(self.common_dir), ref)
        if known:
            return tip
        found = self.pygit.references.get(ref)
        return str(found.target) if found is not None else None

    def ledger_tip_fast(self) -> str | None:
        """The ledger tip without loading pygit2 (for paths that usually stop before touching the ledger)."""
        out = self.git("rev-parse", "-q", "--verify", f"{LEDGER_REF}^{{commit}}", check=False).strip()
        return out or None

    def missing_records(self, records: Iterable[Record]) -> list[Record]:
        """The records whose paths the ledger does not have yet (one tree, looked up once per record)."""
        items = list(records)
        tree = self._ledger_tree() if items else None
        if tree is None:
            return list({record.id: record for record in items}.values())
        out: dict[str, Record] = {}
        for record in items:
            if record.id not in out and _tree_lookup(tree, record_path(record.id, record.kind)) is None:
                out[record.id] = record
        return list(out.values())

    def worktree_paths(self) -> list[Path]:
        out = self.git("worktree", "list", "--porcelain", check=False)
        paths = [Path(line[len("worktree ") :]) for line in out.splitlines() if line.startswith("worktree ")]
        return paths or [self.toplevel]

    def worktree_roots(self) -> list[str]:
        """The real paths of this repository's work trees (the main one and every ``git worktree``)."""
        return [str(path.resolve()) for path in self.worktree_paths()]

    def append_records(self, records: Iterable[Record], message: str | None = None) -> str | None:
        """Append records to the ledger branch in one commit; compare-and-swap, retried on a lost race.

        Idempotent: a record whose path already exists is skipped, so a retried or recovered write never
        duplicates. Returns the new tip, or None when every record was already there.
        """
        blobs: dict[str, bytes] = {}
        for record in records:
            blobs[record_path(record.id, record.kind)] = (record.to_json() + "\n").encode()
        if not blobs:
            return None
        self._refuse_while_ledger_checked_out()
        kinds = sorted({path.split("/", 1)[0] for path in blobs})
        summary = message or f"tracker: append {len(blobs)} record(s) ({', '.join(kinds)})"
        return self._cas_update(LEDGER_REF, lambda base: self._tree_with_files(base, blobs), summary)

    def append_records_on(self, tip: str | None, records: Iterable[Record], message: str | None = None) -> str | None:
        """``append_records``, only while the ledger's tip is still ``tip``: for a write decided from what the
        ledger held at ``tip`` (no second plan, no duplicate feature). ``LedgerMoved`` when another writer came
        first: read again and decide again."""
        blobs = {record_path(record.id, record.kind): (record.to_json() + "\n").encode() for record in records}
        if not blobs:
            return None
        self._refuse_while_ledger_checked_out()
        summary = message or f"tracker: append {len(blobs)} record(s) ({', '.join(sorted({r.kind for r in records}))})"
        return self._cas_update(LEDGER_REF, lambda base: self._tree_with_files(base, blobs), summary, expected_tip=tip)

    def ledger_checked_out_in(self) -> Path | None:
        """The work tree that has the ledger branch checked out, if any does.

        Asked before every ledger write, so the work trees' HEAD files are read first (a git process would
        triple the cost of an append); git is asked only to name the work tree, or where files cannot tell.
        """
        if not (self.common_dir / "reftable").exists() and not any(
            _reads(head) == f"ref: {LEDGER_REF}" for head in self._worktree_heads()
        ):
            return None
        listing = self.git("worktree", "list", "--porcelain", check=False)
        path = None
        for line in listing.splitlines():
            if line.startswith("worktree "):
                path = Path(line[len("worktree ") :])
            elif line == f"branch {LEDGER_REF}" and path is not None:
                return path
        return None

    def _worktree_heads(self) -> list[Path]:
        linked = self.common_dir / "worktrees"
        return [self.common_dir / "HEAD", *(linked.glob("*/HEAD") if linked.is_dir() else [])]

    def _refuse_while_ledger_checked_out(self) -> None:
        """Moving a checked-out branch leaves that work tree's index behind: its next commit would take back
        every record appended meanwhile. So nothing is written while anyone has it checked out."""
        where = self.ledger_checked_out_in()
        if where is not None:
            raise Refused(
                f"{LEDGER_REF.removeprefix('refs/heads/')} is checked out in {where}: git-tracker writes nothing to it "
                "while it is (a commit there would drop records); switch that work tree to another branch first"
            )

    def ledger_has(self, record_id: str, kind: str) -> bool:
        tree = self._ledger_tree()
        return tree is not None and _tree_lookup(tree, record_path(record_id, kind)) is not None

    def records_at(self, wanted: Iterable[tuple[str, str]]) -> dict[str, Record]:
        """The records with these (id, kind), read from their own paths (no walk), by id; absent or unusable
        ones are left out."""
        tree = self._ledger_tree()
        found: dict[str, Record] = {}
        for record_id, kind in wanted if tree is not None else ():
            path = record_path(record_id, kind)
            try:
                blob = tree[path]
            except KeyError:
                continue
            record = _stored_at(path, blob)
            if isinstance(record, Record):
                found[record.id] = record
        return found

    def records_since_day(self, kinds: Iterable[str], day: str) -> list[Record]:
        """The usable records of ``kinds`` on the days from ``day`` (``YYYY/MM/DD``, a record's id time) on, in id
        order: only those days' folders are walked, so the cost follows the days, not the ledger's size.
        Unusable files are left out (the index reports them)."""
        tree = self._ledger_tree()
        records: list[Record] = []
        for kind in kinds if tree is not None else ():
            try:
                top = tree[kind]
            except KeyError:
                continue
            for path, blob in _walk_days(top, kind, day.split("/")):
                found = _stored_at(path, blob)
                if isinstance(found, Record):
                    records.append(found)
        records.sort(key=lambda record: record.id)
        return records

    def stored_blob_ids(self, kind: str) -> list[tuple[str, str]]:
        """(path, blob id) of every file under one kind's folder at the ledger tip, named without being read.

        For records too large to parse whole on every read (a proxy batch holds up to 50,000 events): the caller
        reads the blobs it needs (``blob_data``), decodes only the fields it needs and checks what it decodes, or
        keys a cache of something computed from them by these ids.
        """
        tree = self._ledger_tree()
        try:
            top = tree[kind] if tree is not None else None
        except KeyError:
            return []
        return [] if top is None else [(path, str(blob.id)) for path, blob in _walk_blobs(top, kind)]

    def blob_data(self, blob_id: str) -> bytes:
        data: bytes = self.pygit[blob_id].read_raw()
        return data

    def read_records(self, kinds: Iterable[str] | None = None) -> list[Record]:
        """Every record on the ledger branch that this version can use (optionally only some kinds), in id order.

        Files it cannot use (another version's kinds, hand-written or damaged files) are skipped and reported
        through ``warnings`` as ``SkippedWarning``; see ``read_ledger``.
        """
        return self.read_ledger(kinds)[0]

    def read_ledger(self, kinds: Iterable[str] | None = None) -> tuple[list[Record], list[Skipped]]:
        """The usable records in id order, and the files skipped (each also reported as a ``SkippedWarning``).

        With ``kinds``, only those kinds are read, plus whatever is no record of a known kind (another
        version's kinds, stray files), so that every read reports those.
        """
        with _records_kept_from_cyclic_gc():
            records, skipped = self._read_ledger_at_tip(set(kinds) if kinds is not None else None)
        report_skipped(skipped)
        return records, skipped

    def _read_ledger_at_tip(self, wanted: set[str] | None) -> tuple[list[Record], list[Skipped]]:
        """The read of the ledger's current tip, kept for the next read of that same tip (``readcache``).

        The tip is read once and the tree read is that commit's, so what is kept under a tip is that tip's.
        """
        from gittracker import readcache

        tip = self.ledger_tip()
        if tip is None:
            return [], []
        path = readcache.cache_path(self.cache_dir, wanted) if self.cache_dir is not None else None
        if path is not None:
            kept = readcache.load(path, tip, wanted)
            if kept is not None:
                return kept
        records, skipped = self._read_tree(self.pygit[tip].peel(_pygit2().Tree), wanted)
        if path is not None:
            readcache.save(path, tip, wanted, records, skipped)
        return records, skipped

    def _read_tree(self, tree: Any, wanted: set[str] | None) -> tuple[list[Record], list[Skipped]]:
        """Parsed records are cached by blob id in ``<tracker>/cache/records.json``: a blob never changes,
        so each one is read and validated once, and reports over large ledgers skip most of the work.
        Skipped files are not cached: they are rare, and reading them again keeps what they held at hand.
        """
        if tree is None:
            return [], []
        cache = _RecordCache(self.cache_dir / "records.json" if self.cache_dir else None)
        records: list[Record] = []
        skipped: list[Skipped] = []
        for path, blob in _walk_blobs_of_ledger(tree, wanted):
            key = str(blob.id)
            cached = cache.get(key)
            if isinstance(cached, dict):
                try:
                    records.append(Record.trusted(cached))
                    continue
                except (KeyError, TypeError):
                    pass  # a damaged cache entry: read the blob instead
            found = _stored_at(path, blob)
            if isinstance(found, Skipped):
                skipped.append(found)
                continue
            if found.kind not in BULK_KINDS:
                cache.put(key, found.to_dict())
            records.append(found)
        cache.save()
        records.sort(key=lambda record: record.id)
        return records, skipped

    def ledger_records_since(self, old_tip: str | None, kinds: Iterable[str]) -> LedgerUpdate | None:
        """Records of ``kinds`` added to the ledger since ``old_tip``, in id order, and the files skipped.

        The ledger is append-only, so a tree diff from the old tip lists exactly the new records and
        skips every unchanged subtree: the cost follows what was added, not the ledger's size. Returns
        None when the diff shows anything but additions (a rewritten ledger): the caller rebuilds.
        Files that are no record of a known kind are read too, so that they are always reported; the
        caller reports what was skipped.
        """
        tip = self.ledger_tip()  # read from git's files: in the common case, no change, pygit2 stays unloaded
        if tip is None or tip == old_tip:
            return LedgerUpdate(tip, [], [])
        wanted = set(kinds)
        new_tree = self._ledger_tree()
        if old_tip is None:
            return LedgerUpdate(tip, *self._read_tree(new_tree, wanted))
        try:
            old_tree = self.pygit[old_tip].peel(_pygit2().Tree)
        except (KeyError, ValueError):
            return None
        added: list[Record] = []
        skipped: list[Skipped] = []
        for delta in self.pygit.diff(old_tree, new_tree).deltas:
            path = delta.new_file.path
            if delta.status_char() != "A":
                return None
            if _worth_reading(path.split("/", 1)[0] if "/" in path else "", wanted):
                found = _stored_at(path, self.pygit.get(delta.new_file.id), delta.new_file.id)
                if isinstance(found, Skipped):
                    skipped.append(found)
                else:
                    added.append(found)
        added.sort(key=lambda record: record.id)
        return LedgerUpdate(tip, added, skipped)

    def _ledger_tree(self) -> Any:
        tip = self.ledger_tip()
        return self.pygit[tip].peel(_pygit2().Tree) if tip else None

    # -- notes ----------------------------------------------------------------------------------------

    def note_text(self, commit: str) -> str:
        ref = self.pygit.references.get(NOTES_REF)
        if ref is None:
            return ""
        tree = self.pygit[ref.target].peel(_pygit2().Tree)
        for path in _note_paths(commit):
            blob_id = _tree_lookup(tree, path)
            if blob_id is not None:
                blob: Any = self.pygit[blob_id]
                return str(blob.data.decode("utf-8", "replace"))
        return ""

    def add_note_lines(self, lines_by_commit: Mapping[str, Iterable[str]]) -> str | None:
        """Merge lines into the notes of many commits at once, as ``cat_sort_uniq`` would.

        Notes are written with a two-hex-digit fanout (``ab/cdef…``) so a write touches one small
        subtree, not a flat tree holding every note; existing notes at any fanout depth are found and
        updated where they are. One commit on ``refs/notes/tracker``, compare-and-swap with retry.
        """
        wanted = {commit: set(lines) for commit, lines in lines_by_commit.items() if lines}
        if not wanted:
            return None

        def rebuild(base: Any) -> Any:
            files: dict[str, bytes] = {}
            for commit, lines in wanted.items():
                path, old = _note_path_and_text(self.pygit, base, commit)
                merged = sorted((set(old.splitlines()) | lines) - {""})
                if merged != sorted(set(old.splitlines()) - {""}) or not old:
                    files[path] = ("\n".join(merged) + "\n").encode()
            return self._tree_with_files(base, files, replace=True) if files else None

        return self._cas_update(NOTES_REF, rebuild, "Notes added by 'git tracker'")

    def notes_ref_exists(self) -> bool:
        return bool(self.git("rev-parse", "-q", "--verify", NOTES_REF, check=False).strip())

    def delete_initial_notes_ref(self) -> bool:
        """Delete ``refs/notes/tracker`` while it is still the empty commit ``create_notes_ref`` makes.

        Told apart by its shape (no parent, the empty tree, init's message), so it works whether or not
        the creating ``init`` lived to record the commit id; compare-and-swap on that commit.
        """
        tip = self.git("rev-parse", "-q", "--verify", NOTES_REF, check=False).strip()
        if not tip:
            return False
        header, _, message = self.git("cat-file", "commit", tip, check=False).partition("\n\n")
        fields = header.splitlines()
        empty_tree = self.git("hash-object", "-t", "tree", "/dev/null").strip()
        if f"tree {empty_tree}" not in fields or any(line.startswith("parent ") for line in fields):
            return False
        if message.strip() != INITIAL_NOTES_MESSAGE:
            return False
        self.git("update-ref", "-d", NOTES_REF, tip, check=False)
        return not self.notes_ref_exists()

    def create_notes_ref(self) -> str | None:
        """Create an empty ``refs/notes/tracker`` if missing; the new tip, or None if it existed.

        git warns "notes ref … is invalid" on every amend and rebase while a configured
        ``notes.rewriteRef`` does not exist yet. Written by git processes, not libgit2: a git child
        finishes its ref update (or, on Ctrl-C, removes its lock) even when ``init`` is killed, where a
        libgit2 write killed halfway leaves ``refs/notes/tracker.lock`` behind.
        """
        if self.notes_ref_exists():
            return None
        identity = {
            "GIT_AUTHOR_NAME": TRACKER_NAME,
            "GIT_AUTHOR_EMAIL": TRACKER_EMAIL,
            "GIT_COMMITTER_NAME": TRACKER_NAME,
            "GIT_COMMITTER_EMAIL": TRACKER_EMAIL,
        }
        empty = self.git("hash-object", "-t", "tree", "-w", "--stdin", stdin="").strip()
        commit = run_git(["commit-tree", empty, "-m", INITIAL_NOTES_MESSAGE], cwd=self.toplevel, env=identity).strip()
        # The empty old value: only if the ref still does not exist (another process may have created it).
        self.git("update-ref", NOTES_REF, commit, "", check=False)
        return commit if self.git("rev-parse", "-q", "--verify", NOTES_REF, check=False).strip() == commit else None

    def notes_tip(self) -> str | None:
        return self._ref_tip(NOTES_REF)

    # -- sync with a remote (the policy, what to fetch, merge and push, is sync.py's) --------------------

    def remotes(self) -> dict[str, list[str]]:
        """Each configured remote (it has a ``remote.<name>.url``) with its ``remote.<name>.fetch`` refspecs, what a
        plain ``git fetch`` of it writes; one ``git config`` for all."""
        out = run_git(["config", "-z", "--get-regexp", r"^remote\..*\.(url|fetch)$"], self.toplevel, allowed=(0, 1))
        found: dict[str, list[str]] = {}
        for item in filter(None, out.split("\0")):
            key, _, value = item.partition("\n")
            name, _, setting = key.removeprefix("remote.").rpartition(".")
            specs = found.setdefault(name, [])
            if setting == "fetch":
                specs.append(value)
        return found

    def ref_tips(self, refs: Iterable[str]) -> dict[str, str]:
        """Those of ``refs`` that exist, each with the object it points at (one ``git for-each-ref``)."""
        wanted = set(refs)
        out = self.git("for-each-ref", "--format=%(objectname) %(refname)", *sorted(wanted))
        pairs = (line.split(" ", 1) for line in out.splitlines() if " " in line)
        return {name: sha for sha, name in pairs if name in wanted}

    def remote_tips(
        self, remote: str, refs: Iterable[str], *, env: Mapping[str, str] | None = None, deadline: float | None = None
    ) -> dict[str, str]:
        """Those of ``refs`` that the remote has, with their tips: one ``git ls-remote``, nothing fetched."""
        wanted = set(refs)
        args = ["ls-remote", "--refs", remote, *sorted(wanted)]
        done = run_git_result(args, self.toplevel, env=env, deadline=deadline)
        if done.code != 0:
            raise GitFailed(f"could not reach remote {remote}: {done.last_error()}")
        pairs = (line.split("\t", 1) for line in done.out.splitlines() if "\t" in line)
        return {name: sha for sha, name in pairs if name in wanted and is_object_id(sha)}

    def fetch_into_tracking(
        self, remote: str, refs: Iterable[str], *, env: Mapping[str, str] | None = None, deadline: float | None = None
    ) -> dict[str, str]:
        """Fetch the remote's ``refs`` into their tracking refs (``tracking_ref``) and return what those now hold.

        Only the tracking refs are written, forced (they are nothing but a copy of what the remote holds, and
        a remote may rewind): never a local ref, and with ``--refmap=`` not even what a configured
        ``remote.<name>.fetch`` would write opportunistically (a forced ``+refs/notes/*:refs/notes/*`` there
        would otherwise replace this clone's notes). No tags, no FETCH_HEAD, no submodules, no maintenance.
        """
        wanted = sorted(set(refs))
        specs = [f"+{ref}:{tracking_ref(remote, ref)}" for ref in wanted]
        args = ["fetch", "--quiet", "--no-tags", "--no-prune", "--no-write-fetch-head", "--no-auto-maintenance"]
        args += ["--no-recurse-submodules", "--refmap=", remote, *specs]
        done = run_git_result(args, self.toplevel, env=env, deadline=deadline)
        if done.code != 0:
            if "cannot lock ref" in done.err:  # another sync in this clone is fetching the same refs right now
                raise LostRace(f"could not fetch from remote {remote}: {done.last_error()}")
            raise GitFailed(f"could not fetch from remote {remote}: {done.last_error()}")
        found = self.ref_tips(tracking_ref(remote, ref) for ref in wanted)
        return {ref: found[tracking_ref(remote, ref)] for ref in wanted if tracking_ref(remote, ref) in found}

    def set_tracking(self, remote: str, tips: Mapping[str, str | None]) -> None:
        """Point tracking refs at what the remote is known to hold (None: it has no such ref).

        Not compare-and-swap: a tracking ref is only a copy of the remote that keeps its objects from being
        pruned; a sync reads the remote's real tips first (``remote_tips``) and never trusts it. Best effort.
        """
        lines = [
            f"update {tracking_ref(remote, ref)} {tip}" if tip else f"delete {tracking_ref(remote, ref)}"
            for ref, tip in sorted(tips.items())
        ]
        if lines:
            self.git("update-ref", "-m", "tracker: sync", "--stdin", stdin="\n".join(lines) + "\n", check=False)

    def move_refs(self, moves: Mapping[str, tuple[str, str | None]], message: str) -> bool:
        """Move each ref from its old tip (None: it must not exist yet) to its new one, all or none; False when one
        of them was moved meanwhile by someone else (then nothing changed).

        One ``git update-ref --stdin`` transaction, run by git and not libgit2: if this process is killed, the
        git child still finishes (or abandons) its transaction and removes its lock files, where a libgit2
        write killed halfway would leave a ``.lock`` that blocks every later write.
        """
        if LEDGER_REF in moves:
            self._refuse_while_ledger_checked_out()
        lines = ["start", *(f"update {ref} {new} {old or ZERO_OID}" for ref, (new, old) in sorted(moves.items()))]
        script = "\n".join([*lines, "prepare", "commit"]) + "\n"
        waited_since = time.monotonic()
        while True:
            done = run_git_result(["update-ref", "-m", message, "--stdin"], self.toplevel, stdin=script)
            if done.code == 0:
                return True
            if "File exists" in done.err:  # another writer holds a lock for milliseconds; a killed one, for good
                for ref in moves:
                    self._fail_if_stale_lock(ref)
                if time.monotonic() - waited_since > 2 * STALE_LOCK_SECONDS:
                    raise GitFailed(f"could not update {', '.join(sorted(moves))}: {done.last_error()}")
                time.sleep(random.uniform(0.005, 0.02))
                continue
            if "cannot lock ref" in done.err:
                return False
            raise GitFailed(f"could not update {', '.join(sorted(moves))}: {done.last_error()}")

    def tree_changes(self, ours: str | None, theirs: str | None) -> list[TreeChange]:
        """Every file whose content differs between the trees of two commits (None: an empty tree).

        ``git diff-tree`` skips every subtree the two share, so the cost follows what differs; run as a git
        process, it also spares the common sync (only one side moved) loading libgit2.
        """
        args = ["diff-tree", "-r", "-z", "--raw", "--no-renames", "--no-commit-id", "--no-ext-diff"]
        out = run_git_bytes([*args, ours or EMPTY_TREE, theirs or EMPTY_TREE], self.toplevel)
        fields = out.split(b"\0")
        changes = []
        for at in range(0, len(fields) - 1, 2):
            old_mode, new_mode, old, new, status = fields[at].decode().lstrip(":").split(" ")
            path = fields[at + 1].decode(errors="surrogateescape")
            if status == "A":
                changes.append(TreeChange(path, None, new, int(new_mode, 8)))
            elif status == "D":
                changes.append(TreeChange(path, old, None, int(old_mode, 8)))
            elif status in ("M", "T"):
                changes.append(TreeChange(path, old, new, int(new_mode, 8)))
        return changes

    def with_files(self, commits: list[str]) -> list[str]:
        """The ones of ``commits`` whose tree holds anything (one ``git rev-parse`` for all)."""
        if not commits:
            return []
        trees = self.git("rev-parse", *(f"{commit}^{{tree}}" for commit in commits)).split()
        return [commit for commit, tree in zip(commits, trees, strict=True) if tree != EMPTY_TREE]

    def tree_with(self, base: str | None, entries: Mapping[str, tuple[str | bytes, int]]) -> tuple[str, list[str]]:
        """The tree of commit ``base`` (None: empty) with ``entries`` (path -> (blob id or content, file mode))
        put in, replacing what is at those paths; and the paths that could not both stay.

        A directory and a file can never share a name: the directory is kept (records live in directories) and
        the file's path is returned, its content still in the parents' history.
        """
        nested: dict[str, Any] = {}
        for path, entry in entries.items():
            node = nested
            *dirs, name = path.split("/")
            for part in dirs:
                node = node.setdefault(part, {})
            node[name] = entry
        base_tree = self.pygit[base].peel(_pygit2().Tree) if base else None
        displaced: list[str] = []
        tree = self._write_entries(base_tree, nested, "", displaced)
        return str(tree), displaced

    def _write_entries(self, base: Any, nested: Mapping[str, Any], prefix: str, displaced: list[str]) -> Any:
        pygit2 = _pygit2()
        repo = self.pygit
        builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
        for name, child in nested.items():
            existing = builder.get(name)
            here = f"{prefix}{name}"
            if isinstance(child, dict):
                sub = None
                if existing is not None and existing.type_str == "tree":
                    sub = repo[existing.id]
                elif existing is not None:
                    displaced.append(here)
                builder.insert(name, self._write_entries(sub, child, f"{here}/", displaced), pygit2.enums.FileMode.TREE)
            elif existing is not None and existing.type_str == "tree":
                displaced.append(here)
            else:
                content, mode = child
                blob = repo.create_blob(content) if isinstance(content, bytes) else pygit2.Oid(hex=content)
                builder.insert(name, blob, mode)
        return builder.write()

    def merge_commit(self, tree: str, parents: list[str], message: str) -> str:
        """A commit of ``tree`` with these parents, written as an object only: no ref moves."""
        pygit2 = _pygit2()
        signature = pygit2.Signature(TRACKER_NAME, TRACKER_EMAIL)
        oids = [pygit2.Oid(hex=parent) for parent in parents]
        return str(self.pygit.create_commit(None, signature, signature, message, pygit2.Oid(hex=tree), oids))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        done = run_git_result(["merge-base", "--is-ancestor", ancestor, descendant], self.toplevel)
        if done.code not in (0, 1):
            raise GitFailed(f"git merge-base failed: {done.last_error()}")
        return done.code == 0

    def push_refs(
        self,
        remote: str,
        updates: Mapping[str, str],
        *,
        atomic: bool,
        env: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> PushResult:
        """Push each ``ref`` to the commit given, without force: the remote takes only fast-forwards.

        ``--porcelain`` gives one line per ref to read the verdict from; no pre-push hook, no tags, no signing
        (a ``push.gpgSign`` meant for the user's pushes must not stop these), no submodules.
        """
        args = ["push", "--porcelain", *(["--atomic"] if atomic else []), "--no-verify", "--no-follow-tags"]
        args += ["--no-signed", "--recurse-submodules=no", remote]
        args += [f"{commit}:{ref}" for ref, commit in sorted(updates.items())]
        done = run_git_result(args, self.toplevel, env=env, deadline=deadline)
        return PushResult(done.code, parse_push_porcelain(done.out), done.last_error(), ATOMIC_UNSUPPORTED in done.err)

    # -- shared machinery -------------------------------------------------------------------------

    def _cas_update(self, refname: str, rebuild: Any, message: str, expected_tip: object = ANY_TIP) -> str | None:
        """Commit ``rebuild(current tree)`` on top of ``refname`` and move the ref only if unchanged (and, given
        ``expected_tip``, only on that tip: ``LedgerMoved`` otherwise)."""
        try:
            return self._cas_attempts(refname, rebuild, message, expected_tip)
        except OSError as error:  # libgit2 could not write an object or the ref: the disk is full or read-only
            raise StorageFailed(f"could not write {refname}: {error}; it was left as it was") from None

    def _cas_attempts(self, refname: str, rebuild: Any, message: str, expected_tip: object) -> str | None:
        pygit2 = _pygit2()
        repo = self.pygit
        for attempt in range(CAS_ATTEMPTS):
            ref = repo.references.get(refname)
            tip = ref.target if ref is not None else None
            if expected_tip is not ANY_TIP and (str(tip) if tip is not None else None) != expected_tip:
                raise LedgerMoved(refname)
            base = repo[tip].peel(pygit2.Tree) if tip is not None else None
            tree = rebuild(base)
            if tree is None or (base is not None and tree == base.id):
                return None
            signature = pygit2.Signature(TRACKER_NAME, TRACKER_EMAIL)
            parents = [tip] if tip is not None else []
            commit = repo.create_commit(None, signature, signature, message, tree, parents)
            try:
                with repo.transaction() as txn:
                    txn.lock_ref(refname)
                    current = repo.references.get(refname)
                    if (current.target if current is not None else None) != tip:
                        raise _Moved
                    txn.set_target(refname, commit, message=message)
                return str(commit)
            except _Moved:
                pass
            except pygit2.GitError:
                self._fail_if_stale_lock(refname)
            time.sleep(random.uniform(0.001, 0.004) * min(attempt + 1, 20))
        raise LostRace(f"could not update {refname}: {CAS_ATTEMPTS} attempts lost to concurrent writers")

    def _fail_if_stale_lock(self, refname: str) -> None:
        """A writer holds a ref's lock for milliseconds; one left for seconds was killed mid-write.

        Spinning on it would stall every command and hook for the whole retry budget, so say which file
        it is and stop (git itself refuses the same way).
        """
        lock = self.common_dir / f"{refname}.lock"
        try:
            age = time.time() - lock.stat().st_mtime
        except FileNotFoundError:
            return
        if age > STALE_LOCK_SECONDS:
            raise GitFailed(
                f"{lock} has been held for {age:.0f} s: another git process is writing {refname}, or one was "
                "killed; if no git process is running, delete that file"
            )

    def _tree_with_files(self, base: Any, files: Mapping[str, bytes], *, replace: bool = False) -> Any:
        """A new tree: ``base`` plus ``files`` (path -> content). Existing paths are kept unless ``replace``."""
        nested: dict[str, Any] = {}
        for path, content in files.items():
            node = nested
            *dirs, name = path.split("/")
            for part in dirs:
                node = node.setdefault(part, {})
            node[name] = content
        return self._write_tree(base, nested, replace)

    def _write_tree(self, base: Any, nested: Mapping[str, Any], replace: bool) -> Any:
        pygit2 = _pygit2()
        repo = self.pygit
        builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
        for name, child in nested.items():
            existing = builder.get(name)
            if isinstance(child, dict):
                sub = repo[existing.id] if existing is not None and existing.type_str == "tree" else None
                builder.insert(name, self._write_tree(sub, child, replace), pygit2.enums.FileMode.TREE)
            elif existing is None or replace:
                builder.insert(name, repo.create_blob(child), pygit2.enums.FileMode.BLOB)
        return builder.write()


class _RecordCache:
    """Parsed ledger records by blob id; rewritten only when enough new entries piled up."""

    RESAVE_AFTER = 64

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: nothing is kept
        self.added = 0
        self.data: dict[str, dict[str, Any]] = {}
        if path is None:
            return
        try:
            loaded = json.loads(path.read_text())
            self.data = loaded if isinstance(loaded, dict) else {}
        except (FileNotFoundError, ValueError):
            pass

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        self.data[key] = record
        self.added += 1

    def save(self) -> None:
        if self.path is None:
            return
        if self.added >= self.RESAVE_AFTER or (self.added and len(self.data) < 4 * self.RESAVE_AFTER):
            from gittracker.files import write_cache

            if self.path.parent.parent.is_dir():  # only inside an initialised tracker dir
                write_cache(self.path, json.dumps(self.data, separators=(",", ":")))


class _Moved(Exception):
    """The ref moved between reading it and locking it."""


@contextlib.contextmanager
def _records_kept_from_cyclic_gc() -> Iterator[None]:
    """Build a read's records with the cyclic garbage collector paused, then move them out of its way for good.

    A large read makes a few hundred thousand dicts and tuples: each batch of them set off a collection that
    walked every object made before (about half of a 200,000-record ``preview`` went to that), and every full
    collection afterwards would walk them again. Records are immutable and hold no cycles, so the collector has
    nothing to find in them; what they free, reference counting frees.
    """
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # everything alive now is left out of later collections
        if paused:
            gc.enable()


def _pygit2() -> Any:
    import pygit2

    return pygit2


def _note_paths(commit: str) -> tuple[str, str, str]:
    return (f"{commit[:2]}/{commit[2:]}", commit, f"{commit[:2]}/{commit[2:4]}/{commit[4:]}")


def _note_path_and_text(repo: Any, base: Any, commit: str) -> tuple[str, str]:
    if base is not None:
        for path in _note_paths(commit):
            blob_id = _tree_lookup(base, path)
            if blob_id is not None:
                return path, repo[blob_id].data.decode("utf-8", "replace")
    return _note_paths(commit)[0], ""


def _tree_lookup(tree: Any, path: str) -> Any:
    try:
        return tree[path].id
    except KeyError:
        return None


def _reads(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


TRACKING_PREFIX = "refs/tracker-remotes"
ZERO_OID = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # the id of the empty tree (SHA-1)
ATOMIC_UNSUPPORTED = "does not support --atomic"
# Why a remote refuses one ref of a push, when trying again after a fetch and a merge can succeed: the ref moved
# (another clone pushed first: git's own check, or the server's compare-and-swap of the old value), or the
# server could not take the ref's lock because another push held it; "atomic" ones only say another ref of the
# same push was refused. Anything else (a hook, a protected branch, a hidden ref, permissions) is for good.
RETRYABLE_REASONS = (
    "non-fast-forward",
    "fetch first",
    "stale info",
    "atomic push failed",
    "atomic transaction failed",
    "failed to update ref",
    "failed to lock",
    "cannot lock ref",
    "incorrect old value",
)


def tracking_ref(remote: str, ref: str) -> str:
    """Where sync keeps its copy of a remote's ref: ``refs/tracker-remotes/<remote>/tracker-ledger`` and
    ``refs/tracker-remotes/<remote>/notes/tracker``."""
    return f"{TRACKING_PREFIX}/{remote}/{ref.removeprefix('refs/heads/').removeprefix('refs/')}"


class TreeChange(NamedTuple):
    """A path whose file differs between two trees: its blob on each side (None: not there) and its mode."""

    path: str
    ours: str | None
    theirs: str | None
    mode: int


class PushedRef(NamedTuple):
    """One line of ``git push --porcelain``: ``<flag>\t<from>:<to>\t<summary>[ (<reason>)]``."""

    ref: str
    flag: str
    summary: str
    reason: str | None

    @property
    def accepted(self) -> bool:
        return self.flag in (" ", "+", "-", "*", "=")

    @property
    def retryable(self) -> bool:
        return not self.accepted and any(kind in (self.reason or "") for kind in RETRYABLE_REASONS)


class PushResult(NamedTuple):
    code: int
    refs: dict[str, PushedRef]
    error: str
    atomic_unsupported: bool

    def accepted(self, refs: Iterable[str]) -> bool:
        return self.code == 0 and all(ref in self.refs and self.refs[ref].accepted for ref in refs)

    def refused(self) -> list[PushedRef]:
        return [line for line in self.refs.values() if not line.accepted]


def parse_push_porcelain(text: str) -> dict[str, PushedRef]:
    """The per-ref lines of ``git push --porcelain`` output, by destination ref; every other line is ignored
    (``To <url>``, ``Done``, anything a remote helper prints)."""
    found = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or len(parts[0]) != 1 or ":" not in parts[1]:
            continue
        flag, refs, summary = parts
        reason = None
        if summary.endswith(")") and " (" in summary:
            summary, _, reason = summary[:-1].partition(" (")
        ref = refs.rpartition(":")[2]
        found[ref] = PushedRef(ref, flag, summary, reason)
    return found


class LedgerUpdate(NamedTuple):
    tip: str | None
    added: list[Record]
    skipped: list[Skipped]


def report_skipped(skipped: Iterable[Skipped]) -> None:
    """Tell the command's caller (the CLI sums these into one line) which ledger files were not used."""
    for item in skipped:
        warnings.warn(SkippedWarning(item), stacklevel=3)


def _worth_reading(top: str, wanted: set[str] | None) -> bool:
    """A kind that was asked for, or anything that is no known kind (to be reported as skipped)."""
    return wanted is None or top in wanted or top not in KINDS


def _stored_at(path: str, blob: Any, object_id: Any = None) -> Record | Skipped:
    """The record a ledger file holds, or why not: a file whose object the clone lacks (``blob`` None when looked
    up by ``object_id`` and not found) is skipped and named, not a crash: every read reports it, the other records
    still count, and ``git fsck`` or a fresh fetch repairs it."""
    data = None
    if blob is not None:
        with contextlib.suppress(KeyError):  # pygit2's NotFoundError is one
            data = blob.data
    if data is None:
        named = blob.id if blob is not None else object_id
        return Skipped(path, MISSING, f"git has no object {named}: run git fsck, or fetch the ledger again")
    return read_stored(path, data)


def _walk_blobs_of_ledger(tree: Any, wanted: set[str] | None) -> Iterator[tuple[str, Any]]:
    """``_walk_blobs`` over the ledger's tree; a folder whose object the clone lacks stops the read with one line
    (its files cannot even be named, so they cannot be skipped one by one as a missing file is)."""
    try:
        yield from _walk_blobs(tree, "", wanted)
    except KeyError as missing:  # pygit2's NotFoundError is one
        detail = missing.args[0] if missing.args else missing
        raise GitFailed(f"the ledger names a folder git has no object for ({detail}): run git fsck") from None


def _walk_blobs(tree: Any, prefix: str, top: set[str] | None = None) -> Iterator[tuple[str, Any]]:
    """(path, blob) under ``tree``; ``top`` limits the walk to those kinds and to what is no known kind."""
    for entry in tree:
        if not prefix and not _worth_reading(entry.name if entry.type_str == "tree" else "", top):
            continue  # whole kinds left unread: the reports over a large ledger stay cheap
        path = f"{prefix}/{entry.name}" if prefix else entry.name
        if entry.type_str == "tree":
            yield from _walk_blobs(entry, path)
        elif entry.type_str == "blob":
            yield path, entry


def _walk_days(tree: Any, prefix: str, floor: list[str]) -> Iterator[tuple[str, Any]]:
    """(path, blob) under a kind's ``yyyy/mm/dd`` folders from the date ``floor`` on; a folder past the floor's
    own is walked whole. Names are fixed-width numbers, so comparing them as text compares the dates."""
    for entry in tree:
        path = f"{prefix}/{entry.name}"
        if entry.type_str == "blob":
            yield path, entry
        elif entry.type_str != "tree" or (floor and entry.name < floor[0]):
            continue
        elif floor and entry.name == floor[0]:
            yield from _walk_days(entry, path, floor[1:])
        else:
            yield from _walk_blobs(entry, path)


def _batch_bodies(output: bytes) -> Iterator[bytes]:
    """The object bodies of ``git cat-file --batch`` output, in order (sizes are in bytes: read bytes)."""
    position = 0
    while position < len(output):
        header_end = output.index(b"\n", position)
        header = output[position:header_end]
        if header.endswith(b" missing"):
            yield b""
            position = header_end + 1
            continue
        size = int(header.rsplit(b" ", 1)[-1])
        start = header_end + 1
        yield output[start : start + size]
        position = start + size + 1


def head_file_commit(git_dir: Path, common_dir: Path) -> str | None:
    """HEAD's commit read straight from the files, as the shell hook does (no fork, no pygit2).

    Anything but a plain object id there (a branch that is itself a symbolic ref, packed refs) is left
    to ``git rev-parse``.
    """
    try:
        head = (git_dir / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            head = (common_dir / head[5:]).read_text().strip()
    except OSError:
        head = ""
    if is_object_id(head):
        return head
    out = run_git(["rev-parse", "-q", "--verify", "HEAD"], cwd=git_dir, check=False).strip()
    return out or None
