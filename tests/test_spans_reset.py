"""Windows whose meter reset while they were open (issue 13): with readings on both sides of the reset, the delta is
the sum of the segments around it, kept (``spans-reset``) when the time no reading saw before the reset is short,
else unknown (``reset-inside-window``) as before. Through the real CLI, and the segment arithmetic against a
simulated meter."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gittracker import segments
from gittracker.capacity import Reading
from tests.conftest import Sandbox, tracker_command

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
FIVE_HOURS = timedelta(hours=5)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def at(minutes: float) -> dict[str, str]:
    return {"GIT_TRACKER_NOW": iso(NOW + timedelta(minutes=minutes))}


@dataclass(frozen=True)
class Typed:
    """One reading as typed: minutes after NOW, percent used, and the reset time it shows (minutes after NOW)."""

    minute: float
    used: float
    resets: float | None = None

    def options(self) -> list[str]:
        shown = [] if self.resets is None else ["--resets-at", iso(NOW + timedelta(minutes=self.resets))]
        return ["--used", f"{self.used:g}", *shown]


def run_window(box: Sandbox, readings: list[Typed], *extra: str) -> dict[str, Any]:
    """start with the first reading, a mid snapshot for each one between, end with the last; ``end --json``."""
    first, *mids, last = readings
    box.ok("start", "claude", *first.options(), env=at(first.minute))
    for reading in mids:
        box.ok("snapshot", "claude", *reading.options(), env=at(reading.minute))
    ended: dict[str, Any] = json.loads(box.ok("end", "claude", *last.options(), *extra, "--json", env=at(last.minute)))
    return ended


def by_increments(values: list[float], reset_after: set[int]) -> float:
    """The window's consumption pair by pair: the rise between two readings, or the later value alone when the meter
    restarted from zero between them (``reset_after``: indexes of the readings a reset follows)."""
    total = 0.0
    for index in range(1, len(values)):
        total += values[index] if index - 1 in reset_after else values[index] - values[index - 1]
    return total


def anomaly_codes(box: Sandbox) -> list[str]:
    return sorted(record["code"] for record in box.records("anomaly"))


# -- the acceptance ------------------------------------------------------------------------------------

# The meter resets at minute 60; the readings 1 minute either side of it see 70 % and then 4 %.
AROUND_A_RESET = [
    Typed(0, 30, resets=60),
    Typed(30, 45, resets=60),
    Typed(59, 70, resets=60),
    Typed(61, 4, resets=360),
    Typed(90, 12, resets=360),
]


def test_readings_a_minute_either_side_of_a_reset_give_the_segmented_delta(tracked: Sandbox) -> None:
    ended = run_window(tracked, AROUND_A_RESET)
    expected = by_increments([r.used for r in AROUND_A_RESET], reset_after={2})
    assert expected == (70 - 30) + 12 == 52
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"], closed["notes"]) == (expected, [], ["spans-reset"])
    assert (ended["delta"], ended["notes"]) == (expected, ["spans-reset"])
    assert ended["resets"] == [
        {
            "at": iso(NOW + timedelta(minutes=60)),
            "last_before_ts": iso(NOW + timedelta(minutes=59)),
            "first_after_ts": iso(NOW + timedelta(minutes=61)),
            "uncovered_minutes": 1.0,
        }
    ]
    (anomaly,) = tracked.records("anomaly")
    assert anomaly["code"] == "spans-reset" and anomaly["window_id"] == closed["window_id"]
    assert "1 min unseen" in anomaly["detail"] and "a lower bound" in anomaly["detail"]


def test_the_text_of_end_says_the_delta_spans_a_reset(tracked: Sandbox) -> None:
    *opening, last = AROUND_A_RESET
    tracked.ok("start", "claude", *opening[0].options(), env=at(opening[0].minute))
    for reading in opening[1:]:
        tracked.ok("snapshot", "claude", *reading.options(), env=at(reading.minute))
    out = tracked.ok("end", "claude", *last.options(), env=at(last.minute))
    assert "delta 52% of 5h" in out and "notes: spans-reset" in out and "a lower bound" in out


def test_twenty_unseen_minutes_before_the_reset_leave_the_delta_unknown(tracked: Sandbox) -> None:
    readings = [Typed(0, 30, resets=60), Typed(40, 70, resets=60), Typed(61, 4, resets=360), Typed(90, 12)]
    ended = run_window(tracked, readings)
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"], closed["notes"]) == (None, ["reset-inside-window"], [])
    assert ended["resets"][0]["uncovered_minutes"] == 20.0
    (anomaly,) = tracked.records("anomaly")
    assert anomaly["code"] == "reset-inside-window" and "20 min unseen" in anomaly["detail"]


def test_the_gap_limit_is_auto_reset_gap_minutes(tracked: Sandbox) -> None:
    settings_file = tracked.path / ".git-tracker.toml"
    settings_file.write_text(settings_file.read_text().replace("reset_gap_minutes = 2", "reset_gap_minutes = 30"))
    readings = [Typed(0, 30, resets=60), Typed(40, 70, resets=60), Typed(61, 4, resets=360), Typed(90, 12)]
    run_window(tracked, readings)
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["notes"]) == ((70 - 30) + 12, ["spans-reset"])


def test_a_fall_of_the_used_percent_with_no_reset_time_is_a_reset_between_the_two_readings(tracked: Sandbox) -> None:
    readings = [Typed(0, 30), Typed(10, 50), Typed(20, 80), Typed(21, 3), Typed(40, 10)]
    ended = run_window(tracked, readings)
    expected = by_increments([r.used for r in readings], reset_after={2})
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["notes"], expected) == (expected, ["spans-reset"], (80 - 30) + 10)
    # When it reset is unknown: all the time between the two readings counts as unseen.
    assert ended["resets"] == [
        {
            "at": None,
            "last_before_ts": iso(NOW + timedelta(minutes=20)),
            "first_after_ts": iso(NOW + timedelta(minutes=21)),
            "uncovered_minutes": 1.0,
        }
    ]


def test_a_fall_between_readings_five_minutes_apart_leaves_the_delta_unknown(tracked: Sandbox) -> None:
    # Without mid readings such a window was negative-delta; seen as a reset it is reset-inside-window.
    run_window(tracked, [Typed(0, 30), Typed(20, 80), Typed(25, 3), Typed(40, 10)])
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"]) == (None, ["reset-inside-window"])
    assert anomaly_codes(tracked) == ["reset-inside-window"]


def test_two_resets_inside_one_window(tracked: Sandbox) -> None:
    readings = [
        Typed(0, 10, resets=60),
        Typed(59, 50, resets=60),
        Typed(61, 2, resets=360),
        Typed(200, 60),
        Typed(359.5, 90),
        Typed(361, 1, resets=660),
        Typed(400, 5, resets=660),
    ]
    ended = run_window(tracked, readings)
    expected = by_increments([r.used for r in readings], reset_after={1, 4})
    assert expected == (50 - 10) + 90 + 5
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["notes"]) == (expected, ["spans-reset"])
    assert [(r["at"], r["uncovered_minutes"]) for r in ended["resets"]] == [
        (iso(NOW + timedelta(minutes=60)), 1.0),
        (iso(NOW + timedelta(minutes=360)), 0.5),
    ]


def test_a_reset_seen_by_no_two_readings_of_the_window_stays_unknown(tracked: Sandbox) -> None:
    """Mid readings that are all before the reset: the after is the first reading past it, and the last mid the
    last before it; 30 unseen minutes are too many."""
    readings = [Typed(0, 30, resets=60), Typed(30, 45), Typed(90, 12)]
    run_window(tracked, readings)
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"]) == (None, ["reset-inside-window"])


def test_a_window_without_mid_readings_is_measured_as_before(tracked: Sandbox) -> None:
    run_window(tracked, [Typed(0, 70, resets=60), Typed(61.5, 4)], "--force")
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"], closed["notes"]) == (None, ["reset-inside-window"], ["late-after"])
    tracked.ok("start", "claude", "--used", "10", env=at(70))
    tracked.ok("end", "claude", "--used", "4", env=at(80))
    assert tracked.records("window-close")[-1]["errors"] == ["negative-delta"]


def test_the_reset_buffer_still_refuses_an_after_right_after_the_reset(tracked: Sandbox) -> None:
    first, *mids, _ = AROUND_A_RESET
    tracked.ok("start", "claude", *first.options(), env=at(first.minute))
    for reading in mids:
        tracked.ok("snapshot", "claude", *reading.options(), env=at(reading.minute))
    refused = tracked.tracker("end", "claude", "--used", "6", env=at(63))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert tracked.records("window-close") == []
    tracked.ok("end", "claude", "--used", "6", "--force", env=at(63))
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["notes"]) == ((70 - 30) + 6, ["late-after", "spans-reset"])
    assert anomaly_codes(tracked) == ["late-after", "spans-reset"]


def test_a_snapshot_of_another_provider_leaves_the_window_alone(tracked: Sandbox) -> None:
    tracked.ok("start", "claude", "--used", "30", "--resets-at", iso(NOW + timedelta(minutes=60)), env=at(0))
    tracked.ok("snapshot", "codex", "--used", "90", env=at(59))
    tracked.ok("snapshot", "codex", "--used", "1", env=at(61))
    tracked.ok("end", "claude", "--used", "12", env=at(90))
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"]) == (None, ["reset-inside-window"])


def test_an_automatic_window_is_measured_across_a_reset_the_same_way(tracked: Sandbox) -> None:
    """A Claude session's hooks: its Stop readings a minute either side of the reset (from the status line) are
    the window's mid readings."""
    from tests.test_autocapture import CLAUDE_SESSION, T0, claude_payload, hook

    def status_line(used: float, resets: float, minutes: float) -> None:
        payload = {
            "session_id": CLAUDE_SESSION,
            "cwd": str(tracked.path),
            "model": {"id": "claude-opus", "display_name": "Opus"},
            "rate_limits": {
                "five_hour": {"used_percentage": used, "resets_at": int((T0 + timedelta(minutes=resets)).timestamp())}
            },
        }
        env = {**os.environ, "GIT_TRACKER_NOW": iso(T0 + timedelta(minutes=minutes))}
        done = subprocess.run(
            [*tracker_command(), "statusline"], cwd=tracked.path, input=json.dumps(payload), text=True, env=env
        )
        assert done.returncode == 0

    # A turn at least every 20 minutes: the session is never idle (auto.idle_minutes).
    events = [(0, "SessionStart", 30, 60), (20, "Stop", 45, 60), (40, "Stop", 60, 60), (59, "Stop", 70, 60)]
    events += [(61, "Stop", 4, 360), (80, "Stop", 8, 360), (90, "SessionEnd", 12, 360)]
    for minutes, event, used, resets in events:
        status_line(used, resets, minutes)
        hook(tracked, "claude", event, claude_payload(tracked, event), minutes)
    snapshots = [(s["phase"], s["five_hour_used"]) for s in tracked.records("snapshot")]
    assert snapshots == [("before", 30), *[("mid", used) for used in (45, 60, 70, 4, 8)], ("after", 12)]
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"], closed["notes"]) == ((70 - 30) + 12, [], ["spans-reset"])


