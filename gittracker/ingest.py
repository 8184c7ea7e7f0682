"""``git tracker ingest SOURCE``: provider data into the ledger, idempotently and incrementally.

Log sources (``claude-logs``, ``codex-sessions``) keep, per place read (host and directory: the *scope*),
a manifest of what each file had when last read and a table of the deduplicated token events
(``logstate``). A run with nothing new checks file sizes and the ledger tip and stops (``entry`` even
does so before loading the CLI); a run with new bytes reads only those, in parallel when they are many,
then derives every total again from the table's slot totals. Records are derived from their content
(``Record.derived``), so a repeated or interrupted run appends nothing twice. The ledger is written
first and the local files after: a run killed in between is simply done again.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gittracker import clock
from gittracker.config import env_count
from gittracker.context import Context
from gittracker.errors import BadInput
from gittracker.eventstore import Batches, EventStore, partition
from gittracker.files import file_lock, write_cache
from gittracker.logstate import (
    LOG_SOURCES,
    MANIFEST_VERSION,
    Store,
    Summary,
    config_stamp,
    folders_of,
    hostname,
    list_files,
    nothing_new,
    relative,
    scope_of,
)
from gittracker.logstate import describe as describe_logs
from gittracker.midsnapshots import changed_readings, mid_snapshot
from gittracker.privacy import Projects, place_key, scope_for, session_for
from gittracker.records import Record, live_records
from gittracker.sources.jsonl import BadLine
from gittracker.sources.tail import Chunk, Reading, Seen, Unreadable, open_new
from gittracker.usage import (
    DIVERGENT_CODE,
    EventTable,
    Row,
    Window,
    aggregate,
    divergence_anomaly,
    divergent,
    frame_of,
    group_rows,
    keep_largest,
    usage_records,
    window_edges,
    window_tokens,
)

if TYPE_CHECKING:
    from gittracker.proxy.store import ProxySummary

PASTE_SOURCES = ("codex-status", "claude-usage", "claude-statusline")
PROXY_SOURCE = "proxy-telemetry"
SOURCES = ("ccusage", *LOG_SOURCES, *PASTE_SOURCES, PROXY_SOURCE)


# -- log sources ------------------------------------------------------------------------------------

Parser = Callable[[int, bytes, dict[str, Any], str], tuple[Any, ...]]
# A chunk of lines at once (``tail.Chunk``): its token events, or None to read it line by line.
ChunkReader = Callable[[Chunk, str], "list[tuple[str, Row]] | None"]


@dataclass(frozen=True)
class LogSource:
    name: str
    provider: str
    origin: str
    expected: str
    parse: Parser
    # The key a file's keyless events are known by: Codex moves rollouts to archived_sessions/, and the
    # same session read from its new place must give the same keys, so Codex uses the file's name.
    by_name: bool = False
    read_chunk: ChunkReader | None = None

    def file_key(self, rel: str) -> str:
        return os.path.basename(rel) if self.by_name else rel


def ingest_logs(
    ctx: Context,
    source: LogSource,
    folders: list[str],
    *,
    zone: tzinfo = UTC,
    this_repo_only: bool = False,
    skip_invalid: bool = False,
) -> Summary:
    summary = Summary(source.name)
    tip = ctx.repo.ledger_tip_fast()
    stamp = config_stamp(str(ctx.repo.toplevel))
    _forget_older_state(str(ctx.local.root))
    key = place_key(str(ctx.local.root))
    derived = False
    for folder in folders:
        store = Store(str(ctx.local.root), source.name, scope_of(folder))
        summary.scopes.append(store.scope)
        # The record's scope is in the settings: a new place key derives every total again, under the new name.
        settings = {"zone": str(zone), "this_repo_only": this_repo_only, "scope": scope_for(store.scope, key)}
        with _locked(store):
            derived |= _ingest_folder(ctx, source, folder, store, summary, tip, settings, stamp, zone, skip_invalid)
    if derived:  # once, over every folder's totals: a median of part of them would mark wrongly
        summary.divergent_marked = mark_divergent(ctx)
    return summary.settle()


def _forget_older_state(tracker_dir: str) -> None:
    """git-tracker 0.1 kept JSON manifests (``*.manifest.json``) under other names, and later versions one event
    table (``*.events``) where the buckets now are: drop them."""
    folder = os.path.join(tracker_dir, "ingest")
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(".manifest.json"):
            base = os.path.join(folder, name.removesuffix(".manifest.json"))
            for path in (base + ".events", base + ".lock", base + ".manifest.json"):
                with suppress(FileNotFoundError):
                    os.remove(path)
        elif name.endswith(".events"):  # one table of every event (before the buckets): its manifest reads again
            with suppress(FileNotFoundError):
                os.remove(os.path.join(folder, name))


@contextmanager
def _locked(store: Store) -> Iterator[None]:
    os.makedirs(os.path.dirname(store.base), exist_ok=True)
    with file_lock(Path(store.base + ".lock")):
        yield


def _ingest_folder(
    ctx: Context,
    source: LogSource,
    folder: str,
    store: Store,
    summary: Summary,
    tip: str | None,
    settings: dict[str, Any],
    stamp: list[int] | None,
    zone: tzinfo,
    skip_invalid: bool,
) -> bool:
    """Read what is new in one folder and append the totals derived from it; returns whether it derived them."""
    manifest = store.manifest()
    files = list_files(source.name, folder)
    summary.files += len(files)
    if nothing_new(manifest, folder, files, tip, settings):
        if manifest.get("config") != stamp:  # the config was touched, not the settings: note it for `quick`
            manifest["config"] = stamp
            write_cache(Path(store.manifest_path), store.manifest_bytes(manifest))
        return False
    known: dict[str, Any] = manifest["files"]
    pending: Pending = []
    for path in files:
        rel = relative(folder, path)
        reading = open_new(Path(path), Seen.from_json(known.get(rel)))
        if reading is not None:
            pending.append((rel, Path(path), reading))
    if not known:  # nothing read before (a new or outdated manifest, or events lost): start the events afresh
        shutil.rmtree(store.events_folder, ignore_errors=True)
    events = EventStore(store.events_folder)
    buckets = events.plan(sum(reading.unread for _, _, reading in pending))
    batches = Batches(Path(store.events_folder), buckets)
    readings: list[tuple[str, dict[str, Any]]] = []
    windows: list[Window] = []
    projects: Projects | None = None
    for number, batch in enumerate(rounds(pending)):
        if number:
            batches.spill()  # what the earlier rounds read waits on disk: memory holds one round at a time
        with Readers(source, batch, skip_invalid, buckets) as readers:
            if projects is None:  # while the readers work: what the totals need from the ledger
                windows = closed_windows(ctx, source.provider)
                projects = Projects(ctx.repo.worktree_roots())
            parts = readers.parts()
        for part in parts:
            _take(part, batches, readings, summary, known)
    assert projects is not None  # a run with nothing new stopped above; ``rounds`` gives at least one round
    groups, edge_rows, saved = events.merge(batches, buckets, window_edges(windows))
    table = EventTable(edge_rows, groups)  # what the totals are derived from: every slot, and the windows' edges
    changes, manifest["readings"] = changed_readings(readings, manifest.get("readings"))
    snapshots = [mid_snapshot(ctx, source.provider, ts, fields) for ts, fields in changes]
    keep = projects.contains if settings["this_repo_only"] else None
    sums = aggregate(table, zone=zone, keep=keep, windows=windows, label=projects.label)
    records = usage_records(
        sums,
        provider=source.provider,
        origin=source.origin,
        scope=settings["scope"],
        agent_id=ctx.agent_id,
        machine=ctx.machine,
    )
    added = ctx.repo.missing_records([*records, *snapshots])
    ctx.repo.append_records(added, f"tracker: ingest {source.name}")
    summary.records_added += sum(1 for record in added if record.kind == "usage")
    summary.snapshots_added += sum(1 for record in added if record.kind == "snapshot")
    listed = {relative(folder, path) for path in files}
    manifest["files"] = {rel: seen for rel, seen in known.items() if rel in listed}  # forget deleted files
    manifest.update(tip=ctx.repo.ledger_tip_fast(), settings=settings, config=stamp, version=MANIFEST_VERSION)
    # The events were saved first: a manifest never claims bytes whose events are not saved (if they could not
    # be, the old manifest stays and the next run reads these bytes again).
    if saved:
        write_cache(Path(store.manifest_path), store.manifest_bytes(manifest))
    return True


def _take(
    part: Part, batches: Batches, readings: list[tuple[str, dict[str, Any]]], summary: Summary, known: dict[str, Any]
) -> None:
    """What one reader read: its events to their buckets, its readings, and what it read of each file."""
    for bucket, frame in enumerate(part.frames):
        batches.add(bucket, frame, part.decoded[bucket] if part.decoded is not None else None)
    readings.extend(part.snapshots)
    summary.events += part.events
    for rel, seen, size, skipped in part.files:
        summary.files_read += 1
        summary.bytes_read += size
        summary.skipped_lines += skipped
        known[rel] = seen


# At most this many new bytes are read at once (a round); what they held waits on disk while the next are read.
# With the buckets, this bounds the memory of a run whatever the size of the logs. Tests set it small.
ROUND_BYTES = 256 << 20  # GIT_TRACKER_ROUND_BYTES sets it


def rounds(pending: Pending) -> Iterator[Pending]:
    """Consecutive runs of files of at most ``ROUND_BYTES`` new bytes each (a larger file is a round of its own)."""
    most = env_count("GIT_TRACKER_ROUND_BYTES", ROUND_BYTES)
    batch: Pending = []
    size = 0
    for item in pending:
        if batch and size + item[2].unread > most:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item[2].unread
    yield batch


Pending = list[tuple[str, Path, Reading]]


@dataclass
class Part:
    """What one reader read from a run of consecutive files: its deduplicated events and their slot totals,
    per bucket, as table frames (``usage.frame_of``), which the buckets both merge and save as they are."""

    files: list[tuple[str, list[Any], int, int]]  # (file, Seen.to_json(), bytes read, lines skipped)
    snapshots: list[tuple[str, dict[str, Any]]]  # rate-limit readings: (time, snapshot fields)
    events: int
    frames: list[bytes]  # one per bucket
    decoded: list[tuple[dict[str, Row], dict[Any, Any]]] | None = None  # the frames' rows and totals, if read here

    def pack(self) -> bytes:
        # Plain values, marshalled: they cross a pipe several times faster than pickles.
        head = marshal.dumps((self.files, self.snapshots, self.events, [len(frame) for frame in self.frames]))
        return len(head).to_bytes(8, "little") + head + b"".join(self.frames)

    @classmethod
    def unpack(cls, data: bytes) -> Part:
        size = int.from_bytes(data[:8], "little")
        files, snapshots, events, sizes = marshal.loads(data[8 : 8 + size])
        frames, at = [], 8 + size
        for length in sizes:
            frames.append(data[at : at + length])
            at += length
        return cls(files, snapshots, events, frames)


def read_part(source: LogSource, pending: Pending, skip_invalid: bool, buckets: int) -> Part:
    parse, read_chunk = source.parse, source.read_chunk
    rows: dict[str, Row] = {}
    snapshots: list[tuple[str, dict[str, Any]]] = []
    files = []
    events = 0
    for rel, path, reading in pending:
        extra = reading.extra
        file_key = source.file_key(rel)
        skipped = 0
        for chunk in reading.chunks():
            plain = read_chunk(chunk, file_key) if read_chunk is not None else None
            if plain is not None:
                for key, row in plain:
                    keep_largest(rows, key, row)
                events += len(plain)
                continue
            for number, line in enumerate(chunk.lines, chunk.first):
                try:
                    if isinstance(line, Unreadable):
                        raise BadLine(line.expected)
                    found = parse(number, line, extra, file_key)
                except BadLine as error:
                    if not skip_invalid:
                        raise BadInput(
                            f"{path}:{number}: expected {error} ({source.expected}); fix or remove the line, "
                            "or pass --skip-invalid"
                        ) from None
                    skipped += 1
                    continue
                for item in found:
                    if type(item[1]) is tuple:  # a token event: (key, row)
                        keep_largest(rows, item[0], item[1])
                        events += 1
                    else:  # a rate-limit reading: (time as clock.format_ts writes it, Reading), as plain values
                        snapshots.append((item[0], item[1].snapshot_fields()))
        files.append((rel, reading.seen().to_json(), reading.end - reading.start, skipped))
    # One bucket: the slot totals too, here, in parallel. Several: each bucket totals its events once, when it
    # has them all (``EventStore.merge``), which costs less than totalling each batch and adding them up.
    decoded = [(share, group_rows(share.values()) if buckets == 1 else {}) for share in partition(rows, buckets)]
    return Part(files, snapshots, events, [frame_of(*batch) for batch in decoded], decoded)


# Below this many new bytes, starting processes costs more than it saves. Tests set it to 1 to read
# small logs in parallel too.
PARALLEL_MIN_BYTES = 16 << 20  # GIT_TRACKER_PARALLEL_MIN_BYTES sets it


class Readers:
    """Read the pending files: large reads in forked processes, one per core, each a run of consecutive files.

    Each process deduplicates and totals its own share; the parts come back in file order, so merging
    them one after another keeps the first of equal events, as one process reading every file would.
    The parent is free meanwhile (``parts()`` collects). A process that fails is reported, not hidden.
    """

    def __init__(self, source: LogSource, pending: Pending, skip_invalid: bool, buckets: int = 1) -> None:
        self.job = (source, skip_invalid)
        self.buckets = buckets
        self.own = pending  # the first share, which this process reads itself (``parts``)
        self.children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
        size = sum(reading.unread for _, _, reading in pending)
        workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1, 4, len(pending))
        least = env_count("GIT_TRACKER_PARALLEL_MIN_BYTES", PARALLEL_MIN_BYTES)
        if size >= least and size and workers >= 2 and hasattr(os, "fork"):
            self.own, *others = split_evenly(pending, workers)
            for share in others:
                self._fork(share)

    def __enter__(self) -> Readers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fork(self, share: Pending) -> None:
        source, skip_invalid = self.job
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: read, send, and leave without running the parent's exit handlers
            os.close(read_end)
            try:
                payload = b"+" + read_part(source, share, skip_invalid, self.buckets).pack()
            except BadInput as error:
                payload = b"!" + str(error).encode()
            except BaseException as error:  # anything at all must reach the parent, as a message
                payload = b"!" + f"ingest: a reader process failed: {type(error).__name__}: {error}".encode()
            try:
                with open(write_end, "wb") as pipe:
                    pipe.write(payload)
            finally:
                os._exit(0)
        os.close(write_end)
        self.children.append((pid, read_end))

    def parts(self) -> list[Part]:
        """Every share's part, in file order: this process's own share read here, then the others' as they send
        them (their parts cross the pipe as frames; this one is merged as it is, without unmarshalling it)."""
        source, skip_invalid = self.job
        parts = [read_part(source, self.own, skip_invalid, self.buckets)]
        while self.children:
            pid, read_end = self.children.pop(0)
            with open(read_end, "rb") as pipe:
                payload = pipe.read()
            _, status = os.waitpid(pid, 0)
            if payload[:1] == b"!":
                raise BadInput(payload[1:].decode(errors="replace"))
            if payload[:1] != b"+" or status != 0:
                raise BadInput(f"ingest: a reader process ended without its result (wait status {status})")
            parts.append(Part.unpack(payload[1:]))
        return parts

    def close(self) -> None:
        """Stop and reap readers still running (the run failed or was interrupted)."""
        for pid, read_end in self.children:
            os.close(read_end)
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.children = []


def split_evenly(pending: Pending, shares: int) -> list[Pending]:
    """Consecutive runs of files with about the same number of new bytes each."""
    size = sum(reading.unread for _, _, reading in pending)
    out: list[Pending] = [[]]
    done = 0
    for item in pending:
        if done >= size * len(out) / shares and len(out) < shares and out[-1]:
            out.append([])
        out[-1].append(item)
        done += item[2].unread
    return out


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


def mark_divergent(ctx: Context) -> int:
    """Append a ``divergent:ccusage`` anomaly for each divergent window not yet marked; returns how many."""
    records = live_records(ctx.repo.read_records(("window-close", "void", "usage", "anomaly")))  # one ledger read
    closes = [record for record in records if record.kind == "window-close"]
    found = divergent(closes, window_tokens(records), ctx.config.divergence_threshold)
    if not found:
        return 0
    closed_ts = {close["window_id"]: close.ts for close in closes}
    marks = [divergence_anomaly(item, closed_ts[item.window_id], ctx.agent_id, ctx.machine) for item in found]
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
        claude_logs.parse_counted,
        read_chunk=claude_logs.read_chunk,
    )


def codex_sessions_source() -> LogSource:
    from gittracker.sources import codex_usage

    return LogSource(
        "codex-sessions", "codex", "codex-sessions", codex_usage.EXPECTED, codex_usage.parse_rollout_line, by_name=True
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
    window: str | None = None,
    skip_bad: bool = False,
) -> Summary | ProxySummary:
    if source not in SOURCES:
        raise BadInput(f"ingest: expected a source, one of {', '.join(SOURCES)}; got {source!r}")
    if source != PROXY_SOURCE and (window is not None or skip_bad):
        raise BadInput(f"ingest {source}: --window and --skip-bad are for proxy-telemetry")
    if source == PROXY_SOURCE:
        return _ingest_proxy(
            ctx,
            target,
            dirs=dirs,
            this_repo_only=this_repo_only,
            skip_invalid=skip_invalid,
            provider=provider,
            window=window,
            skip_bad=skip_bad,
        )
    if source in LOG_SOURCES:
        if target is not None:
            raise BadInput(f"ingest {source}: reads the provider's own logs; expected --dir DIR, not a file")
        if this_repo_only and source != "claude-logs":
            raise BadInput("--this-repo: only claude-logs records projects; codex-sessions has no such choice")
        log_source = claude_logs_source() if source == "claude-logs" else codex_sessions_source()
        return ingest_logs(
            ctx,
            log_source,
            folders_of(source, dirs),
            zone=ctx.config.zone(),
            this_repo_only=this_repo_only,
            skip_invalid=skip_invalid,
        )
    if dirs or this_repo_only or skip_invalid:
        raise BadInput(f"ingest {source}: --dir, --this-repo and --skip-invalid are for claude-logs and codex-sessions")
    if target is None:
        raise BadInput(f"ingest {source}: expected a FILE, or - for stdin")
    if source == "ccusage":
        return ingest_ccusage(ctx, read_input(target, source), provider=provider)
    return ingest_paste(ctx, source, read_input(target, source))


def _ingest_proxy(
    ctx: Context,
    target: str | None,
    *,
    dirs: tuple[str, ...],
    this_repo_only: bool,
    skip_invalid: bool,
    provider: str | None,
    window: str | None,
    skip_bad: bool,
) -> ProxySummary:
    from gittracker.proxy import store

    if skip_invalid:
        raise BadInput(
            f"ingest {PROXY_SOURCE}: expected --skip-bad (--skip-invalid is for claude-logs and codex-sessions)"
        )
    if dirs or this_repo_only or provider is not None:
        raise BadInput(f"ingest {PROXY_SOURCE}: --dir, --this-repo and --provider are for the other sources")
    if target is None:
        target = store.default_telemetry_path()
        if not os.path.exists(target):
            raise BadInput(
                f"ingest {PROXY_SOURCE}: expected a FILE, or - for stdin (the proxy's default file, {target}, "
                "does not exist yet)"
            )
    return store.ingest(ctx, target, window=window, skip_bad=skip_bad)


def describe(summary: dict[str, Any]) -> str:
    """The one-line report of an ingest, of whichever source."""
    if summary["source"] == PROXY_SOURCE:
        from gittracker.proxy.store import describe as describe_proxy

        return describe_proxy(summary)
    return describe_logs(summary)


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
    """A pasted screen or one status-line payload as a ``mid`` snapshot.

    Its id comes from the text and the day (UTC), so the same paste again that day adds nothing, in this clone
    or any other, whatever local state was lost meanwhile.
    """
    provider = PASTE_PROVIDER[source]
    if source == "claude-statusline":
        from gittracker.sources.statusline import parse_statusline

        reading, _ = parse_statusline(text)
        if reading.is_empty():
            raise BadInput("ingest claude-statusline: expected rate_limits.five_hour or seven_day in the payload")
    else:
        from gittracker.sources.screens import parse_screen

        shown, reading = parse_screen(text, clock.now(), clock.local_zone(ctx.config.screen_timezone))
        if shown != provider:
            names = {"codex": "a Codex /status", "claude": "a Claude /usage"}
            raise BadInput(f"ingest {source}: expected {names[provider]} screen, but this is {names[shown]} screen")
    moment = clock.now()
    record = Record.derived(
        "snapshot",
        source="ingest",
        agent_id=ctx.agent_id,
        machine=ctx.machine,
        ts=clock.format_ts(moment),
        identity=f"{source}:{paste_digest(text)}",
        id_ts=clock.format_ts(moment.replace(hour=0, minute=0, second=0, microsecond=0)),
        provider=provider,
        phase="mid",
        window_id=None,
        **reading.snapshot_fields(),
    )
    added = ctx.repo.missing_records([record])
    ctx.repo.append_records(added, f"tracker: ingest {source}")
    summary = Summary(source)
    summary.snapshots_added = len(added)
    return summary.settle()


def paste_digest(text: str) -> str:
    """What identifies a pasted screen: its text without the line ends and trailing blanks a copy may add."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=16).hexdigest()


