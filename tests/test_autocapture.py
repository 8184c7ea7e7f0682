"""Automatic windows: `git tracker hook claude|codex EVENT` driven as the agents run it (JSON on stdin), through
real git repositories, the installed commit hooks and the detached worker.

The payloads follow the shapes Claude Code and Codex send (../shared/real-clients/README.md); the runs of the
real programs are in test_autocapture_real.py. Time is moved with GIT_TRACKER_NOW, which the detached worker
inherits.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gittracker.files import lock_held
from tests.conftest import Sandbox, tracker_command

CLAUDE_SESSION = "3429e800-8c63-4808-83c0-231376e0ece5"
OTHER_CLAUDE_SESSION = "77a1b2c3-0000-4808-83c0-231376e0ece5"
CODEX_SESSION = "01a22bf1-ccd3-79d0-9845-73db784da1a9"
PROMPT = "PLEASE-NEVER-STORE-THIS-PROMPT-7f3a"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def tracker_dir(box: Sandbox) -> Path:
    return box.path / ".git" / "tracker"


def wait_for_worker(box: Sandbox, timeout: float = 30.0) -> None:
    """Until nothing is queued for the worker and no worker holds its lock."""
    auto = tracker_dir(box) / "auto"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            queued = (auto / "queue").stat().st_size > 0
        except FileNotFoundError:  # taken by the worker meanwhile
            queued = False
        if not queued and not list(auto.glob("queue.taken.*")) and not lock_held(auto / "worker.lock"):
            return
        time.sleep(0.05)
    raise AssertionError("the autocapture worker did not finish")


def hook(
    box: Sandbox, provider: str, event: str, payload: dict[str, Any] | bytes, minutes: float, **env: str
) -> subprocess.CompletedProcess[bytes]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    done = subprocess.run(
        [*tracker_command(), "hook", provider, event],
        cwd=box.path,
        input=data,
        capture_output=True,
        env={**_env(), "GIT_TRACKER_NOW": at(minutes), **env},
        timeout=30,
    )
    wait_for_worker(box)
    return done


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def claude_payload(box: Sandbox, event: str, session: str = CLAUDE_SESSION, **extra: Any) -> dict[str, Any]:
    return {
        "session_id": session,
        "transcript_path": str(box.path.parent / f"{session}.jsonl"),
        "cwd": str(box.path),
        "hook_event_name": event,
        **extra,
    }


def seed_statusline(box: Sandbox, used: float, weekly: float, minutes: float, session: str = CLAUDE_SESSION) -> None:
    """What Claude Code's status line hands `git tracker statusline` on a repaint (the documented payload shape)."""
    resets = int((T0 + timedelta(hours=4)).timestamp())
    payload = {
        "session_id": session,
        "cwd": str(box.path),
        "model": {"id": "claude-opus", "display_name": "Opus"},
        "rate_limits": {
            "five_hour": {"used_percentage": used, "resets_at": resets},
            "seven_day": {"used_percentage": weekly, "resets_at": resets + 5 * 86400},
        },
    }
    done = subprocess.run(
        [*tracker_command(), "statusline"],
        cwd=box.path,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env={**_env(), "GIT_TRACKER_NOW": at(minutes)},
    )
    assert done.returncode == 0, done.stderr


def closes(box: Sandbox) -> list[dict[str, Any]]:
    return box.records("window-close")


def everything_written(box: Sandbox) -> str:
    """The ledger's blobs and every note, as text."""
    ledger = box.git("log", "-p", "--all", "--format=%H %s", "refs/heads/tracker-ledger", check=False)
    notes = box.git("log", "-p", "refs/notes/tracker", check=False)
    return ledger + notes


