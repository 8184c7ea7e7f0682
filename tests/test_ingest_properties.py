"""Property tests for the ingest parsers: never an uncaught exception; round trips where the format allows."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gittracker import clock
from gittracker.capacity import Reading
from gittracker.errors import BadInput
from gittracker.sources import claude_logs
from gittracker.sources.ccusage_json import parse_report
from gittracker.sources.claude_logs import parse_line
from gittracker.sources.codex_usage import parse_rollout_line
from gittracker.sources.jsonl import BadLine, check_whole, decode_object, fast_decode
from gittracker.sources.tail import Unreadable, open_new
from gittracker.usage import EventTable, aggregate, event, total

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
usage_keys = st.sampled_from(
    [
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "usage",
        "message",
        "timestamp",
        "requestId",
        "id",
    ]
)
shaped = st.recursive(
    st.none() | st.integers(min_value=-5, max_value=10**20) | st.text(max_size=6) | st.floats(),
    lambda children: st.dictionaries(usage_keys, children, max_size=5),
    max_leaves=10,
)


@given(st.text(max_size=300))
def test_claude_any_text_is_an_event_nothing_or_a_bad_line(text: str) -> None:
    try:
        event = parse_line(text, "f#1")
    except BadLine as error:
        assert str(error)
        return
    assert event is None or _is_event(event)


def _is_event(item: Any) -> bool:
    key, row = item
    return isinstance(key, str) and isinstance(row, tuple) and len(row) == 9 and isinstance(row[0], int)


@given(shaped)
def test_claude_json_of_any_shape_never_crashes(value: Any) -> None:
    try:
        found = parse_line(json.dumps(value), "f#1")
    except BadLine:
        return
    except ValueError:  # json.dumps of inf/nan: not a line a transcript can hold
        return
    assert found is None or (total(found[1]) >= 0 and min(found[1][1:5]) >= 0)


def outcome(parse: Any, line: str) -> Any:
    try:
        return parse(line)
    except BadLine as error:
        return f"BadLine: {error}"


def exact_parse(line: str) -> Any:
    """The reader with json alone: the reference the optional orjson path must agree with."""
    if '"usage"' not in line:
        check_whole(line)
        return None
    return claude_logs._event(decode_object(line), "f#1")


huge = st.integers(min_value=-(2**70), max_value=2**70)
lines = (
    shaped.map(lambda value: json.dumps(value, allow_nan=True))
    | st.fixed_dictionaries(
        {
            "timestamp": st.just("2026-06-01T10:00:00Z"),
            "message": st.fixed_dictionaries(
                {"usage": st.dictionaries(usage_keys, huge | st.floats(allow_nan=False), max_size=4)}
            ),
            "costUSD": huge | st.floats(allow_nan=False),
        }
    ).map(json.dumps)
    | st.text(max_size=60).map(lambda text: '{"message":{"usage":{}},"x":"' + text + '"}')
)


@given(lines)
def test_the_optional_fast_decoder_changes_no_result(line: str) -> None:
    assert fast_decode is not None  # the test extras install orjson, so both paths run here
    assert outcome(lambda text: parse_line(text, "f#1"), line) == outcome(exact_parse, line)


tokens = st.integers(min_value=0, max_value=10**12)


@given(
    tokens,
    tokens,
    tokens,
    tokens,
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.text(min_size=1, max_size=12).filter(lambda s: "\n" not in s),
)
def test_claude_usage_round_trips(i: int, o: int, cc: int, cr: int, when: datetime, cwd: str) -> None:
    moment = when.replace(tzinfo=UTC, microsecond=when.microsecond // 1000 * 1000)
    line = json.dumps(
        {
            "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "requestId": "r",
            "cwd": cwd,
            "message": {
                "id": "m",
                "usage": {
                    "input_tokens": i,
                    "output_tokens": o,
                    "cache_creation_input_tokens": cc,
                    "cache_read_input_tokens": cr,
                },
            },
        }
    )
    found = parse_line(line, "f#1")
    assert found is not None
    key, row = found
    assert row[1:5] == (i, o, cc, cr)
    assert row[0] == round(moment.timestamp() * 1000) and key == "m:r" and row[5] == cwd


leaf = st.none() | st.integers(min_value=-5, max_value=10**20) | st.floats() | st.text(max_size=6)
codex_lines = st.fixed_dictionaries(
    {
        "timestamp": st.just("2026-06-01T10:00:00Z") | leaf,
        "type": st.sampled_from(["event_msg", "session_meta"]) | leaf,
        "payload": st.fixed_dictionaries(
            {
                "type": st.just("token_count") | leaf,
                "info": st.none()
                | leaf
                | st.fixed_dictionaries(
                    {
                        "total_token_usage": leaf
                        | st.dictionaries(
                            st.sampled_from(["input_tokens", "output_tokens", "cached_input_tokens"]), leaf
                        ),
                        "last_token_usage": leaf
                        | st.dictionaries(st.sampled_from(["input_tokens", "output_tokens"]), leaf),
                    }
                ),
                "rate_limits": st.none()
                | leaf
                | st.fixed_dictionaries(
                    {
                        "primary": leaf
                        | st.dictionaries(st.sampled_from(["used_percent", "window_minutes", "resets_at"]), leaf)
                    }
                ),
            }
        ),
    }
)


@given(st.text(max_size=300) | codex_lines.map(lambda value: json.dumps(value, allow_nan=True)))
def test_codex_any_line_is_found_items_or_a_bad_line(text: str) -> None:
    extra: dict[str, Any] = {}
    try:
        found = parse_rollout_line(1, text, extra, "f")
    except BadLine as error:
        assert str(error)
        return
    assert isinstance(found, tuple)
    for item in found:
        if _is_event(item):
            continue
        # a reading: its time as clock.format_ts writes it (snapshots are sorted by it as text), and its meters
        assert len(item) == 2 and clock.format_ts(clock.parse_ts(item[0])) == item[0]
        assert isinstance(item[1], Reading) and item[1].meters


@given(json_values)
def test_ccusage_any_json_is_rows_or_bad_input(value: Any) -> None:
    try:
        rows = parse_report(json.dumps(value))
    except BadInput as error:
        assert "ccusage" in str(error) and "\n" not in str(error)
        return
    assert isinstance(rows, list)


def test_block_rule_edges() -> None:
    start = int(datetime(2026, 6, 1, 10, 30, tzinfo=UTC).timestamp() * 1000)
    five = int(timedelta(hours=5).total_seconds() * 1000)
    table = EventTable(
        dict(
            [
                event("a", start, 1),
                event("b", start - 30 * 60000 + five, 2),
                event("c", start - 30 * 60000 + five + 1, 4),
            ]
        )
    )
    blocks = sorted(
        (body["period"], body["input_tokens"]) for body, _ in aggregate(table) if body["granularity"] == "block"
    )
    # The block starts at 10:00; an event exactly at 15:00 stays in it, one a millisecond later does not.
    assert blocks == [("2026-06-01T10:00:00.000Z", 3), ("2026-06-01T15:00:00.000Z", 4)]


# -- the log tail reader ---------------------------------------------------------------------------------------

line_bytes = st.binary(max_size=40).map(lambda data: data.replace(b"\n", b"")) | st.sampled_from(
    [b"", b"\x00", b'{"a":"x\x00y"}', b"\x00" * 50, "é€".encode(), b"\xff\xfe"]
)


def expected_line(data: bytes) -> str | Unreadable:
    """What the reader must give for one line, decided line by line (the reader decodes and checks whole blocks)."""
    text = data.decode("utf-8", "replace")
    if "\0" in text:
        return Unreadable(f"a line of text, got a NUL byte at character {text.index(chr(0)) + 1}")
    return text


@given(
    st.lists(line_bytes, max_size=12),
    line_bytes,
    st.lists(line_bytes, max_size=12),
    st.integers(min_value=1, max_value=64),
)
def test_the_tail_reader_gives_every_line_once_in_order_text_or_unreadable(
    first: list[bytes], unfinished: bytes, later: list[bytes], chunk: int
) -> None:
    """Whatever the bytes and wherever the chunks cut them: each complete line once, numbered from the file's first
    line across runs, a line with a NUL byte as Unreadable and its neighbours as usual; an unfinished last line
    waits for its newline."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in first) + unfinished)
        reading = open_new(path, None)
        assert reading is not None
        got = list(reading.lines(chunk_bytes=chunk))
        assert got == [(number, expected_line(line)) for number, line in enumerate(first, 1)]
        with path.open("ab") as handle:
            handle.write(b"\n" + b"".join(line + b"\n" for line in later))
        again = open_new(path, reading.seen())
        assert again is not None and again.start == reading.end
        rest = [unfinished, *later]
        assert list(again.lines(chunk_bytes=chunk)) == [
            (number, expected_line(line)) for number, line in enumerate(rest, len(first) + 1)
        ]
