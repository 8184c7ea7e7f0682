"""git-tracker's entries in a coding agent's settings file: found, added and taken out, and nothing else touched.

Claude Code's settings (``.claude/settings.local.json``, ``~/.claude/settings.json``) and Codex's ``hooks.json``
share one shape for command hooks::

    {"hooks": {"Stop": [{"matcher": "…", "hooks": [{"type": "command", "command": "…"}]}]}}

and Claude's settings also hold the ``statusLine`` command. This module works on the parsed file, in memory:
our hooks go in groups of their own at the end of each event's list, so taking them out leaves the user's groups
as they were; a status line the user had is wrapped (``statusline --wrap 'THEIRS'``), so taking ours out gives
theirs back. Key order and the spelling of numbers survive a parse and a render. Reading and writing the files
(locks, the record of what was there, the byte-for-byte undo) is ``agenthooks``'s job.

An entry is ours when its command runs git-tracker's ``hook AGENT EVENT`` (or ``statusline``), whatever the path
to the program: a moved virtualenv leaves entries that ``install`` updates and ``uninstall`` still removes.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
from dataclasses import dataclass
from typing import Any

from gittracker.errors import BadInput

Json = Any
HOOK_TIMEOUT_SECONDS = 10  # the hook answers in milliseconds; if it ever hung, the agent would wait this long only
BOM = "\ufeff"


@dataclass(frozen=True)
class Agent:
    name: str
    events: tuple[str, ...]  # the hook events git-tracker listens to, in the order they are written
    statusline: bool  # whether the file also holds the status-line command
    what: str  # the file, as a user knows it

    def hook_command(self, program: str, event: str) -> str:
        return f"{quote(program)} hook {self.name} {event}"


CLAUDE = Agent("claude", ("SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"), True, "Claude Code settings")
CODEX = Agent("codex", ("SessionStart", "UserPromptSubmit", "Stop"), False, "Codex hooks file")
AGENTS = {agent.name: agent for agent in (CLAUDE, CODEX)}


class Number:
    """A JSON number as the file spells it (``1e3`` stays ``1e3``, ``10.50`` stays ``10.50``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Number) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Number({self.text!r})"


def quote(word: str) -> str:
    """``word`` for a POSIX shell, always in single quotes (a path with no odd character included: it reads the same
    in every entry, and a user sees at once what is one word)."""
    return "'" + word.replace("'", "'\"'\"'") + "'"


# -- reading and writing the file ------------------------------------------------------------------------


class _Constant(ValueError):
    """NaN or Infinity: Python's json takes them, JavaScript's (Claude Code's) refuses them."""


def _refuse_constant(name: str) -> Any:
    raise _Constant(f"{name} is not JSON")


