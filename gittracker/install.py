"""``init`` and ``uninstall``: hooks (chained), notes rewrite config, settings file — and exactly back.

Set-up is a journal (``installrecord``): before its first change ``init`` writes down the state of
everything it will change; each step is idempotent and notes what it moves before moving it; the
last step marks the install complete. So a killed or interrupted ``init`` is finished by the next
``init`` (or ``doctor --fix``), and ``uninstall`` — which journals too — puts back the bytes of
``.git/config`` and ``info/exclude`` and the hooks folder as they were before the first ``init``, or,
where something else changed them meanwhile, removes exactly our entries and keeps the rest.

``findings`` and ``fix`` are the set-up's health checks for ``git tracker doctor``. Their codes:
``install-damaged``, ``install-record-missing``, ``install-incomplete``, ``uninstall-incomplete``,
``hook-missing``, ``hook-foreign``, ``hook-interpreter-gone``, ``hook-outdated``, ``hook-original-stranded``,
``rewrite-ref-missing``, ``rewrite-mode-legacy``, ``temp-leftover``, ``config-lock-stale``; and, after
``init --pre-commit``, ``precommit.findings``: ``pre-commit-config-missing``, ``pre-commit-hook-missing``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gittracker import hookfolder, precommit
from gittracker.config import CONFIG_NAME, default_text, load
from gittracker.errors import BadInput, NotInitialised, Refused
from gittracker.files import ANY_NAME, atomic_write, dead_temp_files, remove_dead_temp_files
from gittracker.findings import Finding
from gittracker.git import NOTES_REF, STALE_LOCK_SECONDS, Repo
from gittracker.hookfolder import (
    ABSENT,
    ALL_HOOK_NAMES,
    HOOK_NAMES,
    PRIVATE,
    SHARED,
    USER,
    WORKTREE,
    FolderRecord,
    classify,
    hook_interpreter,
    interpreter_usable,
    is_tracker_hook,
    legacy_path,
    render_hook,
)
from gittracker.installrecord import (
    COMPLETE,
    INSTALLING,
    UNINSTALLING,
    DamagedRecord,
    FileSnapshot,
    InstallRecord,
)
from gittracker.machine import CONFIG_KEY, ensure_machine, forget_machine, read_machine
from gittracker.state import LocalState

__all__ = ["findings", "fix", "init", "is_tracker_hook", "render_hook", "uninstall"]

Save = Callable[[], None]  # writes the journal as it is now
SETTINGS_PATTERN = f"/{CONFIG_NAME}"
OLD_REWRITE_MODE = "cat_sort_uniq"  # what git-tracker 0.1 set; it applies to every notes ref
INTERRUPTED = "interrupted: run `git tracker init` again to finish setting up, or `git tracker uninstall` to undo it"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the journal on disk ------------------------------------------------------------------------------


def load_record(repo: Repo) -> InstallRecord | None:
    """The install journal; None when git-tracker is not set up; ``DamagedRecord`` when unreadable."""
    path = LocalState(repo.tracker_dir).manifest
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return InstallRecord.parse(raw, path, repo.common_dir, repo.toplevel)


def _saver(repo: Repo, record: InstallRecord) -> Save:
    def save() -> None:
        atomic_write(LocalState(repo.tracker_dir).manifest, record.to_json())

    return save


@contextlib.contextmanager
def _say_interrupted(message: str) -> Iterator[None]:
    """Ctrl-C leaves a journal the next run finishes; say so in one line instead of 'aborted'."""
    try:
        yield
    except KeyboardInterrupt:
        raise Refused(message) from None


# -- init ---------------------------------------------------------------------------------------------


def _discover(where: Repo | Path | str) -> Repo:
    return where if isinstance(where, Repo) else Repo.discover(where)


def init(
    where: Repo | Path | str,
    *,
    pre_commit: bool = False,
    remote: str | None = None,
    force: bool = False,
    sync_on_push: bool | None = None,
) -> dict[str, Any]:
    """Set up the repository at or above ``where``; finishes an interrupted init.

    ``sync_on_push``: True adds the pre-push hook and turns syncing after a push on for this clone, False turns
    it off (the hook stays, doing nothing, until uninstall), None leaves it as it is."""
    repo = _discover(where)
    record = load_record(repo)
    folder = None if pre_commit else repo.hooks_dir()
    if sync_on_push and folder is None:
        raise BadInput(
            "--sync-on-push: expected git-tracker's own hooks, not --pre-commit (pre-commit runs hooks before a "
            "push, not after it); run `git tracker sync` after you push, or set up without --pre-commit"
        )
    hooks = ALL_HOOK_NAMES if sync_on_push else HOOK_NAMES
    # Forced once, the folder is in the journal: a later plain init (after a Python upgrade, say) may update it.
    _preflight(repo, folder, force or (record is not None and str(folder) in record.hook_folders), hooks)
    done: list[str] = []
    repo.tracker_dir.mkdir(parents=True, exist_ok=True)
    with _say_interrupted(f"init {INTERRUPTED}"):
        _remove_dead_temps(repo, record)
        if record is None:
            record = _snapshot(repo, remote)
        elif record.state == INSTALLING:
            done.append("finished a set-up that was interrupted")
        elif record.state == UNINSTALLING:
            done.append("an interrupted uninstall is undone: set up again")
        record.state, record.pre_commit = INSTALLING, pre_commit
        save = _saver(repo, record)
        save()  # the originals are on disk before anything changes
        done += _apply(repo, record, folder, remote, save, hooks)
        record.state = COMPLETE
        save()
    done += _switch_sync_on_push(repo, sync_on_push)
    if pre_commit:
        done += precommit.next_steps(precommit.inspect(repo))
    changes = [line for line in done if not line.endswith(": up to date")]
    return {"toplevel": str(repo.toplevel), "changes": changes or ["already set up; nothing to change"]}


def _preflight(repo: Repo, folder: Path | None, force: bool, hooks: tuple[str, ...]) -> None:
    """Refuse before changing anything, so a refused init leaves nothing behind (not even .git/tracker)."""
    try:
        repo.pygit  # noqa: B018 - opening it is the check (libgit2 cannot open every repository)
    except Exception as error:  # pygit2 raises several types for repositories libgit2 cannot read
        # SHA-256 repositories are refused earlier, by Repo.discover; this is whatever else libgit2 cannot read.
        raise BadInput(f"git-tracker cannot open this repository with libgit2 ({error})") from None
    if folder is None:
        return
    if classify(folder, repo.common_dir, repo.toplevel) == WORKTREE and not force:
        where = folder.relative_to(repo.toplevel)
        tracked = [name for name in hooks if repo.is_tracked(folder / name)]
        edited = f" (its {' and '.join(tracked)} {'is a tracked file' if len(tracked) == 1 else 'are tracked files'})"
        raise Refused(
            f"core.hooksPath is {where}/ inside the work tree{edited if tracked else ''}: hooks there are shared "
            "through the repository and git-tracker's would carry this machine's Python path; use "
            "`git tracker init --pre-commit` (pre-commit runs the hooks) or `git tracker init --force` to "
            "install there anyway"
        )
    for name in hooks:
        path = folder / name
        legacy = legacy_path(path)
        if path.exists() and not is_tracker_hook(path) and legacy.exists():
            raise Refused(f"{path} is not git-tracker's and {legacy.name} already exists: move one of them aside")


def _snapshot(repo: Repo, remote: str | None) -> InstallRecord:
    """Everything init may change, as it is now (before the first init)."""
    exclude = _exclude_file(repo)
    settings = repo.toplevel / CONFIG_NAME
    settings_existed = settings.exists()
    return InstallRecord(
        state=INSTALLING,
        config=FileSnapshot.of(repo.config_file),
        had_rewrite_ref=NOTES_REF in repo.config_get_all("notes.rewriteRef"),
        exclude=FileSnapshot.of(exclude),
        exclude_pattern=SETTINGS_PATTERN,
        had_exclude_pattern=_has_line(_read(exclude), SETTINGS_PATTERN),
        info_dir_existed=exclude.parent.is_dir(),
        settings_path=CONFIG_NAME,
        settings_existed=settings_existed,
        settings_sha256=None if settings_existed else _sha(default_text(remote).encode()),
        notes_ref_existed=repo.notes_ref_exists(),
    )


def _apply(
    repo: Repo, record: InstallRecord, folder: Path | None, remote: str | None, save: Save, hooks: tuple[str, ...]
) -> list[str]:
    """Every step of init, each idempotent; a step writes the journal before what it cannot undo alone."""
    done = _write_settings(repo, record, remote, save)
    done += _exclude_settings(repo, record)
    if folder is not None:
        done += _install_hooks(repo, record, folder, save, hooks)
    done += _add_rewrite_ref(repo, record, save)
    done += _create_notes_ref(repo, record, save)
    done += _migrate_rewrite_mode(repo, record, save)
    done += _name_machine(repo)
    return done


def _name_machine(repo: Repo) -> list[str]:
    """This clone's id in every record it writes (``machine``): the one it had, else a new one."""
    had = read_machine(repo)
    made = ensure_machine(repo)
    return [] if had == made else [f"{CONFIG_KEY} = {made} (this clone's id in the records it writes)"]


