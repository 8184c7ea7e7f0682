"""Windows of one provider that overlap in time, and how their shared meter is split (STATS.md, issue 12).

Capacity is account-wide: while two windows of one provider are open at once (two agents, two machines, two
worktrees), each one's delta holds the other's consumption too. This module finds such windows among closed
ones — the overlapping pairs, by a sort and a sweep, and their connected groups — and, where every window of a
group has its tokens, splits the group's one consumption between them by tokens, so that the meter is counted
once. Pure functions over ``Span``s; nothing here reads or writes the ledger.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from operator import attrgetter

from gittracker import clock
from gittracker.capacity import Reading, window_meter
from gittracker.errors import BadInput
from gittracker.records import Record

CODE = "overlapping-windows"
EXCLUDE = "exclude"
APPORTION = "apportion"
POLICIES = (EXCLUDE, APPORTION)
# Two readings whose reset times differ by more than this saw different windows of the meter: a reset between.
RESET_TOLERANCE = timedelta(seconds=90)


@dataclass(frozen=True)
class Span:
    """One closed window as overlap detection sees it; ``before``/``after`` are its meter's readings at open and
    close (None when not known), ``*_resets`` when each reading said the meter resets."""

    window_id: str
    provider: str
    opened: datetime
    closed: datetime
    meter: str
    agent_id: str
    delta: float | None = None
    machine: str | None = None  # the clone that closed it; None in records older than schema 3
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    before: float | None = None
    after: float | None = None
    before_resets: str | None = None
    after_resets: str | None = None

    @property
    def opened_ts(self) -> str:
        return clock.format_ts(self.opened)

    @property
    def closed_ts(self) -> str:
        return clock.format_ts(self.closed)


def span_of(close: Record) -> Span:
    """The span of a ``window-close`` record (its opening time is on the record)."""
    body = close.body
    fields = {
        "window_id": body["window_id"],
        "provider": body["provider"],
        "opened": clock.parse_ts(body["opened_ts"]),
        "closed": clock.parse_ts(close.ts),
        "meter": window_meter(body),
        "agent_id": close.agent_id,
        "delta": body["delta"],
        "machine": close.machine,
        "errors": tuple(body["errors"]),
        "notes": tuple(body["notes"]),
        **_NO_READINGS,
    }
    # Every field set at once, as Span(**fields) would set them one by one: a report over a team's ledger makes
    # tens of thousands of spans, and a frozen dataclass's __init__ was half of what each one cost.
    span = object.__new__(Span)
    object.__setattr__(span, "__dict__", fields)
    return span


_NO_READINGS = {"before": None, "after": None, "before_resets": None, "after_resets": None}


def with_readings(span: Span, before: Record | None, after: Record | None) -> Span:
    """The span with its meter's readings from its before and after snapshots (either may be unknown)."""
    return replace(
        span,
        before=_used(before, span.meter),
        after=_used(after, span.meter),
        before_resets=_resets(before, span.meter),
        after_resets=_resets(after, span.meter),
    )


def fill_readings(
    spans: Iterable[Span], closes: Mapping[str, Record], opens: Mapping[str, Record], snapshots: Mapping[str, Record]
) -> list[Span]:
    """The spans with their readings: the before snapshot is the one the window's ``window-open`` names, the after
    the one its ``window-close`` names (by window id; snapshots by record id)."""
    filled = []
    for span in spans:
        opened, close = opens.get(span.window_id), closes.get(span.window_id)
        before = snapshots.get(opened["snapshot_id"]) if opened is not None else None
        after = snapshots.get(close["snapshot_id"]) if close is not None else None
        filled.append(with_readings(span, before, after))
    return filled


def _reading(snapshot: Record | None) -> Reading | None:
    if snapshot is None or snapshot.kind != "snapshot":
        return None
    try:
        return Reading.from_fields(snapshot.body)
    except BadInput:
        return None


def _used(snapshot: Record | None, meter: str) -> float | None:
    reading = _reading(snapshot)
    return None if reading is None else reading.used(meter)