# -- local state: small, rebuilt from the ledger, older files still read --------------------------------------


def state_file(box: Sandbox, agent: str = "main") -> Path:
    return box.path / ".git" / "tracker" / "agents" / agent / "state.json"


def open_window(box: Sandbox) -> dict[str, Any]:
    window: dict[str, Any] = json.loads(state_file(box).read_text())["open"]["claude"]
    return window


def test_the_state_rebuilt_from_the_ledger_gives_the_same_delta(tracked: Sandbox) -> None:
    *opening, last = AROUND_A_RESET
    tracked.ok("start", "claude", *opening[0].options(), env=at(opening[0].minute))
    for reading in opening[1:]:
        tracked.ok("snapshot", "claude", *reading.options(), env=at(reading.minute))
    kept = open_window(tracked)
    assert kept[segments.KEY]["five_hour"]["mids"] == 3
    state_file(tracked).write_text("{damaged")
    fixed = json.loads(tracked.ok("doctor", "--fix", "--json"))
    assert fixed["fixed"] and open_window(tracked)[segments.KEY] == kept[segments.KEY]
    tracked.ok("end", "claude", *last.options(), env=at(last.minute))
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["notes"]) == (52, ["spans-reset"])


def test_the_state_does_not_grow_with_readings_without_resets(tracked: Sandbox) -> None:
    tracked.ok("start", "claude", "--used", "1", "--resets-at", iso(NOW + timedelta(hours=4)), env=at(0))
    sizes = []
    for number in range(1, 9):
        tracked.ok("snapshot", "claude", "--used", str(1 + number), env=at(number))
        sizes.append(len(state_file(tracked).read_text()))
    assert len(set(sizes)) == 1, sizes
    tracked.ok("end", "claude", "--used", "20", env=at(20))
    assert tracked.records("window-close")[0]["delta"] == 19


