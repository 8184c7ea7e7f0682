"""Property tests for the ingest parsers: never an uncaught exception; round trips where the format allows."""

from __future__ import annotations

import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gittracker import clock
from gittracker.capacity import Reading
from gittracker.errors import BadInput
from gittracker.records import reject_constant
from gittracker.sources import claude_logs
from gittracker.sources.ccusage_json import parse_report
from gittracker.sources.claude_logs import parse_line
from gittracker.sources.codex_usage import parse_rollout_line
from gittracker.sources.jsonl import CUT_OFF, BadLine
from gittracker.sources.tail import Chunk, Unreadable, open_new
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


@given(st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")) | st.binary(max_size=300))
def test_claude_any_bytes_are_an_event_nothing_or_a_bad_line(line: bytes) -> None:
    try:
        event = parse_line(line, "f#1")
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
        found = parse_line(json.dumps(value).encode(), "f#1")
    except BadLine:
        return
    except ValueError:  # json.dumps of inf/nan: not a line a transcript can hold
        return
    assert found is None or (total(found[1]) >= 0 and min(found[1][1:5]) >= 0)


def outcome(parse: Any, line: bytes) -> Any:
    try:
        return parse(line)
    except BadLine as error:
        return f"BadLine: {error}"


def previous_parse(line: bytes) -> Any:
    """The transcript reader as it was before msgspec (Python's json module), kept here as the reference:
    the line decoded as text, skipped unless it names "usage", else read whole by json."""
    text = line.decode("utf-8", "replace")
    if '"usage"' not in text:
        stripped = text.strip()
        if stripped and not (stripped[0] == "{" and stripped[-1] == "}"):
            raise BadLine(CUT_OFF)
        return None
    try:
        data = json.loads(text, parse_constant=reject_constant)
    except (ValueError, RecursionError):
        raise BadLine(CUT_OFF) from None
    if type(data) is not dict:
        raise BadLine("a JSON object per line")
    return claude_logs._event(data, "f#1")


SURROGATE = re.compile("[\ud800-\udfff]")
# A lone surrogate as json.dumps escapes it; an escaped high-low pair is one real character, which both readers
# quote alike.
ESCAPED_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def as_read_now(previous: Any) -> Any:
    """The previous outcome with the one decided difference: a lone surrogate reads as U+FFFD (docs/ingest.md).
    An error keeps its words up to the value it quotes (which now shows U+FFFD there)."""
    if isinstance(previous, str):
        quoted = SURROGATE.search(previous) or ESCAPED_SURROGATE.search(previous)
        return previous.split(", got ")[0] if quoted else previous
    if previous is None:
        return None
    key, row = previous
    return SURROGATE.sub("\ufffd", key), tuple(SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for v in row)


def as_compared(found: Any) -> Any:
    """Ours, with a quoted value that shows U+FFFD cut off as ``as_read_now`` cuts the previous one."""
    if isinstance(found, str) and ("\ufffd" in found or "\\ufffd" in found):
        return found.split(", got ")[0]
    return found


# Lines built to reach every place json and msgspec differ: integers past 64 bits, floats past the float range
# (1e400), NaN and Infinity literals, lone and paired surrogate escapes, bytes that are not UTF-8, control
# characters, Unicode white space around the object, and fields of every type where the reader wants another.
huge = st.integers(min_value=-(2**70), max_value=2**70)
odd_numbers = st.sampled_from(["1e400", "-1e400", "1E400", "NaN", "Infinity", "-0", "1.0", "1e2", str(2**64), "0"])
odd_strings = st.sampled_from(
    [r'"\ud800"', r'"\udc00x"', r'"\ud83d\ude00"', r'"a\\ud800"', r'"\u0000"', r'"\u2028"', '"x"', '"m\u00e9"']
)
leaf_text = st.one_of(
    huge.map(str),
    st.floats(allow_nan=False).map(json.dumps),
    odd_numbers,
    odd_strings,
    st.sampled_from(["null", "true", "[]", "{}", '"2026-06-01T10:00:00Z"', '"2026-06-01T10:00:00"']),
    st.text(max_size=6).map(json.dumps),
)


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{json.dumps(name)}:{value}" for name, value in pairs) + "}"