def _write_settings(repo: Repo, record: InstallRecord, remote: str | None, save: Save) -> list[str]:
    settings = repo.toplevel / record.settings_path
    if settings.exists():
        return _remote_kept(repo, remote)
    text = default_text(remote)
    if record.settings_existed or record.settings_sha256 != _sha(text.encode()):
        record.settings_existed, record.settings_sha256 = False, _sha(text.encode())
        save()
    atomic_write(settings, text)
    return [f"wrote {record.settings_path}"]


def _remote_kept(repo: Repo, remote: str | None) -> list[str]:
    """``--remote`` where the settings file exists already: the user's file is not rewritten, so say which remote
    ``sync`` will use and where to change it."""
    configured = load(repo.toplevel).remote
    if remote is None or remote == configured:
        return []
    return [f"kept {CONFIG_NAME} as it is: sync uses its sync.remote {configured!r}; set it to {remote!r} there"]


def _exclude_settings(repo: Repo, record: InstallRecord) -> list[str]:
    """Keep the settings file out of `git status` until the user chooses to commit it."""
    path = _exclude_file(repo)
    current = _read(path)
    if _has_line(current, record.exclude_pattern):
        return []
    atomic_write(path, _with_line(current or b"", record.exclude_pattern))
    return [f"listed {CONFIG_NAME} in .git/info/exclude (`git add -f` it to share your settings)"]