def ingest_ccusage(ctx: Context, text: str, *, provider: str | None = None) -> Summary:
    from gittracker.sources.ccusage_json import parse_report

    rows = parse_report(text, provider=provider)
    key = place_key(str(ctx.local.root))
    scope = scope_for(f"{hostname()}:ccusage", key)
    projects = Projects(ctx.repo.worktree_roots()) if any(body["project"] for body, _ in rows) else None
    records = [
        Record.derived(
            "usage",
            source="ingest",
            agent_id=ctx.agent_id,
            machine=ctx.machine,
            ts=as_of,
            origin="ccusage",
            scope=scope,
            window_id=None,
            **private_session(body, key, projects),
        )
        for body, as_of in rows
    ]
    added = ctx.repo.missing_records(records)
    ctx.repo.append_records(added, "tracker: ingest ccusage")
    summary = Summary("ccusage")
    summary.scopes.append(scope)
    summary.events = len(rows)
    summary.records_added = len(added)
    return summary.settle()


def private_session(body: dict[str, Any], key: bytes, projects: Projects | None) -> dict[str, Any]:
    """A ccusage row as the ledger may hold it: a session's id (the transcript folder's name, which spells out
    its path) as a keyed digest; its project as this repository's relative folder, or null and ``this_repo``
    false for any other (``privacy``). Day and block rows name no project: ``this_repo`` null."""
    out = {**body, "this_repo": None}
    if body["granularity"] == "session":
        out["period"] = session_for(body["period"], key)
    if body["project"] is not None and projects is not None:
        out["project"], out["branch"], out["this_repo"] = projects.label(body["project"], None)
    return out
