"""What ``ingest`` remembers of the logs it read, and the nothing-new check.

Each place read is a *scope*: this host and the logs' directory. Its state is under
``<tracker>/ingest/<source>-<digest of the scope>``:

- ``.manifest``: per file, what it had when last read (``sources.tail.Seen``); the ledger tip and the
  settings the totals were derived with; the size and mtime of ``.git-tracker.toml`` then;
- ``.buckets/``: the deduplicated events and their slot totals, in buckets by key (``eventstore``).

Both are this machine's caches (marshal: no import, several times faster than JSON); the ledger holds
the results. A second ``ingest`` with nothing new is the common case (a hook or a loop runs it often),
so ``quick`` answers it before the CLI is loaded: this module imports only ``os``, ``marshal`` and
``gitfiles``/``sources.places``, which import no more. Whatever it cannot settle from files alone it
leaves to the full command, which runs the same ``nothing_new`` check.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Sequence
from typing import Any

from gittracker import gitfiles
from gittracker.errors import BadInput, TrackerError
from gittracker.names import valid_agent_id
from gittracker.sources import places

LOG_SOURCES = ("claude-logs", "codex-sessions")
# 3: marshal, and the event table keeps slot totals (usage.TABLE_MAGIC); 4: records name places by a keyed digest and
# merge other projects (privacy), so a manifest of 3 reads the logs again and derives every total anew; 5: the events
# in buckets (``eventstore``) instead of one ``.events`` table.
MANIFEST_VERSION = 5
MANIFEST_MAGIC = b"git-tracker ingest manifest 3\n"
EVENTS_INDEX_MAGIC = b"git-tracker event buckets 1\n"  # as eventstore.INDEX_MAGIC (a test holds them equal)
CONFIG_NAME = ".git-tracker.toml"  # as config.CONFIG_NAME (a test holds them equal)
LEDGER_BRANCH = "tracker-ledger"  # as git.LEDGER_REF (a test holds them equal)


class Summary:
    """What one ``ingest`` did, for the report and ``--json``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.scopes: list[str] = []
        self.files = 0
        self.files_read = 0
        self.bytes_read = 0
        self.events = 0
        self.records_added = 0
        self.snapshots_added = 0
        self.divergent_marked = 0
        self.skipped_lines = 0
        self.unchanged = True  # see settle

    def settle(self) -> Summary:
        """``unchanged`` as docs/json.md defines it: nothing new was read and nothing was added, whatever was
        derived again on the way (a run with other settings re-derives every total, and may find them all in the
        ledger)."""
        self.unchanged = not (self.files_read or self.records_added or self.snapshots_added or self.divergent_marked)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def describe(summary: dict[str, Any]) -> str:
    """The one-line report of an ingest."""
    if summary["unchanged"]:
        if summary["source"] == "ccusage" and not summary["events"]:
            return "ccusage: the report was empty (no usage rows)"
        if not summary["files"]:
            return f"{summary['source']}: nothing new (already in the ledger)"
        return f"{summary['source']}: nothing new ({summary['files']} file(s) checked)"
    parts = [f"{summary['source']}:"]
    if summary["files_read"]:
        parts.append(
            f"read {summary['bytes_read']:,} bytes from {summary['files_read']} of {summary['files']} file(s),"
        )
        parts.append(f"{summary['events']:,} token event(s);")
    parts.append(f"{summary['records_added']} usage record(s) and {summary['snapshots_added']} snapshot(s) added")
    line = " ".join(parts)
    if summary["divergent_marked"]:
        line += f"; {summary['divergent_marked']} window(s) marked divergent:ccusage (see git tracker preview)"
    if summary["skipped_lines"]:
        line += f"; {summary['skipped_lines']} unreadable line(s) skipped"
    return line


def hostname() -> str:
    return os.uname().nodename  # what socket.gethostname() says, without importing socket


def scope_of(folder: str) -> str:
    return f"{hostname()}:{os.path.realpath(folder)}"


def _digest(text: str) -> str:
    """FNV-1a, 64 bits: a short stable name for a scope (the manifest names the scope in full)."""
    value = 0xCBF29CE484222325
    for byte in text.encode():
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def relative(folder: str, path: str) -> str:
    """A file's name in the manifest: its path below the folder (``list_files`` joins onto the folder)."""
    return path[len(folder.rstrip(os.sep)) + 1 :]


def list_files(source: str, folder: str) -> list[str]:
    if source == "claude-logs":
        return places.claude_transcripts(folder)
    return places.codex_rollouts_oldest_first(folder)


def folders_of(source: str, dirs: Sequence[str]) -> list[str]:
    return places.claude_config_dirs(dirs) if source == "claude-logs" else places.codex_homes(dirs)


