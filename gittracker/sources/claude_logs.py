"""Claude Code transcripts (``<config>/projects/**/*.jsonl``) as token events.

Where the transcripts are: ``sources.places``. A line counts when its ``message.usage`` has whole-number
``input_tokens`` and ``output_tokens``; streamed responses repeat a line, so events are keyed by
(``message.id``, ``requestId``) and the largest usage of a key wins (``usage.keep_largest``).
"""

from __future__ import annotations

import json
from sys import intern
from typing import Any

from gittracker.sources.jsonl import BadLine, check_whole, decode_object, epoch_ms, fast_decode
from gittracker.usage import Row, nanos

EXPECTED = (
    "a Claude Code transcript line: a JSON object with timestamp (ISO-8601) and message.usage "
    "{input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens} as whole numbers >= 0"
)
SYNTHETIC_MODEL = "<synthetic>"  # Claude Code's placeholder: its tokens count, but it is not a model


def parse_line(line: str, fallback_key: str) -> tuple[str, Row] | None:
    """The event (key, row) one transcript line records, or None for lines that record no usage.

    Raises BadLine for a line that is not a JSON object, or whose usage is malformed. Follows ccusage 20:
    ``usage.cache_creation`` (5-minute plus 1-hour writes), when present, is the cache-creation figure.
    This runs once per line of every transcript, so the common case is written out rather than helped.
    """
    if '"usage"' not in line:
        check_whole(line)  # most lines are prompts, tool output and summaries: never decoded
        return None
    if fast_decode is not None:
        data = fast_decode(line)
        if data is not None:
            try:
                return _event(data, fallback_key)
            except BadLine:
                pass  # orjson reads integers past 64 bits as floats: json, exact, has the last word
    return _event(decode_object(line), fallback_key)


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


def parse_counted(number: int, line: str, extra: dict[str, Any], file_key: str) -> tuple[tuple[str, Row], ...]:
    """``ingest``'s per-line parser: the line's event, if it records one (keyless lines by place)."""
    event = parse_line(line, f"{file_key}#{number}")
    return (event,) if event is not None else ()
