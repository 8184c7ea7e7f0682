"""Which window a proxy event goes to: the sweep in proxy/attach.py against the rule written out time by time."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gittracker.proxy.attach import PREFERRED, Span, attach

TIMES = [f"2026-06-01T10:{minute:02d}:00.000Z" for minute in range(12)]
times = st.sampled_from(TIMES)
spans = st.builds(
    Span,
    window_id=st.sampled_from([f"01J{n:023d}" for n in range(6)]),
    provider=st.sampled_from(["claude", "glm", "codex"]),
    opened=times,
    closed=times,
)


def by_the_rule(stamp: str, windows: list[Span]) -> str | None:
    """The window holding the time (opened <= t < closed): Claude first, then GLM, then the latest opened, then the
    larger id; None when none holds it."""
    holding = [span for span in windows if span.opened <= stamp < span.closed]
    if not holding:
        return None
    best = max(holding, key=lambda span: (PREFERRED.get(span.provider, 0), span.opened, span.window_id))
    return best.window_id


@given(st.lists(times, max_size=30).map(sorted), st.lists(spans, max_size=8))
def test_each_time_goes_to_the_window_the_rule_names(stamps: list[str], windows: list[Span]) -> None:
    got: list[str | None] = [None] * len(stamps)
    previous_end = 0
    for start, end, window_id in attach(stamps, windows):
        assert previous_end <= start < end <= len(stamps)  # runs in order, never empty, never overlapping
        got[start:end] = [window_id] * (end - start)
        previous_end = end
    assert got == [by_the_rule(stamp, windows) for stamp in stamps]
