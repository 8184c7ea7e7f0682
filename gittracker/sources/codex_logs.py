"""Codex CLI session logs: the newest rate-limit reading, with zero typing.

Codex appends one JSON object per line to ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl``
(``archived_sessions/`` once archived). The lines that matter::

    {"timestamp": "…", "type": "session_meta", "payload": {"cwd": "/repo", "git": {"repository_url": "…"}}}
    {"timestamp": "2026-06-03T09:58:00.000Z", "type": "event_msg",
     "payload": {"type": "token_count", "info": null,
                 "rate_limits": {"limit_id": "codex",
                                 "primary": {"used_percent": 36.0, "window_minutes": 300, "resets_at": 1780500720},
                                 "secondary": {"used_percent": 80.0, "window_minutes": 10080,
                                               "resets_in_seconds": 86400}}}}

Windows are told apart by ``window_minutes`` (the slots are not stable: weekly may sit in
``primary``), ``resets_in_seconds`` (older builds) counts from the line's own timestamp, ``info`` may be
null, identical lines repeat, and a snapshot whose ``limit_id`` is not ``codex`` is a per-model bucket.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from gittracker import clock
from gittracker.capacity import Reading
from gittracker.errors import BadInput
from gittracker.records import finite_number as _number
from gittracker.sources.places import codex_rollouts

FIVE_HOUR_MINUTES = 300
WEEK_MINUTES = 10080
ACCOUNT_LIMIT_ID = "codex"

# parse_errors codes this module may add to a Reading.
CLAMPED = "used-over-100-clamped"
RESET_SINCE = "reset-since-reading"
WEEKLY_RESET_SINCE = "weekly-reset-since-reading"
SKIPPED = "skipped-lines"  # written as "skipped-lines:N"

_WINDOW_SLACK = 3  # minutes: Codex itself names a window within a few minutes of these lengths
# A file's lines were written no later than its mtime; the slack covers clock and filesystem jitter.
_MTIME_SLACK = timedelta(minutes=2)
_CHUNK = 1 << 16
_META_LIMIT = 1 << 22  # session_meta carries the base instructions: allow a few MB, never more


@dataclass(frozen=True)
class LogReading:
    """One rate-limit reading found in a rollout file."""

    ts: datetime
    reading: Reading
    path: Path
    cwd: str | None = None
    remote: str | None = None


def latest_rate_limits(
    codex_home: Path,
    now: datetime,
    max_age: timedelta,
    prefer_cwd: Path | None = None,
    *,
    prefer_remote: str | None = None,
) -> Reading:
    """The newest account-wide rate-limit reading in ``codex_home``'s session logs.

    When several sessions have a reading no older than ``max_age``, one whose ``session_meta`` cwd
    is ``prefer_cwd`` (or inside it), or whose git ``repository_url`` is ``prefer_remote``, wins over
    a newer one from elsewhere (another login may be active there). A newest reading older than
    ``max_age`` is refused, as is finding none.
    """
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    scan = _Scan(now, max_age, prefer_cwd, prefer_remote)
    files = [(mtime, Path(path)) for mtime, path in codex_rollouts(str(codex_home))]
    for mtime, path in files:
        if scan.done(mtime):
            break
        scan.read(path)
    chosen = scan.choose()
    if chosen is None:
        raise BadInput(_none_found(codex_home, len(files), scan.files_read))
    if chosen.ts < now - max_age:
        raise BadInput(
            f"newest Codex rate-limit reading is from {clock.format_ts(chosen.ts)}, older than {_span(max_age)}; "
            "run a Codex command or pass --used"
        )
    reading = chosen.reading
    errors = list(reading.parse_errors)
    if reading.resets_at is not None and clock.parse_ts(reading.resets_at) <= now:
        errors.append(RESET_SINCE)
    if reading.weekly_resets_at is not None and clock.parse_ts(reading.weekly_resets_at) <= now:
        errors.append(WEEKLY_RESET_SINCE)
    if scan.skipped:
        errors.append(f"{SKIPPED}:{scan.skipped}")
    return Reading.of(
        five_hour_used=reading.five_hour_used,
        weekly_used=reading.weekly_used,
        resets_at=reading.resets_at,
        weekly_resets_at=reading.weekly_resets_at,
        parse_errors=tuple(errors),
    )


def reading_from_event(event: Any) -> tuple[datetime, Reading] | None:
    """The reading one decoded rollout line carries, or None when it carries none.

    Raises BadInput for a ``token_count`` line whose rate limits are malformed.
    """
    if not isinstance(event, dict) or event.get("type") != "event_msg":
        return None
    payload = event.get("payload")
    if not isinstance(payload, dict) or payload.get("type") != "token_count":
        return None
    limits = payload.get("rate_limits")
    if limits is None:
        return None
    if not isinstance(limits, dict):
        raise BadInput("token_count: expected rate_limits to be an object or null")
    limit_id = limits.get("limit_id")
    if limit_id is not None and limit_id != ACCOUNT_LIMIT_ID:
        return None  # a per-model bucket, not the account's windows
    ts = _line_time(event.get("timestamp"))
    found: dict[int, tuple[float, str | None]] = {}
    errors: list[str] = []
    for slot in ("primary", "secondary"):
        window = limits.get(slot)
        if window is None:
            continue
        kind, used, resets = _window(window, ts, slot)
        if kind is None or kind in found:
            continue
        if used > 100:
            used = 100.0
            if CLAMPED not in errors:
                errors.append(CLAMPED)
        found[kind] = (used, resets)
    if not found:
        return None
    five = found.get(FIVE_HOUR_MINUTES)
    week = found.get(WEEK_MINUTES)
    reading = Reading.of(
        five_hour_used=five[0] if five else None,
        weekly_used=week[0] if week else None,
        resets_at=five[1] if five else None,
        weekly_resets_at=week[1] if week else None,
        parse_errors=tuple(errors),
    )
    return ts, reading


def iter_readings(path: Path) -> Iterator[LogReading]:
    """Every account-wide reading in one rollout file, in file order; malformed lines are skipped."""
    cwd: str | None = None
    remote: str | None = None
    with path.open("rb") as handle:
        for line in handle:
            if cwd is None and remote is None and b"session_meta" in line:
                cwd, remote = _session_meta(line)
            try:
                found = _decode(line)
            except _Malformed:
                continue
            if found is not None:
                yield LogReading(found[0], found[1], path, cwd, remote)


class _Scan:
    """Newest-first reading of rollout files, stopping once no older file can change the answer."""

    def __init__(self, now: datetime, max_age: timedelta, prefer_cwd: Path | None, prefer_remote: str | None):
        self.recent_since = now - max_age
        self.prefer_cwd = _cwd_forms(prefer_cwd)
        self.prefer_remote = _remote_key(prefer_remote) if prefer_remote else None
        self.best: LogReading | None = None
        self.best_match: LogReading | None = None
        self.skipped = 0
        self.files_read = 0

    @property
    def preferring(self) -> bool:
        return bool(self.prefer_cwd or self.prefer_remote)

    def done(self, mtime: float) -> bool:
        if self.best is None:
            return False
        latest = datetime.fromtimestamp(mtime, UTC) + _MTIME_SLACK
        if latest >= self.best.ts:
            return False
        if not self.preferring or latest < self.recent_since:
            return True
        return self.best_match is not None and latest < self.best_match.ts

    def read(self, path: Path) -> None:
        try:
            found = self._newest_in(path)
        except OSError:
            return  # deleted or unreadable since it was listed
        self.files_read += 1
        if found is None:
            return
        if self.best is None or found.ts > self.best.ts:
            self.best = found
        if self._matches(found) and (self.best_match is None or found.ts > self.best_match.ts):
            self.best_match = found

    def choose(self) -> LogReading | None:
        if self.best_match is not None and self.best_match.ts >= self.recent_since:
            return self.best_match
        return self.best

    def _newest_in(self, path: Path) -> LogReading | None:
        with path.open("rb") as handle:
            cwd, remote = _session_meta(handle.readline(_META_LIMIT))
            for line in _lines_backward(handle):
                try:
                    found = _decode(line)
                except _Malformed:
                    self.skipped += 1
                    continue
                if found is not None:
                    return LogReading(found[0], found[1], path, cwd, remote)
        return None

    def _matches(self, found: LogReading) -> bool:
        if self.prefer_remote and found.remote and _remote_key(found.remote) == self.prefer_remote:
            return True
        if not self.prefer_cwd or not found.cwd:
            return False
        # the session ran in the preferred directory or below it
        for form in _cwd_forms(PurePath(found.cwd)):
            if form in self.prefer_cwd or any(parent in self.prefer_cwd for parent in form.parents):
                return True
        return False


class _Malformed(Exception):
    """A truncated or malformed rate-limit line: skipped and counted, never fatal."""


def _decode(line: bytes) -> tuple[datetime, Reading] | None:
    """(ts, reading), or None when the line carries no reading; raises _Malformed."""
    if b"token_count" not in line:
        return None  # most lines are messages and tool output: never decode them
    try:
        return reading_from_event(json.loads(line))
    except (ValueError, RecursionError, BadInput):
        raise _Malformed from None


def _window(window: Any, ts: datetime, slot: str) -> tuple[int | None, float, str | None]:
    if not isinstance(window, dict):
        raise BadInput(f"rate_limits.{slot}: expected an object")
    used = window.get("used_percent")
    if not _number(used) or used < 0:
        raise BadInput(f"rate_limits.{slot}.used_percent: expected a percent >= 0, got {used!r}")
    minutes = window.get("window_minutes")
    kind: int | None = None
    if _number(minutes):
        for length in (FIVE_HOUR_MINUTES, WEEK_MINUTES):
            if abs(minutes - length) <= _WINDOW_SLACK:
                kind = length
    resets_at = window.get("resets_at")
    resets_in = window.get("resets_in_seconds")
    moment: datetime | None = None
    try:
        if _number(resets_at):
            moment = datetime.fromtimestamp(resets_at, UTC)
        elif isinstance(resets_at, str):
            moment = clock.parse_ts(resets_at, f"rate_limits.{slot}.resets_at")
        elif _number(resets_in):
            moment = ts + timedelta(seconds=resets_in)
    except (OverflowError, OSError, ValueError):
        raise BadInput(f"rate_limits.{slot}: expected resets_at in epoch seconds") from None
    if moment is not None and not 1970 <= moment.year <= 9999:
        raise BadInput(f"rate_limits.{slot}: expected resets_at in epoch seconds")
    return kind, float(used), clock.format_ts(moment) if moment is not None else None


def _line_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise BadInput("rollout line: expected a timestamp")
    moment = clock.parse_ts(value, "rollout timestamp")
    if not 1970 <= moment.year <= 9999:
        raise BadInput("rollout line: expected a timestamp")
    return moment


def _session_meta(line: bytes) -> tuple[str | None, str | None]:
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(event, dict) or event.get("type") != "session_meta":
        return None, None
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return None, None
    nested = payload.get("meta")
    meta: dict[str, Any] = nested if isinstance(nested, dict) else payload
    cwd = meta.get("cwd")
    git = payload.get("git", meta.get("git"))
    remote = git.get("repository_url") if isinstance(git, dict) else None
    return (cwd if isinstance(cwd, str) else None), (remote if isinstance(remote, str) else None)


def _cwd_forms(path: PurePath | None) -> set[PurePath]:
    """A directory as written and with symlinks resolved, so /tmp and /private/tmp agree."""
    if path is None or not str(path):
        return set()
    forms = {PurePath(path)}
    with contextlib.suppress(OSError, ValueError):
        forms.add(PurePath(os.path.realpath(path)))
    return forms


def _remote_key(url: str) -> str:
    """git@host:owner/repo.git, https://host/owner/repo and ssh://git@host/owner/repo agree."""
    key = url.strip().lower()
    for scheme in ("https://", "http://", "ssh://", "git://", "git+ssh://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
            break
    else:
        key = key.replace(":", "/", 1)
    key = key.split("@", 1)[-1].rstrip("/")
    return key.removesuffix(".git")


def _lines_backward(handle: BinaryIO) -> Iterator[bytes]:
    """The lines of a file from the last to the first, reading it in blocks from its end."""
    handle.seek(0, os.SEEK_END)
    position = handle.tell()
    pending: list[bytes] = []  # pieces of the line being assembled, latest piece first
    while position > 0:
        size = min(_CHUNK, position)
        position -= size
        handle.seek(position)
        block = handle.read(size)
        if b"\n" not in block:
            pending.append(block)
            continue
        parts = block.split(b"\n")
        yield b"".join([parts[-1], *reversed(pending)])
        yield from reversed(parts[1:-1])
        pending = [parts[0]]
    if pending:
        yield b"".join(reversed(pending))


def _none_found(codex_home: Path, listed: int, read: int) -> str:
    where = f"{codex_home / 'sessions'}/YYYY/MM/DD/rollout-*.jsonl or {codex_home / 'archived_sessions'}/"
    if not listed:
        return f"no Codex session logs: expected rollout-*.jsonl files in {where}; run a Codex command or pass --used"
    return (
        f"no Codex rate-limit reading: expected token_count events with rate_limits (window_minutes 300 or 10080) "
        f"in {where} ({read} files read); run a Codex command or pass --used"
    )


def _span(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0s"
