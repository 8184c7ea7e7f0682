"""Issue 13's acceptance against the real programs: `codex exec` and `claude` (pinned, from npm) run offline
against fake model servers (tests/realclients/), with `git tracker agent-hooks install` done in the test
repository. Their own hooks open and close the automatic windows; the readings are what the servers sent (Codex's
rollout, Claude's status line), the commits are stamped with the right window, and no prompt text is kept."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox, tracker_command
from tests.realclients import require
from tests.realclients.clients import Codex, anthropic_limits, codex_limits
from tests.realclients.runner import FakeServer, Tmux

pytestmark = pytest.mark.realclients

# In every prompt, never in what the fake model answers or the tools run: it must not reach the ledger or notes.
SECRET = "zanzibar-quokka-prompt-text"
Limit = tuple[float, int, int]  # used percent, window minutes, reset epoch seconds
METER_OF_MINUTES = {300: "five_hour", 10080: "weekly"}
PROMPT_MARK = "\u276f"  # where interactive Claude Code takes input


# Helpers --------------------------------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def iso_epoch(seconds: int) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))


def install_agent_hooks(box: Sandbox, provider: str) -> None:
    box.ok("agent-hooks", "install", provider)


def wait_for(box: Sandbox, found: Callable[[list[dict[str, Any]]], bool], what: str, timeout: float = 60) -> None:
    """Until the ledger (written by the hooks' detached worker) satisfies FOUND."""
    deadline = time.monotonic() + timeout
    while True:
        records = box.records()
        if found(records):
            return
        if time.monotonic() > deadline:
            kinds = [(r["kind"], r.get("agent_id"), r.get("phase")) for r in records]
            raise AssertionError(f"timed out waiting for {what}; ledger: {kinds}")
        time.sleep(0.2)


def closes(records: list[dict[str, Any]], agent: str | None = None) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == "window-close" and agent in (None, r["agent_id"])]


def opens(records: list[dict[str, Any]], agent: str | None = None) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == "window-open" and agent in (None, r["agent_id"])]


def snapshot(records: list[dict[str, Any]], window_id: str, phase: str) -> dict[str, Any]:
    [found] = [r for r in records if r["kind"] == "snapshot" and r["window_id"] == window_id and r["phase"] == phase]
    return found


def expected_codex_reading(primary: Limit, secondary: Limit | None) -> dict[str, Any]:
    """The reading fields Codex's limits map to: the 300-minute limit is the 5-hour meter, 10080 the weekly."""
    reading: dict[str, Any] = {"five_hour_used": None, "resets_at": None, "weekly_used": None, "weekly_resets_at": None}
    for limit in (primary, secondary):
        if limit is None:
            continue
        meter = METER_OF_MINUTES[limit[1]]
        used, reset = ("five_hour_used", "resets_at") if meter == "five_hour" else ("weekly_used", "weekly_resets_at")
        reading[used] = limit[0]
        reading[reset] = iso_epoch(limit[2])
    return reading


def reading_of(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in ("five_hour_used", "resets_at", "weekly_used", "weekly_resets_at")}


def stamped_windows(box: Sandbox, commit: str) -> set[str]:
    """The windows COMMIT's note names (once the post-commit hook's background flush is done)."""
    box.wait_for_flush()
    return {line["id"] for line in box.note(commit) if line.get("kind") == "window"}


def assert_no_prompt_text(box: Sandbox) -> None:
    """SECRET is in no ledger file, no ledger commit message, no note, and no file of the local state."""
    git_dir = box.path / ".git"
    for ref in ("refs/heads/tracker-ledger", "refs/notes/tracker"):
        if not box.git("rev-parse", "-q", "--verify", ref, check=False).strip():
            continue
        assert SECRET not in box.git("log", "--format=%B", ref)
        for line in box.git("ls-tree", "-r", ref).splitlines():
            blob = line.split()[2]
            assert SECRET not in box.git("cat-file", "-p", blob), f"prompt text in {ref}: {line}"
    for path in (git_dir / "tracker").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"prompt text in {path}"


def tracker_env(moment: datetime) -> dict[str, str]:
    return {"GIT_TRACKER_NOW": iso(moment)}


# Codex ----------------------------------------------------------------------------------------------------------


