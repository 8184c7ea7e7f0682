"""``git tracker ingest proxy-telemetry``: the addon's telemetry lines into ``proxy-batch`` and ``proxy-rollup``
records and Claude capacity snapshots, and the readers the reports use (``cached_window_figures``, ``rollups``).

One run reads its input (a file from where the last run stopped, or stdin), checks every line, and writes in one
ledger commit: per window, the events whose trace id the ledger does not hold yet, as batches; for every window
that got events, a rollup of all its events; the capacity readings that changed. A batch with a bad line writes
nothing unless ``--skip-bad``. docs/proxy.md says it for users.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from operator import attrgetter
from typing import IO, TYPE_CHECKING, Any

import msgspec

from gittracker import clock
from gittracker import proxyevents as ev
from gittracker.context import Context
from gittracker.errors import BadInput
from gittracker.files import file_lock, write_cache
from gittracker.midsnapshots import changed_readings, mid_snapshot
from gittracker.proxy import telemetry
from gittracker.proxy.attach import attach, spans
from gittracker.proxy.filestate import State, resume_at, seen_now
from gittracker.proxy.limits import reading_of
from gittracker.records import Record, kind_at, live_records, record_path

if TYPE_CHECKING:
    from gittracker.git import Repo

SOURCE = "proxy-telemetry"
BATCH = "proxy-batch"
ROLLUP = "proxy-rollup"
SHOWN_BAD = 3  # bad lines named in the error; the rest are counted


@dataclass
class ProxySummary:
    """What one ``ingest proxy-telemetry`` did, for the one-line report and ``--json`` (docs/json.md)."""

    input: str
    source: str = SOURCE
    bytes_read: int = 0
    lines_read: int = 0
    events: int = 0  # good lines read in this run
    new_events: int = 0  # of those, events the ledger did not hold (by trace id)
    skipped_lines: int = 0
    batches_added: int = 0
    rollups_added: int = 0
    snapshots_added: int = 0
    windows: dict[str, int] = field(default_factory=dict)  # window id (or "none") -> new events
    unchanged: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe(summary: dict[str, Any]) -> str:
    """The one-line report: ``proxy-telemetry: read 1,204 line(s), 1,200 new event(s) in 2 window(s); …``."""
    head = f"{SOURCE}: "
    if not summary["lines_read"]:
        line = head + "nothing new (already read)"
    else:
        windows = summary["windows"]
        line = head + f"read {summary['lines_read']:,} line(s), {summary['new_events']:,} new event(s)"
        if windows:
            line += f" in {len(windows)} window(s)" if "none" not in windows else f" ({windows['none']:,} in no window)"
        line += (
            f"; {summary['batches_added']} batch(es), {summary['rollups_added']} rollup(s) and "
            f"{summary['snapshots_added']} snapshot(s) added"
        )
    if summary["skipped_lines"]:
        line += f"; {summary['skipped_lines']:,} bad line(s) skipped"
    return line


def default_telemetry_path() -> str:
    """Where the addon writes when ``tracker_telemetry`` is not set (addon.py's rule, which cannot be imported
    here: the addon imports mitmproxy; a test holds the two to one answer)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "git-tracker", "proxy-telemetry.jsonl")


# -- the ingest ------------------------------------------------------------------------------------------


def ingest(ctx: Context, target: str, window: str | None = None, skip_bad: bool = False) -> ProxySummary:
    summary = ProxySummary(input=target)
    if window is not None:
        _check_window(ctx, window)
    state = State(ctx.local.root)
    with file_lock(state.lock), _opened(target) as handle:
        state.load()
        key = os.path.realpath(target) if handle is not None else None
        start, lines_before = resume_at(handle, state.seen(key)) if handle is not None and key else (0, 0)
        stream = handle if handle is not None else sys.stdin.buffer
        if handle is not None:
            handle.seek(start)
        read = _read(stream, target, lines_before + 1, skip_bad, summary)
        if read.lines:
            _store(ctx, read.lines, window, state, summary)
        if handle is not None and key is not None:
            state.files[key] = seen_now(handle, start + read.whole_bytes, lines_before + read.whole_lines).to_plain()
            state.save()
    summary.unchanged = not (summary.batches_added or summary.rollups_added or summary.snapshots_added)
    return summary


