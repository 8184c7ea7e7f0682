"""What every JSON-lines log reader needs: whole-line checks, decoding, and event times.

Shared by the Claude transcript and Codex rollout readers, so both refuse the same things with the same
words, and the caller (``ingest``) names the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gittracker.records import reject_constant

CUT_OFF = "a JSON object per line (this one is cut off or not JSON)"
_decoder = json.JSONDecoder(parse_constant=reject_constant)
_decode = _decoder.decode
_raw_decode = _decoder.raw_decode


def _orjson_decoder() -> Callable[[str], dict[str, Any] | None] | None:
    try:
        from orjson import loads
    except ImportError:
        return None

    def decode(line: str) -> dict[str, Any] | None:
        """The object on the line, or None where json must decide (anything orjson refuses or that is not
        an object: json accepts lone surrogates and 1e400, and says what is wrong in our words)."""
        try:
            data = loads(line)
        except ValueError:
            return None
        return data if type(data) is dict else None

    return decode


# With the optional orjson (``pip install 'git-tracker[fast]'``) the Claude reader decodes about twice as
# fast. It reads integers past 64 bits as floats, so a reader that refuses what it got asks json again.
fast_decode = _orjson_decoder()


class BadLine(Exception):
    """A line that is not what its reader expects; the caller names the file and line."""


def check_whole(line: str) -> None:
    """A line a reader skips undecoded must still look like one whole JSON object (not cut off)."""
    stripped = line.strip()
    if stripped and not (stripped[0] == "{" and stripped[-1] == "}"):
        raise BadLine(CUT_OFF)


def decode_object(line: str) -> dict[str, Any]:
    try:
        # A line that starts with "{" and ends where its object does is decoded without decode()'s two
        # whitespace scans (this runs for every usage line of every transcript); anything else, fully.
        data, end = _raw_decode(line) if line[:1] == "{" else (None, -1)
        if end != len(line):
            data = _decode(line)
    except (ValueError, RecursionError):
        raise BadLine(CUT_OFF) from None
    if type(data) is not dict:
        raise BadLine("a JSON object per line")
    return data


MAX_MS = 253402300800000  # 10000-01-01T00:00:00Z: records carry no later time


def epoch_ms(value: Any) -> int:
    """An ISO-8601 ``timestamp`` with a zone, as epoch milliseconds."""
    if not isinstance(value, str):
        raise BadLine("timestamp to be an ISO-8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadLine(f"timestamp to be an ISO-8601 time, got {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise BadLine(f"timestamp to carry a zone (Z), got {value[:40]!r}")
    ms = round(moment.timestamp() * 1000)
    if not 0 <= ms < MAX_MS:
        raise BadLine(f"timestamp from 1970 to 9999, got {value[:40]!r}")
    return ms
