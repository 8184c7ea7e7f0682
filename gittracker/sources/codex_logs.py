"""Codex CLI session logs: the newest rate-limit reading, with zero typing.

Codex appends one JSON object per line to ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl``
(``archived_sessions/`` once archived). The lines that matter::

    {"timestamp": "…", "type": "session_meta", "payload": {"cwd": "/repo", "git": {"repository_url": "…"}}}
    {"timestamp": "2026-06-03T09:58:00.000Z", "type": "event_msg",
     "payload": {"type": "token_count", "info": null,
                 "rate_limits": {"limit_id": "codex", "limit_name": null,
                                 "primary": {"used_percent": 36.0, "window_minutes": 300, "resets_at": 1780500720},
                                 "secondary": {"used_percent": 80.0, "window_minutes": 10080,
                                               "resets_in_seconds": 86400}}}}

Windows are told apart by ``window_minutes`` (the slots are not stable: a weekly-only plan puts its
10080-minute window in ``primary`` with ``secondary: null``), ``resets_in_seconds`` (older builds) counts
from the line's own timestamp, ``info`` may be null, and identical lines repeat.

One line reports one limit. ``limit_id`` ``codex`` (or none, in older builds) is the account's; any other
(``codex_bengalfox``, named ``GPT-5.3-Codex-Spark`` by ``limit_name``) is a per-model bucket, which Codex writes
on its own line when that model answers. A bucket is never the account's limit: its meters are named for the
model (``five_hour_gpt_5_3_codex_spark``), and it joins a reading only as ``Session`` says.
"""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import Any, BinaryIO

from gittracker import clock
from gittracker.capacity import Meter, Reading, meter_minutes, meter_model, meter_name
from gittracker.errors import BadInput
from gittracker.records import finite_number as _number
from gittracker.sources.jsonl import BadLine, decode_object
from gittracker.sources.places import codex_rollouts

FIVE_HOUR_MINUTES = 300
WEEK_MINUTES = 10080
ACCOUNT_LIMIT_ID = "codex"

# parse_errors codes this module may add to a Reading.
CLAMPED = "used-over-100-clamped"
RESET_SINCE = "reset-since-reading"  # the 5-hour meter's; any other meter's is "<meter>-reset-since-reading"
WEEKLY_RESET_SINCE = "weekly-reset-since-reading"
SKIPPED = "skipped-lines"  # written as "skipped-lines:N"
UNKNOWN_WINDOW = "unknown-window-minutes"  # written as "unknown-window-minutes:N": a window no span fits

_WINDOW_SLACK = 3  # minutes: Codex itself names a window within a few minutes of these lengths
# Each span a window may be, by its length in minutes. A month is 28 to 31 days, a year 365 or 366.
_SPANS = (
    ("five_hour", 300 - _WINDOW_SLACK, 300 + _WINDOW_SLACK),
    ("daily", 1440 - _WINDOW_SLACK, 1440 + _WINDOW_SLACK),
    ("weekly", 10080 - _WINDOW_SLACK, 10080 + _WINDOW_SLACK),
    ("monthly", 28 * 1440 - _WINDOW_SLACK, 31 * 1440 + _WINDOW_SLACK),
    ("annual", 365 * 1440 - _WINDOW_SLACK, 366 * 1440 + _WINDOW_SLACK),
)
# A file's lines were written no later than its mtime; the slack covers clock and filesystem jitter.
_MTIME_SLACK = timedelta(minutes=2)
_CHUNK = 1 << 16
_META_LIMIT = 1 << 22  # session_meta carries the base instructions: allow a few MB, never more
# A line that may be a model bucket's (a limit_id that is not "codex"): only these are decoded when
# ``--auto`` looks for the buckets before the newest account line.
_BUCKET_LINE = re.compile(rb'"limit_id"\s*:\s*"(?!codex")')


@dataclass(frozen=True)
class Limits:
    """What one ``token_count`` line reports for one limit: the account's, or one model bucket's."""

    ts: str  # the line's time, as clock.format_ts writes it (sortable as text)
    limit_id: str | None
    shown: tuple[tuple[str, float, str | None], ...]  # (meter name, percent used, reset time), shortest first
    errors: tuple[str, ...] = ()

    @property
    def is_bucket(self) -> bool:
        return self.limit_id not in (None, ACCOUNT_LIMIT_ID)

    @property
    def meters(self) -> tuple[Meter, ...]:
        return tuple(Meter(name, used, resets_at, self.limit_id) for name, used, resets_at in self.shown)


