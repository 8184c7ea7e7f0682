"""What every JSON-lines log reader needs: whole-line checks, decoding, and event times.

Shared by the Claude transcript and Codex rollout readers, so both refuse the same things with the same
words, and the caller (``ingest``) names the file and line. Lines are bytes, as read from the file, and
msgspec decodes them: the readers declare the fields they read as typed structs (the rest of a line is
skipped without being built), and ``decode_object`` gives the whole object where a reader needs it.

Where msgspec and Python's json module (which these readers used before) read a line differently, the
line is read as json read it, each case decided on purpose (docs/ingest.md, "Decoding"):

- a number too large for a float (``1e400``) reads as infinity, as json read it (``float_hook``), and is
  then refused or ignored by the field's own rule;
- a lone UTF-16 surrogate escape (``"\\ud800"``, which JavaScript's ``JSON.stringify`` writes for a string
  cut in the middle of an emoji) reads as U+FFFD: msgspec cannot hold one in a ``str``; json could, and a
  reader that kept one refused the line with a confusing message later (a model's name) or kept it where
  nothing compares it (a path, an id);
- bytes that are not UTF-8 read as U+FFFD, as the readers decoded them before json saw them;
- ``NaN`` and ``Infinity`` literals are not JSON: refused, as before.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

CUT_OFF = "a JSON object per line (this one is cut off or not JSON)"
_any_decoder = msgspec.json.Decoder()
# float_hook: a float literal is read as Python reads it, so 1e400 is infinity (msgspec alone refuses it). Only
# for a line the plain decoder refused: a call into Python for every float costs a tenth of a rollout's reading.
_float_decoder = msgspec.json.Decoder(float_hook=float)
DecodeFailed = msgspec.MsgspecError  # what any msgspec decoder raises for a line it does not take


class BadLine(Exception):
    """A line that is not what its reader expects; the caller names the file and line."""


def check_whole(line: bytes) -> None:
    """A line a reader skips undecoded must still look like one whole JSON object (not cut off)."""
    stripped = line.strip()
    if stripped and not (stripped[:1] == b"{" and stripped[-1:] == b"}"):
        # bytes.strip() knows ASCII white space only; the text's own rule decides (a line may end in U+2028).
        text = as_text(line).strip()
        if text and not (text[0] == "{" and text[-1] == "}"):
            raise BadLine(CUT_OFF)


def as_text(line: bytes) -> str:
    """A line as text: bytes that are not UTF-8 become U+FFFD."""
    return line.decode("utf-8", "replace")


def decode_object(line: bytes) -> dict[str, Any]:
    """The JSON object on the line, every field built."""
    try:
        data = _any_decoder.decode(line)
    except (DecodeFailed, RecursionError):
        data = _decode_repaired(line)
    if type(data) is not dict:
        raise BadLine("a JSON object per line")
    return data


def _decode_repaired(line: bytes) -> Any:
    """The line msgspec refused, read as json read it: floats past the float range as infinity, bytes that are
    not UTF-8 and lone surrogate escapes as U+FFFD; refused as cut off if it still is not JSON."""
    try:
        return _float_decoder.decode(line)
    except (DecodeFailed, RecursionError):
        pass
    repaired = _LONE_SURROGATE.sub(_keep_pairs, as_text(line)).encode()
    if repaired == line:
        raise BadLine(CUT_OFF)
    try:
        return _float_decoder.decode(repaired)
    except (DecodeFailed, RecursionError):
        raise BadLine(CUT_OFF) from None


# An escaped backslash (kept, so that `\\ud800` stays the text it is), a surrogate pair (kept), or a lone
# surrogate escape (replaced). Matched left to right, so an escape is never read from the middle of another.
_LONE_SURROGATE = re.compile(
    r"(\\\\)|(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)


def _keep_pairs(match: re.Match[str]) -> str:
    return match.group(1) or match.group(2) or "\\ufffd"


def decode_typed(decoder: msgspec.json.Decoder[Any], line: bytes) -> Any:
    """The line decoded into a reader's struct, or None when msgspec does not take it as that struct; the
    reader then decides from ``decode_object`` (a field of another type, a line that is not an object)."""
    try:
        return decoder.decode(line)
    except (DecodeFailed, RecursionError):
        return None


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
