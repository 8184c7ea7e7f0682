"""``git tracker ingest SOURCE``: provider data into the ledger, idempotently and incrementally.

Log sources (``claude-logs``, ``codex-sessions``) keep, per place read (host and directory: the *scope*),
a manifest of what each file had when last read and a table of the deduplicated token events, under
``<tracker>/ingest/``. A run with nothing new checks file sizes and the ledger tip and stops; a run with
new bytes reads only those, then derives every total again from the table. Records are derived from
their content (``Record.derived``), so a repeated or interrupted run appends nothing twice. The ledger
is written first and the local files after: a run killed in between is simply done again.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import multiprocessing
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.errors import BadInput
from gittracker.records import Record, live_records
from gittracker.sources.jsonl import BadLine
from gittracker.sources.tail import Seen, open_new
from gittracker.state import atomic_write, file_lock
from gittracker.usage import (
    DIVERGENT_CODE,
    EventTable,
    TokenEvent,
    Window,
    aggregate,
    divergence_anomaly,
    divergent,
    usage_records,
    window_tokens,
)
from gittracker.windows import Context

LOG_SOURCES = ("claude-logs", "codex-sessions")
PASTE_SOURCES = ("codex-status", "claude-usage", "claude-statusline")
SOURCES = ("ccusage", *LOG_SOURCES, *PASTE_SOURCES)
MANIFEST_VERSION = 1


@dataclass
class Summary:
    source: str
    scopes: list[str] = field(default_factory=list)
    files: int = 0
    files_read: int = 0
    bytes_read: int = 0
    events: int = 0
    records_added: int = 0
    snapshots_added: int = 0
    divergent_marked: int = 0
    skipped_lines: int = 0
    unchanged: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# -- the local store --------------------------------------------------------------------------------


class Store:
    """Manifest and event table of one (source, scope)."""

    def __init__(self, ctx: Context, source: str, scope: str) -> None:
        digest = hashlib.blake2b(scope.encode(), digest_size=8).hexdigest()
        self.base = ctx.local.root / "ingest" / f"{source}-{digest}"
        self.scope = scope

    def lock(self) -> Any:
        self.base.parent.mkdir(parents=True, exist_ok=True)
        return file_lock(self.base.with_suffix(".lock"))

    def manifest(self) -> dict[str, Any]:
        path = self.base.with_suffix(".manifest.json")
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return {"version": MANIFEST_VERSION, "scope": self.scope, "tip": None, "settings": None, "files": {}}
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise BadInput(f"{path}: expected git-tracker's ingest manifest; delete it to read the logs again")
        return data

    def table(self) -> EventTable:
        path = self.base.with_suffix(".events")
        try:
            return EventTable.loads(path.read_bytes(), str(path))
        except FileNotFoundError:
            return EventTable()

    def save(self, manifest: dict[str, Any], table: EventTable) -> None:
        # The table first: a manifest never claims bytes whose events are not saved.
        if table.changed:
            atomic_write(self.base.with_suffix(".events"), table.dumps(), durable=False)
        atomic_write(self.base.with_suffix(".manifest.json"), json.dumps(manifest, sort_keys=True), durable=False)


def scope_of(folder: Path) -> str:
    return f"{socket.gethostname()}:{folder.resolve()}"


# -- log sources ------------------------------------------------------------------------------------

Parser = Callable[[int, str, dict[str, Any], str], tuple[Any, ...]]


@dataclass(frozen=True)
class LogSource:
    name: str
    provider: str
    origin: str
    expected: str
    files: Callable[[Path], list[Path]]
    parse: Parser
    # The key a file's keyless events are known by: Codex moves rollouts to archived_sessions/, and the
    # same session read from its new place must give the same keys, so Codex uses the file's name.
    file_key: Callable[[Path, Path], str] = lambda folder, path: str(path.relative_to(folder))


def ingest_logs(
    ctx: Context,
    source: LogSource,
    folders: list[Path],
    *,
    zone: tzinfo = UTC,
    this_repo_only: bool = False,
    skip_invalid: bool = False,
) -> Summary:
    summary = Summary(source.name)
    tip = ctx.repo.ledger_tip_fast()
    settings = {"zone": str(zone), "this_repo_only": this_repo_only}
    for folder in folders:
        store = Store(ctx, source.name, scope_of(folder))
        summary.scopes.append(store.scope)
        with store.lock():
            _ingest_folder(ctx, source, folder, store, summary, tip, settings, zone, this_repo_only, skip_invalid)
    if not summary.unchanged:  # once, over every folder's totals: a median of part of them would mark wrongly
        summary.divergent_marked = mark_divergent(ctx)
    return summary


def _ingest_folder(
    ctx: Context,
    source: LogSource,
    folder: Path,
    store: Store,
    summary: Summary,
    tip: str | None,
    settings: dict[str, Any],
    zone: tzinfo,
    this_repo_only: bool,
    skip_invalid: bool,
) -> None:
    manifest = store.manifest()
    known: dict[str, Any] = manifest["files"]
    files = source.files(folder)
    summary.files += len(files)
    pending = []
    for path in files:
        rel = str(path.relative_to(folder))
        reading = open_new(path, Seen.from_json(known.get(rel)))
        if reading is not None:
            pending.append((rel, path, reading))
    if not pending and manifest.get("tip") == tip and manifest.get("settings") == settings:
        return  # nothing new to read, and no window closed since the last run
    summary.unchanged = False
    table = store.table()
    snapshots: list[Record] = []
    for rel, result in read_all(source, folder, pending, skip_invalid):
        for found in result.found:
            if len(found) == 10:
                table.add(TokenEvent(*found))
                summary.events += 1
            else:
                snapshots.append(_mid_snapshot(ctx, source.provider, *found))
        summary.files_read += 1
        summary.bytes_read += result.bytes_read
        summary.skipped_lines += result.skipped
        known[rel] = result.seen.to_json()
    records = _derive(ctx, source, table, store.scope, zone, this_repo_only)
    added = ctx.repo.missing_records([*records, *snapshots])
    ctx.repo.append_records(added, f"tracker: ingest {source.name}")
    summary.records_added += sum(1 for record in added if record.kind == "usage")
    summary.snapshots_added += sum(1 for record in added if record.kind == "snapshot")
    listed = {str(path.relative_to(folder)) for path in files}
    manifest["files"] = {rel: seen for rel, seen in known.items() if rel in listed}  # forget deleted files
    manifest.update(tip=ctx.repo.ledger_tip_fast(), settings=settings, version=MANIFEST_VERSION)
    store.save(manifest, table)


@dataclass
class FileResult:
    found: list[Any]  # token events as plain tuples (cheap to send between processes), or readings
    seen: Seen
    bytes_read: int
    skipped: int


def read_file(source: LogSource, folder: Path, path: Path, reading: Any, skip_invalid: bool) -> FileResult:
    parse = source.parse
    extra = reading.extra
    file_key = source.file_key(folder, path)
    found: list[Any] = []
    skipped = 0
    for number, line in reading.lines():
        try:
            items = parse(number, line, extra, file_key)
        except BadLine as error:
            if not skip_invalid:
                raise BadInput(
                    f"{path}:{number}: expected {error} ({source.expected}); fix or remove the line, "
                    "or pass --skip-invalid"
                ) from None
            skipped += 1
            continue
        for item in items:
            if type(item) is TokenEvent:
                found.append((item.key, *item.row()))
            else:  # a rate-limit reading: (time, Reading) as plain values
                found.append((clock.format_ts(item[0]), item[1].snapshot_fields()))
    return FileResult(found, reading.seen(), reading.end - reading.start, skipped)


PARALLEL_MIN_BYTES = 16 << 20  # below this, starting workers costs more than it saves
_JOB: tuple[LogSource, Path, list[tuple[str, Path, Any]], bool] | None = None


def read_all(
    source: LogSource, folder: Path, pending: list[tuple[str, Path, Any]], skip_invalid: bool
) -> list[tuple[str, FileResult]]:
    """Read every pending file; large reads are split over the machine's cores (forked workers)."""
    global _JOB
    size = sum(reading.unread for _, _, reading in pending)
    workers = min(len(os.sched_getaffinity(0)), 4, len(pending))
    if size < PARALLEL_MIN_BYTES or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [(rel, read_file(source, folder, path, reading, skip_invalid)) for rel, path, reading in pending]
    groups: list[list[int]] = [[] for _ in range(workers)]
    loads = [0] * workers
    order = sorted(range(len(pending)), key=lambda i: pending[i][2].unread, reverse=True)
    for index in order:  # largest first onto the least loaded worker: an even split of bytes
        lightest = loads.index(min(loads))
        groups[lightest].append(index)
        loads[lightest] += pending[index][2].unread
    _JOB = (source, folder, pending, skip_invalid)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_read_group, groups)
    finally:
        _JOB = None
    out: list[tuple[str, FileResult]] = []
    for part in parts:
        if isinstance(part, str):
            raise BadInput(part)
        for rel, packed, seen, size, skipped in marshal.loads(part):
            out.append((rel, FileResult(packed, Seen(*seen), size, skipped)))  # seen: Seen.to_json()
    order_of = {rel: i for i, (rel, _, _) in enumerate(pending)}
    return sorted(out, key=lambda item: order_of[item[0]])


