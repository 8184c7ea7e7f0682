"""The latest Claude status-line reading, kept on disk for ``--auto claude``.

``git tracker statusline`` writes it on every repaint, so this module is on that hot path: it imports no more
than a reading needs (not the paste and ``--auto`` machinery of ``readings``).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.capacity import Reading
from gittracker.errors import BadInput
from gittracker.swapfile import replace_file


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "git-tracker"


def statusline_cache() -> Path:
    return user_cache_dir() / "claude-statusline.json"


def session_cache(session_id: str) -> Path:
    """One Claude Code session's own latest reading (what its hooks read: never another session's)."""
    return user_cache_dir() / "claude-sessions" / f"{session_id}.json"


def session_statusline_reading(session_id: str, max_age: timedelta) -> tuple[datetime, Reading] | None:
    """The session's own latest status-line reading and when it was seen; None when there is none with rate limits
    (not a subscriber, or the status line has not run) or it is older than ``max_age``."""
    try:
        data = json.loads(session_cache(session_id).read_text())
        seen = clock.parse_ts(data["ts"])
        reading = Reading.from_fields(data["reading"])
    except (OSError, ValueError, KeyError, TypeError, BadInput):
        return None
    if reading.is_empty() or clock.now() - seen > max_age:
        return None
    return seen, reading


def last_statusline_reading(max_age: timedelta) -> Reading:
    path = statusline_cache()
    try:
        data = json.loads(path.read_text())
        seen = clock.parse_ts(data["ts"])
        reading = Reading.from_fields(data["reading"])
    except FileNotFoundError:
        raise BadInput(
            "--auto claude: no status-line reading yet; set Claude Code's statusLine command to "
            "`git tracker statusline` (docs/capacity.md), or pass --used / --from"
        ) from None
    except (ValueError, KeyError, TypeError, BadInput):
        raise BadInput(f"--auto claude: {path} is not a git-tracker status-line reading; delete it") from None
    age = clock.now() - seen
    if age > max_age:
        raise BadInput(
            f"--auto claude: the last status-line reading is from {data['ts']}, older than "
            f"{int(max_age.total_seconds() // 60)} min; use Claude Code once, or pass --used / --from"
        )
    if reading.is_empty():
        raise BadInput("--auto claude: the last status-line payload had no rate limits (not a subscription?)")
    return reading


def remember_statusline(reading: Reading, display: dict[str, Any]) -> None:
    """Keep the latest reading for ``--auto claude``; cheap, since it runs on every repaint."""
    payload = {
        "ts": clock.format_ts(clock.now()),
        "reading": {**reading.snapshot_fields()},
        "session_id": display.get("session_id"),
        "cwd": display.get("cwd"),
    }
    path = statusline_cache()
    text = json.dumps(payload, sort_keys=True)
    replace_file(path, text)
    session = display.get("session_id")
    if isinstance(session, str) and 8 <= len(session) <= 128 and session.replace("-", "").isalnum():
        _keep_session_reading(session_cache(session), text, reading)


def _keep_session_reading(path: Path, text: str, reading: Reading) -> None:
    """The session's own copy: only a payload with rate limits replaces it (a repaint before the first answer has
    none); the first copy of a session also clears other sessions' copies older than a week, so the folder holds
    about one file per recent session."""
    if reading.is_empty():
        return
    if not path.exists():
        _prune(path.parent, timedelta(days=7))
    replace_file(path, text)


def _prune(folder: Path, older_than: timedelta) -> None:
    import time

    limit = time.time() - older_than.total_seconds()
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.stat().st_mtime < limit:
                os.unlink(entry.path)
        except OSError:
            continue