def _install_hooks(repo: Repo, record: InstallRecord, folder: Path, save: Save, hooks: tuple[str, ...]) -> list[str]:
    key = str(folder)
    if key not in record.hook_folders:
        record.hook_folders[key] = FolderRecord.plan(folder, classify(folder, repo.common_dir, repo.toplevel), hooks)
        save()
    folder_record = record.hook_folders[key]
    if folder_record.plan_hooks(folder, hooks):  # pre-push asked for on a clone set up without it
        save()
    done = hookfolder.install(folder, folder_record, repo.common_dir, save)
    moved = any(not line.endswith(": up to date") for line in done)
    if moved and folder_record.kind == PRIVATE and folder != repo.common_dir / "hooks":
        done.insert(0, f"hooks folder {folder} (core.hooksPath)")  # not where git keeps hooks by default: say so
    if folder_record.kind == SHARED:
        done.append(
            f"hooks folder {folder} is shared (core.hooksPath): the hooks act only in repositories set up "
            "with `git tracker init`, and `uninstall` leaves them while another such repository uses them"
        )
    elif folder_record.kind == WORKTREE:
        done.append(f"hooks folder {folder} is inside the work tree (installed there with --force)")
    return done


def _switch_sync_on_push(repo: Repo, wanted: bool | None) -> list[str]:
    """The per-clone switch the pre-push hook reads (a file, so the hook tests it without a fork)."""
    flag = LocalState(repo.tracker_dir).sync_on_push
    if wanted is None or wanted == flag.exists():
        return []
    if wanted:
        atomic_write(flag, "on\n")
        return ["sync on push: on (after each push to the sync remote; see docs/sync.md#sync-on-push)"]
    flag.unlink()
    return ["sync on push: off (the pre-push hook stays until uninstall and does nothing)"]