def test_a_claude_session_opens_reads_and_closes_one_window(tracked: Sandbox) -> None:
    start_head = tracked.head()
    done = hook(tracked, "claude", "SessionStart", claude_payload(tracked, "SessionStart", source="startup"), 0)
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b""
    assert tracked.records("window-open") == []  # no reading yet: the window waits for the session's first
    hook(tracked, "claude", "UserPromptSubmit", claude_payload(tracked, "UserPromptSubmit", prompt=PROMPT), 1)
    seed_statusline(tracked, 42, 17, 2)
    hook(tracked, "claude", "Stop", claude_payload(tracked, "Stop", last_assistant_message=PROMPT), 2)
    agent = "claude-" + CLAUDE_SESSION[:8]
    commit = tracked.commit(env={"AGENT_ID": agent})
    tracked.wait_for_flush()
    seed_statusline(tracked, 50, 18, 9)
    hook(tracked, "claude", "Stop", claude_payload(tracked, "Stop"), 9)
    seed_statusline(tracked, 55, 18, 12)
    hook(tracked, "claude", "SessionEnd", claude_payload(tracked, "SessionEnd", reason="other"), 12)

    (opened,) = tracked.records("window-open")
    assert opened["agent_id"] == agent and opened["source"] == "hook"
    assert opened["ts"] == at(0) and opened["commit_start"] == start_head
    snapshots = tracked.records("snapshot")
    assert [(s["phase"], s["five_hour_used"]) for s in snapshots] == [("before", 42), ("mid", 50), ("after", 55)]
    (closed,) = closes(tracked)
    assert closed["ts"] == at(12) and closed["delta"] == 55 - 42 and closed["commit_end"] == commit
    assert [n["id"] for n in tracked.note(commit) if n["kind"] == "window"] == [opened["window_id"]]
    assert PROMPT not in everything_written(tracked)
    assert list((tracker_dir(tracked) / "auto" / "sessions").iterdir()) == []
    assert not (tracked.path / ".git" / "tracker-auto" / agent).exists()
    assert not (tracker_dir(tracked) / "agents" / agent / "open" / "claude.note").exists()
    assert json.loads(tracked.ok("status", "--json"))["automatic"] == []


def test_two_claude_sessions_in_one_repository_are_two_agents(tracked: Sandbox) -> None:
    for minutes, session in ((0, CLAUDE_SESSION), (1, OTHER_CLAUDE_SESSION)):
        seed_statusline(tracked, 30 + minutes, 10, minutes, session=session)
        hook(tracked, "claude", "SessionStart", claude_payload(tracked, "SessionStart", session=session), minutes)
    for minutes, session in ((5, CLAUDE_SESSION), (6, OTHER_CLAUDE_SESSION)):
        seed_statusline(tracked, 40 + minutes, 10, minutes, session=session)
        hook(tracked, "claude", "SessionEnd", claude_payload(tracked, "SessionEnd", session=session), minutes)
    agents = sorted(c["agent_id"] for c in closes(tracked))
    assert agents == sorted(["claude-" + CLAUDE_SESSION[:8], "claude-" + OTHER_CLAUDE_SESSION[:8]])
    assert sorted(c["delta"] for c in closes(tracked)) == [45 - 30, 46 - 31]


def test_agent_id_names_the_automatic_window(tracked: Sandbox) -> None:
    seed_statusline(tracked, 20, 10, 0)
    hook(tracked, "claude", "SessionStart", claude_payload(tracked, "SessionStart"), 0, AGENT_ID="reviewer")
    hook(tracked, "claude", "SessionEnd", claude_payload(tracked, "SessionEnd"), 3, AGENT_ID="reviewer")
    assert [c["agent_id"] for c in closes(tracked)] == ["reviewer"]