def codex_plans() -> list[Any]:
    now = int(time.time())
    five_hour, weekly = now + 3 * 3600, now + 4 * 86400
    return [
        pytest.param(
            ((42.5, 300, five_hour), (17.0, 10080, weekly)),
            ((47.5, 300, five_hour), (18.0, 10080, weekly)),
            "five_hour",
            id="five-hour-and-weekly",
        ),
        pytest.param(((12.0, 10080, weekly), None), ((14.5, 10080, weekly), None), "weekly", id="weekly-only"),
    ]


@pytest.mark.parametrize(("first", "second", "meter"), codex_plans())
def test_codex_session_with_a_commit_between_prompts_is_one_window(
    tracked: Sandbox,
    hermetic: Path,
    tmp_path: Path,
    first: tuple[Limit, Limit | None],
    second: tuple[Limit, Limit | None],
    meter: str,
) -> None:
    box = tracked
    codex = require.codex(hermetic)
    install_agent_hooks(box, "codex")
    commit_start = box.head()
    agent_work = "echo agent > agent.txt && git add agent.txt && git commit -q -m 'agent work'"
    with require.fake_server("openai", tmp_path / "server", headers=codex_limits(*first)) as server:
        codex.configure(server, trusted=[box.path])
        run = codex.exec(server, box.path, f"{SECRET}: please RUN_TOOL <<<{agent_work}>>>")
        assert run.completed.returncode == 0, run.completed.stderr
        agent_commit = box.head()
        assert agent_commit != commit_start, f"the agent's commit did not happen: {run.completed.stderr[-2000:]}"
        [rollout] = codex.rollouts()
        session = Codex.session_of(rollout)
        person_commit = box.commit("person.txt")  # in another terminal: no session in its environment
        server.configure(headers=codex_limits(*second))
        run = codex.exec(server, box.path, f"{SECRET}: what changed?", resume=session)
        assert run.completed.returncode == 0, run.completed.stderr
    last_event = datetime.now(UTC)
    agent = f"codex-{session[:8]}"
    wait_for(box, lambda rs: any(r["kind"] == "snapshot" and r["phase"] == "mid" for r in rs), "the second reading")

    box.ok("status", env=tracker_env(last_event + timedelta(minutes=31)))  # idle: auto.idle_minutes = 30; status looks
    wait_for(box, lambda rs: bool(closes(rs)), "the idle window's close")

    records = box.records()
    [opened] = opens(records)
    [closed] = closes(records)
    assert opened["agent_id"] == closed["agent_id"] == agent
    window = opened["window_id"]
    assert closed["window_id"] == window
    assert reading_of(snapshot(records, window, "before")) == expected_codex_reading(*first)
    assert reading_of(snapshot(records, window, "after")) == expected_codex_reading(*second)
    assert closed["meter"] == meter
    assert closed["delta"] == pytest.approx(second[0][0] - first[0][0])
    assert closed["commit_start"] == commit_start
    assert closed["commit_end"] == person_commit
    assert closed["ts"] <= iso(last_event)  # closed at its last reading, not when the idle time was noticed
    assert stamped_windows(box, agent_commit) == {window}
    assert stamped_windows(box, person_commit) == {window}
    assert not (box.path / ".git" / "tracker" / "agents" / agent / "open" / "codex.note").exists()
    assert_no_prompt_text(box)


def test_codex_window_spanning_a_reset_gets_the_segmented_delta(
    tracked: Sandbox, hermetic: Path, tmp_path: Path
) -> None:
    """Readings 80 and 85 before the 5-hour meter resets, 5 after it, the last one before the reset seconds before
    it: the delta is (85 - 80) + 5, flagged spans-reset (the uncovered time is under auto.reset_gap_minutes)."""
    box = tracked
    codex = require.codex(hermetic)
    install_agent_hooks(box, "codex")
    weekly: Limit = (30.0, 10080, int(time.time()) + 4 * 86400)
    far = int(time.time()) + 3600
    with require.fake_server("openai", tmp_path / "server", headers=codex_limits((80.0, 300, far), weekly)) as server:
        codex.configure(server, trusted=[box.path])
        assert codex.exec(server, box.path, f"{SECRET} one").completed.returncode == 0
        session = Codex.session_of(codex.rollouts()[0])
        reset = int(time.time()) + 2
        server.configure(headers=codex_limits((85.0, 300, reset), weekly))
        assert codex.exec(server, box.path, f"{SECRET} two", resume=session).completed.returncode == 0
        time.sleep(max(0.0, reset + 1 - time.time()))
        server.configure(headers=codex_limits((5.0, 300, reset + 5 * 3600), (31.0, 10080, weekly[2])))
        assert codex.exec(server, box.path, f"{SECRET} three", resume=session).completed.returncode == 0
    last_event = datetime.now(UTC)
    wait_for(box, lambda rs: len([r for r in rs if r.get("phase") == "mid"]) >= 2, "the readings")
    box.ok("status", env=tracker_env(last_event + timedelta(minutes=31)))
    wait_for(box, lambda rs: bool(closes(rs)), "the window's close")
    [closed] = closes(box.records())
    assert closed["delta"] == pytest.approx((85.0 - 80.0) + 5.0)
    assert "spans-reset" in closed["notes"] + closed["errors"]
    assert "reset-inside-window" not in closed["errors"]