def _add_rewrite_ref(repo: Repo, record: InstallRecord, save: Save) -> list[str]:
    if NOTES_REF in repo.config_get_all("notes.rewriteRef"):
        return []
    if record.had_rewrite_ref:  # the user removed it since: the one we add now is ours to remove
        record.had_rewrite_ref = False
        save()
    repo.config_add("notes.rewriteRef", NOTES_REF)
    return [f"notes.rewriteRef += {NOTES_REF}"]


def _create_notes_ref(repo: Repo, record: InstallRecord, save: Save) -> list[str]:
    if repo.notes_ref_exists():
        return []
    if record.notes_ref_existed:
        record.notes_ref_existed = False
        save()
    repo.create_notes_ref()
    return []


def _migrate_rewrite_mode(repo: Repo, record: InstallRecord, save: Save) -> list[str]:
    """Put back the notes.rewriteMode an older git-tracker replaced with cat_sort_uniq (for every notes ref)."""
    previous = record.rewrite_mode_previous
    if previous is None:
        return []
    done = []
    current = repo.config_get_all("notes.rewriteMode")
    if current == [OLD_REWRITE_MODE] and previous != current:
        if not previous:
            repo.config_unset_all("notes.rewriteMode")
        elif len(previous) == 1:
            repo.config_set("notes.rewriteMode", previous[0])  # one atomic write
        else:
            repo.config_unset_all("notes.rewriteMode")
            for value in previous:
                repo.config_add("notes.rewriteMode", value)
        shown = ", ".join(previous) or "unset, git's default"
        done.append(
            f"notes.rewriteMode: put back your previous setting ({shown}); git-tracker no longer sets it, "
            "so your own notes keep their behaviour"
        )
    record.rewrite_mode_previous = None
    save()
    return done


# -- uninstall ----------------------------------------------------------------------------------------


def uninstall(where: Repo | Path | str) -> dict[str, Any]:
    """Remove exactly what init added from the repository at or above ``where``."""
    repo = _discover(where)
    local = LocalState(repo.tracker_dir)
    record = load_record(repo)
    if record is None:
        _remove_dead_temps(repo, None)
        with contextlib.suppress(OSError):
            repo.tracker_dir.rmdir()  # only if empty: what a killed first init may leave
        raise NotInitialised("git-tracker is not set up in this repository: nothing to uninstall")
    done: list[str] = []
    with _say_interrupted("uninstall interrupted: run `git tracker uninstall` again to finish"):
        _remove_dead_temps(repo, record)
        record.state = UNINSTALLING
        save = _saver(repo, record)
        save()
        from gittracker import hookrun

        hookrun.flush(repo.toplevel)  # queued stamps become notes before the hooks go away
        for folder, folder_record in record.hook_folders.items():
            done += hookfolder.remove(Path(folder), folder_record, repo.common_dir)
        done += _forget_machine(repo)
        done += _restore_config(repo, record)
        done += _restore_exclude(repo, record)
        done += _remove_settings(repo, record)
        if not record.notes_ref_existed and repo.delete_initial_notes_ref():
            done.append(f"removed the empty {NOTES_REF} init created")
        local.manifest.unlink(missing_ok=True)
        local.sync_on_push.unlink(missing_ok=True)
    done.append("kept the ledger (tracker-ledger) and notes (refs/notes/tracker): they are your data")
    return {"toplevel": str(repo.toplevel), "changes": done, "open_windows": _open_windows(local)}


def _forget_machine(repo: Repo) -> list[str]:
    kept = forget_machine(repo)
    return [] if kept is None else [f"{CONFIG_KEY} -= {kept} (kept in {repo.tracker_dir.name}/machine for a new init)"]


def _open_windows(local: LocalState) -> list[dict[str, str]]:
    """The windows agents on this machine left open: uninstall keeps them open (in the ledger and the local
    state), and only a set-up repository can close them."""
    found = []
    for agent in local.agents():
        state = local.load_readable(agent)
        for provider, window in sorted(state.open.items() if state is not None else ()):
            found.append({"agent_id": agent, "provider": provider, "window_id": str(window["window_id"])})
    return found