def test_a_state_written_before_segments_still_loads_and_ends_as_before(tracked: Sandbox) -> None:
    first, *mids, last = AROUND_A_RESET
    tracked.ok("start", "claude", *first.options(), env=at(first.minute))
    for reading in mids:
        tracked.ok("snapshot", "claude", *reading.options(), env=at(reading.minute))
    state = json.loads(state_file(tracked).read_text())
    del state["open"]["claude"][segments.KEY]
    state_file(tracked).write_text(json.dumps(state))
    assert "claude" in tracked.ok("status")
    tracked.ok("end", "claude", *last.options(), env=at(last.minute))
    (closed,) = tracked.records("window-close")
    assert (closed["delta"], closed["errors"]) == (None, ["reset-inside-window"])


def test_undoing_the_end_keeps_the_window_s_readings(tracked: Sandbox) -> None:
    run_window(tracked, AROUND_A_RESET)
    tracked.ok("undo", "claude", "--after", env=at(91))
    tracked.ok("end", "claude", "--used", "15", env=at(92))
    closes = tracked.records("window-close")
    assert closes[-1]["delta"] == (70 - 30) + 15 and closes[-1]["notes"] == ["spans-reset"]


# -- preview ------------------------------------------------------------------------------------------------


def test_preview_counts_windows_across_a_reset_and_keeps_them_in_the_statistics(tracked: Sandbox) -> None:
    run_window(tracked, AROUND_A_RESET)
    tracked.ok("complete", "--outcome", "shipped", "--quality", "1", env=at(91))
    tracked.ok("start", "claude", "--used", "12", env=at(100))
    tracked.ok("end", "claude", "--used", "20", env=at(110))
    tracked.ok("complete", "--outcome", "shipped", "--quality", "1", env=at(111))
    report = json.loads(tracked.ok("preview", "--json", env=at(112)))["providers"]["claude"]
    assert (report["spans_reset"], report["windows"], report["n"]) == (1, 2, 2)
    assert report["capacity_used"] == 52 + 8
    text = " ".join(tracked.ok("preview", env=at(112)).split())  # lines are wrapped at 80 columns
    assert "1 window across a reset (spans-reset: delta a lower bound)" in text