@contextmanager
def _opened(target: str) -> Iterator[IO[bytes] | None]:
    """The file to read (None: stdin), refusing one that cannot be read in one line."""
    if target == "-":
        yield None
        return
    try:
        handle = open(target, "rb")  # noqa: SIM115 - closed below, after the state is taken from it
    except OSError as error:
        raise BadInput(f"ingest {SOURCE}: cannot read {target!r} ({error.strerror or error})") from None
    with handle:
        if not os.path.isfile(target):
            raise BadInput(f"ingest {SOURCE}: expected a telemetry file, got {target!r}, which is not a file")
        yield handle


def _check_window(ctx: Context, window: str) -> None:
    opened = {r["window_id"] for r in live_records(ctx.repo.read_records(("window-open", "void"))) if r.kind != "void"}
    if window not in opened:
        raise BadInput(f"--window: expected a window id this ledger knows (git tracker log), got {window!r}")


@dataclass
class _Read:
    lines: list[telemetry.Line]
    whole_bytes: int  # bytes up to the end of the last line with its newline: where the next run starts
    whole_lines: int


def _read(stream: IO[bytes], target: str, first: int, skip_bad: bool, summary: ProxySummary) -> _Read:
    """Every line of the stream checked; BadInput naming the first bad ones unless ``skip_bad``."""
    good: list[telemetry.Line] = []
    bad: list[tuple[int, str]] = []
    bad_count = 0
    whole_bytes = whole_lines = 0
    for number, block in enumerate(telemetry.blocks(stream, first)):
        if number == 0 and b"\0" in block.data[:65536]:
            raise BadInput(f"{_name(target)}: expected {SOURCE} lines (JSON text, one per line), got binary data")
        decoded = telemetry.last_line(block) if block.last else telemetry.decode_lines(block.data, block.first)
        summary.bytes_read += len(block.data) + (0 if block.last else 1)
        lines = block.data.count(b"\n") + 1
        summary.lines_read += lines
        if not block.last:
            whole_bytes += len(block.data) + 1
            whole_lines += lines
        good.extend(decoded.lines)
        bad_count += len(decoded.bad)
        bad.extend(decoded.bad[: SHOWN_BAD - len(bad)])
    if bad_count and not skip_bad:
        raise BadInput(_bad_lines_text(_name(target), bad, bad_count))
    summary.skipped_lines = bad_count
    summary.events = len(good)
    return _Read(good, whole_bytes, whole_lines)


def _name(target: str) -> str:
    return "<stdin>" if target == "-" else target


def _bad_lines_text(name: str, bad: list[tuple[int, str]], count: int) -> str:
    number, expected = bad[0]
    text = f"{name}:{number}: expected {expected}"
    if count > 1:
        others = ", ".join(str(n) for n, _ in bad[1:])
        text += f"; {count:,} bad lines in all (also line {others}{', …' if count > len(bad) else ''})"
    return text + "; nothing was ingested: fix or remove the lines, or pass --skip-bad"


def _store(ctx: Context, lines: list[telemetry.Line], window: str | None, state: State, summary: ProxySummary) -> None:
    listed, voided = _batch_files(ctx.repo)  # the batches as they are now: what is held, and what the cache names
    held = _held_traces(ctx.repo, listed, voided)
    new = _new_events(lines, held.winner)
    summary.new_events = len(new)
    by_window = _attached(ctx, new, window)
    batches = [batch for window_id, items in by_window.items() for batch in _batches(ctx, window_id, items)]
    rollup_records = [
        _rollup(ctx, window_id, [*held.events_of(window_id), *items])
        for window_id, items in by_window.items()
        if window_id is not None
    ]
    changes, state.readings = changed_readings(_readings(lines, state.readings), state.readings)
    snapshots = [mid_snapshot(ctx, "claude", ts, fields) for ts, fields in changes]
    added = ctx.repo.missing_records([*batches, *rollup_records, *snapshots])
    kept = _figures_kept(ctx.repo, listed, voided)
    ctx.repo.append_records(added, f"tracker: ingest {SOURCE}")
    written = [record for record in added if record.kind == BATCH]
    if kept is not None and len(written) == len(batches):  # (a batch already there, voided, holds no new events)
        _keep_figures_with(ctx.repo, kept, written, by_window)
    summary.windows = {window_id or "none": len(items) for window_id, items in by_window.items()}
    summary.batches_added = sum(1 for record in added if record.kind == BATCH)
    summary.rollups_added = sum(1 for record in added if record.kind == ROLLUP)
    summary.snapshots_added = sum(1 for record in added if record.kind == "snapshot")