def _restore_config(repo: Repo, record: InstallRecord) -> list[str]:
    """The original bytes when the config is as init left it; else remove exactly our entries."""
    current = repo.config_file.read_bytes()
    previous = record.rewrite_mode_previous
    if record.config.known and record.config.existed and previous is None:
        original = record.config.data
        if current == original:
            return []
        installed = original
        if not record.had_rewrite_ref:
            installed = repo.config_bytes_after_add(original, "notes.rewriteRef", NOTES_REF, repo.tracker_dir)
        if current == installed and repo.replace_config_file(current, original):
            return [f"notes.rewriteRef -= {NOTES_REF} (.git/config restored byte for byte)"]
    done = []
    if not record.had_rewrite_ref and NOTES_REF in repo.config_get_all("notes.rewriteRef"):
        repo.config_unset_value("notes.rewriteRef", NOTES_REF)
        done.append(f"notes.rewriteRef -= {NOTES_REF}")
    if previous is not None and repo.config_get_all("notes.rewriteMode") == [OLD_REWRITE_MODE]:
        repo.config_unset_all("notes.rewriteMode")
        for value in previous:
            repo.config_add("notes.rewriteMode", value)
        done.append("notes.rewriteMode restored")
    # `--unset` leaves an empty [notes] header; drop it unless the user's config had one before init.
    had_notes_section = not record.config.known or b"[notes" in record.config.data.lower()
    if done and not had_notes_section:
        repo.config_remove_section_if_empty("notes")
    return done


def _restore_exclude(repo: Repo, record: InstallRecord) -> list[str]:
    if record.had_exclude_pattern:
        return []
    path = _exclude_file(repo)
    current = _read(path)
    said = [f"removed {record.exclude_pattern} from .git/info/exclude"]
    if record.exclude.known:
        original = record.exclude.data if record.exclude.existed else None
        if current == original:
            return _remove_info_dir(path, record)
        if current == _with_line(original or b"", record.exclude_pattern):
            if original is None:
                path.unlink()
            else:
                atomic_write(path, original)
            return said + _remove_info_dir(path, record)
    if current is None or not _has_line(current, record.exclude_pattern):
        return []
    lines = current.split(b"\n")
    ours = record.exclude_pattern.encode()
    kept = [line for line in lines if line != ours]
    text = b"\n".join(kept)
    # init ended the user's last line with a newline to append ours: drop it again with our line.
    unterminated = record.exclude.known and record.exclude.existed and not record.exclude.data.endswith(b"\n")
    if unterminated and lines[-2:] == [ours, b""] and text.endswith(b"\n"):
        text = text[:-1]
    atomic_write(path, text)
    return said


def _remove_info_dir(exclude: Path, record: InstallRecord) -> list[str]:
    if not record.info_dir_existed:
        with contextlib.suppress(OSError):
            exclude.parent.rmdir()
    return []


def _remove_settings(repo: Repo, record: InstallRecord) -> list[str]:
    path = repo.toplevel / record.settings_path
    if record.settings_existed or record.settings_sha256 is None or not path.exists():
        return []
    if _sha(path.read_bytes()) == record.settings_sha256:
        path.unlink()
        return [f"removed {record.settings_path}"]
    return [f"kept {record.settings_path} (you edited it)"]


# -- files ----------------------------------------------------------------------------------------------


def _exclude_file(repo: Repo) -> Path:
    return repo.common_dir / "info" / "exclude"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _has_line(data: bytes | None, line: str) -> bool:
    return data is not None and line.encode() in data.split(b"\n")


def _with_line(data: bytes, line: str) -> bytes:
    return data + (b"" if not data or data.endswith(b"\n") else b"\n") + line.encode() + b"\n"


def _temp_places(repo: Repo, record: InstallRecord | None) -> list[tuple[Path, tuple[str, ...], str | None]]:
    """Where our writers put temp files: (directory, old-style names that count, only this target)."""
    places: list[tuple[Path, tuple[str, ...], str | None]] = []
    if repo.tracker_dir.is_dir():
        for directory, _, _ in os.walk(repo.tracker_dir):
            places.append((Path(directory), ANY_NAME, None))  # the tracker dir is wholly ours
    folders = {str(repo.hooks_dir()), *(record.hook_folders if record else ())}
    places += [(Path(folder), (), None) for folder in sorted(folders)]  # a user's folder: our names only
    places.append((_exclude_file(repo).parent, ("exclude",), "exclude"))
    places.append((repo.toplevel, (CONFIG_NAME,), CONFIG_NAME))
    return places


