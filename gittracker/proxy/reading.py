"""The reports' view of the stored proxy records: events (each trace id once) and each window's latest rollup.

Written beside the ingest (which writes the records, ``proxy/store.py``) with the same names and meanings, so the
two can become one module; the reports need only these readers, and none of them touches git.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gittracker.proxy import events as ev
from gittracker.records import Record, live_records

BATCH = "proxy-batch"
ROLLUP = "proxy-rollup"


def load_events(records: Iterable[Record]) -> list[ev.Event]:
    """Every event of the live ``proxy-batch`` records, each trace id once, in time order (``events.unique_events``)."""
    return ev.unique_events((record.id, record["events"]) for record in live_records(records) if record.kind == BATCH)


def window_events(records: Iterable[Record]) -> dict[str | None, list[ev.Event]]:
    """The events of each window (None: attached to no window), each trace id once: in the window of the batch whose
    copy counts (the smallest record id, as ``events.unique_events`` decides), each list in time order."""
    batches = sorted((record for record in live_records(records) if record.kind == BATCH), key=lambda r: r.id)
    seen: set[str] = set()
    out: dict[str | None, list[ev.Event]] = {}
    for record in batches:
        for event in ev.decoded_columns(record["events"]).rows():
            if event.trace_id not in seen:
                seen.add(event.trace_id)
                out.setdefault(record["window_id"], []).append(event)
    for found in out.values():
        found.sort(key=lambda event: event.timestamp)
    return out


def rollups(records: Iterable[Record]) -> dict[str, dict[str, Any]]:
    """The latest ``proxy-rollup`` body of each window: the latest ``ts`` wins; at one time, the one of more events
    (a window's events only ever grow), then the larger id, so every clone picks the same one."""
    best: dict[str, Record] = {}
    for record in live_records(records):
        if record.kind != ROLLUP:
            continue
        known = best.get(record["window_id"])
        if known is None or _order(record) > _order(known):
            best[record["window_id"]] = record
    return {window_id: dict(record.body) for window_id, record in best.items()}


def _order(record: Record) -> tuple[str, int, str]:
    return record.ts, record["total_prompts"], record.id
