"""`git tracker ingest proxy-telemetry`: the addon's lines into proxy-batch / proxy-rollup records and snapshots.

Every figure is checked against an independent computation from the lines written here (plain json, sets, sums,
a nearest-rank percentile written out), through the installed command in throwaway repositories.
"""

from __future__ import annotations

import json
import math
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gittracker.records import Record, record_path
from tests.conftest import Sandbox
from tests.test_sync import clone, make_remote

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KEYS = (
    "trace_id",
    "timestamp",
    "session_id",
    "subagent_id",
    "backend_provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
    "latency_ms",
    "status",
    "cut_off",
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def event(number: int, minute: float, **changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "timestamp": iso(T0 + timedelta(minutes=minute)),
        "session_id": "b073cf51-8c58-45e2-a750-1e781923afe4",
        "subagent_id": None if number % 3 == 0 else f"agent{number % 4}",
        "backend_provider": "glm" if number % 2 else "haiku",
        "model": "glm-4.6" if number % 2 else "claude-haiku-4-5",
        "prompt_tokens": 100 + 7 * number,
        "completion_tokens": 10 + number,
        "cache_creation_tokens": number % 5,
        "cache_read_tokens": 400 * (number % 3),
        "latency_ms": round(50.5 + 13.1 * ((number * 7) % 11), 1),
        "status": [200, 200, 200, 429, 500, 0][number % 6],
        "trace_id": f"req_{number:05d}",
        "cut_off": number % 13 == 0,
        "capacity": None,
    }
    line.update(changes)
    return line


def write(path: Path, lines: list[dict[str, Any]], *, append: bool = False, tail: str = "") -> Path:
    text = "".join(json.dumps(line) + "\n" for line in lines) + tail
    with path.open("a" if append else "w") as handle:
        handle.write(text)
    return path


def ingest(box: Sandbox, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    from tests.conftest import tracker_command

    return subprocess.run(
        [*tracker_command(), "ingest", "proxy-telemetry", *args],
        cwd=box.path,
        capture_output=True,
        text=True,
        input=stdin,
    )


def summary(box: Sandbox, *args: str) -> dict[str, Any]:
    done = ingest(box, *args, "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def ledger_tip(box: Sandbox) -> str:
    return box.git("rev-parse", "-q", "--verify", "refs/heads/tracker-ledger", check=False).strip()


def stored_events(box: Sandbox) -> dict[str | None, list[dict[str, Any]]]:
    """Independent of store.window_events: each trace id once, the copy of the batch with the smallest id."""
    batches = sorted(box.records("proxy-batch"), key=lambda record: record["id"])
    seen: set[str] = set()
    out: dict[str | None, list[dict[str, Any]]] = {}
    for batch in batches:
        columns = batch["events"]
        assert batch["count"] == len(columns["trace_id"])
        rows = [dict(zip(KEYS, values, strict=True)) for values in zip(*(columns[key] for key in KEYS), strict=True)]
        assert [row["timestamp"] for row in rows] == sorted(row["timestamp"] for row in rows)
        assert batch["first_ts"] == rows[0]["timestamp"] and batch["last_ts"] == rows[-1]["timestamp"]
        for row in rows:
            if row["trace_id"] not in seen:
                seen.add(row["trace_id"])
                out.setdefault(batch["window_id"], []).append(row)
    return out


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def expected_rollup(lines: list[dict[str, Any]]) -> dict[str, Any]:
    total = len(lines)
    glm = sum(1 for line in lines if line["backend_provider"] == "glm")
    errors = sum(1 for line in lines if line["status"] == 0 or line["status"] >= 400 or line["cut_off"])
    latencies = [line["latency_ms"] for line in lines]
    return {
        "total_prompts": total,
        "total_tokens": sum(
            line["prompt_tokens"]
            + line["completion_tokens"]
            + line["cache_creation_tokens"]
            + line["cache_read_tokens"]
            for line in lines
        ),
        "glm_prompts": glm,
        "routed_to_glm": glm / total,
        "errors": errors,
        "error_rate": errors / total,
        "latency_mean_ms": round(sum(latencies) / total, 1),
        "latency_p50_ms": nearest_rank(latencies, 0.5),
        "latency_p95_ms": nearest_rank(latencies, 0.95),
    }


def latest_rollups(box: Sandbox) -> dict[str, dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for record in box.records("proxy-rollup"):
        known = best.get(record["window_id"])
        if known is None or (record["ts"], record["total_prompts"]) > (known["ts"], known["total_prompts"]):
            best[record["window_id"]] = record
    return best


def as_row(line: dict[str, Any]) -> dict[str, Any]:
    return {key: line[key] for key in KEYS}


def open_window(box: Sandbox, provider: str, at: datetime, agent: str) -> str:
    env = {"GIT_TRACKER_NOW": iso(at), "AGENT_ID": agent}
    box.ok("start", provider, *(["--prompts", "0"] if provider == "glm" else ["--used", "10"]), env=env)
    opened = [r for r in box.records("window-open") if r["agent_id"] == agent]
    return str(opened[-1]["window_id"])


def close_window(box: Sandbox, provider: str, at: datetime, agent: str) -> None:
    env = {"GIT_TRACKER_NOW": iso(at), "AGENT_ID": agent}
    box.ok("end", provider, *(["--prompts", "5"] if provider == "glm" else ["--used", "20"]), env=env)


# -- events and rollups ------------------------------------------------------------------------------------


def test_window_gets_every_event_and_the_exact_rollup(tracked: Sandbox, tmp_path: Path) -> None:
    window = open_window(tracked, "claude", T0 - timedelta(hours=1), "a")
    lines = [event(n, minute=(n * 37) % 120) for n in range(130)]  # out of time order in the file
    done = summary(tracked, "--window", window, str(write(tmp_path / "t.jsonl", lines)))
    assert done["lines_read"] == done["events"] == done["new_events"] == 130
    assert done["windows"] == {window: 130} and done["batches_added"] == 1 and done["rollups_added"] == 1
    assert not done["unchanged"] and done["skipped_lines"] == 0
    stored = stored_events(tracked)
    assert list(stored) == [window]
    assert stored[window] == sorted((as_row(line) for line in lines), key=lambda row: row["timestamp"])
    rollup = latest_rollups(tracked)[window]
    assert {key: rollup[key] for key in expected_rollup(lines)} == expected_rollup(lines)
    assert rollup["ts"] == max(line["timestamp"] for line in lines)


def test_more_events_than_a_batch_holds_make_several_batches(tracked: Sandbox, tmp_path: Path) -> None:
    from gittracker.proxyevents import BATCH_EVENTS

    lines = [event(n, minute=n / 1000) for n in range(BATCH_EVENTS + 10)]
    done = summary(tracked, str(write(tmp_path / "t.jsonl", lines)))
    assert done["batches_added"] == 2 and done["windows"] == {"none": BATCH_EVENTS + 10}
    counts = sorted(record["count"] for record in tracked.records("proxy-batch"))
    assert counts == [10, BATCH_EVENTS]
    assert len(stored_events(tracked)[None]) == BATCH_EVENTS + 10


def test_events_attach_to_the_window_open_at_their_time(tracked: Sandbox, tmp_path: Path) -> None:
    """claude [0 h, 2 h), glm [1 h, 3 h), a second glm [1.5 h, open): claude wins where it is open, then the
    more recently opened glm; before the first and nowhere open, no window."""
    claude = open_window(tracked, "claude", T0, "a")
    glm = open_window(tracked, "glm", T0 + timedelta(hours=1), "b")
    later_glm = open_window(tracked, "glm", T0 + timedelta(hours=1.5), "c")
    close_window(tracked, "claude", T0 + timedelta(hours=2), "a")
    close_window(tracked, "glm", T0 + timedelta(hours=3), "b")
    minutes = {-10: None, 0: claude, 30: claude, 70: claude, 100: claude, 119.99: claude, 120: later_glm}
    minutes |= {150: later_glm, 200: later_glm, 600: later_glm}
    lines = [event(n, minute=minute) for n, minute in enumerate(minutes)]
    done = summary(tracked, str(write(tmp_path / "t.jsonl", lines)))
    stored = stored_events(tracked)
    for line, window in zip(lines, minutes.values(), strict=True):
        assert as_row(line) in stored[window], (line["timestamp"], window)
    assert glm not in stored and done["windows"] == {claude: 5, later_glm: 4, "none": 1}
    rollups = latest_rollups(tracked)
    assert set(rollups) == {claude, later_glm}
    for window in (claude, later_glm):
        mine = [line for line, where in zip(lines, minutes.values(), strict=True) if where == window]
        assert {key: rollups[window][key] for key in expected_rollup(mine)} == expected_rollup(mine)

    # Only the glm window open, and closed: events in it go to it.
    assert later_glm != glm


def test_an_unknown_window_is_refused(tracked: Sandbox, tmp_path: Path) -> None:
    done = ingest(tracked, "--window", "01M8WK6T009ZYDDX7PFHM0KPD2", str(write(tmp_path / "t.jsonl", [event(1, 1)])))
    assert done.returncode == 2 and "--window: expected a window id" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# -- idempotence and incremental reads -----------------------------------------------------------------------


def test_the_same_file_again_adds_nothing_and_appended_lines_are_read_alone(tracked: Sandbox, tmp_path: Path) -> None:
    window = open_window(tracked, "claude", T0 - timedelta(hours=1), "a")
    path = write(tmp_path / "t.jsonl", [event(n, minute=n) for n in range(40)])
    first = summary(tracked, str(path))
    tip = ledger_tip(tracked)
    again = summary(tracked, str(path))
    assert again["unchanged"] and again["lines_read"] == 0 and again["bytes_read"] == 0
    assert ledger_tip(tracked) == tip
    write(path, [event(n, minute=n) for n in range(40, 55)], append=True)
    more = summary(tracked, str(path))
    assert more["lines_read"] == 15 and more["new_events"] == 15 and more["rollups_added"] == 1
    assert first["new_events"] == 40
    assert len(stored_events(tracked)[window]) == 55
    assert latest_rollups(tracked)[window]["total_prompts"] == 55

    # The file rewritten (shorter, then other lines): read again from the start; what the ledger holds is not
    # written again, whatever the state file says.
    write(path, [event(n, minute=n) for n in range(10)])
    tip = ledger_tip(tracked)
    rewritten = summary(tracked, str(path))
    assert rewritten["lines_read"] == 10 and rewritten["new_events"] == 0 and ledger_tip(tracked) == tip
    # A lost or damaged state file costs a read, never a double count.
    state = tracked.path / ".git" / "tracker" / "ingest" / "proxy-telemetry.state"
    state.write_bytes(b"damaged")
    write(path, [event(n, minute=n) for n in range(55)])
    assert summary(tracked, str(path))["new_events"] == 0 and ledger_tip(tracked) == tip
    # Stdin: everything read, nothing new.
    done = ingest(tracked, "-", "--json", stdin=path.read_text())
    assert done.returncode == 0 and json.loads(done.stdout)["new_events"] == 0 and ledger_tip(tracked) == tip


def test_stdin_is_read(tracked: Sandbox) -> None:
    lines = [event(n, minute=n) for n in range(5)]
    done = ingest(tracked, "-", stdin="".join(json.dumps(line) + "\n" for line in lines))
    assert done.returncode == 0, done.stderr
    assert "5 new event(s)" in done.stdout
    assert stored_events(tracked)[None] == [as_row(line) for line in lines]


def test_two_clones_ingesting_overlapping_files_count_each_trace_once(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    lines = [event(n, minute=n) for n in range(30)]
    summary(alice, str(write(tmp_path / "a.jsonl", lines[:20])))
    summary(bob, str(write(tmp_path / "b.jsonl", lines[10:])))
    alice.ok("sync")
    bob.ok("sync")
    alice.ok("sync")
    for box in (alice, bob):
        assert stored_events(box)[None] == [as_row(line) for line in lines]
    # After the sync, bob holds alice's traces: her file adds nothing in his clone.
    assert summary(bob, str(tmp_path / "a.jsonl"))["new_events"] == 0


def preview_proxy(box: Sandbox) -> dict[str, Any]:
    block: dict[str, Any] = json.loads(box.ok("preview", "--json"))["proxy"]
    return block


def test_the_reports_figures_kept_between_runs_follow_every_change(tmp_path: Path) -> None:
    """The proxy's figures are kept between reports, brought up to date by the ingest that adds events; batches a
    sync brings, or a void, make the next report read the batches again. Each time the preview's figures are those
    of every line ingested anywhere, counted once."""
    remote = make_remote(tmp_path)
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    lines = [event(n, minute=n, latency_ms=float(100 + (n * 37) % 500)) for n in range(40)]
    kept = alice.path / ".git" / "tracker" / "cache" / "proxy-figures.bin"
    summary(alice, str(write(tmp_path / "a.jsonl", lines[:15])))
    assert kept.exists()  # made by the ingest itself: the report after it reads no batch
    assert preview_proxy(alice) == expected_rollup(lines[:15])
    summary(alice, str(write(tmp_path / "a.jsonl", lines[15:25], append=True)))
    assert preview_proxy(alice) == expected_rollup(lines[:25])
    summary(bob, str(write(tmp_path / "b.jsonl", lines[20:])))
    bob.ok("sync")
    alice.ok("sync")  # bob's batches arrive: alice's kept figures no longer name every batch
    assert preview_proxy(alice) == expected_rollup(lines)
    kept.write_bytes(b"damaged")
    assert preview_proxy(alice) == expected_rollup(lines)
    (first,) = [r for r in alice.records("proxy-batch") if r["count"] == 15]
    void = Record.new("void", source="cli", agent_id="main", machine="testmachinea", target_id=first["id"], reason="t")
    alice.write_ledger_files({record_path(void.id, void.kind): (void.to_json() + "\n").encode()}, "a void")
    assert preview_proxy(alice) == expected_rollup(lines[15:])  # the first batch's events no longer count


# -- bad input -------------------------------------------------------------------------------------------------


def test_a_truncated_last_line_is_named_and_nothing_is_written(tracked: Sandbox, tmp_path: Path) -> None:
    cut = json.dumps(event(9, minute=9))[:-25]
    path = write(tmp_path / "t.jsonl", [event(n, minute=n) for n in range(8)], tail=cut)
    tip = ledger_tip(tracked)
    done = ingest(tracked, str(path))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"git-tracker: {path}:9: expected a whole line ending in a newline (this last one is cut off); "
        "nothing was ingested: fix or remove the lines, or pass --skip-bad"
    )
    assert ledger_tip(tracked) == tip
    skipped = summary(tracked, "--skip-bad", str(path))
    assert skipped["skipped_lines"] == 1 and skipped["new_events"] == 8


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "negative count": ({"prompt_tokens": -1}, "prompt_tokens"),
    "fractional count": ({"completion_tokens": 1.5}, "completion_tokens"),
    "count as text": ({"cache_read_tokens": "4"}, "cache_read_tokens"),
    "negative latency": ({"latency_ms": -0.1}, "latency_ms"),
    "status past 999": ({"status": 1000}, "status"),
    "time without zone": ({"timestamp": "2026-11-02T09:00:00"}, "timestamp"),
    "not a time": ({"timestamp": "2026-13-02T09:00:00Z"}, "timestamp"),
    "before 1970": ({"timestamp": "1969-12-31T23:59:59Z"}, "timestamp"),
    "line break in text": ({"session_id": "a\nb"}, "session_id"),
    "too long": ({"model": "m" * 201}, "model"),
    "empty trace id": ({"trace_id": ""}, "trace_id"),
    "cut_off not a flag": ({"cut_off": 0}, "cut_off"),
    "utilization as text": ({"capacity": {"five_hour": {"utilization": "0.4", "resets_at": 1}}}, "utilization"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_value_is_refused_with_its_line(tracked: Sandbox, tmp_path: Path, case: str) -> None:
    changes, named = BAD[case]
    lines = [event(n, minute=n) for n in range(6)]
    lines[3] = {**lines[3], **changes}
    path = write(tmp_path / "t.jsonl", lines)
    tip = ledger_tip(tracked)
    done = ingest(tracked, str(path))
    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith(f"git-tracker: {path}:4: expected ") and named in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and ledger_tip(tracked) == tip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"latency_ms": NaN}', "not JSON"),
        ('{"latency_ms": Infinity}', "not JSON"),
        ("[1, 2]", "object"),
        ("not json", "not JSON"),
    ],
)
def test_lines_that_are_not_telemetry_are_refused(tracked: Sandbox, tmp_path: Path, text: str, expected: str) -> None:
    good = json.dumps(event(1, 1))
    path = tmp_path / "t.jsonl"
    path.write_text(f"{good}\n{text}\n")
    done = ingest(tracked, str(path))
    assert done.returncode == 2 and f"{path}:2: expected" in done.stderr and expected in done.stderr, done.stderr


def test_a_missing_key_is_refused_and_a_newer_key_is_ignored(tracked: Sandbox, tmp_path: Path) -> None:
    line = event(1, 1)
    del line["cut_off"]
    done = ingest(tracked, str(write(tmp_path / "t.jsonl", [line])))
    assert done.returncode == 2 and "cut_off is missing" in done.stderr
    newer = {**event(2, 2), "retries": 3, "upstream": {"host": "x"}}
    assert summary(tracked, str(write(tmp_path / "n.jsonl", [newer])))["new_events"] == 1
    assert stored_events(tracked)[None] == [as_row(newer)]


def test_skip_bad_ingests_the_good_lines_and_counts_the_rest(tracked: Sandbox, tmp_path: Path) -> None:
    lines = [event(n, minute=n) for n in range(10)]
    bad: dict[int, dict[str, Any]] = {3: {"status": -1}, 7: {"prompt_tokens": "x"}}
    path = write(tmp_path / "t.jsonl", [{**line, **bad.get(n, {})} for n, line in enumerate(lines)])
    refused = ingest(tracked, str(path))
    assert (
        refused.returncode == 2
        and f"{path}:4:" in refused.stderr
        and "2 bad lines in all (also line 8)" in (refused.stderr)
    )
    done = summary(tracked, "--skip-bad", str(path))
    assert done["skipped_lines"] == 2 and done["new_events"] == 8
    assert stored_events(tracked)[None] == [as_row(line) for n, line in enumerate(lines) if n not in bad]


def test_binary_input_and_wrong_options_are_refused_in_one_line(tracked: Sandbox, tmp_path: Path) -> None:
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    cases = [
        ingest(tracked, str(binary)),
        ingest(tracked, str(tmp_path / "missing.jsonl")),
        ingest(tracked),
        ingest(tracked, "--skip-invalid", str(binary)),
        tracked.tracker("ingest", "claude-logs", "--skip-bad"),
        tracked.tracker("ingest", "codex-status", "--window", "W", "-"),
    ]
    for done in cases:
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "binary data" in cases[0].stderr and "cannot read" in cases[1].stderr


# -- capacity ---------------------------------------------------------------------------------------------------


def capacity(five: float, week: float, reset: int = 1796037201) -> dict[str, Any]:
    return {
        "five_hour": {"utilization": five, "resets_at": reset},
        "seven_day": {"utilization": week, "resets_at": reset + 86400},
        "status": "allowed",
    }


def test_capacity_headers_become_snapshots_when_they_change(tracked: Sandbox, tmp_path: Path) -> None:
    readings = [
        (0, capacity(0.42, 0.17)),
        (1, capacity(0.42, 0.17)),  # unchanged: nothing
        (2, None),
        (3, capacity(0.43, 0.17)),  # a change: one snapshot
        (4, capacity(0.43, 0.17, reset=1796037201 + 30)),  # reset jitter within a minute: the same reading
        (5, capacity(1.25, 0.2)),  # past the limit: 100, clamped
    ]
    lines = [event(2 * n, minute=minute, capacity=cap) for n, (minute, cap) in enumerate(readings)]
    lines.append(event(99, minute=6, backend_provider="glm", capacity=capacity(0.9, 0.9)))  # GLM's: not Claude's
    path = write(tmp_path / "t.jsonl", lines)
    done = summary(tracked, str(path))
    assert done["snapshots_added"] == 3
    snaps = [r for r in tracked.records("snapshot") if r["source"] == "ingest"]
    got = [
        (
            r["ts"],
            r["provider"],
            r["phase"],
            r["meters"]["five_hour"]["used"],
            r["meters"]["weekly"]["used"],
            r["parse_errors"],
        )
        for r in sorted(snaps, key=lambda record: record["ts"])
    ]
    assert got == [
        (lines[0]["timestamp"], "claude", "mid", 42.0, 17.0, []),
        (lines[3]["timestamp"], "claude", "mid", 43.0, 17.0, []),
        (lines[5]["timestamp"], "claude", "mid", 100.0, 20.0, ["used-over-100-clamped"]),
    ]
    first = sorted(snaps, key=lambda record: record["ts"])[0]
    reset = datetime.fromtimestamp(1796037201, UTC)
    assert first["meters"]["five_hour"]["resets_at"] == iso(reset)
    assert first["meters"]["weekly"]["resets_at"] == iso(reset + timedelta(days=1))
    tip = ledger_tip(tracked)
    assert ingest(tracked, "-", stdin=path.read_text()).returncode == 0
    assert ledger_tip(tracked) == tip


# -- privacy ----------------------------------------------------------------------------------------------------


def test_nothing_but_the_contract_fields_reaches_the_ledger(tracked: Sandbox, tmp_path: Path) -> None:
    secret = {"prompt": "SECRET-PROMPT-TEXT", "x-api-key": "sk-ant-SECRET-KEY", "authorization": "Bearer SECRET"}
    lines = [{**event(n, minute=n, capacity=capacity(0.1, 0.1)), **secret} for n in range(5)]
    summary(tracked, str(write(tmp_path / "t.jsonl", lines)))
    stored = tracked.git("grep", "-c", "SECRET", "tracker-ledger", check=False)
    assert stored == ""
    for batch in tracked.records("proxy-batch"):
        assert set(batch["events"]) == set(KEYS)


def test_without_a_file_the_proxys_default_file_is_read(
    tracked: Sandbox, hermetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = ingest(tracked)
    assert missing.returncode == 2
    expected = hermetic / ".local" / "state" / "git-tracker" / "proxy-telemetry.jsonl"
    assert missing.stderr.strip().endswith(f"(the proxy's default file, {expected}, does not exist yet)")
    monkeypatch.setenv("XDG_STATE_HOME", str(hermetic / "state"))
    lines = [event(n, minute=n) for n in range(3)]
    (hermetic / "state" / "git-tracker").mkdir(parents=True)
    default = write(hermetic / "state" / "git-tracker" / "proxy-telemetry.jsonl", lines)
    assert summary(tracked)["input"] == str(default)
    assert stored_events(tracked)[None] == [as_row(line) for line in lines]


@pytest.mark.parametrize("xdg", [None, "", "/somewhere/state"])
def test_the_ingest_and_the_addon_agree_on_the_default_file(monkeypatch: pytest.MonkeyPatch, xdg: str | None) -> None:
    from gittracker.proxy import addon, store

    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)
    assert store.default_telemetry_path() == addon.default_telemetry_path()


def test_the_parsed_record_cache_leaves_proxy_batches_out(tracked: Sandbox, tmp_path: Path) -> None:
    """Every report loads the cache of parsed records: a million proxied events in it made each report after an
    ingest read 170 MB to find its few small records."""
    write(tmp_path / "t.jsonl", [event(n, minute=n) for n in range(5)])
    tracked.ok("start", "claude", "--used", "10")
    (window,) = [record["window_id"] for record in tracked.records("window-open")]
    assert summary(tracked, str(tmp_path / "t.jsonl"), "--window", window)["batches_added"] == 1
    assert sorted(r["kind"] for r in tracked.records() if r["kind"].startswith("proxy")) == [
        "proxy-batch",
        "proxy-rollup",
    ]
    assert len(tracked.records("proxy-batch")) == 1  # read again, past the cache, and right
    cache = json.loads((tracked.path / ".git" / "tracker" / "cache" / "records.json").read_text())
    kinds = {entry["kind"] for entry in cache.values()}
    assert "proxy-batch" not in kinds and "proxy-rollup" in kinds


def test_kept_figures_are_not_brought_up_to_date_past_another_writers_batch(tracked: Sandbox, tmp_path: Path) -> None:
    """Another clone's batch landing between an ingest's look at the ledger and its write: the ingest must not file
    the figures of 'what was there plus what I wrote' under a key that names the other batch too."""
    from gittracker.git import Repo
    from gittracker.proxy import store
    from tests.proxyseed import Req, events_of, seed

    summary(tracked, str(write(tmp_path / "a.jsonl", [event(n, minute=n) for n in range(5)])))
    repo = Repo.discover(tracked.path)
    kept = store._figures_kept(repo, *store._batch_files(repo))
    assert kept is not None and sum(part.prompts for part in kept.figures.values()) == 5
    seed(tracked, [(None, events_of([Req("glm", "glm-4.6", prompt=3)] * 4, "other"))])  # the other writer's
    mine = events_of([Req("haiku", "claude-haiku-4-5", prompt=1)] * 2, "mine")
    store._keep_figures_with(repo, kept, [], {None: mine})  # as if ours had been written alone
    assert preview_proxy(tracked)["total_prompts"] == 9  # 5 + the other writer's 4; never 5 + 2