def parse(data: bytes, where: str, agent: Agent) -> dict[str, Json]:
    """The settings object in ``data`` (the bytes of the file ``where``); an empty file is an empty object.

    Anything else is refused with one line naming the file and what was expected: not UTF-8, not JSON, not an
    object, or git-tracker's parts of it (``hooks``, the events it uses, ``statusLine``) of another shape."""
    expected = f"{where}: expected a JSON object ({agent.what})"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{expected}, but it is not UTF-8 text; left it as it is") from None
    text = text.removeprefix(BOM)
    if not text.strip():
        return {}
    try:
        value = json.loads(text, parse_float=Number, parse_int=Number, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        where_in = f"line {error.lineno} column {error.colno}"
        raise BadInput(f"{expected}, but it is not valid JSON ({error.msg}, {where_in}); left it as it is") from None
    except (_Constant, RecursionError) as error:
        why = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise BadInput(f"{expected}, but it is not valid JSON ({why}); left it as it is") from None
    if not isinstance(value, dict):
        raise BadInput(f"{expected}, but it holds {_kind(value)}; left it as it is")
    problem = _shape_problem(value, agent)
    if problem is not None:
        raise BadInput(f"{where}: expected {problem}; left it as it is")
    return value


def _shape_problem(doc: dict[str, Json], agent: Agent) -> str | None:
    """What is wrong with the parts of ``doc`` git-tracker reads or writes, as "expected …"; None: nothing."""
    hooks = doc.get("hooks", {})
    if not isinstance(hooks, dict):
        return f'"hooks" to be an object of event lists, but it is {_kind(hooks)}'
    for event in agent.events:
        problem = _event_problem(event, hooks[event]) if event in hooks else None
        if problem is not None:
            return problem
    if agent.statusline and "statusLine" in doc:
        line = doc["statusLine"]
        if not (isinstance(line, dict) and line.get("type") == "command" and isinstance(line.get("command"), str)):
            return '"statusLine" to be {"type": "command", "command": "…"}'
    return None


def _event_problem(event: str, groups: Json) -> str | None:
    if not isinstance(groups, list):
        return f'"hooks.{event}" to be a list of hook groups, but it is {_kind(groups)}'
    for number, group in enumerate(groups):
        here = f"hooks.{event}[{number}]"
        if not isinstance(group, dict):
            return f'"{here}" to be an object with a "hooks" list, but it is {_kind(group)}'
        handlers = group.get("hooks", [])
        if not isinstance(handlers, list):
            return f'"{here}.hooks" to be a list of hooks, but it is {_kind(handlers)}'
        for index, handler in enumerate(handlers):
            if not isinstance(handler, dict):
                return f'"{here}.hooks[{index}]" to be an object, but it is {_kind(handler)}'
    return None


def _kind(value: Json) -> str:
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "a list", str: "a string", Number: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def render(doc: dict[str, Json], like: bytes | None) -> bytes:
    """``doc`` as file bytes, in the style of ``like`` (the file's bytes before): its indentation, its line ends,
    its final newline and byte-order mark; two spaces and a final newline for a new file."""
    old = (like or b"").decode("utf-8", "replace")
    unit = _indent_unit(old)
    out: list[str] = []
    _dump(doc, unit, 0, out)
    text = "".join(out)
    if like is None or old.rstrip(" \t") == "" or old.rstrip(" \t").endswith("\n"):
        text += "\n"
    if "\r\n" in old:
        text = text.replace("\n", "\r\n")
    if old.startswith(BOM):
        text = BOM + text
    return text.encode("utf-8")


def _indent_unit(text: str) -> str:
    for line in text.removeprefix(BOM).splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and stripped != line:
            return line[: len(line) - len(stripped)]
    return "  "


def _dump(value: Json, unit: str, level: int, out: list[str]) -> None:
    if isinstance(value, dict | list):
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        if not items:
            out.append(opening + closing)
            return
        out.append(opening)
        for number, (key, item) in enumerate(items):
            out.append("\n" + unit * (level + 1))
            if isinstance(value, dict):
                out.append(_string(key) + ": ")
            _dump(item, unit, level + 1, out)
            out.append("," if number < len(items) - 1 else "")
        out.append("\n" + unit * level + closing)
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, Number):
        out.append(value.text)
    elif value is True or value is False or value is None:
        out.append(json.dumps(value))
    elif isinstance(value, int):
        out.append(str(value))
    else:
        raise TypeError(f"cannot write {type(value).__name__} in a settings file")


def _string(text: str) -> str:
    written = json.dumps(text, ensure_ascii=False)
    try:
        written.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (a "\ud800" escape in the file): keep it escaped
        return json.dumps(text)
    return written


# -- our entries ------------------------------------------------------------------------------------------


def tracker_args(command: Json) -> list[str] | None:
    """The arguments ``command`` gives git-tracker when it runs git-tracker (``…/git-tracker ARGS`` or ``git tracker
    ARGS``); None for any other command."""
    if not isinstance(command, str):
        return None
    try:
        words = shlex.split(command)
    except ValueError:  # an unbalanced quote: not a command of ours
        return None
    if words and os.path.basename(words[0]) == "git-tracker":
        return words[1:]
    if len(words) >= 2 and os.path.basename(words[0]) == "git" and words[1] == "tracker":
        return words[2:]
    return None