def _resets(snapshot: Record | None, meter: str) -> str | None:
    reading = _reading(snapshot)
    return None if reading is None else reading.resets_of("five_hour" if meter == "prompts" else meter)


# -- finding overlaps ---------------------------------------------------------------------------------------


def overlap(a: Span, b: Span) -> bool:
    """Whether two windows of one provider were open at the same time (touching ends do not overlap)."""
    return a.provider == b.provider and a.window_id != b.window_id and a.opened < b.closed and b.opened < a.closed


def overlapping_pairs(spans: Iterable[Span]) -> list[tuple[Span, Span]]:
    """Every overlapping pair, each once, the smaller window id first; sorted by those ids.

    Per provider, windows sorted by opening time are swept with a heap of the ones still open: a window that
    closed at or before the next one opened can overlap no later one either, so it leaves the heap for good.
    O(n log n + pairs).
    """
    pairs: list[tuple[Span, Span]] = []
    for mine in _by_provider(spans).values():
        mine.sort(key=_ORDER)
        still_open: list[tuple[datetime, int, Span]] = []
        for number, span in enumerate(mine):
            while still_open and still_open[0][0] <= span.opened:
                heapq.heappop(still_open)
            # Every window still in the heap closed after this one opened, and opened no later (the sort): the
            # rest of ``overlap``, inlined, as this line runs once per pair.
            span_closed, window_id = span.closed, span.window_id
            pairs.extend(
                _ordered(other, span)
                for _, _, other in still_open
                if other.opened < span_closed and other.window_id != window_id
            )
            heapq.heappush(still_open, (span.closed, number, span))
    pairs.sort(key=lambda pair: (pair[0].window_id, pair[1].window_id))
    return pairs


def overlapping_with(span: Span, others: Iterable[Span]) -> list[tuple[Span, Span]]:
    """The pairs one window makes with others (``end``: the window just closed against the closed ones)."""
    found = {other.window_id: _ordered(span, other) for other in others if overlap(span, other)}
    return [found[window_id] for window_id in sorted(found)]


def groups(spans: Iterable[Span], pairs: Iterable[tuple[Span, Span]] | None = None) -> list[tuple[Span, ...]]:
    """The connected groups of overlapping windows (two or more each), each sorted by opening time; a window
    in no pair is in no group. Windows overlap only within one provider, so a group has one provider.
    ``pairs``: the spans' overlapping pairs when already found."""
    found_pairs = overlapping_pairs(spans) if pairs is None else list(pairs)
    items = {span.window_id: span for pair in found_pairs for span in pair}  # a window in no pair is in no group
    parent = {window_id: window_id for window_id in items}

    def root(window_id: str) -> str:
        while parent[window_id] != window_id:
            parent[window_id] = parent[parent[window_id]]
            window_id = parent[window_id]
        return window_id

    for a, b in found_pairs:
        ra, rb = root(a.window_id), root(b.window_id)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, list[Span]] = {}
    for window_id, span in items.items():
        members.setdefault(root(window_id), []).append(span)
    found = [tuple(sorted(group, key=_opening)) for group in members.values()]
    return sorted(found, key=lambda group: _opening(group[0]))


_ORDER = attrgetter("opened", "closed", "window_id")


def _by_provider(spans: Iterable[Span]) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = {}
    for span in spans:
        out.setdefault(span.provider, []).append(span)
    return out


def _ordered(a: Span, b: Span) -> tuple[Span, Span]:
    return (a, b) if a.window_id < b.window_id else (b, a)


def _opening(span: Span) -> tuple[datetime, str]:
    return span.opened, span.window_id


# -- the anomaly --------------------------------------------------------------------------------------------


