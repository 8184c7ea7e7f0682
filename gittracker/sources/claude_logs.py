"""Claude Code transcripts (``<config>/projects/**/*.jsonl``) as token events.

Where the transcripts are: ``sources.places``. A line counts when its ``message.usage`` has whole-number
``input_tokens`` and ``output_tokens``; streamed responses repeat a line, so events are keyed by
(``message.id``, ``requestId``) and the largest usage of a key wins (``usage.keep_largest``).

Lines are decoded by msgspec into ``_Line``, which declares only the fields read; a line that does not fit it
is decided by ``_event`` from the whole object, by the rules (and in the words) the reader always had.
"""

from __future__ import annotations

import json
from sys import intern
from typing import Annotated, Any

import msgspec

from gittracker.sources.jsonl import BadLine, check_whole, decode_object, decode_typed, epoch_ms
from gittracker.sources.tail import Chunk
from gittracker.usage import Row, nanos

EXPECTED = (
    "a Claude Code transcript line: a JSON object with timestamp (ISO-8601) and message.usage "
    "{input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens} as whole numbers >= 0"
)
SYNTHETIC_MODEL = "<synthetic>"  # Claude Code's placeholder: its tokens count, but it is not a model

# The fields read, as a line that records usage well has them. A line msgspec does not take as this shape
# (a field of another type, a token count below zero, a line that is no object) is decided by ``_event`` from
# the whole object, whose rules say what is wrong, or that the line records no usage.
Count = Annotated[int, msgspec.Meta(ge=0)]


class _Writes(msgspec.Struct, gc=False):
    ephemeral_5m_input_tokens: Count | None = None
    ephemeral_1h_input_tokens: Count | None = None


class _Usage(msgspec.Struct, gc=False):
    input_tokens: Count
    output_tokens: Count
    cache_creation_input_tokens: Count | None = None
    cache_read_input_tokens: Count | None = None
    cache_creation: _Writes | None = None


class _Message(msgspec.Struct, gc=False):
    id: str | None = None
    model: str | None = None
    usage: _Usage | None = None


class _Line(msgspec.Struct, gc=False):
    timestamp: str | None = None
    requestId: str | None = None
    cwd: str | None = None
    gitBranch: str | None = None
    costUSD: int | float | None = None
    message: _Message | None = None


_line_decoder = msgspec.json.Decoder(_Line)


def parse_line(line: bytes, fallback_key: str) -> tuple[str, Row] | None:
    """The event (key, row) one transcript line records, or None for lines that record no usage.

    Raises BadLine for a line that is not a JSON object, or whose usage is malformed. Follows ccusage 20:
    ``usage.cache_creation`` (5-minute plus 1-hour writes), when present, is the cache-creation figure.
    ``ingest`` reads a chunk of lines at once (``read_chunk``) and comes here, line by line, only for a chunk
    with an odd line in it: this is the reader of record, and ``read_chunk`` gives what it gives.
    """
    if b'"usage"' not in line:
        check_whole(line)  # most lines are prompts, tool output and summaries: never decoded
        return None
    typed = decode_typed(_line_decoder, line)
    if typed is None:
        return _event(decode_object(line), fallback_key)
    return _typed_event(typed, fallback_key)


def _typed_event(typed: _Line, fallback_key: str) -> tuple[str, Row] | None:
    """``_event`` for a line msgspec took as ``_Line``: every field already has the type ``_event`` checks."""
    message = typed.message
    if message is None or message.usage is None:
        return None  # "usage" was only text inside a prompt or tool output
    usage = message.usage
    message_id, request_id, model = message.id, typed.requestId, message.model
    key = f"{message_id}:{request_id}" if message_id is not None and request_id is not None else fallback_key
    writes = usage.cache_creation
    if writes is not None:
        cache_creation = (writes.ephemeral_5m_input_tokens or 0) + (writes.ephemeral_1h_input_tokens or 0)
    else:
        cache_creation = usage.cache_creation_input_tokens or 0
    cwd, branch = typed.cwd, typed.gitBranch
    return key, (
        epoch_ms(typed.timestamp),
        usage.input_tokens,
        usage.output_tokens,
        cache_creation,
        usage.cache_read_input_tokens or 0,
        # Interned: thousands of events share a few of these, and marshal then writes each once.
        _label(cwd),
        _label(branch),
        intern(model) if model is not None and model != SYNTHETIC_MODEL else None,  # <synthetic>: counted, no model
        _cost(typed.costUSD),
    )


