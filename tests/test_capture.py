"""Zero-touch and pasted readings through the real CLI: --from, --auto and the statusline command."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Sandbox, tracker_command

NOW = datetime(2026, 6, 3, 10, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


CODEX_SCREEN = """\
╭──────────────────────────────────────────────╮
│ >_ OpenAI Codex                               │
│  5h limit:     [███████░░░░░░░] 64% left (resets 16:12)            │
│  Weekly limit: [████████████░░] 80% left (resets 08:00 on 7 Jun)   │
╰──────────────────────────────────────────────╯
"""

CLAUDE_HEADLESS = "Current session: 22% used · resets Jun 3, 1:40pm (UTC)\nCurrent week (all models): 41% used\n"


def test_from_a_pasted_codex_screen(tracked: Sandbox, tmp_path: Path) -> None:
    screen = tmp_path / "status.txt"
    screen.write_text(CODEX_SCREEN)
    tracked.ok("start", "codex", "--from", str(screen), env={"GIT_TRACKER_NOW": iso(NOW)})
    (before,) = tracked.records("snapshot")
    assert (before["five_hour_used"], before["weekly_used"]) == (36, 20)
    assert before["resets_at"] == "2026-06-03T16:12:00.000Z"
    assert before["weekly_resets_at"] == "2026-06-07T08:00:00.000Z"


def test_from_stdin_claude_screen_and_a_mismatch(tracked: Sandbox) -> None:
    env = {**__import__("os").environ, "GIT_TRACKER_NOW": iso(NOW)}
    done = subprocess.run(
        [*tracker_command(), "snapshot", "claude", "--from", "-"],
        cwd=tracked.path,
        env=env,
        input=CLAUDE_HEADLESS,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (mid,) = tracked.records("snapshot")
    assert (mid["five_hour_used"], mid["weekly_used"], mid["resets_at"]) == (22, 41, "2026-06-03T13:40:00.000Z")
    wrong = subprocess.run(
        [*tracker_command(), "start", "codex", "--from", "-"],
        cwd=tracked.path,
        env=env,
        input=CLAUDE_HEADLESS,
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 2 and "expected a codex screen" in wrong.stderr
    assert len(tracked.records()) == 1


def test_bad_screens_write_nothing(tracked: Sandbox, tmp_path: Path) -> None:
    cases = {
        "nothing.txt": (b"hello\nthis is not a status screen\n", "expected a Codex /status screen"),
        "binary.bin": (b"\x00\x01\x02", "binary data"),
        "huge.txt": (b"x" * (2 << 20), "at most 1 MiB"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        done = tracked.tracker("start", "codex", "--from", str(path))
        assert done.returncode == 2, name
        assert message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert tracked.tracker("start", "codex", "--from", str(tmp_path / "missing.txt")).returncode == 2
    mixed = tracked.tracker("start", "codex", "--used", "5", "--auto")
    assert mixed.returncode == 2 and "expected one source" in mixed.stderr
    assert tracked.tracker("start", "glm", "--auto").returncode == 2
    assert tracked.records() == []


def rollout(home: Path, lines: list[dict[str, object]]) -> None:
    folder = home / "sessions" / "2026" / "06" / "03"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rollout-2026-06-03T09-00-00-test.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def token_count(moment: datetime, five: float, week: float) -> dict[str, object]:
    resets_in = int((NOW + timedelta(hours=1) - moment).total_seconds())  # counts down to one instant
    limits = {
        # Slots deliberately swapped: windows are told apart by window_minutes, not by slot.
        "primary": {
            "used_percent": week,
            "window_minutes": 10080,
            "resets_at": int((NOW + timedelta(days=3)).timestamp()),
        },
        "secondary": {"used_percent": five, "window_minutes": 300, "resets_in_seconds": resets_in},
    }
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "timestamp": stamp,
        "type": "event_msg",
        "payload": {"type": "token_count", "info": None, "rate_limits": limits},
    }


def test_codex_auto_reads_the_session_logs(tracked: Sandbox, tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    rollout(home, [token_count(NOW - timedelta(minutes=3), 12.0, 30.0)])
    env = {"CODEX_HOME": str(home), "GIT_TRACKER_NOW": iso(NOW)}
    tracked.ok("start", "codex", "--auto", env=env)
    tracked.commit()
    later = NOW + timedelta(minutes=40)
    rollout(home, [token_count(NOW - timedelta(minutes=3), 12.0, 30.0), token_count(later, 19.5, 31.0)])
    tracked.ok("end", "codex", "--auto", env={**env, "GIT_TRACKER_NOW": iso(later + timedelta(minutes=1))})
    before, after = tracked.records("snapshot")
    assert (before["five_hour_used"], before["weekly_used"]) == (12, 30)
    assert before["resets_at"] == iso(NOW + timedelta(hours=1)).replace("Z", ".000Z")
    assert (after["five_hour_used"], after["weekly_used"]) == (19.5, 31)
    assert tracked.records("window-close")[0]["delta"] == 7.5
    stale = tracked.tracker("start", "codex", "--auto", env={**env, "GIT_TRACKER_NOW": iso(later + timedelta(hours=2))})
    assert stale.returncode == 2 and "older than" in stale.stderr


STATUS_JSON = {
    "model": {"id": "claude-opus", "display_name": "Opus"},
    "workspace": {"current_dir": "", "project_dir": ""},
    "rate_limits": {
        "five_hour": {"used_percentage": 23.5, "resets_at": int((NOW + timedelta(hours=2)).timestamp())},
        "seven_day": {"used_percentage": 41.0, "resets_at": int((NOW + timedelta(days=4)).timestamp())},
    },
}


def statusline(
    box: Sandbox, payload: dict[str, object], env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [*tracker_command(), "statusline", *args],
        cwd=box.path,
        env={**os.environ, **env},
        input=json.dumps(payload),
        capture_output=True,
        text=True,
    )


def test_claude_auto_uses_the_status_line_reading(tracked: Sandbox) -> None:
    env = {"GIT_TRACKER_NOW": iso(NOW)}
    payload = json.loads(json.dumps(STATUS_JSON))
    payload["workspace"]["current_dir"] = str(tracked.path)
    done = statusline(tracked, payload, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Opus · 5h 24% · wk 41%"
    tracked.ok("start", "claude", "--auto", env=env)
    (before,) = tracked.records("snapshot")
    assert (before["five_hour_used"], before["weekly_used"]) == (23.5, 41)
    assert before["resets_at"] == iso(NOW + timedelta(hours=2)).replace("Z", ".000Z")
    shown = statusline(tracked, payload, {"GIT_TRACKER_NOW": iso(NOW + timedelta(minutes=75))})
    assert shown.stdout.strip().endswith("claude window 1h15m")
    wrapped = statusline(tracked, payload, env, "--wrap", "echo my-old-line")
    assert wrapped.stdout.startswith("my-old-line | Opus")
    stale = tracked.tracker("end", "claude", "--auto", env={"GIT_TRACKER_NOW": iso(NOW + timedelta(hours=3))})
    assert stale.returncode == 2 and "older than 30 min" in stale.stderr


def statusline_raw(box: Sandbox, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tracker_command(), "statusline", *args],
        cwd=box.path,
        env=os.environ,
        input=stdin,
        capture_output=True,
        text=True,
    )


EXPECTED_LINE = "git-tracker: expected Claude Code's status-line JSON on stdin"


@pytest.mark.parametrize(
    ("stdin", "shown", "why"),
    [
        ("", f"{EXPECTED_LINE}, got nothing", "expected one JSON object"),
        ("  \n", f"{EXPECTED_LINE}, got nothing", "expected one JSON object"),
        ("garbage\x00 from a broken pipe", EXPECTED_LINE, "expected one JSON object"),
        ("[1, 2]", EXPECTED_LINE, "got an array"),
        (json.dumps({"rate_limits": {"five_hour": {"used_percentage": "lots"}}}), EXPECTED_LINE, "got 'lots'"),
    ],
)
def test_statusline_bad_input_says_so_on_the_status_line_and_keeps_the_last_reading(
    tracked: Sandbox, stdin: str, shown: str, why: str
) -> None:
    env = {"GIT_TRACKER_NOW": iso(NOW)}
    payload = json.loads(json.dumps(STATUS_JSON))
    assert statusline(tracked, payload, env).returncode == 0
    cache = next(Path(os.environ["HOME"]).glob(".cache/git-tracker/claude-statusline.json"))
    kept = cache.read_bytes()

    done = statusline_raw(tracked, stdin)
    # Claude Code shows the first line of stdout, and nothing at all when the command fails: exit 0, one line.
    assert done.returncode == 0
    assert done.stdout == shown + "\n"
    assert len(done.stderr.splitlines()) == 1 and why in done.stderr and done.stderr.startswith("git-tracker: ")
    assert cache.read_bytes() == kept  # the last good reading stays for --auto
    wrapped = statusline_raw(tracked, stdin, "--wrap", "echo my-old-line")
    assert wrapped.returncode == 0 and wrapped.stdout == f"my-old-line | {shown}\n"
    tracked.ok("start", "claude", "--auto", env=env)
    assert tracked.records("snapshot")[0]["five_hour_used"] == 23.5


def test_statusline_bad_input_first_writes_no_reading(tracked: Sandbox) -> None:
    done = statusline(tracked, {"rate_limits": {"five_hour": {"used_percentage": "lots"}}}, {})
    assert done.returncode == 0 and done.stdout == EXPECTED_LINE + "\n"
    assert list(Path(os.environ["HOME"]).glob(".cache/git-tracker/*")) == []
    assert tracked.tracker("start", "claude", "--auto").returncode == 2