def write_rollout(path: Path, readings: list[tuple[float, float, float | None]]) -> None:
    """A Codex rollout as the documented shape has it: session_meta, then token_count events whose rate_limits
    carry the x-codex-* headers the server sent (minutes after T0, primary %, secondary % or None)."""
    lines = [{"timestamp": at(0), "type": "session_meta", "payload": {"id": CODEX_SESSION, "cwd": str(path.parent)}}]
    for minutes, primary, secondary in readings:
        limits: dict[str, Any] = {
            "primary": {"used_percent": primary, "window_minutes": 300, "resets_at": int(T0.timestamp()) + 4 * 3600},
            "secondary": None,
        }
        if secondary is not None:
            limits["secondary"] = {
                "used_percent": secondary,
                "window_minutes": 10080,
                "resets_at": int(T0.timestamp()) + 5 * 86400,
            }
        lines.append(
            {
                "timestamp": at(minutes),
                "type": "event_msg",
                "payload": {"type": "token_count", "info": None, "rate_limits": limits},
            }
        )
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def codex_payload(box: Sandbox, event: str, rollout: Path, **extra: Any) -> dict[str, Any]:
    return {
        "session_id": CODEX_SESSION,
        "turn_id": str(uuid.uuid4()),  # a new turn each event unless a test gives one
        "transcript_path": str(rollout),
        "cwd": str(box.path),
        "hook_event_name": event,
        "model": "gpt-5.5",
        **extra,
    }


def test_a_codex_session_is_closed_at_its_last_reading_once_idle(tracked: Sandbox, tmp_path: Path) -> None:
    rollout = tmp_path / "rollout.jsonl"
    write_rollout(rollout, [])
    hook(tracked, "codex", "SessionStart", codex_payload(tracked, "SessionStart", rollout), 0)
    hook(tracked, "codex", "UserPromptSubmit", codex_payload(tracked, "UserPromptSubmit", rollout, prompt=PROMPT), 0)
    write_rollout(rollout, [(1, 10, 3)])
    hook(tracked, "codex", "Stop", codex_payload(tracked, "Stop", rollout), 1)
    commit = tracked.commit(env={"AGENT_ID": "codex-" + CODEX_SESSION[:8]})
    tracked.wait_for_flush()
    write_rollout(rollout, [(1, 10, 3), (4, 25, 5)])
    hook(tracked, "codex", "Stop", codex_payload(tracked, "Stop", rollout), 4)
    assert closes(tracked) == []
    # Codex sends no session end: 31 quiet minutes later, the next command that looks closes it.
    status = json.loads(tracked.ok("status", "--json", env={"GIT_TRACKER_NOW": at(35)}))
    wait_for_worker(tracked)
    (closed,) = closes(tracked)
    assert status["closed_idle"] == [
        {"window_id": closed["window_id"], "agent_id": closed["agent_id"], "provider": "codex", "closed_ts": at(4)}
    ]
    assert status["automatic"] == []
    assert closed["ts"] == at(4) and closed["delta"] == 25 - 10 and closed["commit_end"] == commit
    before, after = (s for s in tracked.records("snapshot") if s["phase"] in ("before", "after"))
    assert (before["five_hour_used"], after["five_hour_used"]) == (10, 25)
    assert PROMPT not in everything_written(tracked)


def test_a_session_back_after_idle_time_gets_a_new_window(tracked: Sandbox, tmp_path: Path) -> None:
    rollout = tmp_path / "rollout.jsonl"
    write_rollout(rollout, [(0, 10, None)])
    hook(tracked, "codex", "SessionStart", codex_payload(tracked, "SessionStart", rollout), 0)
    write_rollout(rollout, [(0, 10, None), (2, 12, None)])
    hook(tracked, "codex", "Stop", codex_payload(tracked, "Stop", rollout), 2)
    write_rollout(rollout, [(0, 10, None), (2, 12, None), (50, 20, None)])
    hook(tracked, "codex", "UserPromptSubmit", codex_payload(tracked, "UserPromptSubmit", rollout), 50)
    hook(tracked, "codex", "Stop", codex_payload(tracked, "Stop", rollout), 51)
    (closed,) = closes(tracked)
    assert closed["ts"] == at(2) and closed["delta"] == 2
    opens = tracked.records("window-open")
    assert len(opens) == 2 and opens[1]["ts"] == at(50)


