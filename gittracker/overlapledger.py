"""Overlapping windows on the ledger: the ``overlapping-windows`` anomalies ``end`` and ``sync`` record, and the
meter readings ``preview`` apportions with. The finding and the splitting are ``overlaps``' (pure functions).

Never called from a hook or the status line: ``end`` and ``sync`` are commands a person or an agent runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from gittracker import clock
from gittracker.git import Repo
from gittracker.overlaps import Span, anomaly, fill_readings, overlapping_pairs, overlapping_with, span_of
from gittracker.records import Record, live_records


def latest_closes(records: Iterable[Record]) -> dict[str, Record]:
    """Each window's live close (the latest, in id order, as ``preview`` takes it)."""
    closes: dict[str, Record] = {}
    for record in live_records(records):
        if record.kind == "window-close":
            closes[record["window_id"]] = record
    return closes


def marks_for(repo: Repo, close: Record, here: str) -> list[tuple[Span, Record]]:
    """The windows a window just closed overlapped among the provider's other closed ones, each with the anomaly
    of the pair.

    Only windows that closed after this one opened can overlap it, and a record's folder is its day: the ledger is
    read from the day it opened on, so ``end`` stays as fast on a ledger of 200,000 records as on a new one.
    """
    day = f"{clock.parse_ts(close['opened_ts']):%Y/%m/%d}"
    closes = latest_closes(repo.records_since_day(("window-close", "void"), day))
    closes.pop(close["window_id"], None)
    others = [span_of(other) for other in closes.values() if other["provider"] == close["provider"]]
    mine = span_of(close)
    pairs = overlapping_with(mine, others)
    return [(b if a.window_id == mine.window_id else a, anomaly(a, b, here)) for a, b in pairs]


def record_all(repo: Repo, here: str) -> int:
    """After a sync: an anomaly for every overlapping pair on the ledger that has none yet; returns how many were
    added. The same pair always gives the same record, so a clone that recorded it already adds nothing."""
    closes = latest_closes(repo.read_records(("window-close", "void")))
    marks = [anomaly(a, b, here) for a, b in overlapping_pairs(span_of(close) for close in closes.values())]
    new = repo.missing_records(marks)
    if new:
        repo.append_records(new, "tracker: mark overlapping windows")
    return len(new)


def ledger_readings(repo: Repo, spans: Sequence[Span], closes: Mapping[str, Record]) -> list[Span]:
    """The spans with their meter readings, from their before and after snapshots: the window-open records say
    which snapshot was the before; each snapshot is then read from its own path, not by a walk."""
    wanted = {span.window_id for span in spans}
    opens = {r["window_id"]: r for r in repo.read_records(("window-open",)) if r["window_id"] in wanted}
    named = [record["snapshot_id"] for record in (*opens.values(), *(closes[w] for w in wanted if w in closes))]
    snapshots = repo.records_at((snapshot_id, "snapshot") for snapshot_id in named)
    return fill_readings(spans, closes, opens, snapshots)
