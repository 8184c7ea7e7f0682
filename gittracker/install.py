"""``init`` and ``uninstall``: hooks (chained), notes rewrite config, settings file — and exactly back.

What init changed is written to ``<common-dir>/tracker/install.json`` the first time, so uninstall
restores the state from before the first init however often init ran since.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from gittracker.config import CONFIG_NAME, default_text
from gittracker.errors import BadInput, NotInitialised, Refused
from gittracker.git import NOTES_REF, Repo
from gittracker.state import LocalState, atomic_write

HOOK_NAMES = ("post-commit", "post-rewrite")
HOOK_MARKER = "git-tracker-hook-version"
LEGACY_SUFFIX = ".pre-tracker"
REWRITE_MODE = "cat_sort_uniq"


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


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def init(repo: Repo, *, pre_commit: bool = False, remote: str | None = None) -> dict[str, Any]:
    local = LocalState(repo.tracker_dir)
    local.root.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = (
        json.loads(local.manifest.read_text())
        if local.manifest.exists()
        else {
            "version": 1,
            "hooks": [],
            "legacy": [],
            "config_added": [],
            "config_previous": {},
            "settings_file": None,
        }
    )
    done: list[str] = []
    _preflight(repo, pre_commit)

    settings = repo.toplevel / CONFIG_NAME
    if not settings.exists():
        text = default_text(remote)
        settings.write_text(text)
        manifest["settings_file"] = {"path": CONFIG_NAME, "sha256": _sha(text)}
        done.append(f"wrote {CONFIG_NAME}")
    if _exclude_add(repo, f"/{CONFIG_NAME}"):
        manifest["excluded"] = f"/{CONFIG_NAME}"
        done.append(f"listed {CONFIG_NAME} in .git/info/exclude (`git add -f` it to share your settings)")

    if pre_commit:
        done.append("hooks: left to pre-commit (`pre-commit install --hook-type post-commit --hook-type post-rewrite`)")
    else:
        hooks_dir = repo.hooks_dir()
        if not hooks_dir.exists():
            hooks_dir.mkdir(parents=True)
            manifest["created_dirs"] = [*manifest.get("created_dirs", []), str(hooks_dir)]
        for name in HOOK_NAMES:
            done.append(_install_hook(hooks_dir / name, name, manifest))

    if NOTES_REF not in repo.config_get_all("notes.rewriteRef"):
        repo.config_add("notes.rewriteRef", NOTES_REF)
        manifest["config_added"].append(["notes.rewriteRef", NOTES_REF])
        done.append(f"notes.rewriteRef += {NOTES_REF}")
    created = repo.create_notes_ref()
    if created:
        manifest["notes_ref_created"] = created
    current_mode = repo.config_get_all("notes.rewriteMode")
    if current_mode != [REWRITE_MODE]:
        manifest["config_previous"].setdefault("notes.rewriteMode", current_mode)
        repo.config_unset_all("notes.rewriteMode")
        repo.config_set("notes.rewriteMode", REWRITE_MODE)
        done.append(f"notes.rewriteMode = {REWRITE_MODE}")
    atomic_write(local.manifest, json.dumps(manifest, indent=1, sort_keys=True))
    return {"toplevel": str(repo.toplevel), "changes": done or ["already set up; nothing to change"]}


def _preflight(repo: Repo, pre_commit: bool) -> None:
    """Refuse before changing anything, so a failed init never leaves half an install behind."""
    try:
        repo.pygit  # noqa: B018 - opening it is the check (libgit2 cannot open every repository)
    except Exception as error:  # pygit2 raises several types for repositories libgit2 cannot read
        raise BadInput(
            f"git-tracker cannot open this repository with libgit2 ({error}); SHA-256 repositories "
            "are not supported yet"
        ) from None
    if pre_commit:
        return
    hooks_dir = repo.hooks_dir()
    for name in HOOK_NAMES:
        path = hooks_dir / name
        legacy = path.with_name(path.name + LEGACY_SUFFIX)
        if path.exists() and not is_tracker_hook(path) and legacy.exists():
            raise Refused(f"{path} is not git-tracker's and {legacy.name} already exists: move one of them aside")


def _install_hook(path: Path, name: str, manifest: dict[str, Any]) -> str:
    legacy = path.with_name(path.name + LEGACY_SUFFIX)
    rendered = render_hook(name)
    if path.exists() and not is_tracker_hook(path):
        if legacy.exists():
            raise Refused(f"{path} is not git-tracker's and {legacy.name} already exists: move one of them aside")
        os.replace(path, legacy)
        manifest["legacy"].append(str(legacy))
    elif path.exists() and path.read_text() == rendered:
        if str(path) not in manifest["hooks"]:
            manifest["hooks"].append(str(path))
        return f"{name} hook: up to date"
    atomic_write(path, rendered, mode=0o755)
    if str(path) not in manifest["hooks"]:
        manifest["hooks"].append(str(path))
    return f"{name} hook: installed" + (f" (chains {legacy.name})" if legacy.exists() else "")


def _exclude_file(repo: Repo) -> Path:
    return repo.common_dir / "info" / "exclude"


def _exclude_add(repo: Repo, pattern: str) -> bool:
    """Keep the settings file out of `git status` until the user chooses to commit it."""
    path = _exclude_file(repo)
    text = path.read_text() if path.exists() else ""
    if pattern in text.splitlines():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text + ("" if not text or text.endswith("\n") else "\n") + pattern + "\n")
    return True


def _exclude_remove(repo: Repo, pattern: str) -> None:
    path = _exclude_file(repo)
    if path.exists():
        lines = path.read_text().splitlines(keepends=True)
        atomic_write(path, "".join(line for line in lines if line.rstrip("\n") != pattern))


def uninstall(repo: Repo) -> dict[str, Any]:
    local = LocalState(repo.tracker_dir)
    if not local.manifest.exists():
        raise NotInitialised("git-tracker is not set up in this repository: nothing to uninstall")
    manifest = json.loads(local.manifest.read_text())
    done: list[str] = []
    from gittracker import hookrun

    hookrun.flush(repo.toplevel)  # queued stamps become notes before the hooks go away
    for hook in manifest["hooks"]:
        path = Path(hook)
        if path.exists() and is_tracker_hook(path):
            path.unlink()
            done.append(f"removed {path.name} hook")
    for hook in manifest["legacy"]:
        legacy = Path(hook)
        original = legacy.with_name(legacy.name[: -len(LEGACY_SUFFIX)])
        if legacy.exists() and not original.exists():
            os.replace(legacy, original)
            done.append(f"restored {original.name} hook")
    for directory in manifest.get("created_dirs", []):
        path = Path(directory)
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
            done.append(f"removed the empty {path.name}/ init created")
    for key, value in manifest["config_added"]:
        repo.config_unset_value(key, value)
        done.append(f"{key} -= {value}")
    for key, previous in manifest["config_previous"].items():
        repo.config_unset_all(key)
        for value in previous:
            repo.config_add(key, value)
        done.append(f"{key} restored")
    if manifest.get("excluded"):
        _exclude_remove(repo, manifest["excluded"])
        done.append(f"removed {manifest['excluded']} from .git/info/exclude")
    settings = manifest.get("settings_file")
    if settings:
        path = repo.toplevel / settings["path"]
        if path.exists() and _sha(path.read_text()) == settings["sha256"]:
            path.unlink()
            done.append(f"removed {settings['path']}")
        elif path.exists():
            done.append(f"kept {settings['path']} (you edited it)")
    if manifest.get("notes_ref_created") and repo.delete_ref_if_at(NOTES_REF, manifest["notes_ref_created"]):
        done.append(f"removed the empty {NOTES_REF} init created")
    local.manifest.unlink()
    done.append("kept the ledger (tracker-ledger) and notes (refs/notes/tracker): they are your data")
    return {"toplevel": str(repo.toplevel), "changes": done}
