"""Where a capacity reading comes from: typed options, a pasted screen (``--from``), or the provider's
own local data (``--auto``: Codex session logs; the last Claude status-line reading)."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.capacity import Reading, from_options
from gittracker.errors import BadInput

MAX_SCREEN_BYTES = 1 << 20
DEFAULT_MAX_AGE = timedelta(minutes=30)


def user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "git-tracker"


def statusline_cache() -> Path:
    return user_cache_dir() / "claude-statusline.json"


def read_screen(source: str) -> str:
    """The text of ``--from FILE`` or ``--from -`` (stdin), refusing what cannot be a pasted screen."""
    return read_text(source, MAX_SCREEN_BYTES, "--from", "a pasted /status or /usage screen")


def read_text(source: str, limit: int, label: str, expected: str) -> str:
    """FILE or ``-`` (stdin) as text: at most ``limit`` bytes, no binary data; errors start with ``label``."""
    try:
        if source == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(source, "rb") as handle:
                data = handle.read(limit + 1)
    except OSError as error:
        raise BadInput(f"{label}: cannot read {source!r} ({error.strerror or error})") from None
    if len(data) > limit:
        raise BadInput(f"{label}: expected {expected} (at most {limit >> 20} MiB), got more from {source!r}")
    if b"\0" in data:
        raise BadInput(f"{label}: expected {expected} (text), got binary data from {source!r}")
    return data.decode("utf-8", "replace")


def reading_for(
    provider: str, options: dict[str, Any], *, repo_root: Path | None = None, max_age: timedelta = DEFAULT_MAX_AGE
) -> Reading:
    """One reading from exactly one source; mixing sources is refused rather than silently merged."""
    source = options.pop("source", None)
    auto = options.pop("auto", False)
    typed = {key: value for key, value in options.items() if value is not None}
    chosen = [
        name for name, used in (("--from", source is not None), ("--auto", auto), ("typed values", typed)) if used
    ]
    if len(chosen) > 1:
        raise BadInput(f"capacity: expected one source, got {' and '.join(chosen)}")
    if source is not None:
        return _from_screen(provider, read_screen(source))
    if auto:
        return auto_reading(provider, repo_root=repo_root, max_age=max_age)
    return from_options(**options)


def _from_screen(provider: str, text: str) -> Reading:
    from gittracker.sources.screens import parse_screen

    shown, reading = parse_screen(text, clock.now())
    if shown != provider:
        names = {"codex": "a Codex /status", "claude": "a Claude /usage"}
        raise BadInput(f"--from: expected a {provider} screen, but this is {names.get(shown, shown)} screen")
    return reading


def auto_reading(provider: str, *, repo_root: Path | None, max_age: timedelta) -> Reading:
    now = clock.now()
    if provider == "codex":
        from gittracker.sources.codex_logs import latest_rate_limits

        home = Path(os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex"))
        return latest_rate_limits(home, now, max_age, prefer_cwd=repo_root)
    if provider == "claude":
        return _last_statusline_reading(max_age)
    raise BadInput(f"--auto: {provider} keeps no local capacity data; expected --prompts N (or --from)")


def _last_statusline_reading(max_age: timedelta) -> Reading:
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
    except (ValueError, KeyError, TypeError, AttributeError, BadInput):
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