@dataclass(frozen=True)
class LogReading:
    """One rate-limit reading found in a rollout file, at ``ts``."""

    ts: datetime
    reading: Reading
    path: Path
    cwd: str | None = None
    remote: str | None = None


class Session:
    """What one rollout has said so far about each limit, and the reading that makes at a given line.

    A rollout is one Codex session, signed in as one account, so a model bucket's line and the account's
    lines in the same file are the same account's limits. Codex writes the two on separate lines (the
    bucket's when that model answers), and its own ``/status`` shows the latest of each limit the session
    has seen; a reading here does the same: from the first account line on, every rate-limit line of the
    file gives a reading of the latest account meters and the latest meters of each bucket. A bucket's meter
    carried from an earlier line is dropped once it cannot still be current: its reset time has passed, or,
    with none, one whole window has gone by since it was reported (the account's meters are the reading
    itself, and stay as last reported: ``--auto`` flags a reset since). Buckets are never carried from one file to
    another (another session may be another login), and a bucket alone, before the file's first account
    line, is no reading: nothing ties it to an account reading yet.

    The state is plain values (``saved``), so ``ingest`` keeps it with the file between runs.
    """

    def __init__(self, saved: Any = None) -> None:
        # limit key ("" for the account) -> [line time, limit_id, [[name, used, resets_at], ...], [errors]]
        self.latest: dict[str, list[Any]] = saved if isinstance(saved, dict) else {}

    @property
    def saved(self) -> dict[str, list[Any]]:
        return self.latest

    def add(self, limits: Limits) -> Reading | None:
        """Take in one line's limits; the reading the session shows after it, or None before any account line."""
        key = limits.limit_id if limits.is_bucket and limits.limit_id is not None else ""
        self.latest[key] = [
            limits.ts,
            limits.limit_id,
            limits.shown,
            list(limits.errors),
        ]
        return self.reading(limits.ts)

    def reading(self, at: str) -> Reading | None:
        account = self.latest.get("")
        if account is None:
            return None
        meters: list[Meter] = []
        errors: list[str] = []
        for key in ("", *sorted(key for key in self.latest if key)):
            seen, limit_id, shown, codes = self.latest[key]
            current = [
                Meter(name, used, resets_at, limit_id)
                for name, used, resets_at in shown
                if not key or seen == at or _still_current(name, resets_at, seen, at)
            ]
            if current:
                meters += current
                errors += [code for code in codes if code not in errors]
        if not meters:
            return None
        return Reading(tuple(meters), parse_errors=tuple(errors))


def _still_current(name: str, resets_at: str | None, seen: str, at: str) -> bool:
    if resets_at is not None:
        return resets_at > at  # both written by clock.format_ts: text order is time order
    return clock.parse_ts(at) - clock.parse_ts(seen) < timedelta(minutes=meter_minutes(name))


def latest_rate_limits(
    codex_home: Path,
    now: datetime,
    max_age: timedelta,
    prefer_cwd: Path | None = None,
    *,
    prefer_remote: str | None = None,
) -> Reading:
    """The newest account reading in ``codex_home``'s session logs, with the model buckets its session ties to it.

    When several sessions have a reading no older than ``max_age``, one whose ``session_meta`` cwd
    is ``prefer_cwd`` (or inside it), or whose git ``repository_url`` is ``prefer_remote``, wins over
    a newer one from elsewhere (another login may be active there). A newest reading older than
    ``max_age`` is refused, as is finding none. Its age is the account line's: a bucket reported later
    does not make the account's meters any newer.
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
    reading = scan.session_reading(chosen)
    now_text = clock.format_ts(now)
    codes = [_reset_since(meter.name) for meter in reading.meters if meter.resets_at and meter.resets_at <= now_text]
    if scan.skipped:
        codes.append(f"{SKIPPED}:{scan.skipped}")
    return reading.with_errors(*codes)


def session_rate_limits(rollout: Path, now: datetime, max_age: timedelta) -> tuple[datetime, Reading] | None:
    """The newest reading of one session's own rollout (the path its hooks name), read backwards from its end, with
    its time; None when it has none yet, or only one older than ``max_age``. Only this file is read: another
    session's reading (perhaps another login's) never stands in for this one's."""
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    scan = _Scan(now, max_age, None, None)
    scan.read(rollout)
    chosen = scan.choose()
    if chosen is None or chosen.ts < now - max_age:
        return None
    return chosen.ts, scan.session_reading(chosen)


def _reset_since(name: str) -> str:
    return RESET_SINCE if name == "five_hour" else f"{name}-{RESET_SINCE}"


