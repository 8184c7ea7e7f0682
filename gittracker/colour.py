"""Colour for the few things a reader must not miss: a HALTED provider, a failed gate, anomalies, an error.

Only on a terminal: off when the output is piped or redirected, when ``NO_COLOR`` is set to anything non-empty
(no-color.org) and when ``TERM`` is ``dumb``. ``--json`` never reaches these functions (its commands print
``json.dumps``), so machine-readable output carries no escape codes. Each function takes the stream the text is
for, stdout unless said otherwise, and returns the text unchanged when that stream gets no colour.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

_RESET = "\x1b[0m"
_ALARM = "\x1b[1;31m"  # bold red: HALTED, FAIL, an error
_CAUTION = "\x1b[33m"  # yellow: anomalies, warnings
_GOOD = "\x1b[32m"  # green: PASS


def enabled(stream: TextIO | None = None) -> bool:
    """Whether text for ``stream`` (default stdout) may carry colour."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    target = sys.stdout if stream is None else stream
    try:
        return target.isatty()
    except (AttributeError, ValueError):  # replaced by something without a terminal, or already closed
        return False


def alarm(text: str, stream: TextIO | None = None) -> str:
    return _paint(_ALARM, text, stream)


def caution(text: str, stream: TextIO | None = None) -> str:
    return _paint(_CAUTION, text, stream)


def good(text: str, stream: TextIO | None = None) -> str:
    return _paint(_GOOD, text, stream)


def _paint(code: str, text: str, stream: TextIO | None) -> str:
    return f"{code}{text}{_RESET}" if text and enabled(stream) else text
