"""Which window each proxy event belongs to, when ``--window`` does not say (docs/proxy.md, "Attaching").

A window spans [its opening, its closing): the ``ts`` of its live ``window-open`` record up to the ``ts`` of its
``window-close``, or up to now while it is open. An event goes to the window whose span holds its timestamp; when
several do, a Claude window first, then a GLM one (the proxy serves Claude Code, and routes some of its requests to
GLM), then the most recently opened (ties: the larger window id). No window holds it: no window (null).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from gittracker.records import Record, live_records

PREFERRED = {"claude": 2, "glm": 1}


@dataclass(frozen=True)
class Span:
    window_id: str
    provider: str
    opened: str  # stored times (UTC, milliseconds, Z): text order is time order
    closed: str

    def rank(self) -> tuple[int, str, str]:
        return PREFERRED.get(self.provider, 0), self.opened, self.window_id


def spans(records: Iterable[Record], now: str) -> list[Span]:
    """The windows of live ``window-open``/``window-close`` records (a void removes either)."""
    live = live_records(records)
    closed = {record["window_id"]: record.ts for record in live if record.kind == "window-close"}
    return [
        Span(record["window_id"], record["provider"], record.ts, closed.get(record["window_id"], now))
        for record in live
        if record.kind == "window-open"
    ]


def attach(stamps: Sequence[str], windows: Sequence[Span]) -> list[tuple[int, int, str]]:
    """For times in order, (start, end, window id): the runs of ``stamps[start:end]`` that go to each window.
    Times in no run go to no window.

    One sweep over the windows' edges, keeping the spans open between two edges: the cost follows the edges and the
    windows open at once, not edges times windows (a ledger of 10,000 windows made that 200 million steps).
    """
    opening: dict[str, list[Span]] = {}
    closing: dict[str, list[Span]] = {}
    for span in windows:
        if span.opened < span.closed:  # an empty or backwards span holds no time
            opening.setdefault(span.opened, []).append(span)
            closing.setdefault(span.closed, []).append(span)
    holding: set[Span] = set()
    runs: list[tuple[int, int, str]] = []
    for low, high in pairwise(sorted(opening.keys() | closing.keys())):
        holding.update(opening.get(low, ()))
        holding.difference_update(closing.get(low, ()))
        if not holding:
            continue
        best = max(holding, key=Span.rank)
        start, end = bisect_left(stamps, low), bisect_left(stamps, high)
        if start == end:
            continue
        if runs and runs[-1][2] == best.window_id and runs[-1][1] == start:
            runs[-1] = (runs[-1][0], end, best.window_id)
        else:
            runs.append((start, end, best.window_id))
    return runs