def _dead_temps(repo: Repo, record: InstallRecord | None) -> list[Path]:
    found = repo.dead_config_writes()
    for where, legacy, only in _temp_places(repo, record):
        found += dead_temp_files(where, legacy, only)
    return found


def _remove_dead_temps(repo: Repo, record: InstallRecord | None) -> list[Path]:
    """Temp files whose writer died (kill -9 in the middle of a write): never useful, often in the way."""
    removed = repo.remove_dead_config_writes()
    for where, legacy, only in _temp_places(repo, record):
        removed += remove_dead_temp_files(where, legacy, only)
    return removed


# -- health checks (git tracker doctor) ---------------------------------------------------------------------


def findings(repo: Repo) -> list[Finding]:
    """What is wrong with git-tracker's set-up in ``repo``, one finding per problem."""
    found: list[Finding] = []
    record: InstallRecord | None = None
    manifest = LocalState(repo.tracker_dir).manifest
    try:
        record = load_record(repo)
    except DamagedRecord as damaged:
        found.append(
            Finding(
                "install-damaged",
                f"{manifest} is damaged ({damaged.why}): init and uninstall cannot use it",
                "doctor --fix keeps it as install.json.damaged and rebuilds it from what is installed",
                fixable=True,
            )
        )
    if record is not None:
        found += _record_findings(repo, record)
    elif not found:
        found += _unrecorded_hooks(repo)
    found += _stranded_originals(repo, record)
    leftovers = _dead_temps(repo, record)
    if leftovers:
        names = ", ".join(str(path) for path in leftovers[:3]) + (" …" if len(leftovers) > 3 else "")
        found.append(
            Finding(
                "temp-leftover",
                f"{len(leftovers)} temp file(s) left by killed git-tracker writes: {names}",
                "doctor --fix removes them (their writers are dead)",
                fixable=True,
            )
        )
    age = repo.config_lock_age()
    ours = any(path.name == "config.lock" for path in leftovers)
    if age is not None and age > STALE_LOCK_SECONDS and not ours:
        found.append(
            Finding(
                "config-lock-stale",
                f"{repo.config_file}.lock is {age:.0f} s old: git cannot change the config while it exists",
                "if no git process is running, delete that file",
            )
        )
    return found


def _unrecorded_hooks(repo: Repo) -> list[Finding]:
    """Our hooks in this repository's own hooks folder, but no journal: uninstall would not find them.

    (In a shared folder that is normal: another repository installed them.)
    """
    folder = repo.hooks_dir()
    if classify(folder, repo.common_dir, repo.toplevel) == SHARED:
        return []
    if not any(is_tracker_hook(folder / name) for name in ALL_HOOK_NAMES):
        return []
    return [
        Finding(
            "install-record-missing",
            f"git-tracker's hooks are in {folder} but {LocalState(repo.tracker_dir).manifest} is missing: "
            "uninstall cannot remove them",
            "doctor --fix rebuilds install.json from what is installed",
            fixable=True,
        )
    ]


def _record_findings(repo: Repo, record: InstallRecord) -> list[Finding]:
    if record.state == INSTALLING:
        return [
            Finding(
                "install-incomplete",
                "`git tracker init` was interrupted: the set-up is half done",
                "doctor --fix finishes it (as `git tracker init` would); `git tracker uninstall` undoes it",
                fixable=True,
            )
        ]
    if record.state == UNINSTALLING:
        return [
            Finding(
                "uninstall-incomplete",
                "`git tracker uninstall` was interrupted: the set-up is half removed",
                "run `git tracker uninstall` to finish removing it, or `git tracker init` to keep it",
            )
        ]
    found = []
    for folder, folder_record in record.hook_folders.items():
        for name in folder_record.hooks:
            found += _hook_findings(Path(folder) / name, folder_record)
    if record.pre_commit:
        found += precommit.findings(precommit.inspect(repo))
    if NOTES_REF not in repo.config_get_all("notes.rewriteRef"):
        found.append(
            Finding(
                "rewrite-ref-missing",
                f"notes.rewriteRef does not list {NOTES_REF}: amend and rebase drop the stamps",
                "doctor --fix adds it back (`git config --add notes.rewriteRef refs/notes/tracker`)",
                fixable=True,
            )
        )
    if record.rewrite_mode_previous is not None and repo.config_get_all("notes.rewriteMode") == [OLD_REWRITE_MODE]:
        shown = ", ".join(record.rewrite_mode_previous) or "unset"
        found.append(
            Finding(
                "rewrite-mode-legacy",
                f"notes.rewriteMode = {OLD_REWRITE_MODE}, set by an older git-tracker: git sorts and de-duplicates "
                "the lines of all your notes (not only git-tracker's) when it rewrites commits",
                f"doctor --fix puts back your previous setting ({shown})",
                fixable=True,
            )
        )
    return found


