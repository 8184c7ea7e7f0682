"""Text filled to a width, as ``textwrap.fill`` fills it, quickly for the common case.

A report over a large ledger wraps one line per overlapping window (tens of thousands); ``textwrap`` spends about
70 µs on each. Words separated by single spaces, none too long for a line, are filled here by the same greedy rule
in a few µs; any other text goes to ``textwrap`` itself, so the result is always the one it gives.
"""

from __future__ import annotations


def fill(text: str, width: int, first: str, rest: str) -> str:
    """``textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)``."""
    words = text.split(" ")
    if _simple(text, words, width - max(len(first), len(rest))):
        return _greedy(words, width, first, rest)
    import textwrap  # here: only text outside the simple case needs it

    return textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)


def _simple(text: str, words: list[str], room: int) -> bool:
    """Words between single spaces only (no other whitespace, none at either end), each fitting on any line:
    then textwrap neither rewrites whitespace nor breaks a word, and its greedy fill is the one below."""
    return (
        room > 0
        and bool(text)
        and text.split() == words  # splitting on any whitespace finds the same words: single spaces only
        and max(map(len, words)) <= room
    )


def _greedy(words: list[str], width: int, first: str, rest: str) -> str:
    lines = []
    line, limit = words[0], width - len(first)
    for word in words[1:]:
        if len(line) + 1 + len(word) <= limit:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line, limit = word, width - len(rest)
    lines.append(line)
    return "\n".join([first + lines[0], *(rest + line for line in lines[1:])])