def limits_from_event(event: Any) -> Limits | None:
    """The limits one decoded rollout line reports, or None when it reports none.

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
    if limit_id is not None and not isinstance(limit_id, str):
        return None  # no limit Codex names: nothing to tie it to
    model: str | None = None
    if limit_id is not None and limit_id != ACCOUNT_LIMIT_ID:
        name = limits.get("limit_name")
        model = name if isinstance(name, str) and name.strip() else limit_id
        if meter_model(meter_name("weekly", model)) is None:
            return None  # a bucket whose name has no letters or digits: never let it pass for the account's
    ts, text = _line_time(event.get("timestamp"))
    meters: dict[str, tuple[int, str, float, str | None]] = {}  # name -> (span's place, name, used, resets_at)
    errors: list[str] = []
    for slot in ("primary", "secondary"):
        window = limits.get(slot)
        if window is None:
            continue
        place, minutes, used, resets = _window(window, ts, slot)
        if place is None:
            if minutes is not None:
                errors.append(f"{UNKNOWN_WINDOW}:{minutes:g}")
            continue
        name = meter_name(_SPANS[place][0], model)
        if name in meters:
            continue
        if used > 100:
            used = 100.0
            if CLAMPED not in errors:
                errors.append(CLAMPED)
        meters[name] = (place, name, used, resets)
    if not meters:
        return None
    shown = tuple(item[1:] for item in sorted(meters.values()))  # shortest first, whatever the slot
    return Limits(text, limit_id, shown, tuple(errors))


def iter_readings(path: Path) -> Iterator[LogReading]:
    """Every reading in one rollout file, in file order (``Session``); malformed lines are skipped."""
    cwd: str | None = None
    remote: str | None = None
    session = Session()
    with path.open("rb") as handle:
        for line in handle:
            if cwd is None and remote is None and b"session_meta" in line:
                cwd, remote = _session_meta(line)
            try:
                found = _decode(line)
            except _Malformed:
                continue
            if found is None:
                continue
            reading = session.add(found)
            if reading is not None:
                yield LogReading(clock.parse_ts(found.ts), reading, path, cwd, remote)


@dataclass(frozen=True)
class _Newest:
    """The newest account line of a file, where it starts, and the bucket lines after it."""

    account: Limits
    offset: int
    later: tuple[Limits, ...]


class _Scan:
    """Newest-first reading of rollout files, stopping once no older file can change the answer."""

    def __init__(self, now: datetime, max_age: timedelta, prefer_cwd: Path | None, prefer_remote: str | None):
        self.recent_since = now - max_age
        self.prefer_cwd = _cwd_forms(prefer_cwd)
        self.prefer_remote = _remote_key(prefer_remote) if prefer_remote else None
        self.best: LogReading | None = None
        self.best_match: LogReading | None = None
        self.newest: dict[Path, _Newest] = {}
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

    def session_reading(self, chosen: LogReading) -> Reading:
        """The chosen file's reading as its ``Session`` gives it after its last rate-limit line: the newest
        account line with the buckets of that session, those before it too (read forward up to it; only lines
        that may be a bucket's are decoded)."""
        newest = self.newest[chosen.path]
        session = Session()
        # If the file went away or was emptied since, the account line is read without the buckets before it.
        with contextlib.suppress(OSError, ValueError), chosen.path.open("rb") as handle:
            for line in _bucket_lines_before(handle, newest.offset):
                if b"token_count" not in line:
                    continue
                try:
                    found = _decode(line)
                except _Malformed:
                    self.skipped += 1
                    continue
                if found is not None and found.is_bucket:
                    session.add(found)
        reading = session.add(newest.account)
        for bucket in newest.later:
            reading = session.add(bucket)
        assert reading is not None  # the account line is in the session
        return reading

    def _newest_in(self, path: Path) -> LogReading | None:
        later: list[Limits] = []  # bucket lines after the newest account line, newest first
        with path.open("rb") as handle:
            cwd, remote = _session_meta(handle.readline(_META_LIMIT))
            for offset, line in _lines_backward(handle):
                try:
                    found = _decode(line)
                except _Malformed:
                    self.skipped += 1
                    continue
                if found is None:
                    continue
                if found.is_bucket:
                    if all(bucket.limit_id != found.limit_id for bucket in later):
                        later.append(found)
                    continue
                self.newest[path] = _Newest(found, offset, tuple(reversed(later)))
                return LogReading(clock.parse_ts(found.ts), Reading(found.meters), path, cwd, remote)
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


def _decode(line: bytes) -> Limits | None:
    """The limits the line reports, or None when it reports none; raises _Malformed."""
    if b"token_count" not in line:
        return None  # most lines are messages and tool output: never decode them
    try:
        return limits_from_event(decode_object(line))
    except (BadLine, BadInput):
        raise _Malformed from None


def _window(window: Any, ts: datetime, slot: str) -> tuple[int | None, float | None, float, str | None]:
    """(span, window_minutes, used, resets_at) of one slot, the span as its place in ``_SPANS``; None when no span
    fits its length."""
    if not isinstance(window, dict):
        raise BadInput(f"rate_limits.{slot}: expected an object")
    used = window.get("used_percent")
    if not _number(used) or used < 0:
        raise BadInput(f"rate_limits.{slot}.used_percent: expected a percent >= 0, got {used!r}")
    minutes = window.get("window_minutes")
    place: int | None = None
    if _number(minutes):
        place = next((index for index, (_, low, high) in enumerate(_SPANS) if low <= minutes <= high), None)
    resets_at = window.get("resets_at")
    resets_in = window.get("resets_in_seconds")
    moment: datetime | None = None
    shown = float(minutes) if _number(minutes) else None
    try:
        if _number(resets_at):
            return place, shown, float(used), _epoch_text(resets_at)
        if isinstance(resets_at, str):
            moment = clock.parse_ts(resets_at, f"rate_limits.{slot}.resets_at")
        elif _number(resets_in):
            moment = ts + timedelta(seconds=resets_in)
    except (OverflowError, OSError, ValueError):
        raise BadInput(f"rate_limits.{slot}: expected resets_at in epoch seconds") from None
    if moment is not None and not 1970 <= moment.year <= 9999:
        raise BadInput(f"rate_limits.{slot}: expected resets_at in epoch seconds")
    return place, shown, float(used), clock.format_ts(moment) if moment is not None else None


@functools.lru_cache(maxsize=256)
def _epoch_text(seconds: float) -> str:
    """An epoch reset time as text. A session repeats the same few reset times on every line: formatting each
    once saves most of what reading its limits costs."""
    return clock.epoch_text(seconds)  # ValueError: the caller says which slot


def _line_time(value: Any) -> tuple[datetime, str]:
    """The line's time, and as clock.format_ts writes it (which is how Codex writes it: kept as it is then)."""
    if not isinstance(value, str):
        raise BadInput("rollout line: expected a timestamp")
    moment = clock.parse_ts(value, "rollout timestamp")
    if not 1970 <= moment.year <= 9999:
        raise BadInput("rollout line: expected a timestamp")
    written = len(value) == 24 and value[10] == "T" and value[19] == "." and value[23] == "Z"
    return moment, value if written else clock.format_ts(moment)


def _session_meta(line: bytes) -> tuple[str | None, str | None]:
    try:
        event = decode_object(line)
    except BadLine:
        return None, None
    if event.get("type") != "session_meta":
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


def _lines_backward(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(offset, line) for the lines of a file from the last to the first, reading it in blocks from its end."""
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
        starts = [position]
        for part in parts[:-1]:
            starts.append(starts[-1] + len(part) + 1)
        yield starts[-1], b"".join([parts[-1], *reversed(pending)])
        for index in range(len(parts) - 2, 0, -1):
            yield starts[index], parts[index]
        pending = [parts[0]]
    if pending:
        yield 0, b"".join(reversed(pending))


def _bucket_lines_before(handle: BinaryIO, end: int) -> Iterator[bytes]:
    """The lines of the file's first ``end`` bytes that name a limit other than ``codex``, first to last.

    A rollout runs to tens of MB and almost none of it is a bucket's: the file is mapped and searched for the key
    (which cannot occur unescaped inside a JSON string), and only the lines it is on are cut out: 8 ms for a 20 MB
    rollout here, a third of what reading it into memory first costs.
    """
    if end <= 0:
        return
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        done = 0
        for match in _BUCKET_LINE.finditer(data, 0, end):
            if match.start() < done:
                continue  # a second match on a line already given
            start = data.rfind(b"\n", 0, match.start()) + 1
            stop = data.find(b"\n", match.end(), end)
            done = end if stop < 0 else stop
            yield data[start:done]


def _none_found(codex_home: Path, listed: int, read: int) -> str:
    where = f"{codex_home / 'sessions'}/YYYY/MM/DD/rollout-*.jsonl or {codex_home / 'archived_sessions'}/"
    if not listed:
        return f"no Codex session logs: expected rollout-*.jsonl files in {where}; run a Codex command or pass --used"
    return (
        f"no Codex rate-limit reading: expected token_count events with the account's rate_limits "
        "(window_minutes 300, 1440, 10080 or about 43200) "
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
