"""The harness runs the real clients: claude -p and codex exec answer through the fake servers, their hooks fire
with the payloads and environments facts13.md lists, and the rate limits the servers send reach the places
git-tracker reads them (Codex's rollout, Claude's status line)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox
from tests.realclients import require
from tests.realclients.clients import Codex, anthropic_limits, codex_limits
from tests.realclients.runner import Tmux, dump_command, dumps

pytestmark = pytest.mark.realclients

CLAUDE_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"]
CODEX_EVENTS = ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"]
CLAUDE_USAGE = {"input_tokens": 321, "cache_creation_input_tokens": 11, "cache_read_input_tokens": 4321}


def hook_settings(folder: Path, events: list[str], prefix: str = "") -> dict[str, Any]:
    """The `hooks` settings object both clients read: one dump command per event."""
    return {e: [{"hooks": [{"type": "command", "command": dump_command(folder, prefix + e)}]}] for e in events}


def env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture
def repo(sandbox: Sandbox) -> Path:
    sandbox.commit("README.md")
    return sandbox.path


def test_claude_print_mode_answers_and_runs_its_hooks(repo: Path, hermetic: Path, tmp_path: Path) -> None:
    claude = require.claude(hermetic)
    dumped = tmp_path / "hooks"
    settings = repo / ".claude" / "settings.local.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"hooks": hook_settings(dumped, CLAUDE_EVENTS)}))
    session = str(uuid.uuid4())
    tool_env = tmp_path / "tool.env"
    with require.fake_server("anthropic", tmp_path / "server", usage=CLAUDE_USAGE, output_tokens=77) as server:
        run = claude.print_mode(server, repo, f"please RUN_TOOL <<<env > {tool_env}>>>", session_id=session)
    assert run.completed.returncode == 0, run.completed.stderr
    assert run.result == "Tool finished"
    assert run.session_id == session

    requests = server.requests("/v1/messages")
    assert len(requests) == 2  # the tool call, then the answer after its result
    assert {r["headers"]["X-Claude-Code-Session-Id"] for r in requests} == {session}

    hooks = dumps(dumped)
    assert [h["name"] for h in hooks] == CLAUDE_EVENTS
    assert {h["payload"]["session_id"] for h in hooks} == {session}
    assert {h["env"]["CLAUDE_CODE_SESSION_ID"] for h in hooks} == {session}
    assert {h["env"]["CLAUDE_PROJECT_DIR"] for h in hooks} == {str(repo)}
    assert env_file(tool_env)["CLAUDE_CODE_SESSION_ID"] == session

    transcript = claude.transcript(repo, session)
    assert hooks[0]["payload"]["transcript_path"] == str(transcript)
    assistant = [json.loads(line) for line in transcript.read_text().splitlines() if '"assistant"' in line]
    assistant = [a for a in assistant if a.get("type") == "assistant"]
    assert [a["requestId"] for a in assistant] == [r["sent_headers"]["request-id"] for r in requests]
    for entry in assistant:
        usage = entry["message"]["usage"]
        assert {k: usage[k] for k in CLAUDE_USAGE} == CLAUDE_USAGE
        assert usage["output_tokens"] == 77


def codex_plans() -> list[tuple[str, tuple[float, int, int], tuple[float, int, int] | None]]:
    now = int(time.time())
    return [
        ("five-hour and weekly", (42.5, 300, now + 3 * 3600), (17.0, 10080, now + 4 * 86400)),
        ("weekly only", (12.0, 10080, now + 5 * 86400), None),
    ]


@pytest.mark.parametrize(("plan", "primary", "secondary"), codex_plans(), ids=[p[0] for p in codex_plans()])
def test_codex_exec_records_the_rate_limits_the_server_sent(
    repo: Path,
    hermetic: Path,
    tmp_path: Path,
    plan: str,
    primary: tuple[float, int, int],
    secondary: tuple[float, int, int] | None,
) -> None:
    codex = require.codex(hermetic)
    dumped = tmp_path / "hooks"
    (codex.codex_home / "hooks.json").write_text(json.dumps({"hooks": hook_settings(dumped, CODEX_EVENTS)}))
    tool_env = tmp_path / "tool.env"
    headers = codex_limits(primary, secondary)
    with require.fake_server("openai", tmp_path / "server", headers=headers) as server:
        codex.configure(server, trusted=[repo])
        run = codex.exec(server, repo, f"please RUN_TOOL <<<env > {tool_env}>>>")
    assert run.completed.returncode == 0, run.completed.stderr
    assert run.answer.endswith("Tool finished")
    assert len(server.requests("/v1/responses")) == 2

    [rollout] = codex.rollouts()
    session = Codex.session_of(rollout)
    limits = Codex.rate_limits(rollout)
    assert limits, "no token_count event in the rollout"

    def expected(limit: tuple[float, int, int] | None) -> dict[str, Any] | None:
        return None if limit is None else {"used_percent": limit[0], "window_minutes": limit[1], "resets_at": limit[2]}

    for recorded in limits:
        assert recorded is not None
        assert recorded["primary"] == expected(primary)
        assert recorded["secondary"] == expected(secondary)

    hooks = dumps(dumped)
    assert [h["name"] for h in hooks] == CODEX_EVENTS
    assert {h["payload"]["session_id"] for h in hooks} == {session}
    assert {h["payload"]["transcript_path"] for h in hooks} == {str(rollout)}
    tool = env_file(tool_env)
    assert tool["CODEX_THREAD_ID"] == tool["CODEX_SESSION_ID"] == session


def test_codex_runs_hooks_only_with_trust_bypassed(repo: Path, hermetic: Path, tmp_path: Path) -> None:
    """0.171.0 runs no hook without saved trust or --dangerously-bypass-hook-trust; with it, both the user's
    ($CODEX_HOME) and the trusted project's (.codex/) hooks.json run, side by side (in no fixed order)."""
    codex = require.codex(hermetic)
    dumped = tmp_path / "hooks"
    (codex.codex_home / "hooks.json").write_text(json.dumps({"hooks": hook_settings(dumped, ["Stop"], "home-")}))
    (repo / ".codex").mkdir()
    (repo / ".codex" / "hooks.json").write_text(json.dumps({"hooks": hook_settings(dumped, ["Stop"], "project-")}))
    server = require.fake_server("openai", tmp_path / "server")
    assert server.process is not None
    holder = Path(f"/proc/{server.process.pid}")
    with server:
        codex.configure(server, trusted=[repo])
        untrusted = codex.exec(server, repo, "hello", bypass_hook_trust=False)
        assert untrusted.completed.returncode == 0, untrusted.completed.stderr
        assert dumps(dumped) == []
        bypassed = codex.exec(server, repo, "hello")
    assert bypassed.completed.returncode == 0, bypassed.completed.stderr
    assert sorted(h["name"] for h in dumps(dumped)) == ["home-Stop", "project-Stop"]
    assert not holder.exists(), "the fake server (and with it the namespace) outlived its block"


