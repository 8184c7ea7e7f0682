"""Property tests of the telemetry line parser (gittracker/proxy/telemetry.py)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gittracker.proxy import telemetry
from gittracker.proxyevents import COLUMNS, Event
from gittracker.sources.jsonl import BadLine

text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"), max_size=200)
names = text.filter(bool)
counts = st.integers(min_value=0, max_value=2**53)
times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
)
limits = st.none() | st.fixed_dictionaries(
    {
        "utilization": st.floats(min_value=0, max_value=10, allow_nan=False),
        "resets_at": st.integers(min_value=0, max_value=253402300799),
    }
)
lines = st.fixed_dictionaries(
    {
        "timestamp": times,
        "session_id": st.none() | text,
        "subagent_id": st.none() | text,
        "backend_provider": names,
        "model": st.none() | text,
        "prompt_tokens": counts,
        "completion_tokens": counts,
        "cache_creation_tokens": counts,
        "cache_read_tokens": counts,
        "latency_ms": st.floats(min_value=0, max_value=1e12, allow_nan=False),
        "status": st.integers(min_value=0, max_value=999),
        "trace_id": names,
        "cut_off": st.booleans(),
        "capacity": st.none()
        | st.fixed_dictionaries({"five_hour": limits, "seven_day": limits, "status": st.none() | text}),
    }
)


def encoded(line: dict[str, Any], ascii_only: bool) -> bytes:
    return json.dumps(line, ensure_ascii=ascii_only).encode()


@settings(max_examples=200, deadline=None)
@given(st.lists(lines, min_size=1, max_size=8), st.booleans())
def test_every_valid_line_reads_back_as_written(items: list[dict[str, Any]], ascii_only: bool) -> None:
    data = b"\n".join(encoded(item, ascii_only) for item in items) + b"\n"
    parsed = telemetry.parse_text(data)
    assert [{name: getattr(line, name) for name in COLUMNS} for line in parsed] == [
        {name: item[name] for name in COLUMNS} for item in items
    ]
    assert all(isinstance(line, Event) for line in parsed)
    for line, item in zip(parsed, items, strict=True):
        assert (line.capacity is None) == (item["capacity"] is None)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_read_or_are_refused_as_bad_lines(data: bytes) -> None:
    try:
        telemetry.parse_text(data)
    except BadLine as error:
        assert str(error).startswith("line ")


def variants(line: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """A line, or the same line spoiled one way or another."""
    good = json.dumps(line).encode()
    return st.sampled_from(
        [
            good,
            good[:-3],
            json.dumps({**line, "prompt_tokens": -1}).encode(),
            json.dumps({**line, "session_id": "a\u2028b"}).encode(),
            json.dumps({**line, "timestamp": "2026-01-01T00:00:00+02:00"}).encode(),
            json.dumps({**line, "timestamp": "2026-02-30T00:00:00.000Z"}).encode(),
            b"",
            b"{}",
        ]
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(lines.flatmap(variants), min_size=1, max_size=12), st.integers(min_value=1, max_value=300))
def test_chunked_and_line_by_line_reading_agree(raw: list[bytes], chunk_bytes: int) -> None:
    data = b"\n".join(raw) + b"\n"
    chunked_good: list[Any] = []
    chunked_bad: list[tuple[int, str]] = []
    for block in telemetry.blocks(io.BytesIO(data), chunk_bytes=chunk_bytes):
        decoded = telemetry.last_line(block) if block.last else telemetry.decode_lines(block.data, block.first)
        chunked_good += decoded.lines
        chunked_bad += decoded.bad
    single_good: list[Any] = []
    single_bad: list[int] = []
    for number, line in enumerate(raw, 1):
        if not line.strip():
            continue
        try:
            single_good.append(telemetry.decode_line(line))
        except BadLine:
            single_bad.append(number)
    assert chunked_good == single_good
    assert [number for number, _ in chunked_bad] == single_bad


def test_a_time_with_an_offset_is_stored_in_utc_with_milliseconds() -> None:
    moment = datetime(2026, 1, 1, 0, 0, tzinfo=UTC) + timedelta(milliseconds=7)
    line = {**json.loads(json.dumps(_one())), "timestamp": "2026-01-01T02:00:00.007891+02:00"}
    parsed = telemetry.decode_line(json.dumps(line).encode())
    assert parsed.timestamp == moment.strftime("%Y-%m-%dT%H:%M:%S.007Z")


def _one() -> dict[str, Any]:
    return {
        "timestamp": "2026-01-01T00:00:00.000Z",
        "session_id": None,
        "subagent_id": None,
        "backend_provider": "glm",
        "model": None,
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "cache_creation_tokens": 0,
        "cache_read_tokens": 0,
        "latency_ms": 1.0,
        "status": 200,
        "trace_id": "t",
        "cut_off": False,
        "capacity": None,
    }
