"""Behaviour a user would not expect (issue 11), through the installed CLI: each test failed before its fix."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import Sandbox


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- complete with a window open -------------------------------------------------------------------


def test_complete_without_a_window_is_refused_while_one_is_open(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.ok("end", "codex", "--used", "20")
    closed = tracked.records("window-close")[0]["window_id"]
    tracked.ok("start", "claude", "--used", "5")
    opened = tracked.records("window-open")[-1]["window_id"]
    refused = tracked.tracker("complete", "--outcome", "shipped", "--quality", "0.9")
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert opened in refused.stderr and "git tracker end claude" in refused.stderr and "WINDOW" in refused.stderr
    assert tracked.records("completion") == []
    tracked.ok("complete", closed[:10], "--outcome", "shipped", "--quality", "0.9")  # named: what the user meant
    (done,) = tracked.records("completion")
    assert done["window_id"] == closed
