"""The set-up journal, ``<common-dir>/tracker/install.json``: what ``init`` found before it changed anything.

``init`` writes it (atomically, fsynced) before its first change, with the state of everything it is
about to change: the bytes of ``.git/config`` and ``info/exclude`` (or that there was none), whether
the settings file and ``refs/notes/tracker`` existed, and per hooks folder which hooks were there. Each
step then notes what it moved before moving it, and the last one marks the install ``complete``. So
after an interruption at any point, the next ``init`` finishes the install and ``uninstall`` puts back
exactly what was there.

Version 1 (git-tracker 0.1) wrote a list of what it had changed, once, at the end; it is read and
converted (its originals are unknown, so uninstall removes only its entries there).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gittracker.errors import BadInput
from gittracker.hookfolder import ABSENT, ALL_HOOK_NAMES, LEGACY_SUFFIX, PRIVATE, USER, FolderRecord, classify

VERSION = 2
INSTALLING, COMPLETE, UNINSTALLING = "installing", "complete", "uninstalling"
STATES = (INSTALLING, COMPLETE, UNINSTALLING)


class DamagedRecord(BadInput):
    """``install.json`` cannot be read: truncated, not JSON, not UTF-8, or not the expected shape."""

    def __init__(self, path: Path, why: str) -> None:
        self.why = why
        super().__init__(
            f"{path} is damaged ({why}); run `git tracker doctor --fix` to rebuild it from what is installed"
        )


@dataclass
class FileSnapshot:
    """A file's bytes before ``init`` (``existed`` False: there was none); ``known`` False: not recorded."""

    known: bool
    existed: bool = False
    data: bytes = b""

    @classmethod
    def of(cls, path: Path) -> FileSnapshot:
        try:
            return cls(known=True, existed=True, data=path.read_bytes())
        except FileNotFoundError:
            return cls(known=True, existed=False)

    def to_dict(self) -> dict[str, Any]:
        data = base64.b64encode(self.data).decode("ascii") if self.existed else None
        return {"known": self.known, "existed": self.existed, "base64": data}

    @classmethod
    def from_dict(cls, data: Any) -> FileSnapshot:
        if not isinstance(data, dict) or not isinstance(data.get("known"), bool):
            raise ValueError("file snapshot")
        existed = bool(data.get("existed"))
        raw = data.get("base64")
        return cls(data["known"], existed, base64.b64decode(raw, validate=True) if existed and raw else b"")