def test_claude_status_line_carries_the_rate_limits_sent(repo: Path, hermetic: Path, tmp_path: Path) -> None:
    """Interactive claude in tmux with the gateway JWT: its status line input holds the unified limits sent."""
    require.tmux()
    claude = require.claude(hermetic, gateway=True)
    claude.trust(repo)
    dumped = tmp_path / "hooks"
    settings = {
        "hooks": hook_settings(dumped, ["SessionStart", "Stop", "SessionEnd"]),
        "statusLine": {"type": "command", "command": dump_command(dumped, "statusline")},
    }
    (repo / ".claude").mkdir()
    (repo / ".claude" / "settings.local.json").write_text(json.dumps(settings))
    now = int(time.time())
    five_hour, seven_day = (0.42, now + 3600), (0.17, now + 3 * 86400)
    headers = anthropic_limits(five_hour=five_hour, seven_day=seven_day)
    with require.fake_server("anthropic", tmp_path / "server", headers=headers) as server:
        tui = Tmux(server, tmp_path)
        tui.start([str(claude.binary)], env=claude.env(server), cwd=repo)
        try:
            tui.wait_for(lambda: bool(dumps(dumped, "SessionStart")), what="SessionStart")
            tui.type("hello")
            tui.wait_for(lambda: bool(dumps(dumped, "Stop")), what="the answer's Stop hook")
            tui.wait_for(lambda: _limits_seen(dumped), what="a status line with rate limits")
            tui.type("/exit")
            tui.wait_for(lambda: bool(dumps(dumped, "SessionEnd")), what="SessionEnd")
        finally:
            tui.close()
    lines = [d["payload"] for d in dumps(dumped, "statusline")]
    session = dumps(dumped, "SessionStart")[0]["payload"]["session_id"]
    assert {line["session_id"] for line in lines} == {session}
    limited = [line["rate_limits"] for line in lines if line.get("rate_limits")]
    assert limited[-1] == {
        "five_hour": {"used_percentage": 42, "resets_at": five_hour[1]},
        "seven_day": {"used_percentage": 17, "resets_at": seven_day[1]},
    }
    assert not lines[0].get("rate_limits")  # before the first answer no headers have been seen


def _limits_seen(folder: Path) -> bool:
    return any((d["payload"] or {}).get("rate_limits") for d in dumps(folder, "statusline"))
