"""Overlapping windows share one meter (issue 12): the anomaly, what preview counts, apportioning, and sync.

Windows are opened and closed through the real CLI (times pinned with GIT_TRACKER_NOW, readings typed), by two
agents (AGENT_ID) or on two clones of one bare remote. The finder is held to a brute-force O(n²) check written
here, and apportioned shares to the group's consumption computed here from the readings typed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker.git import Repo
from gittracker.overlapledger import record_all
from gittracker.overlaps import Span, apportion, groups, overlapping_pairs, overlapping_with, span_of
from gittracker.records import Record, record_path
from tests.conftest import Sandbox

DAY0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
CODE = "overlapping-windows"


def at(minutes: float, agent: str | None = None) -> dict[str, str]:
    moment = DAY0 + timedelta(minutes=minutes)
    env = {"GIT_TRACKER_NOW": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
    return {**env, "AGENT_ID": agent} if agent else env


def overlap_marks(box: Sandbox) -> list[dict[str, Any]]:
    """The live overlapping-windows anomalies (``log`` also lists voided records)."""
    voided = {record["target_id"] for record in box.records("void")}
    return [r for r in box.records("anomaly") if r["code"] == CODE and r["id"] not in voided]


def open_window(box: Sandbox, provider: str, agent: str, minute: float, used: float) -> str:
    started = json.loads(box.ok("start", provider, "--used", str(used), "--json", env=at(minute, agent)))
    return str(started["window_id"])


def close_window(box: Sandbox, provider: str, agent: str, minute: float, used: float) -> dict[str, Any]:
    box.commit(env=at(minute - 1, agent))
    closed: dict[str, Any] = json.loads(box.ok("end", provider, "--used", str(used), "--json", env=at(minute, agent)))
    box.ok("complete", "--outcome", "shipped", "--quality", "0.9", env=at(minute + 0.5, agent))
    return closed


def two_agents_overlapping(box: Sandbox, provider: str = "codex") -> tuple[str, str, dict[str, Any]]:
    """Agent a works 0-30 min, agent b 10-40 min, on one account meter that goes 10 -> 12 -> 20 -> 25 %."""
    first = open_window(box, provider, "a", 0, 10)
    second = open_window(box, provider, "b", 10, 12)
    close_window(box, provider, "a", 30, 20)
    closed = close_window(box, provider, "b", 40, 25)
    return first, second, closed


# -- the anomaly and the default policy -------------------------------------------------------------------


def test_two_agents_overlapping_give_one_anomaly_and_preview_counts_neither(tracked: Sandbox) -> None:
    first, second, closed = two_agents_overlapping(tracked)
    assert closed["overlaps_with"] == [{"window_id": first, "agent_id": "a"}]
    assert CODE in closed["anomalies"]
    (mark,) = overlap_marks(tracked)
    assert mark["window_id"] == second and mark["agent_id"] == "b"
    assert all(f"{window} (agent {agent})" in mark["detail"] for window, agent in ((first, "a"), (second, "b")))
    # A third codex window, alone in time, is the only one the statistics use.
    alone = open_window(tracked, "codex", "a", 60, 30)
    close_window(tracked, "codex", "a", 90, 36)
    report = json.loads(tracked.ok("preview", "--json", env=at(100)))
    assert report["providers"]["codex"]["windows"] == 1
    assert report["providers"]["codex"]["capacity_used"] == 6
    overlaps = report["overlaps"]
    assert overlaps["policy"] == "exclude" and overlaps["apportioned"] == []
    excluded = {item["window_id"]: item for item in overlaps["excluded"]}
    assert set(excluded) == {first, second} and alone not in excluded
    assert excluded[first]["overlaps_with"] == [second] and excluded[first]["agent_id"] == "a"
    assert "share one meter" in excluded[second]["reason"] and "stats.overlap = exclude" in excluded[second]["reason"]
    text = tracked.ok("preview", env=at(100))
    assert "Overlapping windows" in text and first[:12] in text and second[:12] in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # Detecting again (what every sync does) adds nothing: the same pair is the same record.
    assert record_all(Repo.discover(tracked.path), "zzzzzzzzzzzz") == 0  # ids and bytes do not depend on who looks
    assert len(overlap_marks(tracked)) == 1


def test_preview_leaves_overlapping_windows_out_without_the_anomaly(tracked: Sandbox) -> None:
    """The anomaly voided (or never synced): preview decides from the windows themselves."""
    first, second, _ = two_agents_overlapping(tracked)
    (mark,) = overlap_marks(tracked)
    void = {
        "id": "01KA0000000000000000000000",
        "kind": "void",
        "ts": "2026-06-01T09:00:00.000Z",
        "schema_version": 2,
        "tool_version": "0",
        "source": "cli",
        "agent_id": "main",
        "target_id": mark["id"],
        "reason": "test",
    }
    record = Record.from_dict(void)
    tracked.write_ledger_files({record_path(record.id, "void"): (record.to_json() + "\n").encode()})
    assert overlap_marks(tracked) == []
    report = json.loads(tracked.ok("preview", "--json", env=at(100)))
    assert "codex" not in report["providers"]
    assert {item["window_id"] for item in report["overlaps"]["excluded"]} == {first, second}
    text = tracked.ok("preview", env=at(100))
    assert text.startswith("No windows in the statistics") and "No closed windows yet" not in text


def test_windows_that_touch_or_differ_in_provider_do_not_overlap(tracked: Sandbox) -> None:
    # One agent's window ends at minute 30, the other's starts then: they touch, they do not overlap.
    open_window(tracked, "codex", "a", 0, 10)
    close_window(tracked, "codex", "a", 30, 20)
    open_window(tracked, "codex", "b", 30, 20)
    close_window(tracked, "codex", "b", 60, 26)
    # A claude window open over both: another provider, another meter.
    open_window(tracked, "claude", "c", 5, 40)
    closed = close_window(tracked, "claude", "c", 55, 50)
    assert closed["overlaps_with"] == [] and CODE not in closed["anomalies"]
    assert overlap_marks(tracked) == []
    report = json.loads(tracked.ok("preview", "--json", env=at(100)))
    assert report["overlaps"] == {"policy": "exclude", "excluded": [], "apportioned": []}
    assert report["providers"]["codex"]["windows"] == 2 and report["providers"]["claude"]["windows"] == 1
    assert report["providers"]["codex"]["capacity_used"] == 16


def test_undoing_the_after_voids_the_anomaly_with_the_close(tracked: Sandbox) -> None:
    open_window(tracked, "codex", "a", 0, 10)
    open_window(tracked, "codex", "b", 10, 12)
    tracked.ok("end", "codex", "--used", "20", env=at(30, "a"))
    tracked.ok("end", "codex", "--used", "25", env=at(40, "b"))
    assert len(overlap_marks(tracked)) == 1
    tracked.ok("undo", "codex", "--after", env=at(41, "b"))
    assert overlap_marks(tracked) == []  # the void took it with the close


# -- apportioning ---------------------------------------------------------------------------------------------


def codex_rollout(home: Path, events: Sequence[tuple[float, int]]) -> None:
    """A Codex rollout with a token_count event at each (minute, tokens): the running total grows by that much."""
    folder = home / "sessions" / "2026" / "06" / "01"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [{"timestamp": at(0)["GIT_TRACKER_NOW"], "type": "session_meta", "payload": {"id": "s1", "cwd": "/w/p"}}]
    total = 0
    for minute, tokens in events:
        total += tokens
        usage = {"input_tokens": total, "cached_input_tokens": 0, "output_tokens": 0, "reasoning_output_tokens": 0}
        payload = {"type": "token_count", "info": {"total_token_usage": {**usage, "total_tokens": total}}}
        lines.append({"timestamp": at(minute)["GIT_TRACKER_NOW"], "type": "event_msg", "payload": payload})
    (folder / "rollout-2026-06-01T08-00-00-s1.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def apportion_on(box: Sandbox) -> None:
    path = box.path / ".git-tracker.toml"
    path.write_text(path.read_text().replace('overlap = "exclude"', 'overlap = "apportion"'))
    assert 'overlap = "apportion"' in path.read_text()


def test_apportioned_shares_sum_to_the_groups_one_consumption(tracked: Sandbox, tmp_path: Path) -> None:
    apportion_on(tracked)
    first, second, _ = two_agents_overlapping(tracked)
    # Tokens are account-wide: a window has every event in its span (a: 0-30 min, b: 10-40 min).
    events = [(5, 1000), (20, 2000), (35, 500)]
    codex_rollout(tmp_path / "codex", events)
    tracked.ok("ingest", "codex-sessions", "--dir", str(tmp_path / "codex"), env=at(50))
    report = json.loads(tracked.ok("preview", "--json", env=at(60)))
    tokens = {first: sum(n for m, n in events if 0 <= m <= 30), second: sum(n for m, n in events if 10 <= m <= 40)}
    consumption = 25 - 10  # the meter at b's close minus the meter at a's open, as typed above
    overlaps = report["overlaps"]
    assert overlaps["policy"] == "apportion" and overlaps["excluded"] == []
    shares = {item["window_id"]: item for item in overlaps["apportioned"]}
    assert set(shares) == {first, second}
    for window, item in shares.items():
        assert item["tokens"] == tokens[window] and item["group_tokens"] == sum(tokens.values())
        assert item["group_consumption"] == consumption
        assert item["share"] == pytest.approx(consumption * tokens[window] / sum(tokens.values()))
    assert sum(item["share"] for item in shares.values()) == pytest.approx(consumption)
    assert (shares[first]["delta"], shares[second]["delta"]) == (10, 13)  # their own deltas: 23 > 15, double counted
    codex = report["providers"]["codex"]
    assert codex["windows"] == 2 and codex["n"] == 2
    assert codex["capacity_used"] == pytest.approx(consumption)  # the meter counted once
    text = tracked.ok("preview", env=at(60))
    assert "stats.overlap = apportion" in text and "delta apportioned" in text and first[:12] in text


def test_a_group_with_a_window_without_tokens_stays_out(tracked: Sandbox, tmp_path: Path) -> None:
    apportion_on(tracked)
    first, second, _ = two_agents_overlapping(tracked)
    codex_rollout(tmp_path / "codex", [(5, 1000)])  # before b opened: b has no tokens
    tracked.ok("ingest", "codex-sessions", "--dir", str(tmp_path / "codex"), env=at(50))
    report = json.loads(tracked.ok("preview", "--json", env=at(60)))
    assert report["overlaps"]["apportioned"] == []
    excluded = {item["window_id"]: item["reason"] for item in report["overlaps"]["excluded"]}
    assert set(excluded) == {first, second}
    assert all("not apportioned: no tokens known for 1 of its windows" in reason for reason in excluded.values())
    assert "codex" not in report["providers"]


def test_a_bad_overlap_setting_is_one_line(tracked: Sandbox) -> None:
    path = tracked.path / ".git-tracker.toml"
    path.write_text(path.read_text().replace('overlap = "exclude"', 'overlap = "split"'))
    done = tracked.tracker("preview")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        'git-tracker: .git-tracker.toml: stats.overlap: expected "exclude" or "apportion", got \'split\''
    ]


# -- sync -------------------------------------------------------------------------------------------------


def test_two_clones_detecting_one_pair_hold_one_anomaly_after_sync(tracked: Sandbox, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    tracked.git("init", "-q", "--bare", str(remote))
    tracked.git("remote", "add", "origin", str(remote))
    tracked.ok("sync")
    other = Sandbox(tmp_path / "other")
    tracked.git("clone", "-q", str(remote), str(other.path))
    other.ok("init")
    other.ok("sync")
    # Two machines, one agent name each ("main"): each clone has one window, and they overlap.
    mine = open_window(tracked, "codex", "main", 0, 10)
    theirs = open_window(other, "codex", "main", 10, 12)
    close_window(tracked, "codex", "main", 30, 20)
    close_window(other, "codex", "main", 40, 25)
    assert overlap_marks(tracked) == overlap_marks(other) == []  # neither clone has seen the other's window

    def sync(box: Sandbox) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(box.ok("sync", "--json"))
        assert report["conflicts"] == []  # the clones' anomalies are one file, byte for byte
        return report

    assert sync(tracked)["overlaps_recorded"] == 0
    assert sync(other)["overlaps_recorded"] == 1
    assert "recorded 1 overlapping-windows anomaly" in tracked.ok("sync")
    for box in (tracked, other, tracked):
        assert sync(box)["overlaps_recorded"] == 0
    marks = [overlap_marks(box) for box in (tracked, other)]
    assert [len(found) for found in marks] == [1, 1] and marks[0] == marks[1]
    assert {mine, theirs} <= set(marks[0][0]["detail"].split())
    on_remote = tracked.git("--git-dir", str(remote), "ls-tree", "-r", "--name-only", "tracker-ledger", "anomaly")
    assert on_remote.split() == [record_path(marks[0][0]["id"], "anomaly")]
    for box in (tracked, other):
        assert "codex" not in json.loads(box.ok("preview", "--json"))["providers"]


def test_a_span_read_from_a_close_is_the_span_its_fields_make(tracked: Sandbox) -> None:
    """span_of sets a span's fields in one step: it must equal the span the dataclass's own constructor builds."""
    two_agents_overlapping(tracked)
    closes = [Record.from_json(json.dumps(close)) for close in tracked.records("window-close")]
    assert len(closes) == 2
    for close in closes:
        span = span_of(close)
        assert list(vars(span)) == [field.name for field in fields(Span)]
        assert span == Span(
            window_id=close["window_id"],
            provider=close["provider"],
            opened=datetime.fromisoformat(close["opened_ts"]),
            closed=datetime.fromisoformat(close.ts),
            meter="five_hour",
            agent_id=close.agent_id,
            delta=close["delta"],
            machine=close.machine,
            errors=tuple(close["errors"]),
        )
        assert span.delta is not None and span.before is None and span.after_resets is None


# -- the finder against brute force -----------------------------------------------------------------------

spans = st.lists(
    st.tuples(st.sampled_from(["codex", "claude"]), st.integers(0, 60), st.integers(-2, 25)),
    max_size=30,
)


def as_spans(drawn: list[tuple[str, int, int]]) -> list[Span]:
    return [
        Span(
            window_id=f"W{number:03d}",
            provider=provider,
            opened=DAY0 + timedelta(minutes=start),
            closed=DAY0 + timedelta(minutes=start + length),
            meter="five_hour",
            agent_id="a",
        )
        for number, (provider, start, length) in enumerate(drawn)
    ]


def brute_pairs(items: list[Span]) -> set[tuple[str, str]]:
    """Every pair checked: one provider, and each opened before the other closed."""
    found = set()
    for a, b in itertools.combinations(items, 2):
        if a.provider == b.provider and a.opened < b.closed and b.opened < a.closed:
            found.add((min(a.window_id, b.window_id), max(a.window_id, b.window_id)))
    return found


def brute_groups(items: list[Span], pairs: set[tuple[str, str]]) -> set[frozenset[str]]:
    """Connected components by breadth-first search over the pairs, singletons dropped."""
    neighbours: dict[str, set[str]] = {item.window_id: set() for item in items}
    for a, b in pairs:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen: set[str] = set()
    found = set()
    for start in neighbours:
        if start in seen:
            continue
        component, queue = {start}, [start]
        while queue:
            for nxt in neighbours[queue.pop()] - component:
                component.add(nxt)
                queue.append(nxt)
        seen |= component
        if len(component) > 1:
            found.add(frozenset(component))
    return found


@given(spans)
def test_the_sweep_finds_exactly_the_pairs_and_groups_brute_force_finds(drawn: list[tuple[str, int, int]]) -> None:
    items = as_spans(drawn)
    pairs = overlapping_pairs(items)
    listed = [(a.window_id, b.window_id) for a, b in pairs]
    assert len(listed) == len(set(listed))  # each pair once
    expected = brute_pairs(items)
    assert set(listed) == expected
    assert {frozenset(span.window_id for span in group) for group in groups(items)} == brute_groups(items, expected)
    for span in items:  # end: one window against the others
        found = {(a.window_id, b.window_id) for a, b in overlapping_with(span, items)}
        assert found == {pair for pair in expected if span.window_id in pair}


@given(
    st.lists(st.integers(1, 10**9), min_size=2, max_size=8),
    st.floats(0, 100, allow_nan=False),
    st.floats(0, 100, allow_nan=False),
)
def test_apportioned_shares_sum_to_the_consumption(tokens: list[int], low: float, high: float) -> None:
    low, high = min(low, high), max(low, high)
    group = [
        Span(
            window_id=f"W{number:03d}",
            provider="codex",
            opened=DAY0 + timedelta(minutes=number),
            closed=DAY0 + timedelta(minutes=100 + number),
            meter="five_hour",
            agent_id="a",
            delta=1.0,
            before=low if number == 0 else None,
            after=high if number == len(tokens) - 1 else None,
        )
        for number in range(len(tokens))
    ]
    verdict = apportion(group, {span.window_id: count for span, count in zip(group, tokens, strict=True)})
    assert verdict.reason is None
    assert sum(verdict.shares.values()) == pytest.approx(round(high - low, 6), rel=1e-9, abs=1e-9)
