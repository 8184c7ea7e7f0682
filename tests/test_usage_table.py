"""The event table's slot totals against a plain per-event computation.

``usage.aggregate`` never visits events one by one: it sums slot totals (a quarter hour, its first
millisecond apart), merged from batches read in parallel or in earlier runs, with slots re-summed where
a duplicate replaced an event. The reference here does what the module's docstring says the totals
are, event by event: deduplicate (largest usage wins, the first on a tie), walk the events in time
order drawing ccusage's 5-hour blocks, and sum per day, block and window.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from itertools import pairwise
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gittracker.config import zone_named
from gittracker.errors import BadInput
from gittracker.usage import (
    MAX_FRAMES,
    EventTable,
    Row,
    Window,
    aggregate,
    event,
    frame_of,
    group_rows,
    keep_largest,
    total,
)

HOUR = 3_600_000
QUARTER = 900_000
BASE = int(datetime(2026, 3, 28, 20, 0, tzinfo=UTC).timestamp() * 1000)  # on the hour, near a DST change

# Times that sit on and next to the edges that matter: quarter hours, hours, five hours.
times = st.builds(
    lambda quarters, nudge: BASE + quarters * QUARTER + nudge,
    st.integers(min_value=0, max_value=120),
    st.sampled_from([0, 0, 1, -1, 2, QUARTER // 2, QUARTER - 1]),
)
rows = st.builds(
    lambda ms, i, o, project, branch, model, cost: (ms, i, o, 0, i // 2, project, branch, model, cost),
    times,
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=50),
    st.sampled_from([None, "/work/a", "/work/b"]),
    st.sampled_from([None, "main"]),
    st.sampled_from([None, "m1", "m2"]),
    st.sampled_from([None, 500_000_000, 1_250_000_000]),
)
events = st.lists(st.tuples(st.sampled_from([f"k{n}" for n in range(12)]), rows), max_size=40)
zones = st.sampled_from(["UTC", "Asia/Kathmandu", "America/St_Johns", "Australia/Eucla", "Europe/London"])
windows = st.lists(st.tuples(times, times).map(sorted), max_size=3)


def reference(
    read: list[tuple[str, Row]], zone: tzinfo, keep: Any, spans: list[tuple[int, int]]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    kept: dict[str, Row] = {}
    for key, row in read:
        if key not in kept or total(row) > total(kept[key]):
            kept[key] = row
    ordered = sorted(kept.values(), key=lambda row: row[0])
    sums: dict[tuple[Any, ...], list[Any]] = {}

    def add(series: tuple[Any, ...], row: Row) -> None:
        known = sums.setdefault(series, [0, 0, 0, 0, 0, set(), 0])
        for index in range(4):
            known[index] += row[1 + index]
        known[4] = None if known[4] is None or row[8] is None else known[4] + row[8]
        if row[7]:
            known[5].add(row[7])
        known[6] = max(known[6], row[0])

    start = previous = None
    for row in ordered:
        ms = row[0]
        if start is None or ms - start > 5 * HOUR or ms - previous > 5 * HOUR:
            start = ms - ms % HOUR
        previous = ms
        if keep is not None and not keep(row[5]):
            continue
        day = datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%d")
        block = datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        add(("day", day, row[5], row[6], None), row)
        add(("block", block, row[5], row[6], None), row)
    for number, (opened, closed) in enumerate(spans):
        inside = [row for row in ordered if opened <= row[0] <= closed]
        for row in inside:
            add(("window", f"w{number}", None, None, f"w{number}"), row)
        if inside:
            sums[("window", f"w{number}", None, None, f"w{number}")][6] = closed
    return {
        series: (*known[:4], None if known[4] is None else round(known[4] / 1e9, 6), sorted(known[5]), known[6])
        for series, known in sums.items()
    }


def derived(table: EventTable, zone: tzinfo, keep: Any, spans: list[tuple[int, int]]) -> dict[tuple[Any, ...], Any]:
    found = aggregate(
        table,
        zone=zone,
        keep=keep,
        windows=[Window(f"w{n}", opened, closed, f"w{n}") for n, (opened, closed) in enumerate(spans)],
    )
    out = {}
    for body, as_of in found:
        series = (body["granularity"], body["period"], body["project"], body["branch"], body["window_id"])
        assert series not in out, f"{series} twice"
        out[series] = (
            body["input_tokens"],
            body["output_tokens"],
            body["cache_creation_tokens"],
            body["cache_read_tokens"],
            body["cost_usd"],
            body["models"],
            as_of,
        )
    return out


def batches(read: list[tuple[str, Row]], cuts: list[int]) -> list[dict[str, Row]]:
    """``read`` cut at ``cuts`` into consecutive batches, each deduplicated on its own, as a reader does."""
    out = []
    bounds = sorted({0, len(read), *(cut % (len(read) + 1) for cut in cuts)})
    for low, high in pairwise(bounds):
        batch: dict[str, Row] = {}
        for key, row in read[low:high]:
            keep_largest(batch, key, row)
        out.append(batch)
    return out


def batched(read: list[tuple[str, Row]], cuts: list[int]) -> EventTable:
    """The table as ingest builds it: batches merged in order, each with its own slot totals."""
    table = EventTable()
    for batch in batches(read, cuts):
        table.merge(batch, group_rows(batch.values()))
    return table


@given(events, st.lists(st.integers(min_value=0, max_value=40), max_size=4), zones, windows, st.booleans())
def test_slot_totals_equal_the_per_event_computation(
    read: list[tuple[str, Row]], cuts: list[int], zone_name: str, spans: list[tuple[int, int]], narrow: bool
) -> None:
    zone = zone_named(zone_name)
    keep = (lambda project: project == "/work/a") if narrow else None
    table = batched(read, cuts)
    assert derived(table, zone, keep, spans) == reference(read, zone, keep, spans)


@given(events, st.lists(st.integers(min_value=0, max_value=40), max_size=4))
def test_a_saved_table_merges_like_the_one_in_memory(read: list[tuple[str, Row]], cuts: list[int]) -> None:
    half = len(read) // 2
    whole = batched(read, cuts)
    again = EventTable.loads(batched(read[:half], cuts).dumps(), "table")
    rest: dict[str, Row] = {}
    for key, row in read[half:]:
        keep_largest(rest, key, row)
    again.merge(rest)
    assert again.rows == whole.rows
    assert derived(again, UTC, None, []) == derived(whole, UTC, None, [])


def test_a_duplicate_read_later_replaces_the_smaller_event_in_its_slot() -> None:
    table = EventTable()
    table.merge(dict([event("a", BASE + 10, 5, 5, project="/p"), event("b", BASE + 20, 1)]))
    table.merge(dict([event("a", BASE + QUARTER + 10, 7, 7, project="/p")]))  # larger: replaces, in another slot
    table.merge(dict([event("b", BASE + 30, 1)]))  # equal: the first read stays
    days = [body for body, _ in aggregate(table) if body["granularity"] == "day"]
    assert sum(body["total_tokens"] for body in days) == 14 + 1
    assert table.rows["b"][0] == BASE + 20
    assert {key for key, _ in table.groups.items()} == {
        (2 * (BASE // QUARTER) + 1, None, None),
        (
            2 * (BASE // QUARTER + 1) + 1,
            "/p",
            None,
        ),
    }


@given(events, st.lists(st.integers(min_value=0, max_value=40), max_size=20))
def test_a_table_saved_as_its_batches_loads_as_the_same_table(read: list[tuple[str, Row]], cuts: list[int]) -> None:
    """Saved as frames (each batch as read) or, past MAX_FRAMES, as one: loading gives the same table."""
    table = EventTable()
    for batch in batches(read, cuts):
        table.merge_frame(frame_of(batch, group_rows(batch.values())))
    saved = table.dumps()
    again = EventTable.loads(saved, "table")
    assert again.rows == table.rows == batched(read, cuts).rows
    assert derived(again, UTC, None, []) == derived(table, UTC, None, [])
    assert again.frames is not None and len(again.frames) <= MAX_FRAMES + 1
    assert EventTable.loads(again.dumps(), "table").rows == table.rows


def test_a_damaged_table_is_refused_with_one_line() -> None:
    table = EventTable()
    rows = dict([event("a", BASE, 1)])
    table.merge_frame(frame_of(rows, group_rows(rows.values())))
    saved = table.dumps()
    for damaged in (saved[:-3], saved[:-1] + b"\xff", b"git-tracker events 1\n" + saved[21:]):
        try:
            EventTable.loads(damaged, "t.events")
        except BadInput as error:
            assert str(error) == "t.events: expected git-tracker's ingest table; delete it to read the logs again"
        else:
            raise AssertionError(f"loaded a damaged table: {damaged[-20:]!r}")
