"""`git tracker doctor`: every problem it is told about is found, explained in one line with what to do, and the
safe ones repaired by `--fix` without losing anything the ledger holds."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tests.conftest import Sandbox


def doctor(box: Sandbox, *args: str) -> tuple[int, dict[str, Any]]:
    done = box.tracker("doctor", "--json", *args)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] == (done.returncode == 0) == (report["findings"] == [])
    return done.returncode, report


def codes(report: dict[str, Any]) -> list[str]:
    return sorted(finding["code"] for finding in report["findings"])


def state_file(box: Sandbox, agent: str = "main") -> Path:
    return box.path / ".git" / "tracker" / "agents" / agent / "state.json"


def test_a_healthy_repository(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit()
    tracked.wait_for_flush()
    assert doctor(tracked) == (0, {"schema_version": 1, "ok": True, "findings": [], "fixed": []})
    assert tracked.ok("doctor").strip() == "no problems found"
    assert "need attention" not in tracked.ok("status")


def without_worktree(windows: dict[str, Any]) -> dict[str, Any]:
    return {provider: {k: v for k, v in window.items() if k != "worktree"} for provider, window in windows.items()}


def test_a_damaged_state_is_explained_and_rebuilt_from_the_ledger(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10", "--feature", "F-7")
    tracked.commit()
    tracked.ok("start", "glm", "--prompts", "3")
    tracked.ok("end", "glm", "--prompts", "9")
    before = json.loads(state_file(tracked).read_text())
    for damage in (state_file(tracked).read_bytes()[:40], b"\xff\xfe not utf-8 {"):
        state_file(tracked).write_bytes(damage)
        refused = tracked.tracker("end", "codex", "--used", "30")
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1
        assert "`git tracker doctor --fix` rebuilds it from the ledger" in refused.stderr
        assert "1 problem(s) need attention (state-damaged): git tracker doctor" in tracked.ok("status")
        assert doctor(tracked)[1]["findings"][0]["code"] == "state-damaged"

        code, fixed = doctor(tracked, "--fix")
        assert code == 0 and fixed["fixed"] == [
            "rebuilt the state of agent main from the ledger (the damaged file is state.json.damaged)"
        ]
        assert state_file(tracked).with_name("state.json.damaged").read_bytes() == damage
        rebuilt = json.loads(state_file(tracked).read_text())
        # All but the worktree each window was opened in, which only this machine knew (the ledger never holds
        # it): a rebuilt window takes commit_end from HEAD where end runs (docs/agents.md#worktrees).
        assert without_worktree(rebuilt["open"]) == without_worktree(before["open"])
        assert without_worktree(rebuilt["last_closed"]) == without_worktree(before["last_closed"])
        assert "worktree" in before["open"]["codex"] and "worktree" not in rebuilt["open"]["codex"]
        assert rebuilt["last_closed_window"] == before["last_closed_window"]
    tracked.ok("end", "codex", "--used", "30")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "1")
    closes = tracked.records("window-close")
    assert [(c["provider"], c["delta"], c["feature_id"]) for c in closes] == [("glm", 6, None), ("codex", 20, "F-7")]


def test_a_state_behind_the_ledger_is_brought_up_to_date(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    old = state_file(tracked).read_bytes()
    tracked.ok("end", "codex", "--used", "25")
    state_file(tracked).write_bytes(old)  # a backup restored, or a write that was lost
    assert "codex window" in tracked.ok("status")  # this machine thinks it is still open
    assert codes(doctor(tracked)[1]) == ["state-behind-ledger"]
    assert doctor(tracked, "--fix")[0] == 0
    assert "no open windows" in tracked.ok("status")
    tracked.ok("complete", "--outcome", "partial", "--quality", "0.5")
    assert len(tracked.records("window-close")) == 1


def test_a_journal_left_by_an_agent_that_died_is_reported_and_appended(tracked: Sandbox) -> None:
    closing = tracked.killed_end("worker-1", "claude")
    # doctor looks before it touches anything (every other command would finish the journal first)
    assert codes(doctor(tracked)[1]) == ["journal-left"]
    code, fixed = doctor(tracked, "--fix")
    assert code == 0 and fixed["fixed"] == ["appended the 2 journalled record(s) of agent worker-1 to the ledger"]
    assert closing[1]["id"] in tracked.git("ls-tree", "-r", "--name-only", "tracker-ledger")


def test_the_ledger_checked_out_unreadable_records_and_a_stale_lock(tracked: Sandbox) -> None:
    tracked.ok("snapshot", "codex", "--used", "5")
    tracked.write_ledger_files({"README.md": b"notes\n", "snapshot/2026/01/01/garbage.json": b"<<<<<<< HEAD\n"})
    elsewhere = tracked.path.parent / "ledger-wt"
    tracked.git("worktree", "add", "-q", str(elsewhere), "tracker-ledger")
    lock = tracked.path / ".git" / "refs" / "notes" / "tracker.lock"
    lock.write_text("")
    old = time.time() - 600
    os.utime(lock, (old, old))
    code, report = doctor(tracked)
    assert code == 1 and codes(report) == ["ledger-checked-out", "ledger-records-skipped", "stale-ref-lock"]
    by_code = {finding["code"]: finding for finding in report["findings"]}
    assert (
        "2 ledger records skipped (2 not a record file): README.md, snapshot/2026/01/01/garbage.json"
        in (by_code["ledger-records-skipped"]["problem"])
    )
    assert str(elsewhere.resolve()) in by_code["ledger-checked-out"]["problem"]
    text = tracked.tracker("doctor")
    assert text.returncode == 1 and "3 problems:" in text.stdout and "warning" not in text.stderr
    code, fixed = doctor(tracked, "--fix")
    assert fixed["fixed"] == [f"removed the stale lock {lock}"] and not lock.exists()
    assert codes(fixed) == ["ledger-checked-out", "ledger-records-skipped"]  # for the user to decide


def test_a_sha256_repository_and_a_repository_not_set_up(tmp_path: Path) -> None:
    sha = Sandbox(tmp_path / "sha")
    sha.path.mkdir()
    sha.git("init", "-q", "--object-format=sha256")
    refused = sha.tracker("doctor", "--json")  # as every command: one line (tests/test_bad_input.py), exit 1
    assert refused.returncode == 1 and "is a SHA-256 repository" in refused.stderr and refused.stdout == ""
    plain = Sandbox(tmp_path / "plain")
    plain.path.mkdir()
    plain.git("init", "-q")
    code, report = doctor(plain)
    assert code == 1 and codes(report) == ["not-set-up"]
    outside = Sandbox(tmp_path).tracker("doctor")
    assert outside.returncode == 2 and outside.stderr.count("\n") == 1


def test_an_older_versions_hook_is_found_and_rewritten(tracked: Sandbox) -> None:
    hook = tracked.path / ".git" / "hooks" / "post-commit"
    current = hook.read_text()
    older = current.replace("git-tracker-hook-version: 3", "git-tracker-hook-version: 1").replace("gt_is_id", "gt_id")
    hook.write_text(older)
    code, report = doctor(tracked)
    assert code == 1 and codes(report) == ["hook-outdated"]
    assert "need attention (hook-outdated)" in tracked.ok("status")
    code, fixed = doctor(tracked, "--fix")
    assert code == 0 and fixed["fixed"] == ["post-commit hook: updated"] and hook.read_text() == current
    tracked.ok("start", "codex", "--used", "1")
    stamped = tracked.commit()
    tracked.wait_for_flush()
    assert len(tracked.note(stamped)) == 1
