"""The window lifecycle through the real CLI: the issue's acceptance walk and every guard."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.conftest import Sandbox


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_acceptance_walkthrough(sandbox: Sandbox) -> None:
    sandbox.commit("README.md")
    branch_before = sandbox.git("symbolic-ref", "HEAD").strip()
    sandbox.ok("init")
    start_head = sandbox.head()
    sandbox.ok("start", "codex", "--used", "10")
    commits = [sandbox.commit() for _ in range(3)]
    sandbox.ok("end", "codex", "--used", "25")
    sandbox.ok("complete", "--outcome", "shipped", "--quality", "0.9")

    records = sandbox.records()
    kinds = [r["kind"] for r in records]
    assert kinds == ["snapshot", "window-open", "snapshot", "window-close", "completion"]
    before, opened, after, closed, done = records
    assert (before["phase"], before["five_hour_used"]) == ("before", 10)
    assert (after["phase"], after["five_hour_used"]) == ("after", 25)
    assert closed["delta"] == 15
    assert closed["errors"] == [] and closed["notes"] == []
    assert closed["commit_start"] == start_head == opened["commit_start"]
    assert closed["commit_end"] == commits[-1]
    assert {"methodology", "feature_id"} <= set(closed)
    assert done["window_id"] == opened["window_id"] == closed["window_id"]
    assert (done["outcome"], done["quality_score"]) == ("shipped", 0.9)
    for record in records:
        assert {"id", "kind", "ts", "schema_version", "tool_version", "source", "agent_id"} <= set(record)
        assert record["source"] == "cli" and record["agent_id"] == "main"
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)

    for commit in commits:
        lines = sandbox.note(commit)
        assert [line["id"] for line in lines] == [opened["window_id"]]
        assert lines[0]["provider"] == "codex" and lines[0]["v"] == 1
    assert sandbox.note(start_head) == []

    # The tool touched neither the work tree, the index, HEAD nor the branch.
    assert sandbox.git("status", "--porcelain") == ""
    assert sandbox.git("symbolic-ref", "HEAD").strip() == branch_before
    assert sandbox.head() == commits[-1]

    # Readable with plain git.
    listing = sandbox.git("ls-tree", "-r", "--name-only", "tracker-ledger").split()
    assert len(listing) == 5
    assert f"window-close/{closed['ts'][:4]}/{closed['ts'][5:7]}/{closed['ts'][8:10]}/{closed['id']}.json" in listing
    blob = json.loads(sandbox.git("cat-file", "-p", f"tracker-ledger:{listing[0]}"))
    assert blob["id"] in {r["id"] for r in records}


def test_second_start_is_refused_with_one_line(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    second = tracked.tracker("start", "codex", "--used", "12")
    assert second.returncode == 1
    assert len(second.stderr.strip().splitlines()) == 1
    assert "already open" in second.stderr
    assert len(tracked.records("window-open")) == 1
    # Another provider, or another agent, may open its own window meanwhile.
    tracked.ok("start", "claude", "--used", "3")
    tracked.ok("start", "codex", "--used", "10", env={"AGENT_ID": "agent-2"})


def test_negative_delta_is_null_with_an_anomaly(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "40")
    tracked.commit()
    tracked.ok("end", "codex", "--used", "30")
    (closed,) = tracked.records("window-close")
    assert closed["delta"] is None
    assert closed["errors"] == ["negative-delta"]
    (anomaly,) = tracked.records("anomaly")
    assert anomaly["code"] == "negative-delta" and anomaly["window_id"] == closed["window_id"]
    assert "negative-delta" in tracked.ok("anomalies")


def test_undo_voids_the_before_and_allows_a_new_start(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.ok("undo", "codex")
    voids = tracked.records("void")
    before, opened = tracked.records("snapshot")[0], tracked.records("window-open")[0]
    assert {v["target_id"] for v in voids} == {before["id"], opened["id"]}
    assert all(v["reason"] == "undo-before" for v in voids)
    tracked.ok("start", "codex", "--used", "11")
    assert len(tracked.records("window-open")) == 2
    assert tracked.tracker("undo", "claude").returncode == 1


def test_undo_after_reopens_the_window(tracked: Sandbox) -> None:
    tracked.ok("start", "claude", "--used", "10")
    tracked.commit()
    tracked.ok("end", "claude", "--used", "20")
    tracked.ok("undo", "claude", "--after")
    status = json.loads(tracked.ok("status", "--json"))
    (window,) = status["agents"]["main"]["open"]
    assert window["provider"] == "claude"
    tracked.commit()
    tracked.ok("end", "claude", "--used", "24")
    closes = tracked.records("window-close")
    assert len(closes) == 2 and closes[0]["window_id"] == closes[1]["window_id"]
    assert closes[1]["delta"] == 14
    voided = {v["target_id"] for v in tracked.records("void")}
    assert closes[0]["id"] in voided and closes[1]["id"] not in voided
    tracked.ok("complete", "--outcome", "partial", "--quality", "0.5")
    refused = tracked.tracker("undo", "claude", "--after")
    assert refused.returncode == 1 and "outcome" in refused.stderr


def test_end_without_start_and_complete_twice(tracked: Sandbox) -> None:
    assert tracked.tracker("end", "codex", "--used", "5").returncode == 1
    assert tracked.tracker("complete", "--outcome", "shipped", "--quality", "1").returncode == 1
    tracked.ok("start", "codex", "--used", "1")
    tracked.ok("end", "codex", "--used", "2")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "1")
    again = tracked.tracker("complete", "--outcome", "failed", "--quality", "0")
    assert again.returncode == 1 and "--replace" in again.stderr
    tracked.ok("complete", "--outcome", "failed", "--quality", "0", "--replace")
    completions = tracked.records("completion")
    assert [c["outcome"] for c in completions] == ["shipped", "failed"]
    assert [v["target_id"] for v in tracked.records("void")] == [completions[0]["id"]]


def test_complete_a_named_window_by_prefix(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "1")
    tracked.ok("end", "codex", "--used", "2")
    first = tracked.records("window-close")[0]["window_id"]
    tracked.ok("start", "claude", "--used", "1")
    tracked.ok("end", "claude", "--used", "9")
    tracked.ok("complete", first[:12], "--outcome", "partial", "--quality", "0.7", "--feature", "F-01")
    (done,) = tracked.records("completion")
    assert (done["window_id"], done["feature_id"]) == (first, "F-01")
    unknown = tracked.tracker("complete", "ZZZZZZZZZZ", "--outcome", "partial", "--quality", "0.7")
    assert unknown.returncode == 2


def test_glm_counts_prompts(tracked: Sandbox) -> None:
    assert tracked.tracker("start", "glm", "--used", "10").returncode == 2
    tracked.ok("start", "glm", "--prompts", "120", "--feature", "F-07", "--methodology", "tdd")
    tracked.ok("end", "glm", "--prompts", "180")
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["unit"]) == (60, "prompts")
    assert (closed["feature_id"], closed["methodology"]) == ("F-07", "tdd")


def test_left_is_stored_as_used(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--left", "64", "--weekly", "20")
    (before,) = tracked.records("snapshot")
    assert before["five_hour_used"] == 36 and before["weekly_used"] == 20


def test_reset_buffer_refuses_then_force_records_late_after(tracked: Sandbox) -> None:
    now = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    tracked.ok(
        "start",
        "codex",
        "--used",
        "50",
        "--resets-at",
        iso(now + timedelta(minutes=30)),
        env={"GIT_TRACKER_NOW": iso(now)},
    )
    later = {"GIT_TRACKER_NOW": iso(now + timedelta(minutes=32))}
    refused = tracked.tracker("end", "codex", "--used", "4", env=later)
    assert refused.returncode == 1 and "reset" in refused.stderr and "--force" in refused.stderr
    assert tracked.records("window-close") == []
    tracked.ok("end", "codex", "--used", "4", "--force", env=later)
    (closed,) = tracked.records("window-close")
    assert closed["notes"] == ["late-after"]
    assert closed["delta"] is None and closed["errors"] == ["reset-inside-window"]
    assert {a["code"] for a in tracked.records("anomaly")} == {"late-after", "reset-inside-window"}


def test_reset_inside_window_after_the_buffer(tracked: Sandbox) -> None:
    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    tracked.ok(
        "start",
        "claude",
        "--used",
        "70",
        "--resets-at",
        iso(now + timedelta(hours=1)),
        env={"GIT_TRACKER_NOW": iso(now)},
    )
    tracked.ok("end", "claude", "--used", "20", env={"GIT_TRACKER_NOW": iso(now + timedelta(hours=2))})
    (closed,) = tracked.records("window-close")
    assert closed["delta"] is None and closed["errors"] == ["reset-inside-window"] and closed["notes"] == []


def test_rolled_over_resets_at_marks_a_reset(tracked: Sandbox) -> None:
    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    env = {"GIT_TRACKER_NOW": iso(now)}
    tracked.ok("start", "claude", "--used", "10", "--resets-at", iso(now + timedelta(hours=4)), env=env)
    later = {"GIT_TRACKER_NOW": iso(now + timedelta(hours=1))}
    # The after's reset is a whole window later than the before's: the meter rolled over in between.
    tracked.ok("end", "claude", "--used", "30", "--force", "--resets-at", iso(now + timedelta(hours=9)), env=later)
    (closed,) = tracked.records("window-close")
    assert closed["errors"] == ["reset-inside-window"] and closed["delta"] is None


def test_no_reset_evidence_gives_a_plain_delta(tracked: Sandbox) -> None:
    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    resets = iso(now + timedelta(hours=4))
    tracked.ok("start", "claude", "--used", "10", "--resets-at", resets, env={"GIT_TRACKER_NOW": iso(now)})
    tracked.ok(
        "end", "claude", "--used", "30", "--resets-at", resets, env={"GIT_TRACKER_NOW": iso(now + timedelta(hours=1))}
    )
    (closed,) = tracked.records("window-close")
    assert closed["delta"] == 20 and closed["errors"] == []


def test_repository_with_no_commits(sandbox: Sandbox) -> None:
    sandbox.ok("init")
    sandbox.ok("start", "codex", "--used", "5")
    sandbox.ok("end", "codex", "--used", "6")
    (closed,) = sandbox.records("window-close")
    assert closed["commit_start"] is None and closed["commit_end"] is None and closed["delta"] == 1
    sandbox.ok("start", "codex", "--used", "6")
    first = sandbox.commit()
    sandbox.ok("end", "codex", "--used", "9")
    second = sandbox.records("window-close")[1]
    assert second["commit_start"] is None and second["commit_end"] == first
    assert sandbox.note(first)[0]["id"] == second["window_id"]


def test_detached_head(tracked: Sandbox) -> None:
    tracked.git("checkout", "-q", "--detach")
    start = tracked.head()
    tracked.ok("start", "codex", "--used", "5")
    commit = tracked.commit()
    tracked.ok("end", "codex", "--used", "7")
    (closed,) = tracked.records("window-close")
    assert (closed["commit_start"], closed["commit_end"]) == (start, commit)
    assert tracked.note(commit)[0]["id"] == closed["window_id"]


def test_snapshot_status_and_log_filters(tracked: Sandbox) -> None:
    tracked.ok("snapshot", "codex", "--used", "12", "--weekly", "40")
    tracked.ok("start", "claude", "--used", "3")
    tracked.ok("snapshot", "claude", "--used", "5")
    mids = tracked.records("snapshot")
    assert mids[0]["window_id"] is None and mids[0]["phase"] == "mid"
    assert mids[2]["window_id"] == tracked.records("window-open")[0]["window_id"]
    status = json.loads(tracked.ok("status", "--json"))
    assert status["readings"]["codex"]["weekly_used"] == 40
    assert status["agents"]["main"]["open"][0]["provider"] == "claude"
    assert "claude window" in tracked.ok("status")
    claude_only = tracked.ok("log", "--json", "--provider", "claude").splitlines()
    assert len(claude_only) == 3 and all(json.loads(line)["provider"] == "claude" for line in claude_only)
    assert tracked.ok("log", "--since", "2999-01-01") == "no records match --since 2999-01-01\n"
    assert tracked.ok("log", "--json", "--since", "2999-01-01") == ""
    assert tracked.tracker("snapshot", "codex", "--phase", "before", "--used", "1").returncode == 2


def test_undo_after_voids_the_closes_anomalies_and_its_reading(tracked: Sandbox) -> None:
    tracked.ok("start", "claude", "--used", "50")
    tracked.ok("end", "claude", "--used", "40")  # a misread after: negative delta and an anomaly
    (anomaly,) = tracked.records("anomaly")
    assert json.loads(tracked.ok("status", "--json"))["readings"]["claude"]["five_hour_used"] == 40
    tracked.ok("undo", "claude", "--after")
    assert anomaly["id"] in {v["target_id"] for v in tracked.records("void")}
    assert json.loads(tracked.ok("status", "--json"))["readings"]["claude"]["five_hour_used"] == 50
    tracked.ok("end", "claude", "--used", "60")
    assert tracked.records("window-close")[-1]["delta"] == 10


def test_a_reading_without_reset_time_keeps_the_known_one(tracked: Sandbox) -> None:
    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    tracked.ok(
        "snapshot",
        "claude",
        "--used",
        "60",
        "--resets-at",
        iso(now + timedelta(minutes=30)),
        env={"GIT_TRACKER_NOW": iso(now)},
    )
    tracked.ok("start", "claude", "--used", "65", env={"GIT_TRACKER_NOW": iso(now + timedelta(minutes=5))})
    tracked.ok("end", "claude", "--used", "10", env={"GIT_TRACKER_NOW": iso(now + timedelta(hours=1))})
    (closed,) = tracked.records("window-close")
    assert closed["errors"] == ["reset-inside-window"]  # not negative-delta: the reset was known