# Claude Code ----------------------------------------------------------------------------------------------------

STATUS_LINE_CAPTURES = (
    "claude/tui_gateway_jwt_hooks/statusline-1796033485375322821.json",
    "claude/tui_gateway_jwt_hooks/statusline-1796033491817275289.json",
)


def seed_status_line(box: Sandbox, capture: Path, session: str, moment: datetime) -> dict[str, Any]:
    """Feed `git tracker statusline` the real captured status-line input, as this session's, at MOMENT."""
    payload = json.loads(capture.read_text())
    payload.update(session_id=session, cwd=str(box.path), transcript_path="")
    payload["workspace"].update(current_dir=str(box.path), project_dir=str(box.path))
    done = tracker_stdin(box, ["statusline"], payload, tracker_env(moment))
    assert done.returncode == 0, done.stderr
    limits: dict[str, Any] = payload["rate_limits"]
    return limits


def tracker_stdin(
    box: Sandbox, args: list[str], payload: dict[str, Any], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`git tracker ARGS` with PAYLOAD as JSON on stdin, in the test's environment."""
    return subprocess.run(
        [*tracker_command(), *args],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=box.path,
        env={**os.environ, **(env or {})},
        check=False,
    )


def expected_claude_reading(limits: dict[str, Any]) -> dict[str, Any]:
    return {
        "five_hour_used": float(limits["five_hour"]["used_percentage"]),
        "resets_at": iso_epoch(limits["five_hour"]["resets_at"]),
        "weekly_used": float(limits["seven_day"]["used_percentage"]),
        "weekly_resets_at": iso_epoch(limits["seven_day"]["resets_at"]),
    }


def capture_moment(capture: Path) -> datetime:
    """When the capture was made: its file name ends with the nanoseconds since the epoch."""
    return datetime.fromtimestamp(int(capture.stem.rsplit("-", 1)[1]) / 1e9, UTC)


def test_claude_print_sessions_each_get_one_window_and_two_at_once_are_two_agents(
    tracked: Sandbox, hermetic: Path, tmp_path: Path
) -> None:
    box = tracked
    claude = require.claude(hermetic)
    install_agent_hooks(box, "claude")
    captures = [require.capture(name) for name in STATUS_LINE_CAPTURES]
    moment = capture_moment(captures[-1])
    sessions = [str(uuid.uuid4()) for _ in captures]
    limits = [seed_status_line(box, c, s, moment) for c, s in zip(captures, sessions, strict=True)]
    with require.fake_server("anthropic", tmp_path / "server") as server:

        def session_run(session: str) -> Any:
            prompt = f"{SECRET}: say hello"
            return claude.print_mode(server, box.path, prompt, session_id=session, env=tracker_env(moment))

        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(session_run, sessions))
    for run in runs:
        assert run.completed.returncode == 0, run.completed.stderr
        assert run.result == "Hello from the fake server"
    agents = [f"claude-{s[:8]}" for s in sessions]
    wait_for(box, lambda rs: all(closes(rs, a) for a in agents), "both sessions' windows to close")

    records = box.records()
    assert {r["agent_id"] for r in opens(records)} == set(agents)
    for agent, seen in zip(agents, limits, strict=True):
        [opened], [closed] = opens(records, agent), closes(records, agent)
        window = opened["window_id"]
        assert closed["window_id"] == window
        assert reading_of(snapshot(records, window, "before")) == expected_claude_reading(seen)
        assert reading_of(snapshot(records, window, "after")) == expected_claude_reading(seen)
        assert closed["delta"] == 0.0
        assert closed["commit_start"] == closed["commit_end"] == box.head()
        assert not (box.path / ".git" / "tracker" / "agents" / agent / "open" / "claude.note").exists()
    assert_no_prompt_text(box)


