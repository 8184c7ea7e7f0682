"""The latest Claude status-line reading, kept on disk for ``--auto claude``.

``git tracker statusline`` writes it on every repaint, so this module is on that hot path: it imports no more
than a reading needs (not the paste and ``--auto`` machinery of ``readings``).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.capacity import Reading
from gittracker.errors import BadInput


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "git-tracker"


def statusline_cache() -> Path:
    return user_cache_dir() / "claude-statusline.json"


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
    # A plain write-then-rename (no tempfile module: it costs more to import than this whole write).
    path = statusline_cache()
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(json.dumps(payload, sort_keys=True))
    os.replace(scratch, path)