def mostly(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A field's usual value three times in four, any odd value or none at all otherwise (one odd field in a
    line that is otherwise right is where the readers could disagree)."""
    return st.one_of(valid, valid, valid, leaf_text, st.just(""))


def _fields(**fields: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    named = [st.tuples(st.just(name), value) for name, value in fields.items()]
    return st.tuples(*named, st.lists(st.tuples(st.sampled_from(["x", "content"]), leaf_text), max_size=2)).map(
        lambda parts: _object([pair for pair in (*parts[:-1], *parts[-1]) if pair[1]])
    )


count = st.integers(min_value=0, max_value=10**7).map(str)
name_text = st.text(max_size=8).map(json.dumps)
writes_text = _fields(ephemeral_5m_input_tokens=mostly(count), ephemeral_1h_input_tokens=mostly(count))
usage_text = _fields(
    input_tokens=mostly(count),
    output_tokens=mostly(count),
    cache_creation_input_tokens=mostly(count),
    cache_read_input_tokens=mostly(count),
    cache_creation=st.one_of(st.just(""), writes_text, leaf_text),
)
message_text = _fields(id=mostly(name_text), model=mostly(name_text), usage=mostly(usage_text))
line_text = _fields(
    timestamp=mostly(st.sampled_from(['"2026-06-01T10:00:00Z"', '"2026-06-01T10:00:00.123+02:00"'])),
    requestId=mostly(name_text),
    cwd=mostly(name_text),
    gitBranch=mostly(name_text),
    costUSD=mostly(st.floats(min_value=0, max_value=100).map(json.dumps)),
    message=mostly(message_text),
)
around = st.sampled_from(["", " ", "\r", "\t", "\u2028", "\x85", "\xa0", "x", "]"])


def _with_bytes(text: str, raw: bytes, at: int) -> bytes:
    data = text.encode()
    return data[:at] + raw + data[at:]


any_line = st.one_of(
    st.tuples(around, line_text, around).map(lambda parts: "".join(parts).encode()),
    st.builds(_with_bytes, line_text, st.binary(max_size=3), st.integers(min_value=0, max_value=200)),
)


@settings(max_examples=1000)
@given(any_line)
# A lone surrogate and an escaped pair (one real character) in one line: found by CI once.
@example(rb'{"message":{"usage":{"input_tokens":"\ud800","cache_creation_input_tokens":"\ud83d\ude00"}}}')
def test_the_msgspec_reader_gives_what_the_json_reader_gave(line: bytes) -> None:
    now = as_compared(outcome(lambda data: parse_line(data, "f#1"), line))
    assert now == as_read_now(outcome(previous_parse, line))


USAGE = b'"usage":{"input_tokens":1,"output_tokens":2}'


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # 1e400 reads as infinity, as json read it: as a cost it is no cost, as a token count it is refused.
        (b'{"timestamp":"2026-06-01T10:00:00Z","costUSD":1e400,"message":{' + USAGE + b"}}", "event, no cost"),
        (
            b'{"timestamp":"2026-06-01T10:00:00Z","message":{"usage":{"input_tokens":1e400,"output_tokens":2}}}',
            "BadLine: message.usage.input_tokens to be a whole number >= 0, got Infinity",
        ),
        # integers past 64 bits stay exact
        (
            b'{"timestamp":"2026-06-01T10:00:00Z","message":{"usage":{"input_tokens":36893488147419103232,'
            b'"output_tokens":2}}}',
            "event, 2**65 input",
        ),
        # a lone surrogate in a prompt's text changes nothing; in a model's name it reads as U+FFFD
        (
            b'{"timestamp":"2026-06-01T10:00:00Z","x":"\\ud83d","message":{"model":"m\\ud800",' + USAGE + b"}}",
            "event, model m\ufffd",
        ),
        (b'{"timestamp":"2026-06-01T10:00:00Z","x":NaN,"message":{' + USAGE + b"}}", f"BadLine: {CUT_OFF}"),
    ],
)
def test_each_case_json_and_msgspec_read_differently_is_decided(line: bytes, expected: str) -> None:
    found = outcome(lambda data: parse_line(data, "f#1"), line)
    if expected.startswith("BadLine"):
        assert found == expected
        return
    row = found[1]
    described = {
        "event, no cost": row[8] is None,
        "event, 2**65 input": row[1] == 2**65,
        "event, model m\ufffd": row[7] == "m\ufffd" and row[1:3] == (1, 2),
    }
    assert described[expected], row
    assert as_read_now(outcome(previous_parse, line)) == found


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
    found = parse_line(line.encode(), "f#1")
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
        found = parse_rollout_line(1, text.encode("utf-8", "surrogatepass"), extra, "f")
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


def expected_line(data: bytes) -> bytes | Unreadable:
    """What the reader must give for one line, decided line by line (the reader splits and checks whole blocks)."""
    text = data.decode("utf-8", "replace")
    if "\0" in text:
        return Unreadable(f"a line of text, got a NUL byte at character {text.index(chr(0)) + 1}")
    return data


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


def line_by_line(lines: list[bytes], file_key: str) -> list[Any]:
    events = []
    for number, line in enumerate(lines, 1):
        found = parse_line(line, f"{file_key}#{number}")
        if found is not None:
            events.append(found)
    return events


def maybe(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(valid, st.just(""))


plain_usage = _fields(input_tokens=count, output_tokens=count, cache_read_input_tokens=maybe(count))
plain_line = _fields(
    timestamp=st.just('"2026-06-01T10:00:00Z"'),
    requestId=maybe(name_text),
    cwd=maybe(name_text),
    message=_fields(id=maybe(name_text), model=maybe(name_text), usage=maybe(plain_usage)),
).map(str.encode)


@settings(max_examples=300)
@given(st.lists(st.one_of(plain_line, plain_line, line_text.map(str.encode), any_line), min_size=1, max_size=8))
def test_a_chunk_read_at_once_gives_what_its_lines_give_one_by_one(lines: list[bytes]) -> None:
    """The chunk reader (every transcript line's path) either gives exactly the events the line reader gives
    line by line, or hands the chunk back to be read that way."""
    lines = [line.replace(b"\n", b" ") for line in lines]
    found = claude_logs.read_chunk(Chunk(1, b"\n".join(lines)), "f")
    if found is None:
        return
    assert found == line_by_line(lines, "f")
