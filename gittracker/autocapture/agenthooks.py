"""``agent-hooks install|uninstall|status``: git-tracker's hooks in Claude Code's and Codex's own settings files.

``install`` puts our entries (``settings``) into the agent's file for the scope (``agentfiles``), under a lock,
and replaces the file only if nobody changed it between our read and our write (else it reads it again). Before
writing it keeps a record of the file: its bytes before the first install (or that there was none) and a digest
of what we wrote. ``uninstall`` puts those bytes back when the file is still what we wrote (deletes it when there
was none), else takes out only our entries and keeps every other change. The records live with the scope:
``<common git dir>/tracker/agent-hooks/`` for a project, ``$XDG_STATE_HOME/git-tracker/agent-hooks/`` for the
user; they hold a copy of the user's file, so only the user may read them.

A project's file holds this machine's paths, so it is kept out of commits: when git does not ignore it already (a
.gitignore, the user's global excludes), install lists it in ``.git/info/exclude`` (shared by the worktrees) and
the last uninstall takes that line out again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gittracker.autocapture import agentfiles, settings
from gittracker.autocapture.agentfiles import PROJECT, PROJECT_FILES, SCOPES, Program, find_program
from gittracker.autocapture.settings import AGENTS, Added, Agent
from gittracker.errors import BadInput, LostRace, NotARepository, Notice, NotInitialised, Refused
from gittracker.files import atomic_write, file_lock, remove_unless_changed, replace_unless_changed
from gittracker.git import Repo
from gittracker.installrecord import FileSnapshot
from gittracker.privacy import key_folder as user_state_folder
from gittracker.state import LocalState

RECORDS = "agent-hooks"
VERSION = 1
ATTEMPTS = 5  # rereads when the file changes under us; a person's editor does not save five times in a second
NOT_SET_UP = "git-tracker is not set up in this repository: run `git tracker init` first (or use --scope user)"
LEFT_AS_IS = "; left it as it is"


@dataclass(frozen=True)
class Target:
    """One agent's file for one scope, and where its records are kept."""

    agent: Agent
    scope: str
    path: Path  # the file, where the agent reads it
    records: Path
    repo: Repo | None  # the project's repository (project scope)

    @property
    def real_path(self) -> Path:
        """The file to write: a settings file that is a symlink (into a dotfiles repository) is written through."""
        return Path(os.path.realpath(self.path))

    @property
    def record_path(self) -> Path:
        digest = hashlib.sha256(str(self.path).encode()).hexdigest()[:16]
        return self.records / f"{self.agent.name}-{self.scope}-{digest}.json"

    @property
    def exclude_note(self) -> Path:
        """What ``.git/info/exclude`` was before install listed this agent's project file (one per repository)."""
        return self.records / f"exclude-{self.agent.name}.json"

    @property
    def exclude_pattern(self) -> str:
        return "/" + PROJECT_FILES[self.agent.name].as_posix()

    @property
    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Our lock on this scope's files; none where nothing of ours was ever kept (an uninstall that finds
        nothing writes nothing, not even a lock file in a repository git-tracker is not set up in)."""
        if self.records.parent.is_dir():
            return file_lock(self.records / "lock")
        return contextlib.nullcontext()


def target(agent_name: str, scope: str, start: Path | str = ".") -> Target:
    return _target(AGENTS[agent_name], scope, Repo.discover(start) if scope == PROJECT else None)


def _target(agent: Agent, scope: str, repo: Repo | None) -> Target:
    if repo is not None:
        return Target(agent, scope, agentfiles.project_file(agent, repo.toplevel), repo.tracker_dir / RECORDS, repo)
    return Target(agent, scope, agentfiles.user_file(agent), user_state_folder() / RECORDS, None)


# -- the record of one install ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """What install found and left in one file, for uninstall."""

    file: str
    original: FileSnapshot  # the file before the first install; known False: entries of ours were there already
    written: str | None  # sha-256 of the bytes install left (None: no file)
    added: Added | None  # what install put in besides our hooks (None: not known)
    made_dirs: tuple[str, ...] = ()  # folders install created for the file, innermost first

    def to_json(self) -> str:
        added = None if self.added is None else {**vars(self.added), "events": list(self.added.events)}
        data = {
            "version": VERSION,
            "file": self.file,
            "original": self.original.to_dict(),
            "written_sha256": self.written,
            "added": added,
            "made_dirs": list(self.made_dirs),
        }
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Record:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError("not a version 1 record")
        added = data["added"]
        if added is not None:
            added = Added(bool(added["hooks"]), tuple(str(e) for e in added["events"]), bool(added["statusline"]))
        written = data["written_sha256"]
        return cls(
            str(data["file"]),
            FileSnapshot.from_dict(data["original"]),
            None if written is None else str(written),
            added,
            tuple(str(folder) for folder in data["made_dirs"]),
        )


def load_record(spot: Target) -> Record | None:
    try:
        return Record.from_json(spot.record_path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        warnings.warn(
            Notice(
                f"{spot.record_path} is damaged ({type(error).__name__}): uninstall will take out only "
                "git-tracker's entries instead of restoring the file byte for byte"
            ),
            stacklevel=2,
        )
        return None


def _save(spot: Target, record: Record) -> None:
    atomic_write(spot.record_path, record.to_json(), mode=0o600)


def _sha(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _content(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # no such file (a file where its folder should be: see below)
        return None
    except IsADirectoryError:
        raise BadInput(f"{path}: expected a file, but it is a folder; left it as it is") from None


# -- install -------------------------------------------------------------------------------------------------


def install(agent_name: str, scope: str, start: Path | str = ".") -> dict[str, Any]:
    """Our hooks (and, for Claude Code, our status line) in the agent's file for ``scope``; twice is once."""
    spot = target(agent_name, scope, start)
    if spot.repo is not None:
        _check_project(spot, spot.repo)
    program = find_program()
    _parse(spot, _content(spot.real_path))  # a file we cannot read is refused before anything is written
    _check_folder(spot.real_path)
    with spot.lock:
        before = _content(spot.real_path)
        doc = _parse(spot, before)
        changes = _keep_out_of_git(spot, spot.repo) if spot.repo is not None else []
        wrote, final = _install_entries(spot, program.path, before, doc)
    return _installed(spot, program, wrote, final, changes)