def program_of(command: Json) -> str | None:
    """The program an entry of ours runs (its first word), as written."""
    return shlex.split(command)[0] if tracker_args(command) is not None else None


def _is_our_hook(handler: Json, agent: Agent) -> bool:
    if not isinstance(handler, dict) or handler.get("type", "command") != "command":
        return False
    args = tracker_args(handler.get("command"))
    return args is not None and len(args) == 3 and args[:2] == ["hook", agent.name]


def _our_hook(agent: Agent, program: str, event: str) -> dict[str, Json]:
    timeout = Number(str(HOOK_TIMEOUT_SECONDS))  # as a parsed file holds it, so that ours compare equal
    return {"type": "command", "command": agent.hook_command(program, event), "timeout": timeout}


_NOT_OURS = object()


def _wrapped(line: Json) -> Any:
    """For a status line of ours, the command it wraps (None: it wraps nothing); ``_NOT_OURS`` for any other."""
    args = tracker_args(line.get("command")) if isinstance(line, dict) else None
    if args == ["statusline"]:
        return None
    if args is not None and len(args) == 3 and args[:2] == ["statusline", "--wrap"]:
        return args[2]
    return _NOT_OURS


def statusline_command(program: str, wrapped: str | None) -> str:
    return f"{quote(program)} statusline" + ("" if wrapped is None else f" --wrap {quote(wrapped)}")


@dataclass(frozen=True)
class Found:
    """Our entries in a settings file."""

    events: tuple[str, ...]  # events with a hook of ours (in the agent's order)
    statusline: bool | None  # a status line of ours (None: this agent's file has none)
    programs: tuple[str, ...]  # the programs our entries run, as written, each once
    wraps: str | None = None  # the status-line command ours wraps

    @property
    def any(self) -> bool:
        return bool(self.events) or bool(self.statusline)


def found(doc: dict[str, Json], agent: Agent) -> Found:
    events, programs = [], []
    hooks = doc.get("hooks") if isinstance(doc.get("hooks"), dict) else {}
    for event in agent.events:
        handlers = [handler for handler in _handlers(hooks, event) if _is_our_hook(handler, agent)]
        if any(tracker_args(handler["command"]) == ["hook", agent.name, event] for handler in handlers):
            events.append(event)
        programs += [program_of(handler["command"]) for handler in handlers]
    statusline: bool | None = None
    wraps = None
    if agent.statusline:
        wrapped = _wrapped(doc.get("statusLine"))
        statusline = wrapped is not _NOT_OURS
        if statusline:
            programs.append(program_of(doc["statusLine"]["command"]))
            wraps = wrapped
    return Found(tuple(events), statusline, tuple(dict.fromkeys(p for p in programs if p is not None)), wraps)


def _handlers(hooks: Json, event: str) -> list[Json]:
    groups = hooks.get(event) if isinstance(hooks, dict) else None
    if not isinstance(groups, list):
        return []
    return [handler for group in groups if isinstance(group, dict) for handler in _group_hooks(group)]


def _group_hooks(group: dict[str, Json]) -> list[Json]:
    handlers = group.get("hooks")
    return handlers if isinstance(handlers, list) else []


def is_current(doc: dict[str, Json], agent: Agent, program: str) -> bool:
    """Whether ``doc`` has exactly our entries for ``program``: one hook per event, the status line (if any)."""
    hooks = doc.get("hooks")
    for event in agent.events:
        ours = [handler for handler in _handlers(hooks, event) if _is_our_hook(handler, agent)]
        if ours != [_our_hook(agent, program, event)]:
            return False
    if agent.statusline:
        wrapped = _wrapped(doc.get("statusLine"))
        return wrapped is not _NOT_OURS and doc["statusLine"]["command"] == statusline_command(program, wrapped)
    return True