def test_a_window_across_a_reset_is_not_apportioned_with_the_windows_it_overlaps(tracked: Sandbox) -> None:
    """Its before and after are no difference a group's one consumption could be taken from, even when the after
    is the higher (no reset time shown, the fall seen only between its mid readings)."""
    settings_file = tracked.path / ".git-tracker.toml"
    settings_file.write_text(settings_file.read_text().replace('overlap = "exclude"', 'overlap = "apportion"'))
    a, b = {"AGENT_ID": "a"}, {"AGENT_ID": "b"}
    run_window_as = [("start", 0, "10"), ("snapshot", 59, "50"), ("snapshot", 60, "2")]
    for command, minute, used in run_window_as:
        tracked.ok(command, "claude", "--used", used, env={**at(minute), **a})
    tracked.ok("start", "claude", "--used", "10", env={**at(70), **b})
    tracked.ok("end", "claude", "--used", "20", env={**at(80), **b})
    tracked.ok("end", "claude", "--used", "30", env={**at(90), **a})
    closes = {close["agent_id"]: close for close in tracked.records("window-close")}
    assert (closes["a"]["delta"], closes["a"]["notes"]) == ((50 - 10) + 30, ["spans-reset"])
    overlaps = json.loads(tracked.ok("preview", "--json", env=at(91)))["overlaps"]
    assert overlaps["apportioned"] == []
    reasons = {entry["agent_id"]: entry["reason"] for entry in overlaps["excluded"]}
    assert set(reasons) == {"a", "b"}
    assert all(f"a reset inside the group (window {closes['a']['window_id']})" in r for r in reasons.values())


