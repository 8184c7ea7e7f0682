"""Behaviour a user would not expect (issue 11), through the installed CLI: each test failed before its fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import Sandbox
from tests.test_ingest import assistant_line, usage


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


# -- a reset time already past ----------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)


def at(minutes: float) -> dict[str, str]:
    return {"GIT_TRACKER_NOW": iso(NOW + timedelta(minutes=minutes))}


def test_a_typed_reset_time_already_past_warns_and_counts_as_a_reset(tracked: Sandbox) -> None:
    started = tracked.tracker("start", "codex", "--used", "20", "--resets-at", iso(NOW - timedelta(hours=1)), env=at(0))
    assert started.returncode == 0
    (warning,) = started.stderr.strip().splitlines()
    assert warning.startswith("git-tracker: warning: --resets-at ") and "already past" in warning
    assert "UTC" in warning  # the usual cause: a local time typed without its zone
    known = json.loads(tracked.ok("status", "--json"))["readings"]["codex"]["known_resets"]
    assert known["five_hour"].startswith(iso(NOW - timedelta(hours=1))[:19])
    weekly = tracked.tracker(
        "snapshot", "claude", "--weekly", "30", "--weekly-resets-at", iso(NOW - timedelta(days=1)), env=at(1)
    )
    assert weekly.returncode == 0 and "--weekly-resets-at" in weekly.stderr and "already past" in weekly.stderr
    future = tracked.tracker(
        "snapshot", "claude", "--used", "3", "--resets-at", iso(NOW + timedelta(hours=2)), env=at(1)
    )
    assert future.returncode == 0 and future.stderr == ""


def test_start_inside_the_reset_buffer_of_a_typed_reset_is_refused(tracked: Sandbox) -> None:
    refused = tracked.tracker(
        "start", "claude", "--used", "1", "--resets-at", iso(NOW - timedelta(minutes=2)), env=at(0)
    )
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert "reset" in refused.stderr and "unreliable" in refused.stderr
    assert tracked.records("window-open") == [] and tracked.records("snapshot") == []
    # The same evidence from an earlier reading counts too, as it does for `end`.
    tracked.ok("snapshot", "claude", "--used", "90", "--resets-at", iso(NOW + timedelta(minutes=10)), env=at(0))
    assert tracked.tracker("start", "claude", "--used", "2", env=at(12)).returncode == 1
    tracked.ok("start", "claude", "--used", "2", env=at(16))  # after the buffer


def test_an_after_reading_showing_a_reset_inside_the_window_leaves_the_delta_unknown(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10", env=at(0))
    ended = tracked.tracker("end", "codex", "--used", "30", "--resets-at", iso(NOW + timedelta(minutes=30)), env=at(60))
    assert ended.returncode == 0 and "already past" in ended.stderr
    (closed,) = tracked.records("window-close")
    assert closed["delta"] is None and closed["errors"] == ["reset-inside-window"]


# -- checkpoint tokens ------------------------------------------------------------------------------


def test_checkpoint_records_the_tokens_ingest_attributed_to_the_window(tracked: Sandbox, tmp_path: Path) -> None:
    tracked.ok("start", "claude", "--used", "10", env=at(0))
    tracked.commit()
    tracked.ok("end", "claude", "--used", "20", env=at(30))
    window = tracked.records("window-close")[0]["window_id"]
    nothing_yet = json.loads(tracked.ok("checkpoint", "--phase", "final", "--json", env=at(31)))
    assert nothing_yet["tokens"] is None  # nothing ingested: unknown, not 0
    inside = [usage(1200, 300, cc=50, cr=4000), usage(700, 90)]
    log = tmp_path / "claude" / "projects" / "-w-p" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(
        assistant_line(NOW + timedelta(minutes=5), "m1", "r1", inside[0])
        + assistant_line(NOW + timedelta(minutes=20), "m2", "r2", inside[1])
        + assistant_line(NOW + timedelta(hours=2), "m3", "r3", usage(999, 999))  # after the window
    )
    tracked.ok("ingest", "claude-logs", "--dir", str(tmp_path / "claude"), env=at(180))
    expected = sum(sum(counts.values()) for counts in inside)
    done = json.loads(tracked.ok("checkpoint", "--phase", "final", "--window", window[:10], "--json", env=at(181)))
    assert done["tokens"] == expected
    stored = tracked.records("checkpoint")
    assert [c["tokens"] for c in stored] == [None, expected]
    csv_rows = tracked.ok("export", "token-churn").splitlines()
    assert csv_rows[-1].split(",")[csv_rows[0].split(",").index("tokens")] == str(expected)


# -- HALTED in status -------------------------------------------------------------------------------


def test_status_shows_the_providers_preview_shows_halted(tracked: Sandbox) -> None:
    for before, after in ((10, 20), (30, 20), (40, 30)):  # two negative deltas in three windows
        tracked.ok("start", "codex", "--used", str(before))
        tracked.ok("end", "codex", "--used", str(after))
        tracked.ok("complete", "--outcome", "shipped", "--quality", "1")
    reason = json.loads(tracked.ok("preview", "--json"))["providers"]["codex"]["halted"]
    assert reason and reason.startswith("2 negative-delta anomalies in 3 windows")
    assert json.loads(tracked.ok("status", "--json"))["halts"] == {"codex": reason}
    text = tracked.ok("status")
    assert f"codex is HALTED: {reason}" in text and "git tracker resume codex" in text
    tracked.ok("resume", "codex")
    assert json.loads(tracked.ok("status", "--json"))["halts"] == {}
    assert "HALTED" not in tracked.ok("status")


# -- log: voided records, and no match --------------------------------------------------------------


def test_log_marks_voided_records_in_text_and_keeps_json_as_stored(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.ok("undo", "codex")
    tracked.ok("start", "codex", "--used", "11")
    voids = {v["target_id"]: v for v in tracked.records("void")}
    lines = tracked.ok("log").splitlines()
    records = tracked.records()
    assert len(lines) == len(records)
    for line, record in zip(lines, records, strict=True):
        void = voids.get(record["id"])
        if void is None:
            assert "[voided" not in line, line
        else:
            assert line.endswith(f"[voided by {void['id']}: undo-before]"), line
    # Only snapshots asked for: the voids are still what marks them.
    snapshots = tracked.ok("log", "--kind", "snapshot").splitlines()
    assert [line.endswith("undo-before]") for line in snapshots] == [True, False]
    for line in tracked.ok("log", "--json").splitlines():
        assert "voided" not in json.loads(line)  # as stored: nothing added


def test_log_with_no_match_says_so_and_json_prints_nothing(tracked: Sandbox) -> None:
    assert tracked.ok("log").strip() == "no records yet"
    tracked.ok("start", "codex", "--used", "10")
    assert tracked.ok("log", "--since", "2999-01-01").strip() == "no records match --since 2999-01-01"
    none = tracked.ok("log", "--kind", "anomaly", "--provider", "glm").strip()
    assert none == "no records match --kind anomaly --provider glm"
    assert tracked.ok("log", "--json", "--since", "2999-01-01") == ""
