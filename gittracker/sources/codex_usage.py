"""Codex rollouts as token events and rate-limit readings (``ingest codex-sessions``).

``token_count`` events carry ``info.total_token_usage``, a running total for the session. A session's
usage is the sum of the *increases* of that total, so an identical repeated line adds nothing and a
resumed session that starts from its old total is not counted twice. Codex's ``input_tokens`` include the
cached input: the event splits them into uncached input and ``cache_read``, as ccusage does.
"""

from __future__ import annotations

import json
from typing import Any

from gittracker.capacity import Reading
from gittracker.errors import BadInput
from gittracker.sources.codex_logs import Limits, Session, limits_from_event
from gittracker.sources.jsonl import BadLine, check_whole, decode_object, epoch_ms
from gittracker.usage import Row, event

EXPECTED = (
    "a Codex rollout line: a JSON object {timestamp, type, payload}; token_count payloads with "
    "info.total_token_usage {input_tokens, cached_input_tokens, output_tokens} as whole numbers >= 0"
)
TOTAL_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


Found = tuple[str, Row] | tuple[str, Reading]  # a token event (key, row), or a rate-limit reading (time, reading)


def parse_rollout_line(number: int, line: bytes, extra: dict[str, Any], file_key: str) -> tuple[Found, ...]:
    """The reading and token event one line carries; ``extra`` is the session's running state."""
    if b'"token_count"' not in line and b'"session_meta"' not in line and b'"turn_context"' not in line:
        check_whole(line)
        return ()
    data = decode_object(line)
    payload = data.get("payload")
    if data.get("type") in ("session_meta", "turn_context") and isinstance(payload, dict):
        _remember_context(payload, extra)
        return ()
    if data.get("type") != "event_msg" or not isinstance(payload, dict) or payload.get("type") != "token_count":
        return ()
    try:
        limits = limits_from_event(data)
    except BadInput as error:
        raise BadLine(str(error)) from None
    event = _increase(data, payload, extra, f"{file_key}#{number}")
    found = _reading(limits, extra) if limits is not None else None
    return tuple(item for item in (found, event) if item is not None)


def _reading(limits: Limits, extra: dict[str, Any]) -> tuple[str, Reading] | None:
    """The session's reading after this line (``codex_logs.Session``) and its time; the state stays with the file."""
    session = Session(extra.get("limits"))
    reading = session.add(limits)
    extra["limits"] = session.saved
    return None if reading is None else (limits.ts, reading)


def _remember_context(payload: dict[str, Any], extra: dict[str, Any]) -> None:
    cwd = payload.get("cwd")
    if isinstance(cwd, str) and cwd:
        extra["cwd"] = cwd
    git = payload.get("git")
    if isinstance(git, dict) and isinstance(git.get("branch"), str):
        extra["branch"] = git["branch"]
    model = payload.get("model")
    if isinstance(model, str) and model:
        extra["model"] = model


def _increase(data: dict[str, Any], payload: dict[str, Any], extra: dict[str, Any], key: str) -> tuple[str, Row] | None:
    info = payload.get("info")
    if info is None:
        return None  # a rate-limit-only line
    if not isinstance(info, dict):
        raise BadLine("token_count info to be an object or null")
    totals = info.get("total_token_usage")
    if totals is None:
        return None
    if not isinstance(totals, dict):
        raise BadLine("info.total_token_usage to be an object")
    now = {name: _count(totals, name) for name in TOTAL_FIELDS}
    before = extra.get("total")
    previous = dict.fromkeys(TOTAL_FIELDS, 0) if not isinstance(before, dict) else before
    if all(now[name] == previous.get(name, 0) for name in TOTAL_FIELDS):
        return None  # a repeated line: the running total did not move
    if any(now[name] < previous.get(name, 0) for name in TOTAL_FIELDS):
        previous = dict.fromkeys(TOTAL_FIELDS, 0)  # the total restarted (a new context): count it afresh
    ms = epoch_ms(data.get("timestamp"))  # checked before the running total moves: a bad line changes nothing
    extra["total"] = now
    # Like ccusage 20: when the total moved, the turn's own figures (last_token_usage) are the usage;
    # the difference of totals is the fallback for builds that write no last_token_usage.
    last = info.get("last_token_usage")
    if isinstance(last, dict):
        grew = {name: _count(last, name, "last_token_usage") for name in TOTAL_FIELDS}
    else:
        grew = {name: now[name] - previous.get(name, 0) for name in TOTAL_FIELDS}
    cached = min(grew["cached_input_tokens"], grew["input_tokens"])
    return event(
        key,
        ms=ms,
        input=grew["input_tokens"] - cached,
        output=grew["output_tokens"],
        cache_creation=0,
        cache_read=cached,
        project=extra.get("cwd"),
        branch=extra.get("branch"),
        model=extra.get("model"),
    )


def _count(totals: dict[str, Any], name: str, where: str = "total_token_usage") -> int:
    value = totals.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadLine(f"info.{where}.{name} to be a whole number >= 0, got {json.dumps(value)[:40]}")
    return value