def _hook_findings(path: Path, folder_record: FolderRecord) -> list[Finding]:
    if not path.exists():
        return [
            Finding(
                "hook-missing",
                f"{path} is missing: commits there are not stamped",
                "doctor --fix installs it again (chaining the hook it replaced, if any)",
                fixable=True,
            )
        ]
    if not is_tracker_hook(path):
        return [
            Finding(
                "hook-foreign",
                f"{path} is not git-tracker's hook any more (something replaced it): commits are not stamped",
                f"move it to {legacy_path(path).name} (git-tracker's hook runs it) and run `git tracker init`",
            )
        ]
    python = hook_interpreter(path)
    if python is None or not interpreter_usable(python):
        return [
            Finding(
                "hook-interpreter-gone",
                f"{path} runs {python or 'no Python'}, which is gone or not executable: stamps are queued, "
                "never written",
                "doctor --fix writes the hook again with this Python",
                fixable=True,
            )
        ]
    if path.read_text(errors="replace") != render_hook(path.name, python):
        return [
            Finding(
                "hook-outdated",
                f"{path} is an older git-tracker's hook: this version's hook handles more (rewrites, symbolic "
                "branches, full disks)",
                "doctor --fix writes this version's hook (so does `git tracker init`)",
                fixable=True,
            )
        ]
    return []


def _stranded_originals(repo: Repo, record: InstallRecord | None) -> list[Finding]:
    """A hook git-tracker moved to <hook>.pre-tracker that nothing runs any more."""
    folders = {str(repo.hooks_dir()), *(record.hook_folders if record else ())}
    expected = set(record.hook_folders) if record is not None and record.state == COMPLETE else set()
    found = []
    for folder in sorted(folders):
        for name in ALL_HOOK_NAMES:
            path = Path(folder) / name
            legacy = legacy_path(path)
            if not legacy.exists() or is_tracker_hook(path) or (folder in expected and not path.exists()):
                continue
            if path.exists():
                found.append(
                    Finding(
                        "hook-original-stranded",
                        f"{legacy} is left over: git runs {name} but nothing runs {legacy.name}",
                        f"if you still need it, merge it into {name} or move it back as {name}",
                    )
                )
            else:
                found.append(
                    Finding(
                        "hook-original-stranded",
                        f"{legacy} is left over and no {name} hook runs it: git no longer runs it",
                        f"doctor --fix moves it back to {name}",
                        fixable=True,
                    )
                )
    return found