def test_a_weekly_only_codex_plan_is_measured_on_the_weekly_meter(tracked: Sandbox, tmp_path: Path) -> None:
    rollout = tmp_path / "rollout.jsonl"
    lines = [{"timestamp": at(0), "type": "session_meta", "payload": {"id": CODEX_SESSION}}]
    for minutes, used in ((1, 30), (5, 34)):
        primary = {"used_percent": used, "window_minutes": 10080, "resets_at": int(T0.timestamp()) + 3 * 86400}
        payload = {"type": "token_count", "info": None, "rate_limits": {"primary": primary, "secondary": None}}
        lines.append({"timestamp": at(minutes), "type": "event_msg", "payload": payload})
        rollout.write_text("".join(json.dumps(line) + "\n" for line in lines))
        hook(tracked, "codex", "Stop", codex_payload(tracked, "Stop", rollout), minutes)
    tracked.ok("status", env={"GIT_TRACKER_NOW": at(60)})
    wait_for_worker(tracked)
    (closed,) = closes(tracked)
    assert (closed["meter"], closed["delta"]) == ("weekly", 4)


def test_a_session_that_never_showed_a_reading_still_gets_its_window(tracked: Sandbox) -> None:
    """An API-key login shows no rate limits: the window and its commits are kept, its delta unknown."""
    hook(tracked, "claude", "SessionStart", claude_payload(tracked, "SessionStart"), 0)
    commit = tracked.commit(env={"AGENT_ID": "claude-" + CLAUDE_SESSION[:8]})
    tracked.wait_for_flush()
    hook(tracked, "claude", "SessionEnd", claude_payload(tracked, "SessionEnd"), 5)
    (closed,) = closes(tracked)
    assert closed["delta"] is None and "missing-reading" in closed["errors"]
    assert tracked.note(commit)[0]["id"] == closed["window_id"]


def test_the_status_line_of_another_session_is_never_taken(tracked: Sandbox) -> None:
    seed_statusline(tracked, 80, 50, 0, session=OTHER_CLAUDE_SESSION)
    hook(tracked, "claude", "SessionStart", claude_payload(tracked, "SessionStart"), 0)
    hook(tracked, "claude", "Stop", claude_payload(tracked, "Stop"), 1)
    assert tracked.records("snapshot") == []


def test_a_stale_status_line_reading_is_not_a_before(tracked: Sandbox) -> None:
    seed_statusline(tracked, 20, 10, 0)
    hook(tracked, "claude", "SessionStart", claude_payload(tracked, "SessionStart"), 45)  # 45 min later
    assert tracked.records("snapshot") == []


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"\x00\xff\xfe binary", b"[1, 2]", b'{"session_id": 5}', b'{"session_id": "short"}', b""],
)
def test_bad_payloads_never_fail_the_agent_and_write_nothing(tracked: Sandbox, payload: bytes) -> None:
    tip = tracked.git("rev-parse", "-q", "--verify", "refs/heads/tracker-ledger", check=False).strip()
    done = hook(tracked, "claude", "Stop", payload, 0)
    assert (done.returncode, done.stdout) == (0, b"")
    anomalies = [r for r in tracked.records("anomaly") if r["code"] == "autocapture-failed"]
    if payload in (b"not json", b"\x00\xff\xfe binary", b"[1, 2]"):
        (anomaly,) = anomalies  # what could not be read is recorded, without the payload
        assert "binary" not in anomaly["detail"] and "json" not in anomaly["detail"].lower().replace(
            "jsondecodeerror", ""
        )
    else:
        assert tracked.git("rev-parse", "-q", "--verify", "refs/heads/tracker-ledger", check=False).strip() == tip
    assert tracked.records("window-open") == []


def test_wrong_arguments_are_one_line_and_never_exit_2(tracked: Sandbox) -> None:
    done = subprocess.run(
        [*tracker_command(), "hook", "cursor", "Stop"], cwd=tracked.path, capture_output=True, text=True
    )
    assert done.returncode == 1 and done.stdout == "" and len(done.stderr.strip().splitlines()) == 1


def test_a_repository_without_git_tracker_is_left_alone(sandbox: Sandbox) -> None:
    sandbox.commit()
    done = hook(sandbox, "claude", "SessionStart", claude_payload(sandbox, "SessionStart"), 0)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert not (sandbox.path / ".git" / "tracker").exists() and not (sandbox.path / ".git" / "tracker-auto").exists()