def _read_group(indices: list[int]) -> bytes | str:
    """A worker's share, sent back marshalled: plain tuples cross the pipe several times faster than pickles."""
    assert _JOB is not None  # set by the parent before it forked
    source, folder, pending, skip_invalid = _JOB
    try:
        results = [
            (pending[i][0], read_file(source, folder, pending[i][1], pending[i][2], skip_invalid)) for i in indices
        ]
    except BadInput as error:
        return str(error)
    return marshal.dumps([(rel, r.found, r.seen.to_json(), r.bytes_read, r.skipped) for rel, r in results])


def _mid_snapshot(ctx: Context, provider: str, ts: str, fields: dict[str, Any]) -> Record:
    return Record.derived(
        "snapshot",
        source="ingest",
        agent_id=ctx.agent_id,
        ts=ts,
        provider=provider,
        phase="mid",
        window_id=None,
        **fields,
    )


def closed_windows(ctx: Context, provider: str) -> list[Window]:
    """The spans of the provider's closed (not voided) windows, for attributing tokens."""
    closes = [r for r in live_records(ctx.repo.read_records(("window-close", "void"))) if r.kind == "window-close"]
    return [
        Window(r["window_id"], _ms(r["opened_ts"]), _ms(r.ts), r["opened_ts"])
        for r in closes
        if r["provider"] == provider
    ]


