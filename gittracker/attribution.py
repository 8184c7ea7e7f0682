"""Which windows a commit belongs to: the choice the post-commit hook makes (docs/hooks.md#attribution).

The installed shell hook makes it with builtins only; this is its twin for ``git-tracker-hook post-commit``
(pre-commit users), and the one place the order is written down in Python:

1. ``AGENT_ID`` when set: that agent's open windows (none open: nothing, as before);
2. a coding agent's session in the commit's environment (its own shell tool made the commit):
   ``CLAUDE_CODE_SESSION_ID`` -> agent ``claude-<first 8>``, ``CODEX_THREAD_ID`` or ``CODEX_SESSION_ID`` ->
   ``codex-<first 8>``, when that agent has a window open;
3. agent ``main``'s open windows (typed ``start`` without ``AGENT_ID``);
4. the automatic windows marked in this worktree (``automarks``): one -> that window; several -> all of
   them, and the commit is marked shared so churn splits its lines between them.

Standard library only: it runs on the hook's path.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gittracker.automarks import marked
from gittracker.state import LocalState

# The variables a coding agent's tool processes carry, in the order they are tried, with the provider each names.
SESSION_VARIABLES = (
    ("CLAUDE_CODE_SESSION_ID", "claude"),
    ("CODEX_THREAD_ID", "codex"),
    ("CODEX_SESSION_ID", "codex"),
)
SESSION_ID_CHARS = 8


@dataclass(frozen=True)
class Attribution:
    """The note lines a commit gets, and the windows that share it (empty unless two or more do)."""

    lines: tuple[str, ...]
    shared: tuple[str, ...] = ()


NOTHING = Attribution(())


def session_agent(provider: str, session_id: str) -> str:
    """``claude-1a2b3c4d``: the agent an automatic window of this session belongs to."""
    return f"{provider}-{session_id[:SESSION_ID_CHARS]}"


def hook_safe_agent(agent_id: str) -> bool:
    """What the shell hook accepts as an agent folder name (it checks no more: no fork on its path)."""
    return bool(agent_id) and "/" not in agent_id and not agent_id.startswith(".")


def open_note_lines(state: LocalState, agent_id: str) -> list[str]:
    lines = []
    for path in sorted((state.agent_dir(agent_id) / "open").glob("*.note")):
        with contextlib.suppress(OSError):
            line = path.read_text().strip()
            if line:
                lines.append(line)
    return lines


def attribute(state: LocalState, worktree_git_dir: Path, environ: Mapping[str, str]) -> Attribution | None:
    """The windows a commit made now in this worktree belongs to; None when ``AGENT_ID`` is not a usable name
    (then the hook does nothing at all, not even a cherry-pick's copy, as it always did)."""
    agent = environ.get("AGENT_ID")
    if agent:
        return Attribution(tuple(open_note_lines(state, agent))) if hook_safe_agent(agent) else None
    for variable, provider in SESSION_VARIABLES:
        session = environ.get(variable)
        if session:
            own = session_agent(provider, session)
            lines = open_note_lines(state, own) if hook_safe_agent(own) else []
            if lines:
                return Attribution(tuple(lines))
    lines = open_note_lines(state, "main")
    if lines:
        return Attribution(tuple(lines))
    return marked_windows(state, worktree_git_dir)


def marked_windows(state: LocalState, worktree_git_dir: Path) -> Attribution:
    """The automatic windows marked in this worktree that are still open (a stale mark is passed over)."""
    lines: list[str] = []
    ids: list[str] = []
    for agent, window_id in sorted(marked(worktree_git_dir).items()):
        if not window_id or not hook_safe_agent(agent):
            continue
        for line in open_note_lines(state, agent):
            if _window_id(line) == window_id:
                lines.append(line)
                ids.append(window_id)
    return Attribution(tuple(lines), tuple(sorted(set(ids))) if len(set(ids)) > 1 else ())


def _window_id(line: str) -> str | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None