class Store:
    """The manifest and event table of one (source, scope)."""

    def __init__(self, tracker_dir: str, source: str, scope: str) -> None:
        self.base = os.path.join(tracker_dir, "ingest", f"{source}-{_digest(scope)}")
        self.scope = scope

    @property
    def manifest_path(self) -> str:
        return self.base + ".manifest"

    @property
    def events_folder(self) -> str:
        """The deduplicated events, in buckets (``eventstore``)."""
        return self.base + ".buckets"

    def fresh(self) -> dict[str, Any]:
        return {"version": MANIFEST_VERSION, "scope": self.scope, "tip": None, "settings": None, "files": {}}

    def manifest(self) -> dict[str, Any]:
        """The manifest; a fresh one when there is none, when it is an older version's or another scope's,
        or when the event table of what it lists is gone."""
        try:
            with open(self.manifest_path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return self.fresh()
        try:
            manifest = marshal.loads(data[len(MANIFEST_MAGIC) :]) if data.startswith(MANIFEST_MAGIC) else None
        except (ValueError, TypeError, EOFError):
            manifest = None
        if not (isinstance(manifest, dict) and isinstance(manifest.get("files"), dict)):
            raise BadInput(f"{self.manifest_path}: expected git-tracker's ingest manifest; delete it to read again")
        if manifest.get("version") != MANIFEST_VERSION or manifest.get("scope") != self.scope:
            return self.fresh()
        if manifest["files"] and not self.events_intact():  # the events read are gone: read again
            return self.fresh()
        return manifest

    def events_intact(self) -> bool:
        """Whether the event buckets (``eventstore``: an index naming a generation and a count, then one file per
        bucket) are all there, read here without loading ``eventstore``, which ``quick`` does not import."""
        try:
            with open(os.path.join(self.events_folder, "index"), "rb") as handle:
                generation, buckets, _ = marshal.loads(handle.read()[len(EVENTS_INDEX_MAGIC) :])
            return all(os.path.exists(os.path.join(self.events_folder, f"{generation}.{b}")) for b in range(buckets))
        except (OSError, ValueError, TypeError, EOFError):
            return False

    def manifest_bytes(self, manifest: dict[str, Any]) -> bytes:
        return MANIFEST_MAGIC + marshal.dumps(manifest)


def config_stamp(toplevel: str) -> list[int] | None:
    """Size and mtime of ``.git-tracker.toml``: the settings derived from it hold while these do."""
    try:
        info = os.stat(os.path.join(toplevel, CONFIG_NAME))
    except FileNotFoundError:
        return None
    return [info.st_size, info.st_mtime_ns]


def nothing_new(manifest: dict[str, Any], folder: str, files: list[str], tip: str | None, settings: Any) -> bool:
    """True when no file changed since the last read, and the ledger tip and settings are the same.

    A file counts as unchanged while its size and modification time are (``sources.tail.open_new``
    then reads nothing of it either). A new ledger tip may mean a window closed, which changes totals.
    """
    if manifest.get("tip") != tip or manifest.get("settings") != settings:
        return False
    known = manifest["files"]
    for path in files:
        seen = known.get(relative(folder, path))
        if not isinstance(seen, list) or len(seen) < 2:
            return False
        try:
            info = os.stat(path)
        except OSError:
            return False
        if info.st_size != seen[0] or info.st_mtime_ns != seen[1]:
            return False
    return True


def quick(argv: list[str]) -> int | None:
    """``ingest claude-logs|codex-sessions`` when nothing is new, without the CLI; None: run the full command.

    Settles only the nothing-new case, and only from files: the repository and the ledger tip found as
    ``gitfiles`` finds them, the settings and config stamp the last full run left in each manifest.
    """
    parsed = _parse(argv)
    if parsed is None or not valid_agent_id(os.environ.get("AGENT_ID") or "main"):
        return None
    source, dirs, this_repo_only, as_json = parsed
    repo = gitfiles.find_repo(".")
    if repo is None:
        return None
    toplevel, common_dir = repo
    tracker = os.path.join(common_dir, "tracker")
    known, tip = gitfiles.branch_tip(common_dir, LEDGER_BRANCH)
    if not known or not os.path.exists(os.path.join(tracker, "install.json")):
        return None
    stamp = config_stamp(toplevel)
    summary = Summary(source)
    try:
        folders = folders_of(source, dirs)
        for folder in folders:
            store = Store(tracker, source, scope_of(folder))
            manifest = store.manifest()
            saved = manifest.get("settings")
            if manifest.get("config") != stamp or not isinstance(saved, dict):
                return None
            # The zone is the config's, unchanged since the stamp; the narrowing is this command's.
            settings = {**saved, "this_repo_only": this_repo_only}
            files = list_files(source, folder)
            if not nothing_new(manifest, folder, files, tip, settings):
                return None
            summary.scopes.append(store.scope)
            summary.files += len(files)
    except (TrackerError, OSError):
        return None  # the full command says what is wrong
    if as_json:
        import json

        sys.stdout.write(json.dumps(summary.to_dict(), sort_keys=True) + "\n")
    else:
        sys.stdout.write(describe(summary.to_dict()) + "\n")
    return 0


def _parse(argv: list[str]) -> tuple[str, list[str], bool, bool] | None:
    """``ingest SOURCE [--dir DIR]... [--this-repo] [--json]``; anything else is the CLI's to parse."""
    if len(argv) < 2 or argv[0] != "ingest" or argv[1] not in LOG_SOURCES:
        return None
    dirs: list[str] = []
    this_repo_only = as_json = False
    rest = argv[2:]
    while rest:
        item = rest.pop(0)
        if item == "--dir" and rest and not rest[0].startswith("-"):
            dirs.append(rest.pop(0))
        elif item.startswith("--dir=") and len(item) > len("--dir="):
            dirs.append(item[len("--dir=") :])
        elif item == "--this-repo" and argv[1] == "claude-logs":
            this_repo_only = True
        elif item == "--json":
            as_json = True
        else:
            return None
    return argv[1], dirs, this_repo_only, as_json
