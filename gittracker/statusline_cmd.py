"""``git tracker statusline``: a Claude Code ``statusLine`` command.

Claude Code runs it on every repaint with a JSON payload on stdin. It keeps the rate-limit reading
for ``--auto claude`` and prints one short line: model, 5-hour and weekly use, and this agent's open
windows with their age. It is on the hot path of the editor, so it avoids click, pygit2 and any git
process: the console script dispatches here before importing the CLI, and open windows are read from
the local state files, as the commit hook does.

``--wrap CMD`` runs the status-line command you had before with the same stdin and prints its first
line in front of ours.

Input that is not Claude Code's status-line JSON still gets one line on stdout, saying so, and exit 0:
Claude Code shows nothing at all for a command that exits non-zero, and this line is where the user looks.
The details go to stderr (for whoever runs it by hand), and the kept reading is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.errors import TrackerError

USAGE = "usage: git tracker statusline [--wrap CMD]  (reads Claude Code's status JSON on stdin)"
NOT_STATUS_JSON = "git-tracker: expected Claude Code's status-line JSON on stdin"


def main(argv: list[str]) -> int:
    wrap = None
    if argv in (["-h"], ["--help"]):
        print(USAGE)  # asked for: on stdout, and a success
        return 0
    if argv[:1] == ["--wrap"] and len(argv) == 2:
        wrap = argv[1]
    elif argv:
        print(USAGE, file=sys.stderr)
        return 2
    raw = sys.stdin.buffer.read(1 << 20)
    try:
        line = _our_line(raw.decode("utf-8", "replace"))
    except TrackerError as error:
        # Never a traceback in the editor, and never a blank status line: say what was wrong, in brief there.
        print(f"git-tracker: {error}", file=sys.stderr)
        line = NOT_STATUS_JSON + ("" if raw.strip() else ", got nothing")
    if wrap:
        import subprocess  # only here: ~7 ms of import that every other repaint need not pay

        theirs = subprocess.run(wrap, shell=True, input=raw, capture_output=True, check=False).stdout
        first = theirs.decode("utf-8", "replace").splitlines()[:1]
        if first and first[0].strip():
            line = f"{first[0].rstrip()} | {line}"
    print(line)
    return 0


def _our_line(text: str) -> str:
    from gittracker.sources.statusline import parse_statusline
    from gittracker.statuscache import remember_statusline

    reading, display = parse_statusline(text)
    parts = [display.get("model") or "claude"]
    if not reading.is_empty():
        # If the cache cannot be written the line still shows; `--auto claude` then says it has no reading.
        with contextlib.suppress(OSError):
            remember_statusline(reading, display)
        parts.append(f"5h {_pct(reading.five_hour_used)}")
        parts.append(f"wk {_pct(reading.weekly_used)}")
    parts += _open_windows(display.get("cwd") or display.get("project_dir") or os.getcwd())
    return " · ".join(parts)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _open_windows(cwd: str) -> list[str]:
    from gittracker.gitfiles import tracker_dir
    from gittracker.names import valid_agent_id

    found = tracker_dir(cwd)  # None for an unreadable .git file too: no windows shown, never a traceback
    if found is None:
        return []
    tracker = Path(found)
    agent = os.environ.get("AGENT_ID") or "main"
    if not valid_agent_id(agent):  # no window can be open under an id `start` refuses
        return []
    shown = []
    for note in sorted((tracker / "agents" / agent / "open").glob("*.note")):
        try:
            opened = clock.parse_ts(_field(note.read_text(), "ts"))
        except (OSError, TrackerError, ValueError):
            continue
        minutes = int((clock.now() - opened).total_seconds() // 60)
        shown.append(
            f"{note.stem} window {minutes // 60}h{minutes % 60:02d}m"
            if minutes >= 60
            else f"{note.stem} window {minutes}m"
        )
    return shown


def _field(line: str, name: str) -> str:
    import json

    data: Any = json.loads(line)
    return str(data[name])
