"""Where the providers keep their logs, and which files there are logs.

Used by the readers, by ``--auto`` and by the quick nothing-new check (``ingest_quick``), so it imports
only ``os``: paths are plain strings here.

- Claude Code: ``--dir`` when given, else the comma-separated ``CLAUDE_CONFIG_DIR``, else
  ``~/.config/claude`` and ``~/.claude`` (as Claude Code and ccusage look); a directory counts when it
  has a ``projects`` folder, and its transcripts are every ``*.jsonl`` under it.
- Codex: ``--dir`` when given, else ``$CODEX_HOME``, else ``~/.codex``; its rollouts are the
  ``rollout-*.jsonl`` files under ``sessions/`` and ``archived_sessions/``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from gittracker.errors import BadInput


def claude_config_dirs(explicit: Sequence[str] = ()) -> list[str]:
    if explicit:
        found = [os.path.expanduser(item) for item in explicit]
        for folder in found:
            if not os.path.isdir(os.path.join(folder, "projects")):
                raise BadInput(f"--dir {folder}: expected a Claude config directory with a projects/ folder")
        return found
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        candidates = [os.path.expanduser(item.strip()) for item in env.split(",") if item.strip()]
        where = "CLAUDE_CONFIG_DIR"
    else:
        home = os.path.expanduser("~")
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        candidates = [os.path.join(xdg, "claude"), os.path.join(home, ".claude")]
        where = "~/.config/claude or ~/.claude"
    found = [folder for folder in candidates if os.path.isdir(os.path.join(folder, "projects"))]
    if not found:
        raise BadInput(f"no Claude Code transcripts: expected a projects/ folder in {where} (or pass --dir)")
    return found


def claude_transcripts(config_dir: str) -> list[str]:
    """Every ``*.jsonl`` under ``projects``, in a stable order."""
    files: list[str] = []
    for root, dirs, names in os.walk(os.path.join(config_dir, "projects")):
        dirs.sort()
        files.extend(os.path.join(root, name) for name in sorted(names) if name.endswith(".jsonl"))
    return files


def codex_homes(explicit: Sequence[str] = ()) -> list[str]:
    """``--dir`` when given, else ``$CODEX_HOME``, else ``~/.codex``; each must hold sessions/ or archived_sessions/."""
    if explicit:
        homes = [os.path.expanduser(item) for item in explicit]
    else:
        homes = [os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")]
    for home in homes:
        if not any(os.path.isdir(os.path.join(home, folder)) for folder in ("sessions", "archived_sessions")):
            raise BadInput(
                f"{home}: expected a Codex home with sessions/ or archived_sessions/ (set CODEX_HOME or --dir)"
            )
    return homes


def codex_rollouts(codex_home: str) -> list[tuple[float, str]]:
    """Every rollout file with its modification time, newest write first."""
    files: list[tuple[float, str]] = []
    for folder in ("sessions", "archived_sessions"):
        for root, dirs, names in os.walk(os.path.join(codex_home, folder)):
            dirs.sort()
            for name in sorted(names):
                if not (name.startswith("rollout-") and name.endswith(".jsonl")):
                    continue
                path = os.path.join(root, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    files.append((info.st_mtime, path))
    files.sort(key=lambda item: (item[0], os.path.basename(item[1])), reverse=True)
    return files


def codex_rollouts_oldest_first(codex_home: str) -> list[str]:
    """Every rollout, oldest first (the order a session's running totals were written)."""
    return [path for _, path in reversed(codex_rollouts(codex_home))]
