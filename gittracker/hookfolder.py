"""The folder git runs hooks from, and git-tracker's hooks in it (two, and pre-push where sync on push is on).

A folder is one of three kinds (``classify``):

- private: inside this repository's git dir (``.git/hooks``, or a ``core.hooksPath`` pointing there);
- shared: outside the repository (``core.hooksPath`` set globally, say), so every repository that uses
  it runs our hooks. The hook script returns at once where ``<common-dir>/tracker`` does not exist, so
  the hooks act only where git-tracker is set up. A registry in the folder (``REGISTRY_NAME``) lists
  the repositories (their common dirs) that installed them and which originals were moved aside; the
  hooks leave the folder with the last of those repositories that is still set up;
- worktree: inside the work tree (a tracked ``.githooks/``, say): the hooks would carry this machine's
  interpreter path into files other people use, so ``init`` refuses it unless forced.

Each step writes down what it is about to change before it changes it (``FolderRecord`` in the
install journal, and the registry for a shared folder), so a killed ``init`` or ``uninstall`` can be
finished or undone from what is on disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gittracker.errors import BadInput, Refused
from gittracker.files import atomic_write, remove_dead_temp_files
from gittracker.state import LocalState

HOOK_NAMES = ("post-commit", "post-rewrite")  # installed by every `init`
SYNC_HOOK = "pre-push"  # installed by `init --sync-on-push` only
ALL_HOOK_NAMES = (*HOOK_NAMES, SYNC_HOOK)
HOOK_MARKER = "git-tracker-hook-version"
LEGACY_SUFFIX = ".pre-tracker"
REGISTRY_NAME = ".git-tracker-repos.json"
PRIVATE, SHARED, WORKTREE = "private", "shared", "worktree"
KINDS = (PRIVATE, SHARED, WORKTREE)
ABSENT, USER, OURS = "absent", "user", "ours"
ORIGINALS = (ABSENT, USER, OURS)


def hook_template() -> str:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_hooks" / "tracker-hook.sh", here.parent / "hooks" / "tracker-hook.sh"):
        if candidate.exists():
            return candidate.read_text()
    raise BadInput("the git-tracker hook template is missing from this installation; reinstall git-tracker")


def render_hook(name: str, python: str | None = None) -> str:
    interpreter = (python or sys.executable).replace("'", "'\\''")
    return hook_template().replace("@PYTHON@", interpreter).replace("@HOOK@", name)


def is_tracker_hook(path: Path) -> bool:
    try:
        return HOOK_MARKER in path.read_text(errors="replace")
    except OSError:
        return False


def hook_interpreter(path: Path) -> str | None:
    """The Python an installed hook of ours runs (``GT_PYTHON='…'``), or None if it names none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("GT_PYTHON='") and line.endswith("'"):
            return line[len("GT_PYTHON='") : -1].replace("'\\''", "'")
    return None


def interpreter_usable(python: str) -> bool:
    """Cheap: the file exists and is executable (importing gittracker would cost a Python per hook)."""
    return os.path.isfile(python) and os.access(python, os.X_OK)


def legacy_path(hook: Path) -> Path:
    return hook.with_name(hook.name + LEGACY_SUFFIX)


def classify(folder: Path, common_dir: Path, toplevel: Path) -> str:
    if folder.is_relative_to(common_dir):
        return PRIVATE
    if folder.is_relative_to(toplevel):
        return WORKTREE
    return SHARED


