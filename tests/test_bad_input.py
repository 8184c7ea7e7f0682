"""Bad input: exit 2, one line on stderr naming what was expected, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Sandbox


def ledger_and_state(box: Sandbox) -> tuple[str, list[str]]:
    tip = box.git("rev-parse", "-q", "--verify", "tracker-ledger", check=False).strip()
    state = sorted(str(p.relative_to(box.path)) for p in (box.path / ".git" / "tracker").rglob("*") if p.is_file())
    return tip, state


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["start", "codex", "--used", "abc"], "--used: expected a percent from 0 to 100"),
        (["start", "codex", "--used", "120"], "--used: expected a percent from 0 to 100"),
        (["start", "codex", "--used", "nan"], "--used: expected a percent from 0 to 100"),
        (["start", "codex", "--used", "-1"], "--used: expected a percent from 0 to 100"),
        (["start", "codex", "--left", "inf"], "--left: expected a percent from 0 to 100"),
        (["start", "codex", "--used", "5", "--left", "5"], "expected one of them"),
        (["start", "gemini", "--used", "5"], "unknown provider 'gemini'"),
        (["start", "codex"], "expected a capacity reading"),
        (["start", "glm", "--prompts", "1.5"], "--prompts: expected a whole number"),
        (["start", "codex", "--used", "5", "--resets-at", "tomorrow"], "--resets-at: expected an ISO-8601 time"),
        (["start", "codex", "--used", "5", "--bogus"], "No such option"),
        (["complete", "--outcome", "great", "--quality", "1"], "--outcome: expected one of"),
        (["complete", "--outcome", "shipped", "--quality", "1.5"], "--quality: expected a number from 0 to 1"),
        (["complete", "--outcome", "shipped", "--quality", "NaN"], "--quality: expected a number from 0 to 1"),
        (["log", "--kind", "nonsense"], "--kind: expected one of"),
        (["log", "--since", "last tuesday"], "--since: expected an ISO-8601 time"),
        (["snapshot", "codex"], "expected a capacity reading"),
    ],
)
def test_bad_values_exit_2_with_one_line_and_write_nothing(tracked: Sandbox, args: list[str], expected: str) -> None:
    tracked.ok("start", "claude", "--used", "1")
    before = ledger_and_state(tracked)
    done = tracked.tracker(*args)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert expected in done.stderr
    assert done.stdout == ""
    assert ledger_and_state(tracked) == before


def test_outside_a_repository(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    for args in (["start", "codex", "--used", "5"], ["init"], ["status"], ["log"]):
        done = box.tracker(*args)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "not inside a git work tree" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_before_init(sandbox: Sandbox) -> None:
    sandbox.commit()
    done = sandbox.tracker("start", "codex", "--used", "5")
    assert done.returncode == 2 and "git tracker init" in done.stderr
    assert not (sandbox.path / ".git" / "tracker").exists()
    assert sandbox.git("rev-parse", "-q", "--verify", "tracker-ledger", check=False) == ""


def test_bad_agent_id(tracked: Sandbox) -> None:
    done = tracked.tracker("start", "codex", "--used", "5", env={"AGENT_ID": "../evil"})
    assert done.returncode == 2 and "AGENT_ID" in done.stderr
    assert not (tracked.path / ".git" / "tracker" / "agents" / "..").joinpath("evil").exists()


def test_corrupt_settings_file(tracked: Sandbox) -> None:
    (tracked.path / ".git-tracker.toml").write_text("[tracker\nbroken = ")
    done = tracked.tracker("start", "codex", "--used", "5")
    assert done.returncode == 2 and ".git-tracker.toml: expected TOML" in done.stderr


def test_demo_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    done = Sandbox(tmp_path).tracker("demo", str(tmp_path))
    assert done.returncode == 2 and "expected a new or empty directory" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