# -- the segment arithmetic against a simulated meter ---------------------------------------------------------


@dataclass(frozen=True)
class Meter:
    """A 5-hour meter that resets every 300 minutes from ``first_reset``, and what was used when."""

    first_reset: int
    uses: tuple[tuple[int, int], ...]  # (minute, percent)

    def resets(self, start: int, end: int) -> list[int]:
        """Reset minutes in (start, end]."""
        found, moment = [], self.first_reset
        while moment <= end:
            if moment > start:
                found.append(moment)
            moment += 300
        return found

    def next_reset(self, minute: int) -> int:
        moment = self.first_reset
        while moment <= minute:
            moment += 300
        return moment

    def used_at(self, minute: int) -> int:
        """What the meter shows: the use since its last reset (a use at the reset's own minute is lost with it)."""
        last = self.next_reset(minute) - 300
        return sum(amount for when, amount in self.uses if last < when <= minute)

    def used_between(self, start: float, end: float) -> int:
        return sum(amount for when, amount in self.uses if start < when <= end)


@st.composite
def simulations(draw: st.DrawFn, max_gap: int = 400) -> tuple[Meter, list[int], list[bool]]:
    minutes = [draw(st.integers(0, 30))]
    for _ in range(draw(st.integers(2, 8))):
        minutes.append(minutes[-1] + draw(st.integers(1, max_gap)))
    uses = draw(st.lists(st.tuples(st.integers(0, minutes[-1]), st.integers(0, 2)), max_size=40))
    meter = Meter(draw(st.integers(1, 300)), tuple(uses))
    shown = draw(st.lists(st.booleans(), min_size=len(minutes), max_size=len(minutes)))
    return meter, minutes, shown


def shown_reset(meter: Meter, minute: int, show: bool) -> str | None:
    return iso(NOW + timedelta(minutes=meter.next_reset(minute))) if show else None


def measured(meter: Meter, minutes: list[int], shown: list[bool]) -> segments.Segmented:
    def reading(minute: int, show: bool) -> Reading:
        return Reading.of(five_hour_used=meter.used_at(minute), resets_at=shown_reset(meter, minute, show))

    first, *mids, last = [(NOW + timedelta(minutes=m), reading(m, s)) for m, s in zip(minutes, shown, strict=True)]
    tracks = segments.replayed(first[1], first[0], mids)
    found = segments.measure(tracks["five_hour"], last[1], "five_hour", last[0])
    assert found is not None
    return found


@given(simulations())
def test_the_segmented_delta_is_a_lower_bound_of_what_was_used(drawn: tuple[Meter, list[int], list[bool]]) -> None:
    meter, minutes, shown = drawn
    found = measured(meter, minutes, shown)
    assert 0 <= found.delta <= meter.used_between(minutes[0], minutes[-1])