def missing_dirs(folder: Path) -> list[str]:
    """The folder and its ancestors that do not exist yet, outermost first (what a mkdir -p creates)."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(str(current))
        if current.parent == current:
            break
        current = current.parent
    return list(reversed(missing))


@dataclass
class FolderRecord:
    """What ``init`` found in one hooks folder before it changed anything there, and what it moved."""

    kind: str
    created_dirs: list[str] = field(default_factory=list)
    originals: dict[str, str] = field(default_factory=dict)  # hook name -> absent | user | ours
    moved: list[str] = field(default_factory=list)  # hooks renamed to <hook>.pre-tracker

    @classmethod
    def plan(cls, folder: Path, kind: str, names: tuple[str, ...] = HOOK_NAMES) -> FolderRecord:
        record = cls(kind=kind, created_dirs=missing_dirs(folder))
        record.plan_hooks(folder, names)
        return record

    def plan_hooks(self, folder: Path, names: tuple[str, ...]) -> bool:
        """Write down what is at each of ``names`` before a hook of ours goes there; True if any was new."""
        new = [name for name in names if name not in self.originals]
        for name in new:
            path = folder / name
            self.originals[name] = OURS if is_tracker_hook(path) else USER if path.exists() else ABSENT
        return bool(new)

    @property
    def hooks(self) -> tuple[str, ...]:
        """The hooks this folder holds of ours: the two every init installs, and pre-push where it was asked for."""
        return (*HOOK_NAMES, SYNC_HOOK) if SYNC_HOOK in self.originals else HOOK_NAMES

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "created_dirs": self.created_dirs, "originals": self.originals, "moved": self.moved}

    @classmethod
    def from_dict(cls, data: Any) -> FolderRecord:
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            raise ValueError("hook folder")
        record = cls(
            kind=data["kind"],
            created_dirs=_strings(data.get("created_dirs", [])),
            originals=dict(data.get("originals", {})),
            moved=_strings(data.get("moved", [])),
        )
        if not all(isinstance(k, str) and v in ORIGINALS for k, v in record.originals.items()):
            raise ValueError("hook originals")
        return record


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("expected a list of strings")
    return list(value)


# -- the registry of a shared folder ---------------------------------------------------------------------


@dataclass
class Registry:
    repos: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    created_dirs: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, folder: Path) -> Registry:
        path = folder / REGISTRY_NAME
        try:
            data = json.loads(path.read_bytes().decode("utf-8"))
            return cls(_strings(data["repos"]), _strings(data["moved"]), _strings(data["created_dirs"]))
        except FileNotFoundError:
            return cls()
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BadInput(
                f"{path}: expected git-tracker's list of the repositories using this shared hooks folder; "
                "fix or delete it, then run `git tracker init` in each of them"
            ) from None

    def save(self, folder: Path) -> None:
        data = {"repos": self.repos, "moved": self.moved, "created_dirs": self.created_dirs}
        atomic_write(folder / REGISTRY_NAME, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def others_set_up(self, common_dir: Path) -> list[str]:
        """Registered repositories, other than ours, that still have git-tracker set up."""
        return [
            repo
            for repo in self.repos
            if Path(repo) != common_dir and LocalState(Path(repo) / "tracker").manifest.exists()
        ]


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the folder itself: no lock file to leave behind in someone's hooks."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# -- install and remove ------------------------------------------------------------------------------


def install(folder: Path, record: FolderRecord, common_dir: Path, save_journal: Callable[[], None]) -> list[str]:
    """Make our hooks current in ``folder``, chaining whatever hook was there; idempotent."""
    for directory in record.created_dirs:
        Path(directory).mkdir(exist_ok=True)
    remove_dead_temp_files(folder)
    if record.kind != SHARED:
        return [_install_hook(folder, name, record, save_journal, None) for name in record.hooks]
    with folder_lock(folder):
        registry = Registry.load(folder)
        if str(common_dir) not in registry.repos or not set(record.created_dirs) <= set(registry.created_dirs):
            registry.repos = sorted({*registry.repos, str(common_dir)})
            new_dirs = [d for d in record.created_dirs if d not in registry.created_dirs]
            registry.created_dirs = [*registry.created_dirs, *new_dirs]
            registry.save(folder)
        return [_install_hook(folder, name, record, save_journal, registry) for name in record.hooks]


def _install_hook(
    folder: Path, name: str, record: FolderRecord, save_journal: Callable[[], None], registry: Registry | None
) -> str:
    path = folder / name
    legacy = legacy_path(path)
    rendered = render_hook(name)
    if is_tracker_hook(path):
        if path.read_text(errors="replace") == rendered:
            return f"{name} hook: up to date"
        atomic_write(path, rendered, mode=0o755)
        return f"{name} hook: updated"
    if path.exists():
        if legacy.exists():  # _preflight refuses this before anything changes; a user may race us
            raise Refused(f"{path} is not git-tracker's and {legacy.name} already exists: move one of them aside")
        # Written down before the rename, so an interruption right after it can be undone.
        if name not in record.moved:
            record.moved.append(name)
            save_journal()
        if registry is not None and name not in registry.moved:
            registry.moved.append(name)
            registry.save(folder)
        os.replace(path, legacy)
    atomic_write(path, rendered, mode=0o755)
    return f"{name} hook: installed" + (f" (chains {legacy.name})" if legacy.exists() else "")


def remove(folder: Path, record: FolderRecord, common_dir: Path) -> list[str]:
    """Take our hooks out of ``folder`` and put back what they chained; in a shared folder, only when no
    other repository that is still set up uses them. Idempotent."""
    if not folder.is_dir():
        return []
    if record.kind != SHARED:
        return _remove_hooks(folder, record.moved, record.created_dirs)
    with folder_lock(folder):
        registry = Registry.load(folder)
        others = registry.others_set_up(common_dir)
        if others:
            if str(common_dir) in registry.repos:
                registry.repos = [repo for repo in registry.repos if repo != str(common_dir)]
                registry.save(folder)
            return [f"kept the hooks in the shared folder {folder}: {len(others)} other repository(ies) use them"]
        moved = sorted({*record.moved, *registry.moved})
        created = [*registry.created_dirs, *(d for d in record.created_dirs if d not in registry.created_dirs)]
        done = _remove_hooks(folder, moved, [], keep_folder=True)
        (folder / REGISTRY_NAME).unlink(missing_ok=True)
        remove_dead_temp_files(folder)
    return done + _remove_created(created)


def _remove_hooks(folder: Path, moved: list[str], created_dirs: list[str], *, keep_folder: bool = False) -> list[str]:
    done = []
    remove_dead_temp_files(folder)
    for name in ALL_HOOK_NAMES:
        path = folder / name
        if is_tracker_hook(path):
            path.unlink()
            done.append(f"removed {name} hook")
        legacy = legacy_path(path)
        if name in moved and legacy.exists() and not path.exists():
            os.replace(legacy, path)
            done.append(f"restored {name} hook")
    return done if keep_folder else done + _remove_created(created_dirs)


def _remove_created(created_dirs: list[str]) -> list[str]:
    done = []
    for directory in reversed(created_dirs):
        path = Path(directory)
        with contextlib.suppress(OSError):  # not empty (someone put files there) or gone: keep it
            path.rmdir()
            done.append(f"removed the empty {path.name}/ init created")
    return done
