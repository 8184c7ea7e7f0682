"""Regressions for problems a review found: each test reproduces the original report."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.conftest import Sandbox, tracker_command


def test_a_repository_cannot_shadow_the_hook_code(tracked: Sandbox, tmp_path: Path) -> None:
    tracked.ok("start", "codex", "--used", "1")
    window = tracked.records("window-open")[0]["window_id"]
    planted = tmp_path / "PWNED"
    (tracked.path / "gittracker").mkdir()
    (tracked.path / "gittracker" / "__init__.py").write_text(f"open({str(planted)!r}, 'w')\n")
    (tracked.path / "gittracker" / "hookrun.py").write_text("")
    commit = tracked.commit("gittracker/__init__.py")
    tracked.wait_for_flush()
    assert not planted.exists()
    assert [line["id"] for line in tracked.note(commit)] == [window]


def test_a_stale_ref_lock_fails_fast_and_names_the_file(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "1")
    tracked.commit()
    tracked.wait_for_flush()
    lock = tracked.path / ".git" / "refs" / "heads" / "tracker-ledger.lock"
    lock.write_text("")
    old = time.time() - 60
    os.utime(lock, (old, old))
    began = time.monotonic()
    done = tracked.tracker("end", "codex", "--used", "2")
    assert time.monotonic() - began < 5
    assert done.returncode == 1
    assert "tracker-ledger.lock" in done.stderr and len(done.stderr.splitlines()) == 1
    lock.unlink()
    tracked.ok("end", "codex", "--used", "2")  # the journal finished nothing twice
    assert len(tracked.records("window-close")) == 1


def test_a_refused_init_changes_nothing(sandbox: Sandbox) -> None:
    sandbox.commit()
    hooks = sandbox.path / ".git" / "hooks"
    for name in ("post-commit", "post-rewrite", "post-rewrite.pre-tracker"):
        (hooks / name).write_text(f"#!/bin/sh\necho {name}\n")
        (hooks / name).chmod(0o755)
    before = {p.name: p.read_text() for p in hooks.iterdir()}
    config = (sandbox.path / ".git" / "config").read_text()
    done = sandbox.tracker("init")
    assert done.returncode == 1 and "post-rewrite.pre-tracker" in done.stderr
    assert {p.name: p.read_text() for p in hooks.iterdir()} == before
    assert (sandbox.path / ".git" / "config").read_text() == config
    assert not (sandbox.path / ".git-tracker.toml").exists()
    assert not (sandbox.path / ".git" / "tracker" / "install.json").exists()


def test_undo_after_is_refused_once_any_agent_recorded_an_outcome(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "1")
    tracked.ok("end", "codex", "--used", "5")
    window = tracked.records("window-close")[0]["window_id"]
    tracked.ok("complete", window, "--outcome", "shipped", "--quality", "1", env={"AGENT_ID": "reviewer"})
    refused = tracked.tracker("undo", "codex", "--after")
    assert refused.returncode == 1 and "outcome" in refused.stderr


def test_agent_ids_and_times_at_the_edges(tracked: Sandbox) -> None:
    newline = tracked.tracker("start", "codex", "--used", "1", env={"AGENT_ID": "main\n"})
    assert newline.returncode == 2 and "AGENT_ID" in newline.stderr
    far = tracked.tracker("snapshot", "codex", "--used", "5", "--resets-at", "9999-12-31T23:59:59-01:00")
    assert far.returncode == 2 and "--resets-at" in far.stderr and len(far.stderr.splitlines()) == 1
    assert tracked.records() == []


def test_damaged_local_files_give_one_line_or_are_rebuilt(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "1")
    tracked.ok("end", "codex", "--used", "2")
    tracked.ok("preview")
    cache = tracked.path / ".git" / "tracker" / "cache"
    for name in ("window-index.json", "records.json"):
        (cache / name).write_text("[1, 2, 3]")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "1")
    assert json.loads(tracked.ok("preview", "--json"))["providers"]["codex"]["n"] == 1
    state = tracked.path / ".git" / "tracker" / "agents" / "main" / "state.json"
    data = json.loads(state.read_text())
    data["last_closed"]["codex"] = {"window_id": "x"}
    state.write_text(json.dumps(data))
    broken = tracked.tracker("start", "codex", "--used", "3")
    assert broken.returncode == 2 and "state.json" in broken.stderr and len(broken.stderr.splitlines()) == 1


def test_statusline_never_shows_a_traceback(tracked: Sandbox, tmp_path: Path) -> None:
    payload = {
        "model": {"display_name": "Opus"},
        "workspace": {"current_dir": str(tmp_path / "odd")},
        "rate_limits": {"five_hour": {"used_percentage": 10, "resets_at": 1900000000}},
    }
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / ".git").write_bytes(b"gitdir: \xff\xfe\n")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    env = {**os.environ, "XDG_CACHE_HOME": str(blocked)}
    done = subprocess.run(
        [*tracker_command(), "statusline"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        cwd=tracked.path,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == "Opus · 5h 10% · wk -"
    assert done.stderr == ""


def test_end_puts_back_stamps_a_concurrent_rewrite_dropped(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "1")
    window = tracked.records("window-open")[0]["window_id"]
    commits = [tracked.commit() for _ in range(3)]
    tracked.wait_for_flush()
    assert all(tracked.note(c) for c in commits)
    # What git's non-atomic note copy during another worktree's rebase can do: a notes commit whose tree
    # lacks stamps written meanwhile. Reproduced here by removing two notes outright.
    tracked.git("notes", "--ref", "tracker", "remove", commits[0], commits[2])
    assert tracked.note(commits[0]) == [] and tracked.note(commits[2]) == []
    tracked.ok("end", "codex", "--used", "3")
    assert [[line["id"] for line in tracked.note(c)] for c in commits] == [[window]] * 3
    stamped = (tracked.path / ".git" / "tracker" / "stamped").read_text()
    assert window not in stamped  # forgotten once checked
