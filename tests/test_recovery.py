"""What goes wrong around the tool (clocks, killed processes, lost local state, odd input) never loses or
invents data: each case gives one line and a non-zero exit, or is finished by the next command."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gittracker.errors import StorageFailed
from gittracker.state import AgentState, LocalState
from tests.conftest import Sandbox, tracker_command

NOW = "2026-06-03T10:00:00Z"


def tracker_dir(box: Sandbox) -> Path:
    return box.path / ".git" / "tracker"


# -- time -----------------------------------------------------------------------------------------------


def test_a_clock_that_went_back_cannot_end_a_window_before_it_opened(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10", env={"GIT_TRACKER_NOW": NOW})
    back = tracked.tracker("end", "codex", "--used", "20", env={"GIT_TRACKER_NOW": "2026-06-03T09:00:00Z"})
    assert back.returncode == 1 and back.stderr.count("\n") == 1
    assert "before this codex window opened (2026-06-03T10:00:00.000Z)" in back.stderr
    assert tracked.records("window-close") == []
    tracked.ok("end", "codex", "--used", "20", env={"GIT_TRACKER_NOW": "2026-06-03T11:00:00Z"})
    assert tracked.records("window-close")[0]["delta"] == 10


def test_times_before_1970_are_bad_input(tracked: Sandbox) -> None:
    for pinned in ("1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):
        done = tracked.tracker("start", "codex", "--used", "10", env={"GIT_TRACKER_NOW": pinned})
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().endswith(f"expected a time from 1970 to 9999, got {pinned[:19]}.000Z")
    assert tracked.records() == []


# -- odd input ---------------------------------------------------------------------------------------------


def test_a_huge_prompt_count_is_bad_input_everywhere(tracked: Sandbox) -> None:
    huge = "9" * 401
    for args in (["start", "glm", "--prompts", huge], ["snapshot", "glm", "--prompts", huge]):
        done = tracked.tracker(*args)
        assert done.returncode == 2 and "--prompts: expected a whole number from 0 to 9007199254740992" in done.stderr
    tracked.ok("snapshot", "glm", "--prompts", str(2**53))
    assert [r["prompts"] for r in tracked.records("snapshot")] == [2**53]


def test_arguments_that_are_not_utf8_are_refused_not_stored(tracked: Sandbox) -> None:
    args = [*tracker_command(), "start", "codex", "--used", "10"]
    for option in ("--note", "--feature", "--methodology"):
        done = subprocess.run(
            [os.fsencode(a) for a in args] + [option.encode(), b"caf\xe9"], cwd=tracked.path, capture_output=True
        )
        assert done.returncode == 2, done.stderr
        said = done.stderr.decode()
        assert said.count("\n") == 1 and f"{option}: expected text in UTF-8" in said, said
    assert tracked.records() == []


# -- pasted screens are one record wherever and however often they are ingested ----------------------------

SCREEN = "  5h limit:     [███████░░░░░░░] 64% left (resets 16:12)\n  Weekly limit: 80% left (resets 08:00 on 7 Jun)\n"


def test_a_pasted_screen_is_the_same_record_after_local_state_is_lost_and_in_another_clone(
    tracked: Sandbox, tmp_path: Path
) -> None:
    screen = tmp_path / "status.txt"
    screen.write_text(SCREEN)
    env = {"GIT_TRACKER_NOW": NOW}
    tracked.ok("ingest", "codex-status", str(screen), env=env)
    (first,) = tracked.records("snapshot")
    shutil.rmtree(tracker_dir(tracked) / "ingest", ignore_errors=True)
    later = {"GIT_TRACKER_NOW": "2026-06-03T10:40:00Z"}
    screen.write_text(SCREEN.replace("\n", "  \r\n"))  # the same screen, copied through another terminal
    assert "nothing new" in tracked.ok("ingest", "codex-status", str(screen), env=later)
    assert tracked.records("snapshot") == [first]

    other = Sandbox(tmp_path / "other")
    subprocess.run(["git", "clone", "-q", str(tracked.path), str(other.path)], check=True)
    other.git("fetch", "-q", "origin", "tracker-ledger:tracker-ledger")
    other.ok("init")
    assert "nothing new" in other.ok("ingest", "codex-status", str(screen), env=later)
    assert other.records("snapshot") == [first]
    # A different screen is a different reading.
    screen.write_text(SCREEN.replace("64% left", "60% left"))
    other.ok("ingest", "codex-status", str(screen), env=later)
    assert len(other.records("snapshot")) == 2


# -- journals of agents that died ----------------------------------------------------------------------------


def test_any_command_finishes_the_journal_of_an_agent_that_died(tracked: Sandbox) -> None:
    closing = tracked.killed_end("worker-1")
    state_path = tracker_dir(tracked) / "agents" / "worker-1" / "state.json"

    # Another agent's read-only command finishes it, and the journal is cleared.
    assert "journalled" not in tracked.ok("log")
    assert closing[1]["id"] in tracked.git("ls-tree", "-r", "--name-only", "tracker-ledger")
    assert [r["id"] for r in tracked.records("window-close")] == [closing[1]["id"]]
    assert json.loads(state_path.read_text())["pending"] == []


def test_a_live_agents_journal_is_left_to_it(tracked: Sandbox) -> None:
    closing = tracked.killed_end("worker-1")
    state_path = tracker_dir(tracked) / "agents" / "worker-1" / "state.json"
    # worker-1 is busy: it holds its lock (as every command of its does while its journal is not empty).
    lock = str(state_path.parent / "lock")
    holder = subprocess.Popen(
        ["flock", "-o", lock, "sh", "-c", "echo held; sleep 30"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        tracked.ok("status")
        assert json.loads(state_path.read_text())["pending"] == closing
        assert closing[1]["id"] not in tracked.git("ls-tree", "-r", "--name-only", "tracker-ledger")
    finally:
        holder.kill()
        holder.wait()
    tracked.ok("status")
    assert json.loads(state_path.read_text())["pending"] == []


# -- an unfinished line of any size costs one read ----------------------------------------------------------


def claude_line(request: str, ts: str, input_tokens: int) -> str:
    usage = {"input_tokens": input_tokens, "output_tokens": 1, "cache_creation_input_tokens": 0}
    usage["cache_read_input_tokens"] = 0
    message = {"id": f"msg-{request}", "model": "claude-test", "usage": usage}
    line = {"timestamp": ts, "sessionId": "s1", "requestId": request, "cwd": "/work/app", "message": message}
    return json.dumps(line) + "\n"


def test_a_huge_unfinished_line_is_refused_or_skipped_and_never_read_again(tracked: Sandbox, tmp_path: Path) -> None:
    from gittracker.sources.tail import MAX_LINE_BYTES

    config = tmp_path / "claude"
    log = config / "projects" / "-work-app" / "s1.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text(claude_line("r1", "2026-06-01T10:00:00.000Z", 100) + '{"cut": "' + "x" * (MAX_LINE_BYTES + 10))
    ingest = ["ingest", "claude-logs", "--dir", str(config), "--json"]

    refused = tracked.tracker(*ingest)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert f"{log}:2: expected a line of at most 64 MiB, got more without its newline" in refused.stderr
    assert tracked.records("usage") == []

    first = json.loads(tracked.ok(*ingest, "--skip-invalid"))
    assert (first["skipped_lines"], first["events"]) == (1, 1)
    with log.open("a") as handle:
        handle.write("x" * 1000)  # the line goes on growing
    grown = json.loads(tracked.ok(*ingest, "--skip-invalid"))
    assert grown["bytes_read"] == 1000 and grown["events"] == 0
    with log.open("a") as handle:
        handle.write('"}\n' + claude_line("r2", "2026-06-01T10:05:00.000Z", 50))
    finished = json.loads(tracked.ok(*ingest, "--skip-invalid"))
    assert finished["events"] == 1 and finished["skipped_lines"] == 0
    days = [r for r in tracked.records("usage") if r["granularity"] == "day"]
    assert max(r["input_tokens"] for r in days) == 150


# -- an action whose roll-back cannot be saved says it will be completed, and it is -------------------------


class SaveFailsAfter(LocalState):
    """This machine's state on a disk that fills up after ``allowed`` more writes of an agent's state."""

    def __init__(self, root: Path, allowed: int) -> None:
        super().__init__(root)
        self.allowed = allowed

    def save(self, agent_id: str, state: AgentState) -> None:
        if self.allowed == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.allowed -= 1
        super().save(agent_id, state)


def test_when_the_ledger_refuses_and_the_roll_back_cannot_be_saved_the_next_command_completes_it(
    tracked: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gittracker.capacity import Reading
    from gittracker.context import open_context
    from gittracker.windows import end

    tracked.ok("start", "codex", "--used", "10")
    elsewhere = tracked.path.parent / "ledger-checkout"
    tracked.git("worktree", "add", "-q", str(elsewhere), "tracker-ledger")
    monkeypatch.chdir(tracked.path)
    ctx = open_context(".")
    ctx = dataclasses.replace(ctx, local=SaveFailsAfter(ctx.local.root, allowed=1))  # the journal fits, no more
    with pytest.raises(StorageFailed) as refused:
        end(ctx, "codex", Reading.of(five_hour_used=30.0))
    assert "checked out in" in str(refused.value)
    assert str(refused.value).endswith(
        "this action stays journalled and the next git-tracker command in this repository completes it"
    )
    assert tracked.records("window-close") == []  # the ledger still refuses: `log` could not replay it yet
    tracked.git("worktree", "remove", str(elsewhere))
    tracked.ok("status")
    assert [r["delta"] for r in tracked.records("window-close")] == [20]
    assert "no open windows" in tracked.ok("status")