def test_claude_agent_commit_is_stamped_with_its_own_session_window(
    tracked: Sandbox, hermetic: Path, tmp_path: Path
) -> None:
    """The commit Claude's Bash tool makes carries CLAUDE_CODE_SESSION_ID: it is stamped with that session's
    window only, even while another session's window is open in the same worktree."""
    box = tracked
    claude = require.claude(hermetic)
    install_agent_hooks(box, "claude")
    other, session = str(uuid.uuid4()), str(uuid.uuid4())
    agent_work = "echo agent > agent.txt && git add agent.txt && git commit -q -m 'agent work'"
    with require.fake_server("anthropic", tmp_path / "server") as server:
        # The other session: its SessionStart opens a window; it stays open (no SessionEnd) while the first runs.
        payload = {"session_id": other, "cwd": str(box.path), "hook_event_name": "SessionStart", "source": "startup"}
        started = tracker_stdin(box, ["hook", "claude", "SessionStart"], payload)
        assert started.returncode == 0 and started.stdout == ""
        run = claude.print_mode(server, box.path, f"{SECRET}: please RUN_TOOL <<<{agent_work}>>>", session_id=session)
    assert run.completed.returncode == 0, run.completed.stderr
    agent_commit = box.head()
    assert box.git("log", "-1", "--format=%s").strip() == "agent work"
    agent = f"claude-{session[:8]}"
    wait_for(box, lambda rs: bool(closes(rs, agent)), "the session's window to close")
    records = box.records()
    [opened] = opens(records, agent)
    assert stamped_windows(box, agent_commit) == {opened["window_id"]}
    [closed] = closes(records, agent)
    assert closed["commit_end"] == agent_commit
    assert_no_prompt_text(box)


def test_claude_interactive_status_line_gives_the_readings_without_seeding(
    tracked: Sandbox, hermetic: Path, tmp_path: Path
) -> None:
    """Interactive claude in tmux, logged in through the gateway JWT so that its status line gets rate limits:
    `agent-hooks install claude` set the status line to git-tracker's, whose readings the hooks use."""
    require.tmux()
    box = tracked
    claude = require.claude(hermetic, gateway=True)
    claude.trust(box.path)
    install_agent_hooks(box, "claude")
    now = int(time.time())
    five_hour, seven_day = now + 2 * 3600, now + 3 * 86400
    first = anthropic_limits(five_hour=(0.42, five_hour), seven_day=(0.17, seven_day))
    second = anthropic_limits(five_hour=(0.45, five_hour), seven_day=(0.18, seven_day))
    with require.fake_server("anthropic", tmp_path / "server", headers=first) as server:
        tui = Tmux(server, tmp_path)
        tui.start([str(claude.binary)], env=claude.env(server), cwd=box.path)
        try:
            tui.wait_for(lambda: PROMPT_MARK in tui.screen(), what="the prompt")
            answered = answers(server)
            tui.type(f"{SECRET} hello")
            tui.wait_for(lambda: answers(server) > answered and "Hello from the fake server" in tui.screen(), what="1")
            wait_for(box, lambda rs: bool(opens(rs)), "the window to open with the first reading")
            server.configure(headers=second)
            tui.type(f"{SECRET} again")
            tui.wait_for(lambda: answers(server) > answered + 1, what="the second answer")
            wait_for(box, lambda rs: any(r.get("phase") == "mid" for r in rs), "the second reading")
            tui.type("/exit")
            tui.wait_for(lambda: not tui.alive(), what="claude to exit")
        finally:
            tui.close()
    wait_for(box, lambda rs: bool(closes(rs)), "the window's close")
    records = box.records()
    [opened], [closed] = opens(records), closes(records)
    window = opened["window_id"]
    expected_first = {"five_hour_used": 42.0, "resets_at": iso_epoch(five_hour)}
    expected_first |= {"weekly_used": 17.0, "weekly_resets_at": iso_epoch(seven_day)}
    assert reading_of(snapshot(records, window, "before")) == expected_first
    after = reading_of(snapshot(records, window, "after"))
    assert after == {**expected_first, "five_hour_used": 45.0, "weekly_used": 18.0}
    assert closed["delta"] == pytest.approx(3.0)
    assert opened["agent_id"].startswith("claude-")
    assert_no_prompt_text(box)


def answers(server: FakeServer) -> int:
    return len([r for r in server.requests("/v1/messages") if r["body"].get("stream")])
