"""Token usage: deduplicated token events, their totals per day, 5-hour block and window, as ``usage`` records.

A reader (``sources.claude_logs``, ``sources.codex_usage``) turns log lines into events: a key and a row
(``event``). Events live in an ``EventTable`` keyed so that the same message read twice is one event
(Claude: message id and request id, keeping the largest usage; Codex: the line's place in its file).

The table also keeps running totals per *slot* (a quarter hour, with the quarter's first millisecond a
slot of its own), project and branch. No day (every zone's offset is a whole number of quarter hours)
and no 5-hour block (blocks start on the hour, and the boundary millisecond belongs to the block before)
splits a slot, so every total is a sum of slot totals. Tables built in parallel merge exactly, and a run
that read a few new lines re-derives every total from the slots, without visiting every event again.

Every ``usage`` record is a total *as of* its newest event, with an id derived from its content. Reading
the same logs again derives the same records (the append adds nothing); reading more derives a larger
total for the same series, and readers take the largest record of each series (``current``). A series
only grows, so logs the provider has since deleted never shrink a figure already recorded.
"""

from __future__ import annotations

import bisect
import marshal
import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from gittracker import clock
from gittracker.capacity import window_meter
from gittracker.errors import BadInput
from gittracker.privacy import Label, legacy_scope
from gittracker.records import Record

BLOCK = timedelta(hours=5)
_BLOCK_MS = int(BLOCK.total_seconds() * 1000)
_HOUR_MS = 3_600_000
_QUARTER_MS = 900_000
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
TABLE_MAGIC = b"git-tracker events 3\n"
MAX_FRAMES = 16  # batches kept as read before the table is rewritten as one
SERIES_FIELDS = ("origin", "provider", "granularity", "period", "scope", "project", "branch", "window_id")

# An event's row, a plain tuple (cheap to build, compare, marshal and send between processes):
# (ms, input, output, cache_creation, cache_read, project, branch, model, cost in nano-dollars or None).
# Costs are whole nano-dollars so that sums are exact whatever order events are added in.
Row = tuple[Any, ...]
MS, INPUT, OUTPUT, CACHE_CREATION, CACHE_READ, PROJECT, BRANCH, MODEL, COST = range(9)

# A slot's running totals: [events, first ms, last ms, input, output, cache_creation, cache_read,
# cost in nano-dollars (None once an event had none), set of models].
Totals = list[Any]
GroupKey = tuple[int, str | None, str | None]  # (slot, project, branch)


def event(
    key: str,
    ms: int,
    input: int = 0,
    output: int = 0,
    cache_creation: int = 0,
    cache_read: int = 0,
    project: str | None = None,
    branch: str | None = None,
    model: str | None = None,
    cost: float | None = None,
) -> tuple[str, Row]:
    """An event as readers produce it: (key, row)."""
    return key, (ms, input, output, cache_creation, cache_read, project, branch, model, nanos(cost))


def nanos(cost: float | None) -> int | None:
    return None if cost is None else round(cost * 1e9)


def total(row: Row) -> int:
    return int(row[INPUT] + row[OUTPUT] + row[CACHE_CREATION] + row[CACHE_READ])


