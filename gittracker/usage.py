"""Token usage: deduplicated token events, their totals per day, 5-hour block and window, as ``usage`` records.

A reader (``sources.claude_logs``, ``sources.codex_usage``) turns log lines into ``TokenEvent``s. Events
live in an ``EventTable`` keyed so that the same message read twice is one event (Claude: message id and
request id, keeping the largest usage; Codex: the line's place in its file). Totals are always computed
from the whole table, so a run that read only new bytes still writes complete totals.

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
from gittracker.errors import BadInput
from gittracker.records import Record

BLOCK = timedelta(hours=5)
_BLOCK_MS = int(BLOCK.total_seconds() * 1000)
_HOUR_MS = 3_600_000
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
TABLE_MAGIC = b"git-tracker events 1\n"
SERIES_FIELDS = ("origin", "provider", "granularity", "period", "scope", "project", "branch", "window_id")


@dataclass(frozen=True, slots=True)
class TokenEvent:
    """One counted request: its time (epoch ms), tokens, and where it happened."""

    key: str
    ms: int
    input: int
    output: int
    cache_creation: int
    cache_read: int
    project: str | None = None
    branch: str | None = None
    model: str | None = None
    cost: float | None = None

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_creation + self.cache_read

    def row(self) -> tuple[Any, ...]:
        return (
            self.ms,
            self.input,
            self.output,
            self.cache_creation,
            self.cache_read,
            self.project,
            self.branch,
            self.model,
            self.cost,
        )


class EventTable:
    """Deduplicated events by key; on a repeated key the event with the larger usage is kept."""

    def __init__(self, events: Mapping[str, TokenEvent] | None = None) -> None:
        self.events: dict[str, TokenEvent] = dict(events or {})
        self.changed = False

    def add(self, event: TokenEvent) -> None:
        known = self.events.get(event.key)
        if known is None or event.total > known.total:
            self.events[event.key] = event
            self.changed = True

    # The table is this machine's cache of what it read, rewritten on every run that read something:
    # marshal (a header, then plain tuples) is several times faster than JSON both ways.
    def dumps(self) -> bytes:
        rows = [(key, *event.row()) for key, event in self.events.items()]
        return TABLE_MAGIC + marshal.dumps(rows)

    @classmethod
    def loads(cls, data: bytes, where: str) -> EventTable:
        if not data.startswith(TABLE_MAGIC):
            raise BadInput(f"{where}: expected git-tracker's ingest table; delete it to read the logs again")
        try:
            rows = marshal.loads(data[len(TABLE_MAGIC) :])
            return cls({row[0]: TokenEvent(*row) for row in rows})
        except (ValueError, TypeError, EOFError):
            raise BadInput(f"{where}: expected git-tracker's ingest table; delete it to read the logs again") from None


class _Sum:
    """Running totals; ``cost`` stays a figure only while every event had one."""

    __slots__ = ("cache_creation", "cache_read", "cost", "input", "last_ms", "models", "output")

    def __init__(self) -> None:
        self.input = self.output = self.cache_creation = self.cache_read = self.last_ms = 0
        self.cost: float | None = 0.0
        self.models: set[str] = set()

    def add(self, event: TokenEvent) -> None:
        self.input += event.input
        self.output += event.output
        self.cache_creation += event.cache_creation
        self.cache_read += event.cache_read
        self.cost = None if self.cost is None or event.cost is None else self.cost + event.cost
        self.last_ms = max(self.last_ms, event.ms)
        if event.model:
            self.models.add(event.model)

    def merge(self, other: _Sum) -> None:
        self.input += other.input
        self.output += other.output
        self.cache_creation += other.cache_creation
        self.cache_read += other.cache_read
        self.cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        self.last_ms = max(self.last_ms, other.last_ms)
        self.models |= other.models

    def body(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input,
            "output_tokens": self.output,
            "cache_creation_tokens": self.cache_creation,
            "cache_read_tokens": self.cache_read,
            "total_tokens": self.input + self.output + self.cache_creation + self.cache_read,
            "cost_usd": round(self.cost, 6) if self.cost is not None else None,
            "models": sorted(self.models),
        }


@dataclass(frozen=True)
class Window:
    """A closed window's span, for attributing tokens to it."""

    window_id: str
    opened_ms: int
    closed_ms: int
    opened_ts: str


_QUARTER_MS = 900_000  # every zone's offset is a whole number of quarter hours, so a quarter is in one day


