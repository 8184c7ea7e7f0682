"""`git tracker ingest`: usage from Claude transcripts, Codex rollouts, ccusage reports and pastes.

Totals are checked against an independent computation written here (plain json, a dict, sums), and
against the real ccusage from npm in ``test_ccusage_crosscheck.py``.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gittracker.synth import ClaudeSpec, CodexSpec, write_claude_transcripts, write_codex_rollouts
from tests.conftest import Sandbox

DAY0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def reference_days(config: Path) -> dict[str, dict[str, int]]:
    """Independent: every line decoded, deduplicated on (message.id, requestId) keeping the largest."""
    best: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, path in enumerate(sorted(config.rglob("*.jsonl"))):
        for index, line in enumerate(path.read_text().splitlines()):
            data = json.loads(line)
            usage = (data.get("message") or {}).get("usage")
            if not isinstance(usage, dict):
                continue
            mid, rid = data["message"].get("id"), data.get("requestId")
            key = f"{mid}:{rid}" if mid and rid else f"{number}:{index}"
            size = sum(
                usage.get(name, 0)
                for name in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            )
            if key not in best or size > best[key][0]:
                best[key] = (size, data)
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for _, data in best.values():
        usage = data["message"]["usage"]
        day = data["timestamp"][:10]
        days[day]["input_tokens"] += usage["input_tokens"]
        days[day]["output_tokens"] += usage["output_tokens"]
        days[day]["cache_creation_tokens"] += usage.get("cache_creation_input_tokens", 0)
        days[day]["cache_read_tokens"] += usage.get("cache_read_input_tokens", 0)
    return {day: dict(values) for day, values in days.items()}


def current(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Independent of gittracker.usage.current: the largest record of each series."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        key = tuple(
            record[name]
            for name in ("origin", "provider", "granularity", "period", "scope", "project", "branch", "window_id")
        )
        if key not in best or (record["total_tokens"], record["id"]) > (best[key]["total_tokens"], best[key]["id"]):
            best[key] = record
    return list(best.values())


def ledger_days(box: Sandbox) -> dict[str, dict[str, int]]:
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for record in current(box.records("usage")):
        if record["granularity"] == "day":
            for name in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens"):
                days[record["period"]][name] += record[name]
    return {day: dict(values) for day, values in days.items()}


def assistant_line(when: datetime, msg: str, req: str | None, usage: dict[str, int], cwd: str = "/w/p") -> str:
    line: dict[str, Any] = {
        "type": "assistant",
        "timestamp": iso(when),
        "sessionId": "s1",
        "cwd": cwd,
        "gitBranch": "main",
        "version": "2.0.14",
        "message": {"id": msg, "model": "claude-sonnet-4-5-20250929", "role": "assistant", "usage": usage},
    }
    if req is not None:
        line["requestId"] = req
    return json.dumps(line, separators=(",", ":")) + "\n"


def usage(i: int, o: int, cc: int = 0, cr: int = 0) -> dict[str, int]:
    return {"input_tokens": i, "output_tokens": o, "cache_creation_input_tokens": cc, "cache_read_input_tokens": cr}


def ledger_tip(box: Sandbox) -> str:
    return box.git("rev-parse", "-q", "--verify", "refs/heads/tracker-ledger", check=False).strip()


# -- claude-logs ----------------------------------------------------------------------------------


def test_claude_logs_days_equal_an_independent_sum_and_rerun_adds_nothing(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude"
    write_claude_transcripts(config, ClaudeSpec(lines=3000, days=4, start=DAY0))
    first = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--json"))
    assert first["records_added"] > 0 and first["files_read"] == first["files"]
    assert ledger_days(tracked) == reference_days(config)
    blocks = sum(r["total_tokens"] for r in current(tracked.records("usage")) if r["granularity"] == "block")
    days = sum(r["total_tokens"] for r in current(tracked.records("usage")) if r["granularity"] == "day")
    assert blocks == days > 0
    count = len(tracked.records("usage"))
    again = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--json"))
    assert again["unchanged"] and again["records_added"] == 0 and len(tracked.records("usage")) == count
    # Even with this clone's ingest state gone, the same logs derive the same records: nothing is added.
    shutil.rmtree(
        Path(tracked.git("rev-parse", "--git-common-dir").strip()).resolve() / "tracker" / "ingest"
        if Path(tracked.git("rev-parse", "--git-common-dir").strip()).is_absolute()
        else tracked.path / ".git" / "tracker" / "ingest"
    )
    fresh = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--json"))
    assert fresh["records_added"] == 0 and len(tracked.records("usage")) == count


def test_claude_config_dir_rules(tracked: Sandbox, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    write_claude_transcripts(one, ClaudeSpec(lines=200, days=1, start=DAY0, seed=1))
    write_claude_transcripts(two, ClaudeSpec(lines=200, days=1, start=DAY0, seed=2))
    out = json.loads(tracked.ok("ingest", "claude-logs", "--json", env={"CLAUDE_CONFIG_DIR": f"{one}, {two}"}))
    assert len(out["scopes"]) == 2
    expected = reference_days(one)
    for day, values in reference_days(two).items():
        for name, value in values.items():
            expected.setdefault(day, dict.fromkeys(values, 0))[name] += value
    assert ledger_days(tracked) == expected
    missing = tracked.tracker("ingest", "claude-logs", env={"CLAUDE_CONFIG_DIR": str(tmp_path / "nope")})
    assert missing.returncode == 2 and "expected a projects/ folder" in missing.stderr


def test_incremental_run_reads_only_new_bytes_and_keeps_the_largest_usage(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude"
    log = config / "projects" / "-w-p" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(
        assistant_line(DAY0, "msg_1", "req_1", usage(10, 5)) + assistant_line(DAY0, "msg_2", None, usage(1, 1))
    )
    tracked.ok("ingest", "claude-logs", "--dir", str(config))
    grown = assistant_line(DAY0 + timedelta(minutes=1), "msg_1", "req_1", usage(10, 50))  # the stream's final chunk
    with log.open("a") as handle:
        handle.write(grown)
        handle.write('{"type":"assistant","timestamp":"2026-06-01T08:02')  # still being written
    out = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--json"))
    assert out["bytes_read"] == len(grown.encode())
    (day,) = [r for r in current(tracked.records("usage")) if r["granularity"] == "day"]
    assert (day["input_tokens"], day["output_tokens"]) == (11, 51)  # msg_1 once, at its largest; msg_2 once
    # The half-written line is finished later: read then, and counted once.
    with log.open("a") as handle:
        handle.write(
            '.000Z","cwd":"/w/p","gitBranch":"main","requestId":"req_3",'
            '"message":{"id":"msg_3","usage":{"input_tokens":7,"output_tokens":0}}}\n'
        )
    tracked.ok("ingest", "claude-logs", "--dir", str(config))
    (day,) = [r for r in current(tracked.records("usage")) if r["granularity"] == "day"]
    assert day["input_tokens"] == 18


def test_a_rewritten_file_is_read_again_without_double_counting(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude"
    log = config / "projects" / "-w-p" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(assistant_line(DAY0, "msg_1", "req_1", usage(10, 5)))
    tracked.ok("ingest", "claude-logs", "--dir", str(config))
    log.write_text(
        assistant_line(DAY0, "msg_9", "req_9", usage(3, 3)) + assistant_line(DAY0, "msg_1", "req_1", usage(10, 5))
    )
    tracked.ok("ingest", "claude-logs", "--dir", str(config))
    (day,) = [r for r in current(tracked.records("usage")) if r["granularity"] == "day"]
    assert (day["input_tokens"], day["output_tokens"]) == (13, 8)


def test_bad_transcript_line_names_file_and_line_and_writes_nothing(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude"
    log = config / "projects" / "-w-p" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    good = assistant_line(DAY0, "msg_1", "req_1", usage(10, 5))
    log.write_text(good + '{"timestamp":"x","message":{"usage":{"input_tokens":"ten"\n' + good)
    tip = ledger_tip(tracked)
    bad = tracked.tracker("ingest", "claude-logs", "--dir", str(config))
    assert bad.returncode == 2
    assert f"{log}:2: expected a JSON object" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert ledger_tip(tracked) == tip
    log.write_text(good + assistant_line(DAY0, "msg_2", "req_2", {"input_tokens": -1, "output_tokens": 2}))
    wrong = tracked.tracker("ingest", "claude-logs", "--dir", str(config))
    assert wrong.returncode == 2 and "input_tokens to be a whole number >= 0, got -1" in wrong.stderr
    assert ledger_tip(tracked) == tip
    skipped = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--skip-invalid", "--json"))
    assert skipped["skipped_lines"] == 1 and skipped["records_added"] > 0


def test_binary_file_is_refused_naming_its_first_line(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude"
    (config / "projects" / "p").mkdir(parents=True)
    (config / "projects" / "p" / "x.jsonl").write_bytes(b"\x00\x01binary\n")
    bad = tracked.tracker("ingest", "claude-logs", "--dir", str(config))
    assert bad.returncode == 2 and "x.jsonl:1: expected a line of text, got a NUL byte at character 1" in bad.stderr


def user_line(when: datetime, text: str) -> str:
    """A prompt line as Claude Code writes one (no usage)."""
    line = {"type": "user", "timestamp": iso(when), "sessionId": "s1", "cwd": "/w/p", "version": "2.0.14"}
    return json.dumps({**line, "message": {"role": "user", "content": text}}, separators=(",", ":")) + "\n"


def test_a_nul_byte_in_a_transcript_line_is_one_bad_line(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude"
    log = config / "projects" / "-w-p" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    prompt = user_line(DAY0, "run the tests").encode()
    nul_at = prompt.index(b"run the tests") + 4
    corrupt = prompt[:nul_at] + b"\x00" + prompt[nul_at:]  # a raw NUL inside a prompt: not JSON's \u0000
    good = [assistant_line(DAY0, "msg_1", "req_1", usage(10, 5)), assistant_line(DAY0, "msg_2", "req_2", usage(7, 3))]
    # A crash can leave the rest of a block as NUL bytes where a line was being written.
    log.write_bytes(good[0].encode() + corrupt + b"\x00" * 300 + b"\n" + good[1].encode())
    tip = ledger_tip(tracked)

    def files() -> list[str]:  # what git-tracker keeps on this machine, but the lock an ingest takes
        tracker = tracked.path / ".git" / "tracker"
        return sorted(str(path) for path in tracker.rglob("*") if path.is_file() and path.suffix != ".lock")

    state = files()
    bad = tracked.tracker("ingest", "claude-logs", "--dir", str(config))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert f"{log}:2: expected a line of text, got a NUL byte at character {nul_at + 1} (" in bad.stderr
    assert "or pass --skip-invalid" in bad.stderr and "binary" not in bad.stderr
    assert ledger_tip(tracked) == tip
    assert files() == state
    summary = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--skip-invalid", "--json"))
    assert (summary["skipped_lines"], summary["events"]) == (2, 2)  # the prompt and the run of NULs
    (day,) = [r for r in current(tracked.records("usage")) if r["granularity"] == "day"]
    assert (day["input_tokens"], day["output_tokens"]) == (10 + 7, 5 + 3)


def test_projects_are_tagged_and_this_repo_narrows(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude"
    log = config / "projects" / "-mixed" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    here = str(tracked.path.resolve() / "sub")
    log.write_text(
        assistant_line(DAY0, "m1", "r1", usage(10, 1), cwd=here)
        + assistant_line(DAY0, "m2", "r2", usage(20, 2), cwd="/elsewhere")
    )
    tracked.ok("ingest", "claude-logs", "--dir", str(config))
    # This repository's folder relative to its work tree; another project only as the account's total elsewhere.
    tags = {(r["project"], r["branch"], r["this_repo"]) for r in tracked.records("usage") if r["granularity"] == "day"}
    assert tags == {("sub", "main", True), (None, None, False)}
    before = {r["id"] for r in tracked.records("usage")}
    narrow = tmp_path / "narrow"
    shutil.copytree(config, narrow)
    tracked.ok("ingest", "claude-logs", "--dir", str(narrow), "--this-repo")
    scoped = [r for r in tracked.records("usage") if r["granularity"] == "day" and r["id"] not in before]
    assert [(r["project"], r["input_tokens"]) for r in scoped] == [("sub", 10)]


# -- codex-sessions -------------------------------------------------------------------------------


def codex_reference(home: Path) -> tuple[int, int, int, int]:
    """Independent: each distinct token_count that moved the running total counts its last_token_usage."""
    inp = out = cached = events = 0
    for path in sorted(home.rglob("rollout-*.jsonl")):
        previous = None
        for line in path.read_text().splitlines():
            data = json.loads(line)
            info = data.get("payload", {}).get("info") if data.get("type") == "event_msg" else None
            if not info:
                continue
            total = info["total_token_usage"]
            if total == previous:
                continue
            previous = total
            last = info["last_token_usage"]
            inp += last["input_tokens"] - last["cached_input_tokens"]
            cached += last["cached_input_tokens"]
            out += last["output_tokens"]
            events += 1
    return inp, out, cached, events


def test_codex_sessions_tokens_and_mid_snapshots(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex"
    paths = write_codex_rollouts(home, CodexSpec(sessions=3, events=25, start=DAY0))
    out = json.loads(tracked.ok("ingest", "codex-sessions", "--dir", str(home), "--json"))
    inp, outp, cached, events = codex_reference(home)
    assert out["events"] == events
    days = [r for r in current(tracked.records("usage")) if r["granularity"] == "day"]
    assert sum(r["input_tokens"] for r in days) == inp
    assert sum(r["output_tokens"] for r in days) == outp
    assert sum(r["cache_read_tokens"] for r in days) == cached
    assert {r["provider"] for r in days} == {"codex"}
    assert {(r["project"], r["this_repo"]) for r in days} == {(None, False)}  # /work/alpha: another project
    mids = tracked.records("snapshot")
    assert mids and {(s["phase"], s["provider"], s["source"]) for s in mids} == {("mid", "codex", "ingest")}
    assert out["snapshots_added"] == len(mids)
    assert all(s["resets_at"] == "2026-06-01T13:00:00.000Z" for s in mids)
    # Archiving moves a rollout: read from its new place, it adds nothing.
    archived = home / "archived_sessions" / paths[0].name
    archived.parent.mkdir(parents=True)
    paths[0].rename(archived)
    moved = json.loads(tracked.ok("ingest", "codex-sessions", "--dir", str(home), "--json"))
    assert moved["files_read"] == 1 and moved["records_added"] == 0 and moved["snapshots_added"] == 0


def test_codex_bad_token_totals_are_refused(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex"
    (home / "sessions").mkdir(parents=True)
    line = {
        "timestamp": iso(DAY0),
        "type": "event_msg",
        "payload": {"type": "token_count", "info": {"total_token_usage": {"input_tokens": 1.5}}},
    }
    (home / "sessions" / "rollout-x.jsonl").write_text(json.dumps(line) + "\n")
    bad = tracked.tracker("ingest", "codex-sessions", "--dir", str(home))
    assert bad.returncode == 2 and "rollout-x.jsonl:1: expected info.total_token_usage.input_tokens" in bad.stderr


# -- ccusage reports ------------------------------------------------------------------------------

V18_DAILY: dict[str, Any] = {
    "daily": [
        {
            "date": "2026-06-01",
            "inputTokens": 111,
            "outputTokens": 222,
            "cacheCreationTokens": 333,
            "cacheReadTokens": 444,
            "totalTokens": 1110,
            "totalCost": 0.02,
            "modelsUsed": ["claude-sonnet-4-5"],
            "modelBreakdowns": [],
        }
    ],
    "totals": {
        "inputTokens": 111,
        "outputTokens": 222,
        "cacheCreationTokens": 333,
        "cacheReadTokens": 444,
        "totalTokens": 1110,
        "totalCost": 0.02,
    },
}
V20_UNIFIED: dict[str, Any] = {
    "daily": [
        {
            "agent": "all",
            "period": "2026-06-01",
            "metadata": {"agents": ["claude"]},
            "inputTokens": 111,
            "outputTokens": 222,
            "cacheCreationTokens": 333,
            "cacheReadTokens": 444,
            "totalTokens": 1110,
            "totalCost": 0.02,
            "modelsUsed": ["claude-sonnet-4-5"],
            "modelBreakdowns": [],
        }
    ],
    "totals": {},
}


def test_ccusage_per_agent_and_unified_shapes_agree_and_dedupe(tracked: Sandbox, tmp_path: Path) -> None:
    old, new = tmp_path / "v18.json", tmp_path / "v20.json"
    old.write_text(json.dumps(V18_DAILY))
    new.write_text(json.dumps(V20_UNIFIED))
    tracked.ok("ingest", "ccusage", str(old))
    tracked.ok("ingest", "ccusage", str(new))  # the same day, the same figures: the same record
    (record,) = tracked.records("usage")
    assert (record["origin"], record["provider"], record["period"], record["total_tokens"]) == (
        "ccusage",
        "claude",
        "2026-06-01",
        1110,
    )
    assert record["source"] == "ingest"


def test_ccusage_mixed_agents_need_the_breakdown(tracked: Sandbox, tmp_path: Path) -> None:
    row = dict(V20_UNIFIED["daily"][0], metadata={"agents": ["claude", "codex"]})
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"daily": [row]}))
    bad = tracked.tracker("ingest", "ccusage", str(mixed))
    assert bad.returncode == 2 and "--by-agent" in bad.stderr
    parts = [
        dict(row, agent="claude", inputTokens=100, totalTokens=100),
        dict(row, agent="codex", inputTokens=11, totalTokens=11),
        dict(row, agent="opencode", inputTokens=5, totalTokens=5),
    ]
    mixed.write_text(json.dumps({"daily": [dict(row, agents=parts)]}))
    tracked.ok("ingest", "ccusage", str(mixed))
    assert {(r["provider"], r["total_tokens"]) for r in tracked.records("usage")} == {("claude", 100), ("codex", 11)}


def test_ccusage_blocks_and_sessions(tracked: Sandbox) -> None:
    blocks = {
        "blocks": [
            {
                "id": "2026-06-01T10:00:00.000Z",
                "startTime": "2026-06-01T10:00:00.000Z",
                "endTime": "2026-06-01T15:00:00.000Z",
                "actualEndTime": "2026-06-01T10:30:00.000Z",
                "isActive": False,
                "isGap": False,
                "entries": 2,
                "tokenCounts": {
                    "inputTokens": 11,
                    "outputTokens": 22,
                    "cacheCreationInputTokens": 33,
                    "cacheReadInputTokens": 44,
                },
                "totalTokens": 110,
                "costUSD": 0.0005,
                "models": ["claude-sonnet-4-5"],
                "burnRate": None,
                "projection": None,
            },
            {
                "id": "gap-x",
                "startTime": "2026-06-01T15:30:00.000Z",
                "isGap": True,
                "tokenCounts": {},
                "totalTokens": 0,
            },
        ]
    }
    out = tracked.tracker(
        "ingest",
        "ccusage",
        "-",
    )
    assert out.returncode == 2  # nothing on stdin is not a report
    done = json.loads(_run_stdin(tracked, ["ingest", "ccusage", "-", "--json"], json.dumps(blocks)))
    assert done["records_added"] == 1
    (block,) = tracked.records("usage")
    assert (block["granularity"], block["period"], block["cache_read_tokens"]) == (
        "block",
        "2026-06-01T10:00:00.000Z",
        44,
    )
    sessions = {
        "sessions": [
            {
                "sessionId": "abc",
                "inputTokens": 1,
                "outputTokens": 2,
                "cacheCreationTokens": 0,
                "cacheReadTokens": 0,
                "totalTokens": 3,
                "totalCost": 0,
                "lastActivity": "2026-06-01",
                "modelsUsed": [],
                "projectPath": "Unknown Project",
            }
        ]
    }
    _run_stdin(tracked, ["ingest", "ccusage", "-"], json.dumps(sessions))
    session = [r for r in tracked.records("usage") if r["granularity"] == "session"]
    # A session id names the transcript folder (its path spelled out): stored as a keyed digest.
    assert [(r["period"][:8], r["project"], r["total_tokens"]) for r in session] == [("session:", None, 3)]
    assert "abc" not in session[0]["period"]


def test_ccusage_bad_reports(tracked: Sandbox, tmp_path: Path) -> None:
    cases = {
        "truncated.json": ('{"daily": [{"date": "2026-06-01", "inputTok', "expected JSON from `ccusage"),
        "wrongtype.json": (
            json.dumps({"daily": [dict(V18_DAILY["daily"][0], inputTokens="12")]}),
            "daily[0].inputTokens: expected a whole number >= 0",
        ),
        "nan.json": ('{"daily": [{"date": "2026-06-01", "inputTokens": NaN}]}', "expected JSON from `ccusage"),
        "date.json": (json.dumps({"daily": [dict(V18_DAILY["daily"][0], date="June 1")]}), "expected a day YYYY-MM-DD"),
        "other.json": (json.dumps({"monthly": []}), 'found keys "monthly"'),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        bad = tracked.tracker("ingest", "ccusage", str(path))
        assert bad.returncode == 2 and message in bad.stderr, (name, bad.stderr)
    assert tracked.records("usage") == []


def _run_stdin(box: Sandbox, args: list[str], text: str) -> str:
    import subprocess

    from tests.conftest import tracker_command

    done = subprocess.run([*tracker_command(), *args], cwd=box.path, input=text, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- pasted screens and status-line payloads ------------------------------------------------------

CODEX_SCREEN = (
    "  5h limit:     [███████░░░░░░░] 64% left (resets 16:12)\n  Weekly limit: 80% left (resets 08:00 on 7 Jun)\n"
)


def test_pastes_become_mid_snapshots_once(tracked: Sandbox, tmp_path: Path) -> None:
    screen = tmp_path / "status.txt"
    screen.write_text(CODEX_SCREEN)
    env = {"GIT_TRACKER_NOW": "2026-06-03T10:00:00Z"}
    tracked.ok("ingest", "codex-status", str(screen), env=env)
    assert "nothing new" in tracked.ok("ingest", "codex-status", str(screen), env=env)
    (snap,) = tracked.records("snapshot")
    assert (snap["phase"], snap["provider"], snap["five_hour_used"], snap["source"]) == ("mid", "codex", 36, "ingest")
    wrong = tracked.tracker("ingest", "claude-usage", str(screen))
    assert wrong.returncode == 2 and "expected a Claude /usage screen" in wrong.stderr
    payload = {"rate_limits": {"five_hour": {"used_percentage": 42, "resets_at": 1780495200}}}
    line = tmp_path / "status.json"
    line.write_text(json.dumps(payload))
    tracked.ok("ingest", "claude-statusline", str(line))
    claude = [s for s in tracked.records("snapshot") if s["provider"] == "claude"]
    assert [(s["five_hour_used"], s["resets_at"]) for s in claude] == [(42, "2026-06-03T14:00:00.000Z")]
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    bad = tracked.tracker("ingest", "claude-statusline", str(empty))
    assert bad.returncode == 2 and "expected rate_limits" in bad.stderr


def test_unknown_source_and_misplaced_options(tracked: Sandbox) -> None:
    bad = tracked.tracker("ingest", "cursor")
    assert bad.returncode == 2 and "expected a source, one of ccusage" in bad.stderr
    assert tracked.tracker("ingest", "ccusage").returncode == 2
    assert tracked.tracker("ingest", "claude-logs", "some.json").returncode == 2
    assert tracked.tracker("ingest", "codex-sessions", "--this-repo").returncode == 2


# -- window tokens and divergence -----------------------------------------------------------------


def test_window_tokens_and_divergence_in_preview(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude"
    log = config / "projects" / "-w-p" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    lines = []
    windows = []
    for number, (used_before, used_after, tokens) in enumerate(
        [(10, 20, 1000), (20, 30, 1050), (30, 40, 950), (40, 50, 3000)]
    ):
        opened = DAY0 + timedelta(hours=number)
        tracked.ok("start", "claude", "--used", str(used_before), env={"GIT_TRACKER_NOW": iso(opened)})
        tracked.commit()
        tracked.ok(
            "end", "claude", "--used", str(used_after), env={"GIT_TRACKER_NOW": iso(opened + timedelta(minutes=30))}
        )
        tracked.ok("complete", "--outcome", "shipped", "--quality", "0.9")
        lines.append(assistant_line(opened + timedelta(minutes=10), f"m{number}", f"r{number}", usage(tokens, 0)))
        windows.append(number)
    lines.append(assistant_line(DAY0 + timedelta(hours=9), "later", "r-later", usage(99, 0)))  # in no window
    log.write_text("".join(lines))
    out = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--json"))
    assert out["divergent_marked"] == 1
    marks = [a for a in tracked.records("anomaly") if a["code"] == "divergent:ccusage"]
    assert len(marks) == 1 and "3000 tokens" in marks[0]["detail"]
    tracked.ok("ingest", "claude-logs", "--dir", str(config))
    assert len([a for a in tracked.records("anomaly") if a["code"] == "divergent:ccusage"]) == 1
    report = json.loads(tracked.ok("preview", "--json"))["providers"]["claude"]
    assert report["tokens"] == 1000 + 1050 + 950 + 3000 and report["windows_with_tokens"] == 4
    (item,) = report["divergent"]
    assert item["window_id"] == marks[0]["window_id"]
    assert (item["tokens"], item["delta"], item["tokens_per_unit"]) == (3000, 10, 300)
    assert item["median_tokens_per_unit"] == (100 + 105) / 2
    text = tracked.ok("preview")
    assert "Divergent windows" in text and "tokens" in text and max(len(line) for line in text.splitlines()) <= 80


def test_binary_or_huge_reports_are_refused_before_parsing(tracked: Sandbox, tmp_path: Path) -> None:
    binary = tmp_path / "report.bin"
    binary.write_bytes(b'{"daily": []}\x00')
    bad = tracked.tracker("ingest", "ccusage", str(binary))
    assert (
        bad.returncode == 2
        and "expected a ccusage JSON report (text of at most" in bad.stderr
        and "got binary data" in bad.stderr
    )
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b" " * ((64 << 20) + 1))
    bad = tracked.tracker("ingest", "codex-status", str(huge))
    assert bad.returncode == 2 and "expected a pasted Codex /status screen (text of at most 64 MiB)" in bad.stderr
    assert tracked.records("usage") == [] and tracked.records("snapshot") == []


# -- what a run says ------------------------------------------------------------------------------


def test_an_empty_ccusage_report_says_it_was_empty(tracked: Sandbox, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    empties: list[Any] = [[], {"daily": [], "totals": {}}, {"blocks": [{"isGap": True}]}]
    for empty in empties:
        report.write_text(json.dumps(empty))
        assert tracked.ok("ingest", "ccusage", str(report)) == "ccusage: the report was empty (no usage rows)\n"
        summary = json.loads(tracked.ok("ingest", "ccusage", str(report), "--json"))
        assert (summary["events"], summary["records_added"], summary["unchanged"]) == (0, 0, True)
    report.write_text(json.dumps(V18_DAILY))
    assert "1 usage record(s) and 0 snapshot(s) added" in tracked.ok("ingest", "ccusage", str(report))
    assert tracked.ok("ingest", "ccusage", str(report)) == "ccusage: nothing new (already in the ledger)\n"


def test_toggling_this_repo_is_unchanged_as_docs_json_defines_it(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude"
    log = config / "projects" / "-mixed" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(
        assistant_line(DAY0, "m1", "r1", usage(10, 1), cwd=str(tracked.path.resolve()))
        + assistant_line(DAY0, "m2", "r2", usage(20, 2), cwd="/elsewhere")
    )
    first = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--json"))
    assert first["records_added"] > 0 and not first["unchanged"]
    count = len(tracked.records("usage"))
    # The same files, only --this-repo toggled: the totals are derived again and all are in the ledger already.
    for _ in range(2):
        again = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--json", "--this-repo"))
        assert (again["files_read"], again["records_added"], again["snapshots_added"]) == (0, 0, 0)
        assert again["unchanged"] is True  # docs/json.md: true when nothing new was read or added
        text = tracked.ok("ingest", "claude-logs", "--dir", str(config))  # and back
        assert text == "claude-logs: nothing new (1 file(s) checked)\n"
    assert len(tracked.records("usage")) == count
    # Something new read, nothing added (the log gained a line already counted): not unchanged.
    with log.open("a") as handle:
        handle.write(assistant_line(DAY0, "m1", "r1", usage(10, 1), cwd=str(tracked.path.resolve())))
    grown = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(config), "--json", "--this-repo"))
    assert grown["files_read"] == 1 and grown["records_added"] == 0 and grown["unchanged"] is False