def _ms(ts: str) -> int:
    return round(clock.parse_ts(ts).timestamp() * 1000)


def _derive(
    ctx: Context, source: LogSource, table: EventTable, scope: str, zone: tzinfo, this_repo_only: bool
) -> list[Record]:
    windows = closed_windows(ctx, source.provider)
    mine = ctx.repo.this_repo_test()
    keep: Callable[[TokenEvent], bool] | None = (lambda event: bool(mine(event.project))) if this_repo_only else None
    sums = aggregate(table.events.values(), zone=zone, keep=keep, windows=windows)
    return usage_records(
        sums, provider=source.provider, origin=source.origin, scope=scope, agent_id=ctx.agent_id, this_repo=mine
    )


def mark_divergent(ctx: Context) -> int:
    """Append a ``divergent:ccusage`` anomaly for each divergent window not yet marked; returns how many."""
    records = live_records(ctx.repo.read_records(("window-close", "void", "usage", "anomaly")))  # one ledger read
    closes = [record for record in records if record.kind == "window-close"]
    found = divergent(closes, window_tokens(records), ctx.config.divergence_threshold)
    if not found:
        return 0
    closed_ts = {close["window_id"]: close.ts for close in closes}
    marks = [divergence_anomaly(item, closed_ts[item.window_id], ctx.agent_id) for item in found]
    marked = {r["window_id"] for r in records if r.kind == "anomaly" and r["code"] == DIVERGENT_CODE}
    new = [mark for mark in marks if mark["window_id"] not in marked]
    ctx.repo.append_records(new, "tracker: mark divergent windows")
    return len(new)


# -- the command -------------------------------------------------------------------------------------


def claude_logs_source() -> LogSource:
    from gittracker.sources import claude_logs

    return LogSource(
        "claude-logs",
        "claude",
        "claude-logs",
        claude_logs.EXPECTED,
        claude_logs.transcript_files,
        claude_logs.parse_counted,
    )


def codex_sessions_source() -> LogSource:
    from gittracker.sources import codex_usage
    from gittracker.sources.codex_logs import rollout_files

    return LogSource(
        "codex-sessions",
        "codex",
        "codex-sessions",
        codex_usage.EXPECTED,
        rollout_files,
        codex_usage.parse_rollout_line,
        lambda folder, path: path.name,
    )


