"""The telemetry lines the proxy addon writes (issue 15, contract A), read and checked from bytes.

One JSON object per line, every key of the contract present and of its type. A line from a newer addon may
carry keys this version does not know: they are ignored, not refused (the addon may learn to record more); a
known key with the wrong type, out of its range, or a time without a zone is refused. What is refused, and how
(docs/proxy.md, "Bad lines"):

- a line that is not one JSON object, or is cut off (a last line without its newline that is not whole JSON);
- counts that are not whole numbers from 0, a latency that is not a finite number from 0, a status outside
  0..999; ``NaN`` and ``Infinity`` are not JSON and are refused as any other text that is not;
- a timestamp that is not an ISO-8601 time with a zone (``Z`` or ``+hh:mm``), or is before 1970;
- text fields longer than 200 characters or holding a line break or another control character, and bytes that
  are not UTF-8 (a line is text; binary data is refused, not repaired).

Speed: the lines of a chunk are decoded by msgspec into typed structs, one C call per line driven from C
(``map``), which on this data is faster than one decode of the chunk as a JSON array and keeps each line's own
meaning (a line's text can never join its neighbour's). The checks msgspec's constraints cannot make (the time
is a real time, no line breaks) are made once per chunk over its column; only a chunk with a bad line is gone
through line by line, to name it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Annotated, Any

import msgspec

from gittracker.proxyevents import Event
from gittracker.sources.jsonl import BadLine  # its text completes "expected …"; the caller names file and line

MAX_TEXT = 200
LATEST_RESET = 253402300799  # 9999-12-31T23:59:59Z: no record carries a later time
EXPECTED = "a telemetry line of the proxy addon (docs/proxy.md)"

_Count = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
_Latency = Annotated[float, msgspec.Meta(ge=0, le=sys.float_info.max)]
_Status = Annotated[int, msgspec.Meta(ge=0, le=999)]
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
_OptionalName = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)] | None
_Fraction = Annotated[float, msgspec.Meta(ge=0, le=sys.float_info.max)]
_Epoch = Annotated[float, msgspec.Meta(ge=0, le=LATEST_RESET)]
_AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]


class Limit(msgspec.Struct, frozen=True, gc=False):
    """One rate-limit meter as the response headers gave it: the share used (a fraction) and its reset time."""

    utilization: _Fraction
    resets_at: _Epoch


class Capacity(msgspec.Struct, frozen=True, gc=False):
    five_hour: Limit | None = None
    seven_day: Limit | None = None
    status: _OptionalName = None


class Line(Event, frozen=True, gc=False):
    """A telemetry line: an event (``events.Event``, so a line is used as one without a copy) and the capacity
    headers of its response. Unknown keys are ignored (msgspec's default): a newer addon's line still reads."""

    trace_id: _Name
    timestamp: str
    session_id: _OptionalName
    subagent_id: _OptionalName
    backend_provider: _Name
    model: _OptionalName
    prompt_tokens: _Count
    completion_tokens: _Count
    cache_creation_tokens: _Count
    cache_read_tokens: _Count
    latency_ms: _Latency
    status: _Status
    cut_off: bool
    capacity: Capacity | None


_decoder = msgspec.json.Decoder(Line)
_times = msgspec.json.Decoder(list[_AwareTime])
# The stored form of a time: UTC, milliseconds, Z (clock.format_ts), so that text order is time order.
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_ALL_CANONICAL = re.compile(f"(?:{_CANONICAL.pattern}\n)*{_CANONICAL.pattern}")
# What no text field may hold: control characters (line breaks among them) and the Unicode line separators.
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def _may_hold_control(data: bytes) -> bool:
    """Whether text fields may hold one of those: only after an escape (a backslash) or in bytes past ASCII
    (U+0085, U+2028, U+2029 may be written as they are). Both searches run in C over the whole chunk."""
    return b"\\" in data or not data.isascii()


_TEXT_FIELDS = ("trace_id", "session_id", "subagent_id", "backend_provider", "model")
EARLIEST = "1970-01-01T00:00:00.000Z"
TIME_EXPECTED = "timestamp to be an ISO-8601 time with a zone, such as 2026-12-03T01:02:03.456Z"


@dataclass
class Decoded:
    """The good lines of a run of lines and the bad ones, by line number."""

    lines: list[Line]
    bad: list[tuple[int, str]]


def decode_lines(data: bytes, first: int) -> Decoded:
    """The lines of ``data`` (complete lines joined by ``\\n``, without the last newline); ``first`` is the first
    one's number. Blank lines are passed over."""
    raw = data.split(b"\n")
    try:
        lines = list(map(_decoder.decode, raw))
    except (msgspec.MsgspecError, RecursionError):
        return _line_by_line(raw, first)
    try:
        return Decoded(_checked(lines, _may_hold_control(data)), [])
    except BadLine:
        return _line_by_line(raw, first)


def decode_line(line: bytes) -> Line:
    """One line, or BadLine saying what was expected."""
    try:
        decoded = _decoder.decode(line)
    except msgspec.ValidationError as error:
        raise BadLine(_validation_text(str(error))) from None
    except (msgspec.MsgspecError, RecursionError):
        raise BadLine(_not_json(line)) from None
    return _checked([decoded], True)[0]


def _line_by_line(raw: list[bytes], first: int) -> Decoded:
    lines: list[Line] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(raw, first):
        if not line.strip():
            continue
        try:
            lines.append(decode_line(line))
        except BadLine as error:
            bad.append((number, str(error)))
    return Decoded(lines, bad)


def _checked(lines: list[Line], escapes: bool) -> list[Line]:
    """The lines with their times in the stored form; BadLine when a time or a text field is not what it must be
    (the caller then goes line by line to say which)."""
    stamps = [line.timestamp for line in lines]
    if not _all_canonical(stamps):
        lines = [_with_stored_time(line) for line in lines]
        stamps = [line.timestamp for line in lines]
    else:
        try:
            _times.decode(msgspec.json.encode(stamps))  # every canonical-looking time is a real one (in C)
        except msgspec.ValidationError:
            raise BadLine(TIME_EXPECTED) from None
    if min(stamps, default=EARLIEST) < EARLIEST:
        raise BadLine("timestamp from 1970 on")
    if escapes:
        for line in lines:
            for name in _TEXT_FIELDS:
                value = getattr(line, name)
                if value is not None and _CONTROL.search(value):
                    raise BadLine(f"{name} to be one line of text, without line breaks or control characters")
    return lines


def _all_canonical(stamps: list[str]) -> bool:
    """Every time already in the stored form: one match over them all, joined (a time holding a line end of its
    own would make two: the count of line ends rules that out)."""
    joined = "\n".join(stamps)
    return joined.count("\n") == len(stamps) - 1 and _ALL_CANONICAL.fullmatch(joined) is not None


def _with_stored_time(line: Line) -> Line:
    if _CANONICAL.fullmatch(line.timestamp):
        return line
    try:
        moment = msgspec.convert(line.timestamp, _AwareTime)
        stored = _stored_time(moment)
    except (msgspec.ValidationError, OverflowError, ValueError):
        raise BadLine(f"{TIME_EXPECTED}, got {_cut(line.timestamp)}") from None
    return msgspec.structs.replace(line, timestamp=stored)


def _stored_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _validation_text(message: str) -> str:
    """msgspec's ``Expected `int` >= 0, got `-1` - at `$.prompt_tokens` `` as "prompt_tokens to be …"."""
    text, _, where = message.partition(" - at `$")
    field = where.rstrip("`").lstrip(".") or "the line"
    if text.startswith("Object missing required field"):
        return f"every key of the contract; {text.split('`')[1]} is missing"
    text = text.removeprefix("Expected ")
    return f"{field} to be {text}"


def _not_json(line: bytes) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return "UTF-8 text (this line has bytes that are not)"
    if b"\0" in line:
        return "a line of text, got a NUL byte"
    try:
        msgspec.json.decode(line)
    except (msgspec.MsgspecError, RecursionError):
        return "one JSON object per line (this one is cut off or not JSON)"
    return "a JSON object with the contract's keys"


def _cut(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:39] + "…")