@given(simulations())
def test_with_every_reset_time_shown_the_delta_misses_exactly_the_use_before_each_reset(
    drawn: tuple[Meter, list[int], list[bool]],
) -> None:
    meter, minutes, _ = drawn
    found = measured(meter, minutes, [True] * len(minutes))
    pairs = list(itertools.pairwise(minutes))
    with_resets = [(start, end, meter.resets(start, end)) for start, end in pairs if meter.resets(start, end)]
    values = [meter.used_at(minute) for minute in minutes]
    reset_after = {index for index, (start, end) in enumerate(pairs) if meter.resets(start, end)}
    assert found.delta == by_increments([float(v) for v in values], reset_after)
    unseen = sum(meter.used_between(start, resets[-1]) for start, _, resets in with_resets)
    assert meter.used_between(minutes[0], minutes[-1]) - found.delta == unseen
    assert len(found.resets) == len(with_resets)
    for reset, (start, end, instants) in zip(found.resets, with_resets, strict=True):
        # One reset between readings at most a window apart: its instant is known; else all the time between them
        # is unseen (the meter may have reset more than once).
        last_seen = instants[0] if len(instants) == 1 and end - start <= 300 else end
        assert reset.uncovered == timedelta(minutes=last_seen - start)
        assert meter.used_between(start, instants[-1]) <= meter.used_between(start, start + reset.uncovered_minutes())


@given(simulations(), st.integers(0, 3))
def test_the_state_kept_is_the_state_replayed(drawn: tuple[Meter, list[int], list[bool]], cut: int) -> None:
    """What snapshot keeps, one reading at a time, through its JSON form, equals what the ledger rebuilds."""
    meter, minutes, shown = drawn
    readings = [
        (NOW + timedelta(minutes=m), Reading.of(five_hour_used=meter.used_at(m), resets_at=shown_reset(meter, m, s)))
        for m, s in zip(minutes, shown, strict=True)
    ]
    (opened, before), *mids = readings
    kept = segments.start(before, opened)
    for moment, reading in mids[: cut + 1]:
        stored = segments.tracks_of(json.loads(json.dumps(segments.to_state(kept))))
        assert stored == kept
        kept = segments.with_reading(stored, reading, moment)
    assert kept == segments.replayed(before, opened, mids[: cut + 1])


# -- through the CLI, random windows against the same meter -------------------------------------------------------


def fresh_repository(root: Path) -> Sandbox:
    root.mkdir(parents=True)
    box = Sandbox(root)
    box.git("init", "-q")
    box.commit("README.md")
    box.ok("init")
    return box


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(simulations(max_gap=40))
def test_end_through_the_cli_agrees_with_the_simulated_meter(
    tmp_path_factory: pytest.TempPathFactory, drawn: tuple[Meter, list[int], list[bool]]
) -> None:
    meter, minutes, _ = drawn
    last_reset = max(meter.resets(minutes[0], minutes[-1]), default=None)
    # The after is taken outside the reset buffer (5 minutes), as end requires without --force.
    assume(last_reset is None or minutes[-1] - last_reset >= 5)
    box = fresh_repository(tmp_path_factory.mktemp("cli") / "repo")
    readings = [Typed(m, meter.used_at(m), resets=meter.next_reset(m)) for m in minutes]
    ended = run_window(box, readings)
    pairs = list(itertools.pairwise(minutes))
    reset_after = {index for index, (start, end) in enumerate(pairs) if meter.resets(start, end)}
    gaps = [meter.resets(start, end)[0] - start for start, end in pairs if meter.resets(start, end)]
    if not reset_after:
        assert (ended["delta"], ended["notes"]) == (meter.used_at(minutes[-1]) - meter.used_at(minutes[0]), [])
    elif max(gaps) < 2:
        assert ended["delta"] == by_increments([float(r.used) for r in readings], reset_after)
        assert ended["notes"] == ["spans-reset"]
    else:
        assert (ended["delta"], ended["errors"]) == (None, ["reset-inside-window"])