@dataclass(frozen=True)
class Added:
    """What ``install`` put in besides our hooks, for ``uninstall`` to take away with them."""

    hooks: bool = False  # the "hooks" object itself
    events: tuple[str, ...] = ()  # event lists
    statusline: bool = False  # our status line (a status line of ours that was there before stays)

    def joined(self, later: Added) -> Added:
        """What two installs put in between them (the second one after the first)."""
        events = tuple(dict.fromkeys((*self.events, *later.events)))
        return Added(self.hooks or later.hooks, events, self.statusline or later.statusline)


def install(doc: dict[str, Json], agent: Agent, program: str) -> tuple[dict[str, Json], Added]:
    """``doc`` with our entries for ``program``, and what was put in besides; unchanged when already so.

    Entries of ours for another program (a moved virtualenv) or duplicated by hand are replaced by one each."""
    if is_current(doc, agent, program):
        return doc, Added()
    doc = copy.deepcopy(doc)
    _strip(doc, agent)
    made_hooks = "hooks" not in doc
    hooks = doc.setdefault("hooks", {})
    made_events = []
    for event in agent.events:
        if event not in hooks:
            hooks[event] = []
            made_events.append(event)
        hooks[event].append({"hooks": [_our_hook(agent, program, event)]})
    made_line = False
    if agent.statusline:
        made_line = _wrapped(doc.get("statusLine")) is _NOT_OURS
        _wrap_statusline(doc, program)
    return doc, Added(made_hooks, tuple(made_events), made_line)


def _wrap_statusline(doc: dict[str, Json], program: str) -> None:
    line = doc.get("statusLine")
    if line is None:
        doc["statusLine"] = {"type": "command", "command": statusline_command(program, None)}
        return
    wrapped = _wrapped(line)
    theirs = line["command"] if wrapped is _NOT_OURS else wrapped
    line["command"] = statusline_command(program, theirs)  # in place: their other keys (padding) keep their order


def uninstall(doc: dict[str, Json], agent: Agent, added: Added | None) -> dict[str, Json]:
    """``doc`` without our entries; the status line we wrapped is theirs again.

    What ``install`` put in besides (``added``) goes too: an event list or ``hooks`` object that only our entries
    filled, our status line. When that is unknown (None): every list or object that taking ours out left empty,
    and any status line of ours."""
    doc = copy.deepcopy(doc)
    emptied = _strip(doc, agent)
    hooks = doc.get("hooks")
    if isinstance(hooks, dict):
        removed = [event for event in emptied if added is None or event in added.events]
        for event in removed:
            del hooks[event]
        if removed and not hooks and (added is None or added.hooks):
            del doc["hooks"]
    if agent.statusline and (added is None or added.statusline):
        wrapped = _wrapped(doc.get("statusLine"))
        if wrapped is None:
            del doc["statusLine"]
        elif wrapped is not _NOT_OURS:
            doc["statusLine"]["command"] = wrapped
    return doc


def _strip(doc: dict[str, Json], agent: Agent) -> list[str]:
    """Take our hooks out of ``doc`` (in place), and the groups that held nothing else; returns the events whose
    list this left empty."""
    hooks = doc.get("hooks")
    emptied = []
    for event in agent.events:
        groups = hooks.get(event) if isinstance(hooks, dict) else None
        if not isinstance(groups, list) or not groups:
            continue
        kept = []
        for group in groups:
            handlers = _group_hooks(group) if isinstance(group, dict) else []
            mine = [handler for handler in handlers if _is_our_hook(handler, agent)]
            if not mine:
                kept.append(group)
                continue
            group["hooks"] = [handler for handler in handlers if not _is_our_hook(handler, agent)]
            if group["hooks"]:
                kept.append(group)
        groups[:] = kept
        if not kept:
            emptied.append(event)
    return emptied