def slot_of(ms: int) -> int:
    """Quarter hour q is slots 2q (its first millisecond) and 2q + 1 (the rest): ordered like time."""
    return 2 * (ms // _QUARTER_MS) + (ms % _QUARTER_MS != 0)


def quarter_of(ms: int) -> int:
    return ms // _QUARTER_MS


def window_edges(windows: Iterable[Window]) -> set[int]:
    """The quarter hours where windows begin and end: their totals need those quarters' events one by one."""
    return {slot_of(ms) // 2 for window in windows for ms in (window.opened_ms, window.closed_ms)}


def keep_largest(rows: dict[str, Row], key: str, row: Row) -> None:
    """Streamed responses repeat a line: the largest usage of a key wins, the first one on a tie."""
    known = rows.get(key)
    if known is None or total(row) > total(known):
        rows[key] = row


def group_rows(rows: Iterable[Row]) -> dict[GroupKey, Totals]:
    """Totals per (slot, project, branch)."""
    groups: dict[GroupKey, Totals] = {}
    for row in rows:
        ms = row[0]
        key = (slot_of(ms), row[5], row[6])
        known = groups.get(key)
        if known is None:
            groups[key] = [1, ms, ms, row[1], row[2], row[3], row[4], row[8], {row[7]} if row[7] else set()]
            continue
        known[0] += 1
        known[1] = min(known[1], ms)
        known[2] = max(known[2], ms)
        known[3] += row[1]
        known[4] += row[2]
        known[5] += row[3]
        known[6] += row[4]
        if known[7] is not None:
            known[7] = None if row[8] is None else known[7] + row[8]
        if row[7]:
            known[8].add(row[7])
    return groups


def add_totals(into: dict[Any, Totals], key: Any, totals: Totals) -> None:
    known = into.get(key)
    if known is None:
        into[key] = [*totals[:8], set(totals[8])]
        return
    known[0] += totals[0]
    known[1] = min(known[1], totals[1])
    known[2] = max(known[2], totals[2])
    for index in range(3, 7):
        known[index] += totals[index]
    known[7] = None if known[7] is None or totals[7] is None else known[7] + totals[7]
    known[8] |= totals[8]


def totals_body(totals: Totals) -> dict[str, Any]:
    return {
        "input_tokens": totals[3],
        "output_tokens": totals[4],
        "cache_creation_tokens": totals[5],
        "cache_read_tokens": totals[6],
        "total_tokens": totals[3] + totals[4] + totals[5] + totals[6],
        "cost_usd": round(totals[7] / 1e9, 6) if totals[7] is not None else None,
        "models": sorted(totals[8]),
    }


class EventTable:
    """Deduplicated events by key, with their totals per (slot, project, branch).

    On disk the table is the batches it was merged from, in order, each as read (a *frame*:
    ``marshal`` of its rows and slot totals); loading merges them again, which gives the same table.
    A run appends its batches' bytes as they came from the readers, so saving costs no serialising;
    past ``MAX_FRAMES`` batches the table is written as one.
    """

    def __init__(self, rows: dict[str, Row] | None = None, groups: dict[GroupKey, Totals] | None = None) -> None:
        self.rows: dict[str, Row] = rows if rows is not None else {}
        self.groups = groups if groups is not None else group_rows(self.rows.values())
        self.changed = False
        self.frames: list[bytes] | None = [] if rows is None else None  # None: not what the table is made of

    def merge_frame(
        self, frame: bytes, where: str = "ingest batch", decoded: tuple[dict[str, Row], Any] | None = None
    ) -> None:
        """Merge a batch given as a frame (``frame_of``), and keep the frame for ``dumps``. ``decoded``: the
        rows and totals the frame was made of, when this process has them (they are then the table's)."""
        try:
            rows, groups = marshal.loads(frame) if decoded is None else decoded
        except (ValueError, TypeError, EOFError):
            raise BadInput(_TABLE_EXPECTED.format(where=where)) from None
        if type(rows) is not dict or type(groups) is not dict:
            raise BadInput(_TABLE_EXPECTED.format(where=where))
        self._merge(rows, groups)
        if self.frames is not None:
            self.frames.append(frame)

    def merge(self, rows: dict[str, Row], groups: dict[GroupKey, Totals] | None = None) -> None:
        """Add a batch read after everything in the table: a key's larger usage wins, the table's on a tie.

        ``groups`` are the batch's own totals (``group_rows``), when its reader already made them. The
        batch's dicts are the table's afterwards. A slot where one event replaced another is summed
        again from the events, exactly.
        """
        self.frames = None  # a batch merged without its frame: ``dumps`` writes the table as one
        self._merge(rows, group_rows(rows.values()) if groups is None else groups)

    def _merge(self, rows: dict[str, Row], groups: dict[GroupKey, Totals]) -> None:
        stale: set[int] = set()
        for key in self.rows.keys() & rows.keys():
            known, new = self.rows[key], rows[key]
            if total(new) > total(known):
                stale.add(slot_of(known[MS]))
            else:
                stale.add(slot_of(new[MS]))
                del rows[key]
        if rows:
            self.changed = True
        self.rows.update(rows)
        if not self.groups:
            self.groups = groups
        else:
            for group, totals in groups.items():
                add_totals(self.groups, group, totals)
        if stale:
            self._regroup(stale)

    def _regroup(self, slots: set[int]) -> None:
        for key in [key for key in self.groups if key[0] in slots]:
            del self.groups[key]
        quarters = {slot // 2 for slot in slots}
        rows = (row for row in self.rows.values() if row[0] // _QUARTER_MS in quarters)
        self.groups.update((key, totals) for key, totals in group_rows(rows).items() if key[0] in slots)

    def dumps(self) -> bytes:
        """The table as a file: its frames, or (when there are none to reuse or too many) one new frame."""
        if self.frames is None or len(self.frames) > MAX_FRAMES:
            self.frames = [frame_of(self.rows, self.groups)]
        return TABLE_MAGIC + b"".join(len(frame).to_bytes(8, "little") + frame for frame in self.frames)

    @classmethod
    def loads(cls, data: bytes, where: str) -> EventTable:
        if not data.startswith(TABLE_MAGIC):
            raise BadInput(_TABLE_EXPECTED.format(where=where))
        table = cls()
        view = memoryview(data)
        at = len(TABLE_MAGIC)
        while at < len(data):
            size = int.from_bytes(view[at : at + 8], "little")
            if size <= 0 or at + 8 + size > len(data):  # cut short: the file was not written by us
                raise BadInput(_TABLE_EXPECTED.format(where=where))
            table.merge_frame(bytes(view[at + 8 : at + 8 + size]), where)
            at += 8 + size
        table.changed = False
        return table


_TABLE_EXPECTED = "{where}: expected git-tracker's ingest table; delete it to read the logs again"


def frame_of(rows: dict[str, Row], groups: dict[GroupKey, Totals]) -> bytes:
    return marshal.dumps((rows, groups))


@dataclass(frozen=True)
class Window:
    """A closed window's span, for attributing tokens to it."""

    window_id: str
    opened_ms: int
    closed_ms: int
    opened_ts: str


def aggregate(
    table: EventTable,
    *,
    zone: tzinfo = UTC,
    keep: Callable[[str | None], bool] | None = None,
    windows: Iterable[Window] = (),
    label: Callable[[str | None, str | None], Label] | None = None,
) -> list[tuple[dict[str, Any], int]]:
    """(body, as-of ms) per day, per 5-hour block and per window; ``keep`` (by project) narrows days and blocks.

    ``label`` says what a day or block record may store of a row's project and branch, and whether it is this
    repository's (``privacy.Projects.label``); rows given the same label are summed into one record. Without
    it, rows keep their project and branch and ``this_repo`` is null.

    Blocks are drawn as ccusage draws them, over every event: a block starts at the UTC hour of its
    first event and lasts five hours; an event more than five hours after the block's start, or after
    the previous event, starts the next one. Within a slot no event starts a block, except its first
    (see the module's note), so the rule runs over slots. Windows take every event in their span,
    whatever the project: a capacity percentage is the whole account's, so its tokens must be too.
    """
    spans: dict[int, list[int]] = {}
    for (slot, _, _), totals in table.groups.items():
        span = spans.get(slot)
        if span is None:
            spans[slot] = [totals[1], totals[2]]
        else:
            span[0] = min(span[0], totals[1])
            span[1] = max(span[1], totals[2])
    block_of: dict[int, str] = {}
    block_start = previous = -_BLOCK_MS - 1
    block_ts = ""
    for slot in sorted(spans):
        first, last = spans[slot]
        if first - block_start > _BLOCK_MS or first - previous > _BLOCK_MS:
            block_start = first - first % _HOUR_MS
            block_ts = clock.format_ts(datetime.fromtimestamp(block_start / 1000, UTC))
        block_of[slot] = block_ts
        previous = last
    day_of = _day_namer(zone)
    name = label or _unlabelled
    cells: dict[tuple[str, str, Label], Totals] = {}  # (day, block, label)
    for (slot, project, branch), totals in table.groups.items():
        if keep is None or keep(project):
            add_totals(cells, (day_of(slot // 2), block_of[slot], name(project, branch)), totals)
    sums: dict[tuple[str, str, Label], Totals] = {}
    for (day, block, labelled), totals in cells.items():
        add_totals(sums, ("day", day, labelled), totals)
        add_totals(sums, ("block", block, labelled), totals)
    out = []
    for (granularity, period, (project, branch, this_repo)), totals in sums.items():
        body = {
            "granularity": granularity,
            "period": period,
            "project": project,
            "branch": branch,
            "this_repo": this_repo,
            "window_id": None,
        }
        out.append(({**body, **totals_body(totals)}, totals[2]))
    out.extend(_window_sums(table, list(windows)))
    return out


def _unlabelled(project: str | None, branch: str | None) -> Label:
    return project, branch, None


_DAY_MS = 86_400_000


def _day_namer(zone: tzinfo) -> Callable[[int], str]:
    """The zone's date of a quarter hour, worked out once per quarter (once per day for a fixed offset)."""
    names: dict[int, str] = {}
    offset = zone.utcoffset(None)
    if offset is not None:  # UTC and other fixed offsets: a day is a whole number of quarters
        shift = int(offset.total_seconds() * 1000)

        def fixed(quarter: int) -> str:
            day = (quarter * _QUARTER_MS + shift) // _DAY_MS
            name = names.get(day)
            if name is None:
                name = names[day] = datetime.fromtimestamp(day * _DAY_MS / 1000, UTC).strftime("%Y-%m-%d")
            return name

        return fixed

    def zoned(quarter: int) -> str:
        name = names.get(quarter)
        if name is None:
            name = names[quarter] = datetime.fromtimestamp(quarter * _QUARTER_MS / 1000, zone).strftime("%Y-%m-%d")
        return name

    return zoned


def _window_sums(table: EventTable, windows: list[Window]) -> list[tuple[dict[str, Any], int]]:
    """Each window's totals: whole slots inside its span from the slot totals, the two edge slots event by event."""
    if not windows:
        return []
    by_slot: dict[int, Totals] = {}
    for (slot, _, _), totals in table.groups.items():
        add_totals(by_slot, slot, totals)
    slots = sorted(by_slot)
    edges = window_edges(windows)
    edge_rows = [row for row in table.rows.values() if row[0] // _QUARTER_MS in edges]
    out = []
    for window in windows:
        low, high = slot_of(window.opened_ms), slot_of(window.closed_ms)
        inner_low = low + 1 if low % 2 else low  # an odd edge slot is only partly inside the span
        inner_high = high - 1 if high % 2 else high
        found: dict[int, Totals] = {}
        for slot in slots[bisect.bisect_left(slots, inner_low) : bisect.bisect_right(slots, inner_high)]:
            add_totals(found, 0, by_slot[slot])
        partial = [  # in the span, and in an edge slot the slot totals above did not cover
            row
            for row in edge_rows
            if window.opened_ms <= row[0] <= window.closed_ms and not inner_low <= slot_of(row[0]) <= inner_high
        ]
        for totals in group_rows(partial).values():
            add_totals(found, 0, totals)
        if not found:
            continue  # no event in the span: these logs did not see the window, which is not zero tokens
        body = {
            "granularity": "window",
            "period": window.opened_ts,
            "project": None,
            "branch": None,
            "this_repo": None,
            "window_id": window.window_id,
        }
        out.append(({**body, **totals_body(found[0])}, window.closed_ms))
    return out


def usage_records(
    sums: Iterable[tuple[dict[str, Any], int]],
    *,
    provider: str,
    origin: str,
    scope: str,
    agent_id: str,
    machine: str,
) -> list[Record]:
    records = []
    for body, as_of in sums:
        full = {**body, "provider": provider, "origin": origin, "scope": scope}
        ts = clock.format_ts(datetime.fromtimestamp(as_of / 1000, UTC))
        records.append(Record.derived("usage", source="ingest", agent_id=agent_id, machine=machine, ts=ts, **full))
    return records


def series_key(record: Record) -> tuple[Any, ...]:
    return tuple(map(record.body.get, SERIES_FIELDS))


def current(records: Iterable[Record]) -> list[Record]:
    """The usage records in force: the largest total of each series (ties: the later record)."""
    best: dict[tuple[Any, ...], Record] = {}
    for record in records:
        if record.kind != "usage":
            continue
        body = record.body
        key = tuple(map(body.get, SERIES_FIELDS))  # series_key, inlined: a team's ledger holds many thousands
        known = best.get(key)
        if known is None or (body["total_tokens"], record.id) > (known.body["total_tokens"], known.id):
            best[key] = record
    return sorted(best.values(), key=lambda record: record.id)


def window_tokens(records: Iterable[Record]) -> dict[str, int]:
    """Tokens per window id: the window totals in force, summed over the places they were read.

    A place read before scopes were digested (``privacy.legacy_scope``) and read again since has its window
    totals under both names: where a window has totals under digested scopes, those of the same origin under
    plain ones are left out, so one place is never counted twice.
    """
    found = [r.body for r in current(records) if r.body["granularity"] == "window" and r.body["window_id"]]
    legacy_of: dict[Any, bool] = {}  # a ledger holds few scopes, each on many records
    legacy = [
        legacy_of[scope] if scope in legacy_of else legacy_of.setdefault(scope, legacy_scope(scope))
        for scope in (body["scope"] for body in found)
    ]
    digested = {(body["window_id"], body["origin"]) for body, old in zip(found, legacy, strict=True) if not old}
    tokens: dict[str, int] = {}
    for body, old in zip(found, legacy, strict=True):
        window_id = body["window_id"]
        if old and (window_id, body["origin"]) in digested:
            continue
        tokens[window_id] = tokens.get(window_id, 0) + body["total_tokens"]
    return tokens


@dataclass(frozen=True)
class Divergence:
    window_id: str
    provider: str
    tokens: int
    delta: float
    per_unit: float
    median: float

    @property
    def deviation(self) -> float:
        return self.per_unit / self.median - 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_id": self.window_id,
            "tokens": self.tokens,
            "delta": self.delta,
            "tokens_per_unit": round(self.per_unit, 3),
            "median_tokens_per_unit": round(self.median, 3),
            "deviation": round(self.deviation, 4),
        }


MIN_DIVERGENCE_WINDOWS = 3  # with two windows the median is their mean and both always "diverge" equally


def unit_ratios(closes: Iterable[Record], tokens: Mapping[str, int]) -> dict[str, list[tuple[Record, float]]]:
    """Per provider, each closed window with tokens and a positive delta, and its tokens per capacity unit."""
    ratios: dict[str, list[tuple[Record, float]]] = {}
    for close in closes:
        body = close.body
        used = tokens.get(body["window_id"])
        if used is None:
            continue
        delta = body.get("delta")
        if delta is None or delta <= 0:
            continue
        ratios.setdefault(body["provider"], []).append((close, used / delta))
    return ratios


def divergent(closes: Iterable[Record], tokens: Mapping[str, int], threshold: float) -> list[Divergence]:
    """Windows whose tokens per capacity unit differ from the median of their provider's windows on the same meter
    by more than ``threshold`` (a percent of a week is not a percent of five hours)."""
    by_meter: dict[tuple[str, str], list[tuple[Record, float]]] = {}
    for provider, pairs in unit_ratios(closes, tokens).items():
        for close, ratio in pairs:
            by_meter.setdefault((provider, window_meter(close.body)), []).append((close, ratio))
    found = []
    for (provider, _), rows in sorted(by_meter.items()):
        if len(rows) < MIN_DIVERGENCE_WINDOWS:
            continue
        middle = statistics.median([ratio for _, ratio in rows])
        if middle <= 0:
            continue
        for close, ratio in rows:
            if abs(ratio / middle - 1) > threshold:
                body = close.body
                window_id = body["window_id"]
                found.append(Divergence(window_id, provider, tokens[window_id], body["delta"], ratio, middle))
    return found


DIVERGENT_CODE = "divergent:ccusage"


def divergence_anomaly(found: Divergence, closed_ts: str, agent_id: str, machine: str) -> Record:
    """The mark for a divergent window; derived, so marking the same window again adds nothing."""
    detail = (
        f"{found.provider} window: {found.tokens} tokens for {found.delta:g} capacity = {found.per_unit:.0f} per unit, "
        f"provider median {found.median:.0f} ({found.deviation:+.0%})"
    )
    return Record.derived(
        "anomaly",
        source="ingest",
        agent_id=agent_id,
        machine=machine,
        ts=closed_ts,
        identity=f"{DIVERGENT_CODE} {found.window_id}",
        code=DIVERGENT_CODE,
        window_id=found.window_id,
        detail=detail,
    )