def _new_events(lines: list[telemetry.Line], held: dict[str, str]) -> list[ev.Event]:
    """The lines whose trace id neither the ledger nor an earlier line holds, in time order (file order among
    equal times)."""
    ids = [line.trace_id for line in lines]
    if not held and len(set(ids)) == len(ids):  # the common first read: every line new, no loop in Python
        new: list[ev.Event] = list(lines)
    else:
        seen = set(held)
        new = []
        for trace_id, line in zip(ids, lines, strict=True):
            if trace_id not in seen:
                seen.add(trace_id)
                new.append(line)
    new.sort(key=_timestamp)
    return new


_timestamp = attrgetter("timestamp")


def _attached(ctx: Context, new: list[ev.Event], window: str | None) -> dict[str | None, list[ev.Event]]:
    """The new events by the window they go to: ``--window``'s, or the window open at each one's time."""
    if not new:
        return {}
    if window is not None:
        return {window: new}
    records = ctx.repo.read_records(("window-open", "window-close", "void"))
    runs = attach([event.timestamp for event in new], spans(records, clock.format_ts(clock.now())))
    out: dict[str | None, list[ev.Event]] = {}
    done = 0
    for start, end, window_id in runs:
        if start > done:
            out.setdefault(None, []).extend(new[done:start])
        out.setdefault(window_id, []).extend(new[start:end])
        done = end
    if done < len(new):
        out.setdefault(None, []).extend(new[done:])
    return out


def _batches(ctx: Context, window_id: str | None, events: list[ev.Event]) -> list[Record]:
    return [
        _batch(ctx, window_id, events[start : start + ev.BATCH_EVENTS])
        for start in range(0, len(events), ev.BATCH_EVENTS)
    ]


def _batch(ctx: Context, window_id: str | None, events: Sequence[ev.Event]) -> Record:
    traces = hashlib.blake2b("\n".join(sorted(event.trace_id for event in events)).encode(), digest_size=16)
    return Record.derived(
        BATCH,
        source="ingest",
        agent_id=ctx.agent_id,
        machine=ctx.machine,
        ts=events[-1].timestamp,
        identity={"window": window_id, "traces": traces.hexdigest()},
        window_id=window_id,
        count=len(events),
        first_ts=events[0].timestamp,
        last_ts=events[-1].timestamp,
        events=ev.columns_of(events),
    )


def _rollup(ctx: Context, window_id: str, events: Sequence[ev.Event]) -> Record:
    newest = max(event.timestamp for event in events)
    return Record.derived(
        ROLLUP,
        source="ingest",
        agent_id=ctx.agent_id,
        machine=ctx.machine,
        ts=newest,
        window_id=window_id,
        **ev.rollup(events),
    )


def _readings(lines: Iterable[telemetry.Line], remembered: Any) -> list[tuple[str, dict[str, Any]]]:
    """The Claude capacity readings of the lines, as (time, snapshot fields), in time order.

    Nearly every response carries the same capacity as the one before it. A reading equal to the one before it in
    time order, with no remembered reading between them, can never be a change (``midsnapshots.changed_readings``
    compares it with the same last-written reading as its twin), so it is dropped here; and each distinct capacity
    is converted once.
    """
    kept_times = (
        sorted(item[0] for item in remembered if isinstance(item, list) and item and isinstance(item[0], str))
        if isinstance(remembered, list)
        else []
    )
    fields_of: dict[tuple[str, telemetry.Capacity], dict[str, Any] | None] = {}
    out: list[tuple[str, dict[str, Any]]] = []
    last_key: tuple[str, telemetry.Capacity] | None = None
    last_ts = ""
    for line in sorted((line for line in lines if line.capacity is not None), key=_timestamp):
        assert line.capacity is not None
        key = (line.backend_provider, line.capacity)
        if key == last_key and (not kept_times or _none_between(kept_times, last_ts, line.timestamp)):
            continue
        if key not in fields_of:
            reading = reading_of(*key)
            fields_of[key] = None if reading is None else reading.snapshot_fields()
        fields = fields_of[key]
        if fields is not None:
            out.append((line.timestamp, fields))
            last_key, last_ts = key, line.timestamp
    return out


def _none_between(times: list[str], after: str, until: str) -> bool:
    return bisect_left(times, after) == bisect_right(times, until)


# -- what the ledger holds -------------------------------------------------------------------------------


class _TraceIds(msgspec.Struct, gc=False):
    trace_id: list[str]