def _check_project(spot: Target, repo: Repo) -> None:
    if not LocalState(repo.tracker_dir).manifest.exists():
        raise NotInitialised(NOT_SET_UP)
    if repo.is_tracked(spot.path):
        shown = PROJECT_FILES[spot.agent.name].as_posix()
        raise Refused(
            f"{shown} is tracked by git: git-tracker's entries (with this machine's paths) would be committed; "
            f"untrack it (`git rm --cached {shown}`) or use --scope user"
        )


def _check_folder(path: Path) -> None:
    """The folder the file goes in is a folder, or can be made (``.claude`` could be a file of the user's)."""
    folder = path.parent
    while not os.path.lexists(folder) and folder.parent != folder:
        folder = folder.parent
    if not folder.is_dir():
        raise BadInput(f"{folder}: expected a folder to hold {path.name}, but it is not one; left it as it is")


def _parse(spot: Target, data: bytes | None) -> dict[str, Any]:
    return settings.parse(data or b"", str(spot.path), spot.agent)


def _install_entries(
    spot: Target, program: str, before: bytes | None, doc: dict[str, Any]
) -> tuple[bool, dict[str, Any]]:
    """Write our entries into the file unless it has them: (whether it wrote, what the file now holds). Rereads
    the file when it changed under us."""
    for _ in range(ATTEMPTS):
        new_doc, added = settings.install(doc, spot.agent, program)
        if new_doc is doc and before is not None:
            if load_record(spot) is None:  # ours were there already (put by hand, or the record lost)
                _save(spot, Record(str(spot.path), FileSnapshot(known=False), _sha(before), None))
            return False, doc
        new = settings.render(new_doc, before)
        _save(spot, _next_record(spot, load_record(spot), before, doc, new, added))
        if replace_unless_changed(spot.real_path, before, new):
            return True, new_doc
        before = _content(spot.real_path)
        doc = _parse(spot, before)
    raise LostRace(f"{spot.path} kept changing while git-tracker wrote it; nothing was written: try again")


def _next_record(
    spot: Target, record: Record | None, before: bytes | None, doc: dict[str, Any], new: bytes, added: Added
) -> Record:
    if record is not None and record.written == _sha(before):  # the file is as we left it: its original holds
        joined = None if record.added is None else record.added.joined(added)
        return Record(record.file, record.original, _sha(new), joined, record.made_dirs)
    if not settings.found(doc, spot.agent).any:  # nothing of ours in it: this is the first install
        original = FileSnapshot(True, before is not None, before or b"")
        return Record(str(spot.path), original, _sha(new), added, _missing_dirs(spot.real_path.parent))
    joined = record.added.joined(added) if record is not None and record.added is not None else None
    made = record.made_dirs if record is not None else ()
    return Record(str(spot.path), FileSnapshot(known=False), _sha(new), joined, made)


