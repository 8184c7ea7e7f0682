"""Bad input: exit 2, one line on stderr naming what was expected, and nothing written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Sandbox, tracker_command


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
        (
            ["snapshot", "codex", "--used", "40", "--weekly-resets-at", "2026-12-05T00:00:00Z"],
            "--weekly-resets-at: expected with --weekly PCT",
        ),
        (["start", "codex", "--weekly", "4", "--resets-at", "2026-12-05T00:00:00Z"], "expected with --used"),
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


# Commands that need arguments, with ones they accept; every other command in `-h` is run as it is.
REPOSITORY_COMMANDS = {
    "agent-hooks": ["install", "claude"],
    "assign": ["--seed", "7"],
    "bank": ["list"],
    "checkpoint": ["--phase", "plan"],
    "complete": ["--outcome", "shipped", "--quality", "1"],
    "end": ["codex", "--used", "5"],
    "export": ["churn", "--out", "churn.csv"],
    "proxy": ["compare"],
    "ingest": ["claude-logs", "--dir", "."],
    "resume": ["codex", "--reason", "fixed"],
    "schedule": ["check", "schedule.toml"],
    "snapshot": ["codex", "--used", "5"],
    "start": ["codex", "--used", "5"],
    "timer": ["--once"],
    "undo": ["codex"],
}
NO_REPOSITORY = {"demo", "statusline", "help", "completion", "shell-init", "hook"}  # they work anywhere (hook: below)


def listed_commands(box: Sandbox) -> list[str]:
    """The commands `git tracker -h` lists, so a command added later is checked too."""
    usage = box.ok("-h")
    listing = usage.split("Commands:", 1)[1].splitlines()
    return [line.split()[0] for line in listing if line.startswith("  ") and line.split()]


def test_a_sha256_repository_is_refused_by_every_command_in_one_line(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "sha256")
    box.path.mkdir()
    box.git("init", "-q", "--object-format=sha256")
    box.commit("README.md")
    expected = (
        f"git-tracker: {box.path.resolve()} is a SHA-256 repository: git-tracker works only in SHA-1 repositories "
        "(libgit2, the git library it uses, cannot read them)\n"
    )
    commands = [name for name in listed_commands(box) if name not in NO_REPOSITORY]
    assert {"init", "status", "doctor", "log", "start", "preview"} <= set(commands)
    for name in commands:
        done = box.tracker(name, *REPOSITORY_COMMANDS.get(name, []))
        assert (done.returncode, done.stderr, done.stdout) == (1, expected, ""), name
    # The agents' hook never fails the agent: where git-tracker cannot be set up it does nothing, silently.
    payload = '{"session_id": "3429e800-8c63-4808-83c0-231376e0ece5", "hook_event_name": "Stop"}'
    hooked = subprocess.run(
        [*tracker_command(), "hook", "claude", "Stop"], cwd=box.path, input=payload, capture_output=True, text=True
    )
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (0, "", "")
    assert not (box.path / ".git" / "tracker").exists() and not (box.path / "churn.csv").exists()
    assert not (box.path / ".git" / "tracker-auto").exists() and not (box.path / ".claude").exists()
    assert box.git("for-each-ref").count("\n") == 1  # main only: no ledger, no notes


def test_a_bare_repository_and_a_git_directory_are_named_for_what_they_are(tmp_path: Path) -> None:
    bare = Sandbox(tmp_path / "shared.git")
    bare.path.mkdir()
    bare.git("init", "-q", "--bare")
    before = sorted(str(path) for path in bare.path.rglob("*"))
    for args in (["status"], ["init"], ["start", "codex", "--used", "5"]):
        done = bare.tracker(*args)
        assert done.returncode == 2 and done.stderr == (
            f"git-tracker: {bare.path.resolve()} is a bare repository: it has no work tree, so no commits of yours "
            f"to track; run this in a clone of it (`git clone {bare.path.resolve()}`)\n"
        )
    assert sorted(str(path) for path in bare.path.rglob("*")) == before
    clone = Sandbox(tmp_path / "clone")
    clone.path.mkdir()
    clone.git("init", "-q")
    inside = Sandbox(clone.path / ".git")
    done = inside.tracker("status")
    assert done.returncode == 2 and done.stderr == (
        f"git-tracker: inside the git directory {clone.path.resolve() / '.git'}: run this in the repository's "
        "work tree\n"
    )