# -- reading a stream in chunks ---------------------------------------------------------------------------

CHUNK_BYTES = 8 << 20


@dataclass
class Block:
    """Complete lines (joined by their newlines, without the last one) and the first one's number; or, when
    ``last`` is set, the stream's last line, which has no newline."""

    first: int
    data: bytes
    last: bool = False


def blocks(stream: IO[bytes], first_line: int = 1, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Block]:
    """The stream's lines, a chunk at a time: memory holds one chunk (and one line longer than a chunk)."""
    held = b""
    number = first_line
    while chunk := stream.read(chunk_bytes):
        cut = chunk.rfind(b"\n")
        if cut < 0:
            held += chunk
            continue
        data = held + chunk[:cut] if held else chunk[:cut]
        held = chunk[cut + 1 :]
        yield Block(number, data)
        number += data.count(b"\n") + 1
    if held:
        yield Block(number, held, last=True)


def last_line(block: Block) -> Decoded:
    """The stream's last line, without its newline: a whole line a writer has just finished, or one cut off."""
    if not block.data.strip():
        return Decoded([], [])
    try:
        return Decoded([decode_line(block.data)], [])
    except BadLine as error:
        expected = str(error)
        if expected.startswith("one JSON object"):
            expected = "a whole line ending in a newline (this last one is cut off)"
        return Decoded([], [(block.first, expected)])


def parse_text(data: bytes) -> list[Any]:
    """Every line of ``data`` as a Line, or BadLine naming the first bad one (for tests and small inputs)."""
    out: list[Any] = []
    import io

    for block in blocks(io.BytesIO(data)):
        decoded = last_line(block) if block.last else decode_lines(block.data, block.first)
        if decoded.bad:
            number, expected = decoded.bad[0]
            raise BadLine(f"line {number}: expected {expected}")
        out.extend(decoded.lines)
    return out