def run(
    ctx: Context,
    source: str,
    target: str | None = None,
    *,
    dirs: tuple[str, ...] = (),
    this_repo_only: bool = False,
    skip_invalid: bool = False,
    provider: str | None = None,
) -> Summary:
    if source not in SOURCES:
        raise BadInput(f"ingest: expected a source, one of {', '.join(SOURCES)}; got {source!r}")
    if source in LOG_SOURCES:
        if target is not None:
            raise BadInput(f"ingest {source}: reads the provider's own logs; expected --dir DIR, not a file")
        if this_repo_only and source != "claude-logs":
            raise BadInput("--this-repo: only claude-logs records projects; codex-sessions has no such choice")
        zone = ctx.config.zone()
        if source == "claude-logs":
            from gittracker.sources.claude_logs import config_dirs

            return ingest_logs(
                ctx,
                claude_logs_source(),
                config_dirs(dirs),
                zone=zone,
                this_repo_only=this_repo_only,
                skip_invalid=skip_invalid,
            )
        from gittracker.sources.codex_logs import codex_homes

        return ingest_logs(ctx, codex_sessions_source(), codex_homes(dirs), zone=zone, skip_invalid=skip_invalid)
    if dirs or this_repo_only or skip_invalid:
        raise BadInput(f"ingest {source}: --dir, --this-repo and --skip-invalid are for claude-logs and codex-sessions")
    if target is None:
        raise BadInput(f"ingest {source}: expected a FILE, or - for stdin")
    if source == "ccusage":
        return ingest_ccusage(ctx, read_input(target, source), provider=provider)
    return ingest_paste(ctx, source, read_input(target, source))


MAX_INPUT_BYTES = 64 << 20


def read_input(target: str, source: str) -> str:
    """FILE or ``-``: text, refusing binary data and anything larger than a report could be."""
    from gittracker.readings import read_text

    return read_text(target, MAX_INPUT_BYTES, f"ingest {source}", INPUT_EXPECTED[source])


INPUT_EXPECTED = {
    "ccusage": "a ccusage JSON report",
    "codex-status": "a pasted Codex /status screen",
    "claude-usage": "a pasted Claude /usage screen",
    "claude-statusline": "a Claude Code status-line JSON payload",
}


PASTE_PROVIDER = {"codex-status": "codex", "claude-usage": "claude", "claude-statusline": "claude"}


def ingest_paste(ctx: Context, source: str, text: str) -> Summary:
    """A pasted screen or one status-line payload as a ``mid`` snapshot; the same text twice adds nothing."""
    provider = PASTE_PROVIDER[source]
    if source == "claude-statusline":
        from gittracker.sources.statusline import parse_statusline

        reading, _ = parse_statusline(text)
        if reading.is_empty():
            raise BadInput("ingest claude-statusline: expected rate_limits.five_hour or seven_day in the payload")
    else:
        from gittracker.sources.screens import parse_screen

        shown, reading = parse_screen(text, clock.now())
        if shown != provider:
            names = {"codex": "a Codex /status", "claude": "a Claude /usage"}
            raise BadInput(f"ingest {source}: expected {names[provider]} screen, but this is {names[shown]} screen")
    summary = Summary(source, unchanged=False)
    digest = hashlib.blake2b(text.strip().encode(), digest_size=16).hexdigest()
    seen_path = ctx.local.root / "ingest" / "pastes.json"
    seen_path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(seen_path.with_suffix(".lock")):
        try:
            seen = json.loads(seen_path.read_text())
        except (FileNotFoundError, ValueError):
            seen = {}
        if not isinstance(seen, dict):
            seen = {}
        if digest in seen:
            summary.unchanged = True
            return summary
        record = Record.new(
            "snapshot",
            source="ingest",
            agent_id=ctx.agent_id,
            provider=provider,
            phase="mid",
            window_id=None,
            **reading.snapshot_fields(),
        )
        ctx.repo.append_records([record], f"tracker: ingest {source}")
        seen[digest] = record.id
        atomic_write(seen_path, json.dumps(seen, sort_keys=True), durable=False)
    summary.snapshots_added = 1
    return summary


def ingest_ccusage(ctx: Context, text: str, *, provider: str | None = None) -> Summary:
    from gittracker.sources.ccusage_json import parse_report

    rows = parse_report(text, provider=provider)
    scope = f"{socket.gethostname()}:ccusage"
    records = [
        Record.derived(
            "usage",
            source="ingest",
            agent_id=ctx.agent_id,
            ts=as_of,
            origin="ccusage",
            scope=scope,
            this_repo=None,
            window_id=None,
            **body,
        )
        for body, as_of in rows
    ]
    added = ctx.repo.missing_records(records)
    ctx.repo.append_records(added, "tracker: ingest ccusage")
    summary = Summary("ccusage", scopes=[scope], events=len(rows), unchanged=not added)
    summary.records_added = len(added)
    return summary