def fix(repo: Repo, found: list[Finding]) -> list[str]:
    """Repair what ``findings`` marked fixable; one line per thing done."""
    codes = {finding.code for finding in found if finding.fixable}
    done: list[str] = []
    if "temp-leftover" in codes:
        removed = _remove_dead_temps(repo, None if "install-damaged" in codes else _try_load(repo))
        done.append(f"removed {len(removed)} temp file(s) left by killed writes")
    if codes & {"install-damaged", "install-record-missing"}:
        done += _rebuild_record(repo)
    record = _try_load(repo)
    if record is not None:
        save = _saver(repo, record)
        if "install-incomplete" in codes and record.state == INSTALLING:
            folders: list[Path | None] = [Path(folder) for folder in record.hook_folders]
            if not folders and not record.pre_commit:  # killed before it got to the hooks
                current = repo.hooks_dir()
                if classify(current, repo.common_dir, repo.toplevel) != WORKTREE:  # that takes init --force
                    folders = [current]
            for folder in folders or [None]:
                done += [f"init: {line}" for line in _apply(repo, record, folder, None, save, HOOK_NAMES)]
            record.state = COMPLETE
            save()
            done.append("finished the interrupted `git tracker init`")
        elif codes & {"hook-missing", "hook-interpreter-gone", "hook-outdated"}:
            for where, folder_record in record.hook_folders.items():
                lines = hookfolder.install(Path(where), folder_record, repo.common_dir, save)
                done += [line for line in lines if not line.endswith(": up to date")]
        if "rewrite-ref-missing" in codes:
            done += _add_rewrite_ref(repo, record, save)
        if "rewrite-mode-legacy" in codes:
            done += _migrate_rewrite_mode(repo, record, save)
    if "hook-original-stranded" in codes:
        done += _move_back_stranded(repo, record)
    return done


def _try_load(repo: Repo) -> InstallRecord | None:
    try:
        return load_record(repo)
    except DamagedRecord:
        return None


def _move_back_stranded(repo: Repo, record: InstallRecord | None) -> list[str]:
    expected = set(record.hook_folders) if record is not None and record.state == COMPLETE else set()
    done = []
    for where in sorted({str(repo.hooks_dir()), *(record.hook_folders if record else ())} - expected):
        for name in ALL_HOOK_NAMES:
            path = Path(where) / name
            legacy = legacy_path(path)
            if legacy.exists() and not path.exists():
                os.replace(legacy, path)
                done.append(f"moved {legacy.name} back to {name} in {where}")
    return done


def _rebuild_record(repo: Repo) -> list[str]:
    """A new journal from what is installed now; what it cannot know is taken the safe way and said."""
    manifest = LocalState(repo.tracker_dir).manifest
    done = []
    if manifest.exists():
        aside = _unused_name(manifest.with_name("install.json.damaged"))
        os.replace(manifest, aside)
        done.append(f"kept the damaged install.json as {aside.name} and rebuilt it from what is installed")
    else:
        done.append("rebuilt the missing install.json from what is installed")
    folder = repo.hooks_dir()
    ours = [name for name in ALL_HOOK_NAMES if is_tracker_hook(folder / name)]
    record = InstallRecord(
        state=COMPLETE,
        config=FileSnapshot(known=False),
        had_rewrite_ref=False,  # uninstall removes refs/notes/tracker from notes.rewriteRef
        exclude=FileSnapshot(known=False),
        exclude_pattern=SETTINGS_PATTERN,
        had_exclude_pattern=False,
        info_dir_existed=True,
        settings_path=CONFIG_NAME,
        settings_existed=True,  # unknown: uninstall keeps the file
        settings_sha256=None,
        notes_ref_existed=False,  # uninstall deletes the ref only while it is init's empty one
        pre_commit=not ours,
    )
    if ours:
        moved = [name for name in ours if legacy_path(folder / name).exists()]
        originals = {name: USER if name in moved else ABSENT for name in ours}
        kind = classify(folder, repo.common_dir, repo.toplevel)
        record.hook_folders[str(folder)] = FolderRecord(kind=kind, originals=originals, moved=moved)
    atomic_write(manifest, record.to_json())
    done += [
        "could not know the bytes of .git/config and .git/info/exclude from before init: uninstall will remove "
        "only git-tracker's entries there",
        f"could not know whether you wrote {CONFIG_NAME}: uninstall will keep it",
    ]
    if not ours:
        done.append(f"found no git-tracker hooks in {folder}: run `git tracker init` unless pre-commit runs them")
    if repo.config_get_all("notes.rewriteMode") == [OLD_REWRITE_MODE]:
        done.append(
            f"notes.rewriteMode = {OLD_REWRITE_MODE} may have been set by an older git-tracker: if you did not "
            "set it, `git config --unset notes.rewriteMode`"
        )
    return done


def _unused_name(path: Path) -> Path:
    """``path``, or ``path.1``, ``path.2``…: an earlier file kept for the user is never overwritten."""
    candidate, number = path, 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{number}")
    return candidate
