"""Behaviour a user would not expect (issue 11), through the installed CLI: each test failed before its fix."""

from __future__ import annotations

import json
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


# -- undo of a start --------------------------------------------------------------------------------


def test_undo_of_a_start_brings_back_the_previous_reading(tracked: Sandbox) -> None:
    resets = "2026-06-01T15:00:00Z"
    tracked.ok("snapshot", "codex", "--used", "30", "--weekly", "12", "--resets-at", resets)
    before = json.loads(tracked.ok("status", "--json"))["readings"]["codex"]
    tracked.ok("start", "codex", "--used", "40")
    assert json.loads(tracked.ok("status", "--json"))["readings"]["codex"]["five_hour_used"] == 40
    tracked.ok("undo", "codex")
    assert json.loads(tracked.ok("status", "--json"))["readings"]["codex"] == before
    assert "last codex reading" in tracked.ok("status") and "5h 30%" in tracked.ok("status")
    # An end undone, then its start: back to the reading before the window.
    tracked.ok("start", "codex", "--used", "41")
    tracked.ok("end", "codex", "--used", "52")
    tracked.ok("undo", "codex", "--after")
    assert json.loads(tracked.ok("status", "--json"))["readings"]["codex"]["five_hour_used"] == 41
    tracked.ok("undo", "codex")
    assert json.loads(tracked.ok("status", "--json"))["readings"]["codex"] == before
    # With no reading before the start, there is nothing to go back to.
    tracked.ok("start", "claude", "--used", "5")
    tracked.ok("undo", "claude")
    assert "claude" not in json.loads(tracked.ok("status", "--json"))["readings"]