class _BatchTraces(msgspec.Struct, gc=False):
    """A stored batch, only what finding its trace ids needs (the rest of the blob is skipped, not built)."""

    kind: str
    window_id: str | None
    events: _TraceIds


class _BatchEvents(msgspec.Struct, gc=False):
    kind: str
    events: ev.Columns
    window_id: str | None = None


_traces_decoder = msgspec.json.Decoder(_BatchTraces)
_events_decoder = msgspec.json.Decoder(_BatchEvents)


@dataclass
class _Held:
    """The trace ids the ledger's batches hold, each with the batch whose copy counts (the smallest record id),
    and each window's batches, kept undecoded until a rollup needs them."""

    winner: dict[str, str] = field(default_factory=dict)
    blobs: dict[str | None, list[tuple[str, bytes]]] = field(default_factory=dict)

    def events_of(self, window_id: str | None) -> list[ev.Event]:
        """The window's events already in the ledger: those of its batches whose copy counts."""
        out: list[ev.Event] = []
        for record_id, data in self.blobs.get(window_id, ()):
            try:
                rows = _events_decoder.decode(data).events.rows()
            except (msgspec.MsgspecError, ValueError):
                continue
            out.extend(row for row in rows if self.winner.get(row.trace_id) == record_id)
        return out


def _held_traces(repo: Repo, listed: list[tuple[str, str]], voided: list[str]) -> _Held:
    """Only the trace-id column of each batch is decoded: a run's cost follows the ids, not the whole events."""
    held = _Held()
    for record_id, blob_id in _live_batches(listed, voided):
        data = repo.blob_data(blob_id)
        try:
            head = _traces_decoder.decode(data)
        except (msgspec.MsgspecError, RecursionError):
            continue  # another version's or a damaged file: the ledger reads skip and report it
        if head.kind == BATCH:
            for trace in head.events.trace_id:
                held.winner.setdefault(trace, record_id)
            held.blobs.setdefault(head.window_id, []).append((record_id, data))
    return held


# -- readers for the reports -------------------------------------------------------------------------------


def window_events(records: Iterable[Record]) -> dict[str | None, list[ev.Event]]:
    """The events of each window (None: no window), each trace id once, where its counting copy is."""
    batches = sorted((r for r in live_records(records) if r.kind == BATCH), key=lambda record: record.id)
    seen: set[str] = set()
    out: dict[str | None, list[ev.Event]] = {}
    for record in batches:
        for event in ev.decoded_columns(record["events"]).rows():
            if event.trace_id not in seen:
                seen.add(event.trace_id)
                out.setdefault(record["window_id"], []).append(event)
    for events in out.values():
        events.sort(key=_timestamp)
    return out


def window_figures(records: Iterable[Record]) -> dict[str | None, ev.Figures]:
    """Each window's figures (None: no window), from the batch records given, each trace id once."""
    return {window_id: ev.Figures.of(events) for window_id, events in window_events(records).items()}


# Each window's figures, kept for the next report under a key naming every batch file and every void: a report after
# an ingest reads the batches once; the reports after it read 8 MB of latencies for a million events, not 170 MB.
FIGURES_CACHE = "proxy-figures.bin"
FIGURES_VERSION = 1


def cached_window_figures(repo: Repo) -> dict[str | None, ev.Figures]:
    """``window_figures`` of the ledger's batches, read from the cache when nothing changed since it was made."""
    listed, voided = _batch_files(repo)
    if not listed:
        return {}
    key = _figures_key(listed, voided)
    kept = _kept_figures(repo, key)
    if kept is not None:
        return kept
    figures = _figures_of_files(repo, listed, voided)
    _save_figures(repo, key, figures)
    return figures


@dataclass
class _KeptFigures:
    paths: set[str]
    voided: list[str]
    figures: dict[str | None, ev.Figures]


def _figures_kept(repo: Repo, listed: list[tuple[str, str]], voided: list[str]) -> _KeptFigures | None:
    """The cached figures, when they are those of these batches and voids (or there is no batch yet)."""
    figures = _kept_figures(repo, _figures_key(listed, voided)) if listed else {}
    return None if figures is None else _KeptFigures({path for path, _ in listed}, voided, figures)


