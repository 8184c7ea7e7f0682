"""gittracker.wrap fills text exactly as textwrap.fill does (the independent computation), on any text."""

from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from gittracker import wrap

WORDS = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=0, max_size=30)
SIMPLE_WORDS = st.text(alphabet="abcdefghij-,.:()=0123456789", min_size=1, max_size=25)
SPACES = st.sampled_from([" ", "  ", "\t", "\n", "\xa0", ""])
INDENTS = st.sampled_from(["", " ", "  ", "    ", "  - ", " " * 10])


def expected(text: str, width: int, first: str, rest: str) -> str:
    return textwrap.fill(text, width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)


@settings(max_examples=400)
@given(st.lists(SIMPLE_WORDS, min_size=1, max_size=40), st.integers(20, 100), INDENTS, INDENTS)
def test_words_between_single_spaces_fill_as_textwrap_does(words: list[str], width: int, first: str, rest: str) -> None:
    text = " ".join(words)
    assert wrap.fill(text, width, first, rest) == expected(text, width, first, rest)


@settings(max_examples=400)
@given(st.lists(st.one_of(WORDS, SPACES), max_size=30), st.integers(5, 90))
def test_any_text_fills_as_textwrap_does(parts: list[str], width: int) -> None:
    text = " ".join(parts)
    for first, rest in (("", ""), ("  ", "    "), ("  - ", "    ")):
        assert wrap.fill(text, width, first, rest) == expected(text, width, first, rest)


def test_an_overlap_line_wraps_at_80_columns() -> None:
    text = (
        "codex 0123456789ab (agent agent-07) overlaps 1111111111aa, 2222222222bb: "
        "left out: windows open at once share one meter (stats.overlap = exclude)"
    )
    filled = wrap.fill(text, 80, "  ", "    ")
    assert filled == expected(text, 80, "  ", "    ")
    assert filled.count("\n") == 1 and all(len(line) <= 80 for line in filled.splitlines())