def _missing_dirs(folder: Path) -> tuple[str, ...]:
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(str(folder))
        folder = folder.parent
    return tuple(missing)


def _installed(spot: Target, program: Program, wrote: bool, doc: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    agent = spot.agent
    events = ", ".join(agent.events)
    lines = [f"{events} run {agent.hook_command(program.path, 'EVENT')}"]
    if agent.statusline:
        wraps = settings.found(doc, agent).wraps
        shown = settings.statusline_command(program.path, wraps)
        lines.append(f"statusLine runs {shown}" + ("" if wraps is None else " (your status line still shows, first)"))
    lines += changes
    lines.append(f"the program: {program.path} ({program.how})")
    headline = (
        f"{agent.name}: git-tracker's hooks are in {spot.path} ({spot.scope} scope)"
        if wrote
        else f"{agent.name}: git-tracker's hooks were already in {spot.path} ({spot.scope} scope): nothing changed"
    )
    return {"headline": headline, "changes": lines, "advice": _advice(spot, program)}


def _advice(spot: Target, program: Program) -> list[str]:
    undo = f"Turn it off: git tracker agent-hooks uninstall {spot.agent.name}" + (
        "" if spot.scope == PROJECT else " --scope user"
    )
    if spot.agent.name == "claude":
        return ["Claude Code reads it when a session starts.", undo]
    toplevel = spot.repo.toplevel if spot.repo is not None else None
    config = agentfiles.codex_config(spot.scope, toplevel)
    user_config = agentfiles.codex_home() / "config.toml"
    state = {True: "it is on now", False: "it is not on now", None: "git-tracker could not read it"}[config.hooks]
    advice = [
        f"Codex runs hooks only with this in {user_config} ({state}; git-tracker does not edit that file):",
        "    [features]",
        "    hooks = true",
        "Codex asks you to trust new hooks before it runs them (/hooks in codex); `codex exec "
        "--dangerously-bypass-hook-trust` runs them without asking.",
    ]
    if spot.scope == PROJECT:
        advice.append('Codex reads <repo>/.codex/ only in a project it trusts (trust_level = "trusted").')
    advice += [
        f"Older Codex without hooks: put this line in {user_config} instead (Codex passes its JSON as the last "
        "argument):",
        f"    {agentfiles.notify_line(program.path)}",
        undo,
    ]
    return advice


# -- keeping a project's file out of commits -------------------------------------------------------------------


def _keep_out_of_git(spot: Target, repo: Repo) -> list[str]:
    if repo.is_ignored(spot.path):  # a .gitignore, the user's global excludes, or our line from before
        return []
    exclude = _exclude_file(repo)
    pattern = spot.exclude_pattern
    for _ in range(ATTEMPTS):
        current = _content(exclude)
        if _has_line(current, pattern):  # listed, and still not ignored: a .gitignore rule lets it back in
            return [f"warning: git does not ignore {pattern[1:]} (a .gitignore rule lets it in): do not commit it"]
        if not spot.exclude_note.exists():
            before = FileSnapshot(True, current is not None, current or b"")
            note = {"pattern": pattern, "before": before.to_dict(), "info_dir_existed": exclude.parent.is_dir()}
            atomic_write(spot.exclude_note, json.dumps(note, sort_keys=True) + "\n", mode=0o600)
        if replace_unless_changed(exclude, current, _with_line(current or b"", pattern)):
            return [f"listed {pattern[1:]} in .git/info/exclude (it stays out of commits)"]
    raise LostRace(f"{exclude} kept changing while git-tracker wrote it: try again")


def _release_exclude(spot: Target, repo: Repo) -> list[str]:
    """Take our line out of ``info/exclude`` once no worktree's file needs it (the bytes from before, if the file
    is as install left it)."""
    note_path = spot.exclude_note
    others = [path for path in spot.records.glob(f"{spot.agent.name}-{PROJECT}-*.json") if path != spot.record_path]
    if others or not note_path.exists():
        return []
    try:
        note = json.loads(note_path.read_bytes())
        before = FileSnapshot.from_dict(note["before"])
        pattern = str(note["pattern"])
        info_dir_existed = bool(note["info_dir_existed"])
    except (OSError, ValueError, KeyError, TypeError):
        before, pattern, info_dir_existed = FileSnapshot(known=False), spot.exclude_pattern, True
    exclude = _exclude_file(repo)
    for _ in range(ATTEMPTS):
        current = _content(exclude)
        if current is None or not _has_line(current, pattern):
            break
        original = before.data if before.existed else None
        if before.known and current == _with_line(original or b"", pattern):
            done = (
                replace_unless_changed(exclude, current, original)
                if original is not None
                else (remove_unless_changed(exclude, current))
            )
        else:
            done = replace_unless_changed(exclude, current, _without_line(current, pattern))
        if done:
            note_path.unlink(missing_ok=True)
            if not info_dir_existed:
                with contextlib.suppress(OSError):
                    exclude.parent.rmdir()
            return [f"took {pattern[1:]} out of .git/info/exclude"]
    else:
        raise LostRace(f"{exclude} kept changing while git-tracker wrote it: try again")
    note_path.unlink(missing_ok=True)
    return []


def _exclude_file(repo: Repo) -> Path:
    return repo.common_dir / "info" / "exclude"


def _has_line(data: bytes | None, line: str) -> bool:
    return data is not None and line.encode() in data.splitlines()


def _with_line(data: bytes, line: str) -> bytes:
    return data + (b"" if not data or data.endswith(b"\n") else b"\n") + line.encode() + b"\n"


def _without_line(data: bytes, line: str) -> bytes:
    return b"".join(kept for kept in data.splitlines(keepends=True) if kept.rstrip(b"\r\n") != line.encode())


# -- uninstall -----------------------------------------------------------------------------------------------


def uninstall(agent_name: str, scope: str, start: Path | str = ".") -> dict[str, Any]:
    """Our entries out of the agent's file: the bytes from before install when nothing else changed it."""
    spot = target(agent_name, scope, start)
    now = _content(spot.real_path)
    if now is not None:  # what install wrote is always readable: a file that is not was changed by someone else
        _parse(spot, now)  # refused before anything is written
    with spot.lock:
        said, wraps = _remove_entries(spot)
        spot.record_path.unlink(missing_ok=True)
        changes = _release_exclude(spot, spot.repo) if spot.repo is not None else []
    if wraps is not None:
        changes.insert(0, f"statusLine runs your previous command again: {wraps}")
    advice = []
    if spot.agent.name == "codex":
        toplevel = spot.repo.toplevel if spot.repo is not None else None
        if agentfiles.codex_config(scope, toplevel).notify:
            advice.append("config.toml still runs git-tracker as Codex's notify program: take that line out yourself")
    return {"headline": f"{spot.agent.name}: {said}", "changes": changes, "advice": advice}


def _remove_entries(spot: Target) -> tuple[str, str | None]:
    """(what was done, the status-line command given back); rereads when the file changed under us."""
    for _ in range(ATTEMPTS):
        before = _content(spot.real_path)
        record = load_record(spot)
        if before is None:
            return f"{spot.path} is not there: nothing to take out", None
        if record is not None and record.original.known and record.written == _sha(before):
            if _restore(spot, record, before):
                return _restored(spot, record), None
            continue
        doc = _parse(spot, before)
        new_doc = settings.uninstall(doc, spot.agent, None if record is None else record.added)
        if new_doc == doc:
            return f"no git-tracker entries in {spot.path}: nothing to take out", None
        wraps = settings.found(doc, spot.agent).wraps
        if not new_doc and record is not None and record.original.known and not record.original.existed:
            if remove_unless_changed(spot.real_path, before):
                _remove_dirs(record)
                return f"deleted {spot.path}: there was none before install, and nothing is left in it", wraps
            continue
        if replace_unless_changed(spot.real_path, before, settings.render(new_doc, before)):
            how = "the file changed since install" if record is not None else "no record of it from install"
            return f"took git-tracker's entries out of {spot.path} ({how}: the rest is as it was)", wraps
    raise LostRace(f"{spot.path} kept changing while git-tracker wrote it: try again")


def _restore(spot: Target, record: Record, now: bytes) -> bool:
    if record.original.existed:
        return replace_unless_changed(spot.real_path, now, record.original.data)
    if remove_unless_changed(spot.real_path, now):
        _remove_dirs(record)
        return True
    return False


def _restored(spot: Target, record: Record) -> str:
    if record.original.existed:
        return f"took git-tracker's entries out of {spot.path} (restored it byte for byte)"
    return f"deleted {spot.path} (there was none before install)"


def _remove_dirs(record: Record) -> None:
    for folder in record.made_dirs:  # innermost first; a folder something else has put files in stays
        with contextlib.suppress(OSError):
            os.rmdir(folder)


# -- status --------------------------------------------------------------------------------------------------


def status(start: Path | str = ".") -> dict[str, Any]:
    """For each agent and scope: whether our entries are in its file, and whether the program they run exists."""
    try:
        program: Program | None = find_program()
    except Refused:
        program = None
    rows = [_row(spot, program) for spot in _targets(start)]
    return {
        "program": None if program is None else program.path,
        "program_found": None if program is None else program.how,
        "targets": rows,
    }


def _targets(start: Path | str) -> Iterator[Target]:
    try:
        repo: Repo | None = Repo.discover(start)
    except NotARepository:
        repo = None
    for agent in AGENTS.values():
        for scope in SCOPES:
            if scope != PROJECT or repo is not None:
                yield _target(agent, scope, repo if scope == PROJECT else None)


def _row(spot: Target, program: Program | None) -> dict[str, Any]:
    agent = spot.agent
    row: dict[str, Any] = {
        "agent": agent.name,
        "scope": spot.scope,
        "file": str(spot.path),
        "exists": spot.path.exists(),
        "installed": False,
        "events": [],
        "statusline": None,
        "programs": [],
        "programs_exist": None,
        "current": None,
        "problem": None,
        "hooks_feature": None,
        "notify": None,
    }
    try:
        data = _content(spot.real_path)
        doc = _parse(spot, data) if data is not None else {}
    except (BadInput, OSError) as error:
        row["problem"] = str(error).removesuffix(LEFT_AS_IS)
    else:
        mine = settings.found(doc, agent)
        row["events"] = list(mine.events)
        row["statusline"] = mine.statusline
        row["programs"] = list(mine.programs)
        row["installed"] = mine.events == agent.events and mine.statusline is not False
        if mine.programs:
            row["programs_exist"] = all(agentfiles.runnable(path) for path in mine.programs)
        if mine.any and program is not None:
            row["current"] = settings.is_current(doc, agent, program.path)
    if agent.name == "codex":
        config = agentfiles.codex_config(spot.scope, spot.repo.toplevel if spot.repo is not None else None)
        row["hooks_feature"], row["notify"] = config.hooks, config.notify
    return row


def describe_status(data: dict[str, Any]) -> str:
    lines = []
    for row in data["targets"]:
        lines.append(f"{row['agent']:<7}{row['scope']:<9}{_state(row):<24}{row['file']}")
        lines += [f"{'':16}{note}" for note in _notes(row, data["program"])]
    found = data["program"]
    lines.append(f"program: {found} ({data['program_found']})" if found else "program: git-tracker not found")
    return "\n".join(lines)


def _state(row: dict[str, Any]) -> str:
    if row["problem"]:
        return "cannot read"
    if row["installed"]:
        return "installed"
    if row["events"] or row["statusline"]:
        return "partly installed"
    return "not installed"


def _notes(row: dict[str, Any], program: str | None) -> list[str]:
    notes = []
    if row["problem"]:
        notes.append(row["problem"])
    agent = AGENTS[row["agent"]]
    if row["events"] and not row["installed"]:
        missing = [event for event in agent.events if event not in row["events"]]
        what = missing + ([] if row["statusline"] is not False else ["statusLine"])
        notes.append(f"missing: {', '.join(what)}: run `git tracker agent-hooks install {row['agent']}` again")
    if row["programs_exist"] is False:
        gone = ", ".join(row["programs"])
        notes.append(f"runs {gone}, which is not there any more: install again to run {program or 'git-tracker'}")
    elif row["current"] is False and row["programs"] != [program]:
        notes.append(f"runs {', '.join(row['programs'])}, another git-tracker than {program}: install again to change")
    elif row["current"] is False:
        notes.append("the entries differ from what install writes (edited, or doubled): install again to set them")
    if row["agent"] == "codex" and (row["events"] or row["notify"]):
        if row["hooks_feature"] is False and row["events"]:
            notes.append("Codex's hooks feature is off: [features] hooks = true in config.toml")
        if row["notify"]:
            notes.append("config.toml's notify program is git-tracker's hook (older Codex)")
    return notes