def aggregate(
    events: Iterable[TokenEvent],
    *,
    zone: tzinfo = UTC,
    keep: Callable[[TokenEvent], bool] | None = None,
    windows: Iterable[Window] = (),
) -> list[tuple[dict[str, Any], int]]:
    """(body, as-of ms) per day, per 5-hour block and per window; ``keep`` narrows days and blocks only.

    Blocks are drawn as ccusage draws them, over every event: a block starts at the UTC hour of its
    first event and lasts five hours; an event more than five hours after the block's start, or after
    the previous event, starts the next one. Windows take every event in their span, whatever the
    project: a capacity percentage is the whole account's, so its tokens must be too.
    """
    ordered = sorted(events, key=_ms)
    starts: list[int] = []
    groups: dict[tuple[int, int, str | None, str | None], _Sum] = {}
    block_start = previous = -_BLOCK_MS - 1
    for event in ordered:
        ms = event.ms
        if ms - block_start > _BLOCK_MS or ms - previous > _BLOCK_MS:
            block_start = ms - ms % _HOUR_MS
            starts.append(block_start)
        previous = ms
        if keep is not None and not keep(event):
            continue
        key = (ms // _QUARTER_MS, len(starts) - 1, event.project, event.branch)
        total = groups.get(key)
        if total is None:
            total = groups[key] = _Sum()
        total.add(event)
    sums: dict[tuple[str, str, str | None, str | None], _Sum] = {}
    days: dict[int, str] = {}
    for (quarter, block, project, branch), total in groups.items():
        day = days.get(quarter)
        if day is None:
            day = days[quarter] = datetime.fromtimestamp(quarter * _QUARTER_MS / 1000, zone).strftime("%Y-%m-%d")
        block_ts = clock.format_ts(datetime.fromtimestamp(starts[block] / 1000, UTC))
        for series in (("day", day, project, branch), ("block", block_ts, project, branch)):
            known = sums.get(series)
            if known is None:
                known = sums[series] = _Sum()
            known.merge(total)
    out = []
    for (granularity, period, project, branch), total in sums.items():
        body = {"granularity": granularity, "period": period, "project": project, "branch": branch, "window_id": None}
        out.append(({**body, **total.body()}, total.last_ms))
    out.extend(_window_sums(ordered, windows))
    return out


def _ms(event: TokenEvent) -> int:
    return event.ms


def _window_sums(ordered: list[TokenEvent], windows: Iterable[Window]) -> list[tuple[dict[str, Any], int]]:
    times = [event.ms for event in ordered]
    out = []
    for window in windows:
        low = bisect.bisect_left(times, window.opened_ms)
        high = bisect.bisect_right(times, window.closed_ms)
        if low == high:
            continue  # no event in the span: these logs did not see the window, which is not zero tokens
        total = _Sum()
        for event in ordered[low:high]:
            total.add(event)
        body = {
            "granularity": "window",
            "period": window.opened_ts,
            "project": None,
            "branch": None,
            "window_id": window.window_id,
        }
        out.append(({**body, **total.body()}, window.closed_ms))
    return out


def usage_records(
    sums: Iterable[tuple[dict[str, Any], int]],
    *,
    provider: str,
    origin: str,
    scope: str,
    agent_id: str,
    this_repo: Callable[[str | None], bool | None] = lambda project: None,
) -> list[Record]:
    records = []
    for body, as_of in sums:
        full = {**body, "provider": provider, "origin": origin, "scope": scope, "this_repo": this_repo(body["project"])}
        ts = clock.format_ts(datetime.fromtimestamp(as_of / 1000, UTC))
        records.append(Record.derived("usage", source="ingest", agent_id=agent_id, ts=ts, **full))
    return records


def series_key(record: Record) -> tuple[Any, ...]:
    return tuple(record.get(name) for name in SERIES_FIELDS)


def current(records: Iterable[Record]) -> list[Record]:
    """The usage records in force: the largest total of each series (ties: the later record)."""
    best: dict[tuple[Any, ...], Record] = {}
    for record in records:
        if record.kind != "usage":
            continue
        key = series_key(record)
        known = best.get(key)
        if known is None or (record["total_tokens"], record.id) > (known["total_tokens"], known.id):
            best[key] = record
    return sorted(best.values(), key=lambda record: record.id)


def window_tokens(records: Iterable[Record]) -> dict[str, int]:
    """Tokens per window id: the window totals in force, summed over the places they were read."""
    tokens: dict[str, int] = {}
    for record in current(records):
        if record["granularity"] == "window" and record["window_id"]:
            tokens[record["window_id"]] = tokens.get(record["window_id"], 0) + record["total_tokens"]
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
        delta = close.get("delta")
        used = tokens.get(close["window_id"])
        if used is None or delta is None or delta <= 0:
            continue
        ratios.setdefault(close["provider"], []).append((close, used / delta))
    return ratios


def divergent(closes: Iterable[Record], tokens: Mapping[str, int], threshold: float) -> list[Divergence]:
    """Windows whose tokens per capacity unit differ from their provider's median by more than ``threshold``."""
    found = []
    for provider, rows in sorted(unit_ratios(closes, tokens).items()):
        if len(rows) < MIN_DIVERGENCE_WINDOWS:
            continue
        middle = statistics.median(ratio for _, ratio in rows)
        if middle <= 0:
            continue
        for close, ratio in rows:
            if abs(ratio / middle - 1) > threshold:
                found.append(
                    Divergence(close["window_id"], provider, tokens[close["window_id"]], close["delta"], ratio, middle)
                )
    return found


DIVERGENT_CODE = "divergent:ccusage"


def divergence_anomaly(found: Divergence, closed_ts: str, agent_id: str) -> Record:
    """The mark for a divergent window; derived, so marking the same window again adds nothing."""
    detail = (
        f"{found.provider} window: {found.tokens} tokens for {found.delta:g} capacity = {found.per_unit:.0f} per unit, "
        f"provider median {found.median:.0f} ({found.deviation:+.0%})"
    )
    return Record.derived(
        "anomaly",
        source="ingest",
        agent_id=agent_id,
        ts=closed_ts,
        identity=f"{DIVERGENT_CODE} {found.window_id}",
        code=DIVERGENT_CODE,
        window_id=found.window_id,
        detail=detail,
    )