def anomaly(a: Span, b: Span, here: str) -> Record:
    """The ``overlapping-windows`` anomaly of a pair. Everything in it comes from the two windows alone — its id
    from the sorted pair and the later close, its agent and machine the later closer's — so every clone and every
    run that finds the pair writes the same record at the same path, and merging two clones keeps one. ``here``
    (this clone's machine) stands in only for a close written before records named their machine."""
    first, second = _ordered(a, b)
    later = max((a, b), key=lambda span: (span.closed, span.window_id))
    start, end = max(a.opened, b.opened), min(a.closed, b.closed)
    detail = (
        f"{a.provider}: windows {first.window_id} (agent {first.agent_id}) and {second.window_id} "
        f"(agent {second.agent_id}) were open at once from {clock.format_ts(start)} to {clock.format_ts(end)}: "
        "each delta holds the other's consumption of the one account meter"
    )
    return Record.derived(
        "anomaly",
        source="automation",
        agent_id=later.agent_id,
        machine=later.machine or here,
        ts=later.closed_ts,
        identity=f"{CODE} {first.window_id} {second.window_id}",
        code=CODE,
        window_id=later.window_id,
        detail=detail,
    )


# -- apportioning ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What becomes of one group: its consumption split into ``shares`` (window id -> capacity), or left out with
    ``reason``."""

    windows: tuple[Span, ...]
    consumption: float | None = None
    shares: Mapping[str, float] = field(default_factory=dict)
    tokens: Mapping[str, int] = field(default_factory=dict)
    reason: str | None = None

    @property
    def apportioned(self) -> bool:
        return self.reason is None

    @property
    def meter(self) -> str:
        return self.windows[0].meter


def apportion(group: Sequence[Span], tokens: Mapping[str, int]) -> Verdict:
    """Split one group's consumption by tokens, or say why it cannot be.

    The group's consumption is counted once: the meter's reading at its last close minus its reading at its
    first open (the windows of a group cover that span without a gap). Each window's share is that times its
    tokens over the group's tokens, so the shares sum to it. A group on more than one meter, with a reset inside
    (one of its windows saw one, or the two readings show different reset times), without both readings, or with
    a window whose tokens are unknown stays out.
    """
    windows = tuple(sorted(group, key=_opening))
    reason = _why_not(windows, tokens)
    if reason is not None:
        return Verdict(windows, reason=reason)
    first, last = windows[0], max(windows, key=lambda span: (span.closed, span.window_id))
    assert first.before is not None  # _why_not checked both readings
    assert last.after is not None
    consumption = round(last.after - first.before, 6)
    counts = {span.window_id: tokens[span.window_id] for span in windows}
    total = sum(counts.values())
    shares = {window_id: consumption * count / total for window_id, count in counts.items()}
    return Verdict(windows, consumption, shares, counts)


def _why_not(windows: Sequence[Span], tokens: Mapping[str, int]) -> str | None:
    meters = sorted({span.meter for span in windows})
    if len(meters) > 1:
        return f"its windows are on different meters ({', '.join(meters)})"
    # A delta summed across a reset (spans-reset) is no before-to-after difference the group's could be taken from.
    reset = [span.window_id for span in windows if "reset-inside-window" in span.errors or "spans-reset" in span.notes]
    if reset:
        return f"a reset inside the group (window {reset[0]})"
    unknown = [span for span in windows if span.delta is None]
    if unknown:
        why = ", ".join(unknown[0].errors) or "unknown"
        return f"the delta of window {unknown[0].window_id} is unknown ({why})"
    first, last = windows[0], max(windows, key=lambda span: (span.closed, span.window_id))
    if first.before is None or last.after is None:
        return "the meter's reading at the group's first open or last close is unknown"
    if _different_resets(first.before_resets, last.after_resets) or last.after < first.before:
        return "a reset inside the group (the meter went down, or its reset time moved)"
    missing = [span.window_id for span in windows if tokens.get(span.window_id) is None]
    if missing:
        return f"no tokens known for {len(missing)} of its windows (ingest the provider's logs)"
    if sum(tokens[span.window_id] for span in windows) <= 0:
        return "its windows have no tokens"
    return None


def _different_resets(before: str | None, after: str | None) -> bool:
    if before is None or after is None:
        return False
    try:
        return abs(clock.parse_ts(after) - clock.parse_ts(before)) > RESET_TOLERANCE
    except BadInput:
        return False