def test_a_typed_window_of_the_same_agent_stands(tracked: Sandbox) -> None:
    tracked.ok("start", "claude", "--used", "10", env={"AGENT_ID": "me"})
    seed_statusline(tracked, 20, 10, 0)
    hook(tracked, "claude", "SessionStart", claude_payload(tracked, "SessionStart"), 0, AGENT_ID="me")
    assert len(tracked.records("window-open")) == 1 and not (tracked.path / ".git" / "tracker-auto").exists()


def test_a_long_session_grows_nothing_local_and_adds_a_record_per_turn_at_most(tracked: Sandbox) -> None:
    seed_statusline(tracked, 1, 1, 0)
    hook(tracked, "claude", "SessionStart", claude_payload(tracked, "SessionStart"), 0)
    session_file = next((tracker_dir(tracked) / "auto" / "sessions").iterdir())
    sizes = []
    turns = 30
    for turn in range(1, turns + 1):
        seed_statusline(tracked, 1 + turn // 2, 1, turn)  # the meter moves every other turn
        hook(tracked, "claude", "Stop", claude_payload(tracked, "Stop"), turn)
        sizes.append(session_file.stat().st_size)
    assert len(set(sizes)) == 1
    snapshots = tracked.records("snapshot")
    assert len(snapshots) == turns + 1  # one per turn, plus the before
    local = sum(p.stat().st_size for p in (tracker_dir(tracked) / "auto").rglob("*") if p.is_file())
    assert local < 4096


def test_the_same_event_from_two_hook_files_at_once_opens_one_window(tracked: Sandbox, tmp_path: Path) -> None:
    """Codex runs the hooks of $CODEX_HOME/hooks.json and <repo>/.codex/hooks.json at the same moment."""
    rollout = tmp_path / "rollout.jsonl"
    write_rollout(rollout, [(0, 10, None)])
    data = json.dumps(codex_payload(tracked, "SessionStart", rollout)).encode()
    env = {**_env(), "GIT_TRACKER_NOW": at(0)}
    runs = [
        subprocess.Popen(
            [*tracker_command(), "hook", "codex", "SessionStart"], cwd=tracked.path, stdin=subprocess.PIPE, env=env
        )
        for _ in range(4)
    ]
    for run in runs:
        run.communicate(data, timeout=30)
    wait_for_worker(tracked)
    assert len(tracked.records("window-open")) == 1
    assert len(list((tracked.path / ".git" / "tracker-auto").iterdir())) == 1


def test_timer_once_closes_an_idle_window_once(tracked: Sandbox, tmp_path: Path) -> None:
    rollout = tmp_path / "rollout.jsonl"
    write_rollout(rollout, [(1, 10, None), (3, 14, None)])
    hook(tracked, "codex", "Stop", codex_payload(tracked, "Stop", rollout), 3)
    for minutes, closed_now in ((20, 0), (40, 1), (40.5, 0)):
        report = json.loads(tracked.ok("timer", "--once", "--json", env={"GIT_TRACKER_NOW": at(minutes)}))
        (job,) = [job for job in report["jobs"] if job["job"] == "close-idle"]
        assert len(job.get("windows") or []) == closed_now, job
    (closed,) = closes(tracked)
    assert closed["ts"] == at(3) and closed["delta"] == 0


def test_a_turn_s_stop_delivered_twice_is_one_reading(tracked: Sandbox, tmp_path: Path) -> None:
    """Hooks installed both for the project and for the user run twice per event."""
    rollout = tmp_path / "rollout.jsonl"
    write_rollout(rollout, [(1, 10, None)])
    for minutes, turn in ((1, "turn-a"), (1, "turn-a"), (2, "turn-b"), (2, "turn-b")):
        hook(tracked, "codex", "Stop", codex_payload(tracked, "Stop", rollout, turn_id=turn), minutes)
    phases = [s["phase"] for s in tracked.records("snapshot")]
    assert phases == ["before", "mid"]  # turn a opened the window (its reading the before), turn b one mid
