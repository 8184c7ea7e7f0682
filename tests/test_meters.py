"""Windows measured on the meter a plan really has: weekly-only plans, a configured binding meter, the other
meters' deltas kept as facts, reset guards per meter, and records of the first schema still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.conftest import Sandbox


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


NOW = datetime(2026, 10, 4, 9, 0, tzinfo=UTC)


def at(minutes: float) -> dict[str, str]:
    return {"GIT_TRACKER_NOW": iso(NOW + timedelta(minutes=minutes))}


def test_a_weekly_only_codex_plan_opens_and_closes_a_window_on_the_weekly_meter(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--weekly", "37", env=at(0))
    tracked.commit()
    out = tracked.ok("end", "codex", "--weekly", "41.5", env=at(90))
    (closed,) = tracked.records("window-close")
    assert (closed["meter"], closed["delta"], closed["unit"], closed["other_deltas"]) == ("weekly", 4.5, "percent", {})
    assert "delta 4.5% of weekly" in out


def test_the_shortest_meter_both_readings_have_binds_and_the_others_are_kept(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10", "--weekly", "30", env=at(0))
    tracked.ok("end", "codex", "--used", "25", "--weekly", "33", env=at(60))
    (closed,) = tracked.records("window-close")
    assert (closed["meter"], closed["delta"], closed["other_deltas"]) == ("five_hour", 15, {"weekly": 3})


def test_an_after_without_the_five_hour_meter_binds_on_the_weekly_one(tracked: Sandbox) -> None:
    tracked.ok("start", "claude", "--used", "10", "--weekly", "30", env=at(0))
    tracked.ok("end", "claude", "--weekly", "32", env=at(60))
    (closed,) = tracked.records("window-close")
    assert (closed["meter"], closed["delta"], closed["other_deltas"]) == ("weekly", 2, {})


def test_an_after_sharing_no_meter_with_the_before_is_refused_and_writes_nothing(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--weekly", "37", env=at(0))
    done = tracked.tracker("end", "codex", "--used", "20", env=at(60))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "weekly 37%" in done.stderr and "one of those meters" in done.stderr
    assert tracked.records("window-close") == []


def test_the_configured_meter_binds_and_a_reading_without_it_is_refused(tracked: Sandbox) -> None:
    (tracked.path / ".git-tracker.toml").write_text('[capacity]\ncodex = "weekly"\n')
    refused = tracked.tracker("start", "codex", "--used", "10", env=at(0))
    assert refused.returncode == 2 and "capacity.codex is 'weekly'" in refused.stderr and "--weekly" in refused.stderr
    assert tracked.records() == []
    tracked.ok("start", "codex", "--used", "10", "--weekly", "30", env=at(0))
    tracked.ok("end", "codex", "--used", "25", "--weekly", "33", env=at(60))
    (closed,) = tracked.records("window-close")
    assert (closed["meter"], closed["delta"], closed["other_deltas"]) == ("weekly", 3, {"five_hour": 15})


def test_an_unknown_configured_meter_is_refused_in_one_line(tracked: Sandbox) -> None:
    (tracked.path / ".git-tracker.toml").write_text('[capacity]\ncodex = "hourly"\n')
    done = tracked.tracker("start", "codex", "--used", "10")
    assert done.returncode == 2 and "capacity.codex: expected five_hour, daily, weekly" in done.stderr
    assert done.stderr.count("\n") == 1


def test_the_reset_buffer_and_reset_detection_follow_the_binding_meter(tracked: Sandbox) -> None:
    # The 5-hour meter resets inside the window, the weekly one does not: a weekly-bound window keeps its delta
    # and the 5-hour delta beside it becomes unknown rather than negative.
    (tracked.path / ".git-tracker.toml").write_text('[capacity]\ncodex = "weekly"\n')
    five_resets = iso(NOW + timedelta(minutes=30))
    tracked.ok("start", "codex", "--used", "80", "--resets-at", five_resets, "--weekly", "30", env=at(0))
    tracked.ok("end", "codex", "--used", "5", "--weekly", "34", env=at(120))
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"], closed["other_deltas"]) == (4, [], {"five_hour": None})
    assert tracked.records("anomaly") == []


def test_a_weekly_reset_inside_a_weekly_window_leaves_its_delta_unknown(tracked: Sandbox) -> None:
    weekly_resets = iso(NOW + timedelta(minutes=30))
    tracked.ok("start", "codex", "--weekly", "90", "--weekly-resets-at", weekly_resets, env=at(0))
    later = at(33)
    refused = tracked.tracker("end", "codex", "--weekly", "2", env=later)
    assert refused.returncode == 1 and "weekly meter reset" in refused.stderr and "--force" in refused.stderr
    tracked.ok("end", "codex", "--weekly", "2", "--force", env=later)
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"], closed["notes"]) == (None, ["reset-inside-window"], ["late-after"])


def test_glm_still_counts_prompts_and_refuses_a_percent_by_default(tracked: Sandbox) -> None:
    done = tracked.tracker("start", "glm", "--used", "10")
    assert done.returncode == 2 and "--prompts N" in done.stderr
    tracked.ok("start", "glm", "--prompts", "100")
    tracked.ok("end", "glm", "--prompts", "130")
    (closed,) = tracked.records("window-close")
    assert (closed["meter"], closed["delta"], closed["unit"]) == ("prompts", 30, "prompts")


def test_a_window_opened_by_the_first_schema_closes_on_its_five_hour_meter(tracked: Sandbox) -> None:
    # An open window whose before was kept by a version without meters (state.json as that version wrote it).
    tracked.ok("start", "codex", "--used", "10", "--weekly", "30", env=at(0))
    state_path = tracked.path / ".git" / "tracker" / "agents" / "main" / "state.json"
    state = json.loads(state_path.read_text())
    del state["open"]["codex"]["before"]["meters"]
    state_path.write_text(json.dumps(state))
    tracked.ok("end", "codex", "--used", "14", "--weekly", "31", env=at(60))
    (closed,) = tracked.records("window-close")
    assert (closed["meter"], closed["delta"], closed["other_deltas"]) == ("five_hour", 4, {"weekly": 1})


def test_snapshots_carry_every_meter_and_the_first_schemas_fields(tracked: Sandbox) -> None:
    tracked.ok("snapshot", "codex", "--left", "64", "--weekly", "20", "--weekly-resets-at", iso(NOW))
    (snapshot,) = tracked.records("snapshot")
    assert snapshot["schema_version"] == 3
    assert snapshot["meters"] == {
        "five_hour": {"used": 36.0, "resets_at": None, "limit_id": None},
        "weekly": {"used": 20.0, "resets_at": iso(NOW).replace("Z", ".000Z"), "limit_id": None},
    }
    assert (snapshot["five_hour_used"], snapshot["weekly_used"]) == (36.0, 20.0)
    assert "5h 36%, weekly 20%" in tracked.ok("log")


def test_tokens_per_unit_are_compared_only_among_windows_on_the_same_meter() -> None:
    from gittracker import clock
    from gittracker.records import Record
    from gittracker.usage import divergent

    def close(meter: str, delta: float) -> Record:
        return Record.new(
            "window-close",
            source="cli",
            agent_id="main",
            machine="testmachinea",
            window_id=clock.new_id(),
            provider="codex",
            commit_start=None,
            commit_end=None,
            snapshot_id=clock.new_id(),
            opened_ts="2026-10-04T09:00:00Z",
            delta=delta,
            unit="percent",
            meter=meter,
            other_deltas={},
            errors=[],
            notes=[],
            feature_id=None,
            methodology=None,
            note=None,
        )

    # 10,000 tokens per percent of 5 hours, 100,000 per percent of a week: each meter is uniform on its own.
    closes = [close("five_hour", 10.0) for _ in range(3)] + [close("weekly", 1.0) for _ in range(3)]
    tokens = {record["window_id"]: 100_000 for record in closes}
    assert divergent(closes, tokens, 0.10) == []
    tokens[closes[0]["window_id"]] = 300_000  # one 5-hour window strays from the 5-hour median
    assert [item.window_id for item in divergent(closes, tokens, 0.10)] == [closes[0]["window_id"]]


def test_a_damaged_memory_of_earlier_readings_is_forgotten_not_a_crash() -> None:
    from gittracker.capacity import Reading
    from gittracker.midsnapshots import changed_readings

    fields = Reading.of(weekly_used=4.0, weekly_resets_at="2026-10-04T09:00:00.000Z").snapshot_fields()
    damaged = [["2026-10-04T08:00:00.000Z", {"meters": {"weekly": {"used": "x"}}}, True], ["x"], 7]
    written, remembered = changed_readings([("2026-10-04T08:30:00.000Z", fields)], damaged)
    assert written == [("2026-10-04T08:30:00.000Z", fields)]
    assert remembered == [["2026-10-04T08:30:00.000Z", fields, True]]