def _keep_figures_with(
    repo: Repo, kept: _KeptFigures, batches: list[Record], by_window: dict[str | None, list[ev.Event]]
) -> None:
    """The cache brought up to date with the events an ingest just added, so the report after it reads no batch;
    only when the ledger holds exactly what it held plus these batches (else another writer came between us, and
    the next report reads the batches)."""
    listed, voided = _batch_files(repo)
    added_paths = {record_path(record.id, record.kind) for record in batches}
    if {path for path, _ in listed} != kept.paths | added_paths or voided != kept.voided:
        return
    figures = kept.figures
    for window_id, events in by_window.items():
        part = figures.setdefault(window_id, ev.Figures())
        for event in events:
            part.add(event)
    _save_figures(repo, _figures_key(listed, voided), figures)


def _batch_files(repo: Repo) -> tuple[list[tuple[str, str]], list[str]]:
    listed = sorted(repo.stored_blob_ids(BATCH))
    voided = sorted(r["target_id"] for r in repo.read_records(("void",)) if r.kind == "void") if listed else []
    return listed, voided


def _live_batches(listed: list[tuple[str, str]], voided: list[str]) -> list[tuple[str, str]]:
    """(record id, blob id) of the batch files not voided, the smallest record id first: where a trace id is found
    first is the copy of it that counts."""
    dropped = set(voided)
    found = []
    for path, blob_id in listed:
        record_id = os.path.basename(path).removesuffix(".json")
        if kind_at(path) == BATCH and record_id not in dropped:
            found.append((record_id, blob_id))
    return sorted(found)


def _figures_key(listed: list[tuple[str, str]], voided: list[str]) -> str:
    return hashlib.blake2b(repr((FIGURES_VERSION, listed, voided)).encode(), digest_size=16).hexdigest()


def _kept_figures(repo: Repo, key: str) -> dict[str | None, ev.Figures] | None:
    path = repo.cache_dir / FIGURES_CACHE if repo.cache_dir is not None else None
    try:
        kept_key, plain = marshal.loads(path.read_bytes()) if path is not None else (None, None)
        if kept_key != key or not isinstance(plain, dict):
            return None
        return {window_id: ev.Figures.from_plain(value) for window_id, value in plain.items()}
    except (OSError, EOFError, ValueError, TypeError):
        return None  # no cache, or a damaged one: read the batches again


def _save_figures(repo: Repo, key: str, figures: dict[str | None, ev.Figures]) -> None:
    path = repo.cache_dir / FIGURES_CACHE if repo.cache_dir is not None else None
    if path is not None and path.parent.parent.is_dir():  # only inside an initialised tracker dir
        for part in figures.values():
            part.latencies.sort()  # kept sorted: the report's sort of them all then only merges sorted runs
        plain = {window_id: part.to_plain() for window_id, part in figures.items()}
        write_cache(path, marshal.dumps([key, plain]))


def _figures_of_files(repo: Repo, listed: list[tuple[str, str]], voided: list[str]) -> dict[str | None, ev.Figures]:
    """The batches decoded straight into figures, the smallest record id first (whose copy of a trace counts, as
    ``window_events`` decides); a file that is no batch this version reads is left out, as reading the ledger
    leaves it out (and reports it)."""
    seen: set[str] = set()
    out: dict[str | None, ev.Figures] = {}
    for _, blob_id in _live_batches(listed, voided):
        try:
            batch = _events_decoder.decode(repo.blob_data(blob_id))
            columns = batch.events
            if batch.kind != BATCH or not columns.equal_lengths():
                continue
        except (msgspec.MsgspecError, RecursionError):
            continue
        figures = out.setdefault(batch.window_id, ev.Figures())
        if seen.isdisjoint(columns.trace_id):
            seen.update(columns.trace_id)
            figures.add_columns(columns)
        else:
            for event in columns.rows():
                if event.trace_id not in seen:
                    seen.add(event.trace_id)
                    figures.add(event)
    return out


def rollups(records: Iterable[Record]) -> dict[str, dict[str, Any]]:
    """The latest ``proxy-rollup`` body of each window: the latest ``ts`` wins; between equal times, the one of
    more events (a window's events only ever grow), then the larger id."""
    best: dict[str, Record] = {}
    for record in live_records(records):
        if record.kind != ROLLUP:
            continue
        known = best.get(record["window_id"])
        if known is None or _rollup_order(record) > _rollup_order(known):
            best[record["window_id"]] = record
    return {window_id: dict(record.body) for window_id, record in best.items()}


def _rollup_order(record: Record) -> tuple[str, int, str]:
    return record.ts, record["total_prompts"], record.id
