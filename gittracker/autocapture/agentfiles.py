"""Where the coding agents keep the files git-tracker's hooks go in, and the program those hooks run.

- Claude Code: ``<repo>/.claude/settings.local.json`` (project scope: this clone only, never committed) or
  ``$CLAUDE_CONFIG_DIR/settings.json`` (user scope; default ``~/.claude/settings.json``).
- Codex: ``<repo>/.codex/hooks.json`` or ``$CODEX_HOME/hooks.json`` (default ``~/.codex``). Codex runs them only
  with ``[features] hooks = true`` in a ``config.toml``, which git-tracker reads (``hooks_feature``) and never
  writes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gittracker.autocapture.settings import Agent
from gittracker.errors import Refused

PROJECT, USER = "project", "user"
SCOPES = (PROJECT, USER)
PROJECT_FILES = {"claude": Path(".claude") / "settings.local.json", "codex": Path(".codex") / "hooks.json"}


def claude_home() -> Path:
    """Claude Code's folder of user settings: ``$CLAUDE_CONFIG_DIR`` (as Claude Code reads it: one folder), else
    ``~/.claude``."""
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")


def codex_home() -> Path:
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")


def user_file(agent: Agent) -> Path:
    return claude_home() / "settings.json" if agent.name == "claude" else codex_home() / "hooks.json"


def project_file(agent: Agent, toplevel: Path) -> Path:
    return toplevel / PROJECT_FILES[agent.name]


@dataclass(frozen=True)
class Program:
    """The git-tracker our entries run: its absolute path, and how it was found (said to the user)."""

    path: str
    how: str


def find_program() -> Program:
    """The ``git-tracker`` console script next to the running Python (this very install), else the one on PATH."""
    beside = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "git-tracker")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return Program(beside, "the git-tracker next to this Python")
    on_path = shutil.which("git-tracker")
    if on_path is not None:
        return Program(os.path.abspath(on_path), "found on PATH: not next to the Python running this")
    raise Refused(
        "cannot find the git-tracker program (next to this Python or on PATH) for the hooks to run: "
        "install git-tracker (pip install) and run this again"
    )


def runnable(program: str) -> bool:
    """Whether ``program`` (a path, or a name looked up on PATH) is there to run."""
    if os.sep in program:
        return os.path.isfile(program) and os.access(program, os.X_OK)
    return shutil.which(program) is not None


# -- Codex's config.toml: read, never written ----------------------------------------------------------------


@dataclass(frozen=True)
class CodexConfig:
    """What Codex's ``config.toml`` files say about hooks, for one scope."""

    files: tuple[Path, ...]  # the files read, in the order Codex layers them (a later one wins)
    hooks: bool | None  # the hooks feature is on; None: a file could not be read
    notify: bool  # the legacy ``notify`` program is git-tracker's hook
    problem: str | None = None


def codex_config(scope: str, toplevel: Path | None) -> CodexConfig:
    """The hooks feature (``[features] hooks``, or the older ``codex_hooks``; off unless set) and the ``notify``
    program, from ``$CODEX_HOME/config.toml`` and, for the project scope, ``<repo>/.codex/config.toml``."""
    files = [codex_home() / "config.toml"]
    if scope == PROJECT and toplevel is not None:
        files.append(toplevel / ".codex" / "config.toml")
    hooks = False
    notify = False
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            why = f"{path}: cannot read it ({type(error).__name__})"
            return CodexConfig(tuple(files), None, notify, why)
        hooks = _hooks_feature(data, hooks)
        notify = _notify_is_ours(data.get("notify"), notify)
    return CodexConfig(tuple(files), hooks, notify)


def _hooks_feature(data: dict[str, Any], before: bool) -> bool:
    features = data.get("features")
    if not isinstance(features, dict):
        return before
    for key in ("codex_hooks", "hooks"):  # the current name wins over the deprecated one
        if isinstance(features.get(key), bool):
            before = features[key]
    return before


def _notify_is_ours(value: Any, before: bool) -> bool:
    """Whether the ``notify`` program (a list of words; a later file's replaces an earlier one's) runs our hook."""
    if not isinstance(value, list) or not value or not all(isinstance(word, str) for word in value):
        return before
    return os.path.basename(value[0]) == "git-tracker" and value[1:] == ["hook", "codex", "notify"]


def notify_line(program: str) -> str:
    """The ``config.toml`` line for Codex versions without hooks (the JSON arrives as the last argument)."""
    import json

    words = [program, "hook", "codex", "notify"]
    return "notify = [" + ", ".join(json.dumps(word) for word in words) + "]"