def _event(data: dict[str, Any], fallback_key: str) -> tuple[str, Row] | None:
    message = data.get("message")
    if type(message) is not dict:
        return None
    usage = message.get("usage")
    if usage is None:
        return None  # "usage" was only text inside a prompt or tool output
    if type(usage) is not dict:
        raise BadLine("message.usage to be an object")
    model = message.get("model")
    if model is not None and type(model) is not str:
        raise BadLine("message.model to be a string")
    message_id = message.get("id")
    request_id = data.get("requestId")
    key = f"{message_id}:{request_id}" if type(message_id) is str and type(request_id) is str else fallback_key
    writes = usage.get("cache_creation")
    if type(writes) is dict:
        cache_creation = _tokens(writes, "ephemeral_5m_input_tokens") + _tokens(writes, "ephemeral_1h_input_tokens")
    else:
        cache_creation = _tokens(usage, "cache_creation_input_tokens")
    ms = epoch_ms(data.get("timestamp"))
    input_tokens = usage.get("input_tokens")
    output_tokens = usage.get("output_tokens")
    if type(input_tokens) is not int or input_tokens < 0:
        input_tokens = _tokens(usage, "input_tokens", required=True)  # raises, naming the field
    if type(output_tokens) is not int or output_tokens < 0:
        output_tokens = _tokens(usage, "output_tokens", required=True)
    cwd = data.get("cwd")
    branch = data.get("gitBranch")
    cost = data.get("costUSD")
    return key, (
        ms,
        input_tokens,
        output_tokens,
        cache_creation,
        _tokens(usage, "cache_read_input_tokens"),
        # Interned: thousands of events share a few of these, and marshal then writes each once.
        intern(cwd) if type(cwd) is str and _plain(cwd) else None,
        intern(branch) if type(branch) is str and _plain(branch) else None,
        intern(model) if model is not None and model != SYNTHETIC_MODEL else None,  # <synthetic>: counted, no model
        _cost(cost),
    )


def _tokens(usage: dict[str, Any], name: str, *, required: bool = False) -> int:
    value = usage.get(name)
    if value is None and not required:
        return 0
    if type(value) is not int or value < 0:
        raise BadLine(f"message.usage.{name} to be a whole number >= 0, got {json.dumps(value)[:40]}")
    return value


def _cost(value: Any) -> int | None:
    if type(value) in (int, float) and 0 <= value < 1e12:  # 1e999 parses as inf: not a cost
        return nanos(value)
    return None


def _plain(text: str) -> bool:
    return bool(text) and "\n" not in text and len(text) <= 4096


def read_chunk(chunk: Chunk, file_key: str) -> list[tuple[str, Row]] | None:
    """The events of a chunk of lines (``tail.Chunk``), as ``parse_line`` gives them line after line, in one
    loop; None when a line is not plain (not text, maybe cut off, not as ``_Line`` has it, a bad time):
    ``ingest`` then reads the chunk line by line, and names the first bad line as always.

    This is the loop every transcript line goes through, so it is ``parse_line`` and ``_typed_event`` written
    out, with the names it uses bound locally. It walks the chunk from newline to newline (``find``, which
    is memchr) rather than splitting it: only the lines that name "usage" are ever copied out.
    """
    if not chunk.plain:
        return None  # a line that is not text
    data = chunk.data
    events = []
    find, size = data.find, len(data)
    decode, label, moment = _line_decoder.decode, _label, epoch_ms
    number, start = chunk.first - 1, 0
    while start <= size:
        end = find(b"\n", start)
        if end < 0:
            end = size
        number += 1
        begin, start = start, end + 1
        if find(b'"usage"', begin, end) < 0:
            # 123 and 125 are "{" and "}": a line that does not start and end with them may still be whole
            if end > begin and (data[begin] != 123 or data[end - 1] != 125):
                try:
                    check_whole(data[begin:end])
                except BadLine:
                    return None
            continue
        line = data[begin:end]
        try:
            typed = decode(line)
            message = typed.message
            if message is None or message.usage is None:
                continue
            usage = message.usage
            message_id, request_id, model = message.id, typed.requestId, message.model
            if message_id is not None and request_id is not None:
                key = f"{message_id}:{request_id}"
            else:
                key = f"{file_key}#{number}"
            writes = usage.cache_creation
            if writes is not None:
                cache_creation = (writes.ephemeral_5m_input_tokens or 0) + (writes.ephemeral_1h_input_tokens or 0)
            else:
                cache_creation = usage.cache_creation_input_tokens or 0
            cost = typed.costUSD
            events.append(
                (
                    key,
                    (
                        moment(typed.timestamp),
                        usage.input_tokens,
                        usage.output_tokens,
                        cache_creation,
                        usage.cache_read_input_tokens or 0,
                        label(typed.cwd),
                        label(typed.gitBranch),
                        None if model is None or model == SYNTHETIC_MODEL else intern(model),
                        None if cost is None else _cost(cost),
                    ),
                )
            )
        except (msgspec.MsgspecError, RecursionError, BadLine):
            return None
    chunk.counted(number - chunk.first + 1)
    return events


_labels: dict[str, str | None] = {}


def _label(text: str | None) -> str | None:
    """A project or branch as the row keeps it: interned (thousands of events share a few, and marshal then
    writes each once), or None when it is not one plain line. Remembered: the same few come again and again."""
    if text is None:
        return None
    try:
        return _labels[text]
    except KeyError:
        if len(_labels) > 4096:
            _labels.clear()
        kept = _labels[text] = intern(text) if _plain(text) else None
        return kept


def parse_counted(number: int, line: bytes, extra: dict[str, Any], file_key: str) -> tuple[tuple[str, Row], ...]:
    """``ingest``'s per-line parser: the line's event, if it records one (keyless lines by place)."""
    event = parse_line(line, f"{file_key}#{number}")
    return (event,) if event is not None else ()