@dataclass
class InstallRecord:
    state: str
    config: FileSnapshot
    had_rewrite_ref: bool  # refs/notes/tracker was among notes.rewriteRef before init: never remove it
    exclude: FileSnapshot
    exclude_pattern: str
    had_exclude_pattern: bool
    info_dir_existed: bool
    settings_path: str
    settings_existed: bool
    settings_sha256: str | None  # of the text init writes; uninstall deletes the file only if unchanged
    notes_ref_existed: bool
    pre_commit: bool = False  # the last init was --pre-commit: no hooks were wanted
    hook_folders: dict[str, FolderRecord] = field(default_factory=dict)
    # notes.rewriteMode values from before an older git-tracker set cat_sort_uniq; put back, then None.
    rewrite_mode_previous: list[str] | None = None

    def to_json(self) -> str:
        data = {
            "version": VERSION,
            "state": self.state,
            "config": self.config.to_dict(),
            "had_rewrite_ref": self.had_rewrite_ref,
            "exclude": self.exclude.to_dict(),
            "exclude_pattern": self.exclude_pattern,
            "had_exclude_pattern": self.had_exclude_pattern,
            "info_dir_existed": self.info_dir_existed,
            "settings": {"path": self.settings_path, "existed": self.settings_existed, "sha256": self.settings_sha256},
            "notes_ref_existed": self.notes_ref_existed,
            "pre_commit": self.pre_commit,
            "hook_folders": {path: record.to_dict() for path, record in self.hook_folders.items()},
            "rewrite_mode_previous": self.rewrite_mode_previous,
        }
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def parse(cls, raw: bytes, path: Path, common_dir: Path, toplevel: Path) -> InstallRecord:
        """Read ``raw`` (the bytes of ``path``); the repository's paths place a version 1 record's hooks."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DamagedRecord(path, "not UTF-8") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise DamagedRecord(path, "truncated or not JSON" if text.strip() else "empty") from None
        try:
            if not isinstance(data, dict):
                raise ValueError("not an object")
            if data.get("version") == 1:
                return _from_version_1(data, common_dir, toplevel)
            if data.get("version") != VERSION:
                raise ValueError("unknown version")
            return _from_version_2(data)
        except (ValueError, KeyError, TypeError, AttributeError):  # a field of the wrong type or missing
            raise DamagedRecord(path, "not git-tracker's install record") from None


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected a boolean")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _from_version_2(data: dict[str, Any]) -> InstallRecord:
    if data["state"] not in STATES:
        raise ValueError("state")
    settings = data["settings"]
    previous = data.get("rewrite_mode_previous")
    if previous is not None and not (isinstance(previous, list) and all(isinstance(v, str) for v in previous)):
        raise ValueError("rewrite_mode_previous")
    sha = settings.get("sha256")
    return InstallRecord(
        state=data["state"],
        config=FileSnapshot.from_dict(data["config"]),
        had_rewrite_ref=_bool(data["had_rewrite_ref"]),
        exclude=FileSnapshot.from_dict(data["exclude"]),
        exclude_pattern=_str(data["exclude_pattern"]),
        had_exclude_pattern=_bool(data["had_exclude_pattern"]),
        info_dir_existed=_bool(data["info_dir_existed"]),
        settings_path=_str(settings["path"]),
        settings_existed=_bool(settings["existed"]),
        settings_sha256=None if sha is None else _str(sha),
        notes_ref_existed=_bool(data["notes_ref_existed"]),
        pre_commit=_bool(data.get("pre_commit", False)),
        hook_folders={_str(path): FolderRecord.from_dict(rec) for path, rec in dict(data["hook_folders"]).items()},
        rewrite_mode_previous=previous,
    )


def _from_version_1(data: dict[str, Any], common_dir: Path, toplevel: Path) -> InstallRecord:
    """git-tracker 0.1's manifest: a list of what it changed; the originals themselves are unknown."""
    folders: dict[str, FolderRecord] = {}
    legacy = {str(item) for item in data["legacy"]}
    created = [str(item) for item in data.get("created_dirs", [])]
    for hook in data["hooks"]:
        path = Path(_str(hook))
        if path.name not in ALL_HOOK_NAMES:
            continue
        folder = folders.setdefault(str(path.parent), FolderRecord(kind=PRIVATE))
        moved = str(path) + LEGACY_SUFFIX in legacy
        folder.originals[path.name] = USER if moved else ABSENT
        if moved:
            folder.moved.append(path.name)
    for folder_path, folder in folders.items():
        folder.created_dirs = [d for d in created if d == folder_path]
        folder.kind = classify(Path(folder_path), common_dir, toplevel)
    settings = data.get("settings_file")
    excluded = data.get("excluded")
    previous = data.get("config_previous", {}).get("notes.rewriteMode")
    added = {tuple(pair) for pair in data["config_added"]}
    return InstallRecord(
        state=COMPLETE,
        config=FileSnapshot(known=False),
        had_rewrite_ref=("notes.rewriteRef", "refs/notes/tracker") not in added,
        exclude=FileSnapshot(known=False),
        exclude_pattern=_str(excluded) if excluded else "/.git-tracker.toml",
        had_exclude_pattern=not excluded,
        info_dir_existed=True,
        settings_path=_str(settings["path"]) if settings else ".git-tracker.toml",
        settings_existed=not settings,
        settings_sha256=_str(settings["sha256"]) if settings else None,
        notes_ref_existed=not data.get("notes_ref_created"),
        pre_commit=not folders,
        hook_folders=folders,
        rewrite_mode_previous=[str(v) for v in previous] if isinstance(previous, list) else None,
    )
