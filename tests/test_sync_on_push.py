"""`init --sync-on-push`: a pre-push hook that syncs the tracker refs after the user's push has gone out,
with real pushes to a bare repository on disk (issue 12). The user's push is never failed or held up."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.conftest import Sandbox
from tests.test_sync import LEDGER, NOTES, clone, git_at, ledger_ids, make_remote, tip, window_with_commits


def log_of(box: Sandbox) -> Path:
    return box.path / ".git" / "tracker" / "sync-on-push.log"


def wait_for_log(box: Sandbox, after: str | None = None, timeout: float = 60.0) -> str:
    """The line the background sync writes when it is done (a different one than ``after``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_of(box).exists():
            text = log_of(box).read_text()
            if text != after:
                return text
        time.sleep(0.05)
    raise AssertionError("the sync the pre-push hook started wrote no result")


def push(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "-q", *args], cwd=box.path, capture_output=True, text=True, check=False)


def test_a_push_brings_the_tracker_data_to_the_remote_afterwards(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    box = clone(tmp_path, remote, "laptop", init=False)
    box.ok("init", "--sync-on-push")
    assert (box.path / ".git" / "hooks" / "pre-push").exists()
    commits = window_with_commits(box, 2)
    assert tip(remote, LEDGER) == ""  # nothing went out yet

    done = push(box, "origin", "main")

    assert done.returncode == 0, done.stderr
    line = wait_for_log(box)
    assert " origin: " in line and "sync not done" not in line, line
    assert sorted(ledger_ids(remote)) == sorted(ledger_ids(box.path))
    assert tip(remote, NOTES) == tip(box.path, NOTES) != ""
    for commit in commits:
        assert git_at(remote, "notes", "--ref", "tracker", "show", commit).strip()
    assert "sync on push:" in box.ok("status")


def test_the_push_returns_before_the_tracker_sync_is_done(tmp_path: Path) -> None:
    # The remote holds every update of a tracker ref for 4 s: were the sync part of the push, the push would wait.
    remote = make_remote(tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nif grep -q tracker; then sleep 4; fi\nexit 0\n")
    hook.chmod(0o755)
    box = clone(tmp_path, remote, "laptop", init=False)
    box.ok("init", "--sync-on-push")
    window_with_commits(box, 1)

    started = time.monotonic()
    done = push(box, "origin", "main")
    took = time.monotonic() - started

    assert done.returncode == 0, done.stderr
    assert not log_of(box).exists(), "the sync finished inside the push"
    assert took < 4, f"the push waited {took:.1f} s for the tracker sync"
    line = wait_for_log(box)
    assert "sync not done" not in line, line
    assert tip(remote, LEDGER) == tip(box.path, LEDGER)


def test_a_remote_refusing_tracker_refs_never_fails_the_push(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nif grep -q tracker; then echo 'protected' >&2; exit 1; fi\nexit 0\n")
    hook.chmod(0o755)
    box = clone(tmp_path, remote, "laptop", init=False)
    box.ok("init", "--sync-on-push")
    window_with_commits(box, 1)
    before = ledger_ids(box.path)

    done = push(box, "origin", "main")

    assert done.returncode == 0, done.stderr
    assert tip(remote, "refs/heads/main") == box.head()
    line = wait_for_log(box)
    assert "sync not done" in line and "origin" in line, line
    assert tip(remote, LEDGER) == ""
    assert ledger_ids(box.path) == before  # the local data is untouched


def test_the_users_own_pre_push_hook_still_decides(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    box = clone(tmp_path, remote, "laptop", init=False)
    seen = tmp_path / "seen"
    theirs = box.path / ".git" / "hooks" / "pre-push"
    theirs.write_text(f"#!/bin/sh\ncat > '{seen}'\n[ -f '{tmp_path}/refuse' ] && exit 1\nexit 0\n")
    theirs.chmod(0o755)
    box.ok("init", "--sync-on-push")
    window_with_commits(box, 1)

    (tmp_path / "refuse").write_text("")
    refused = push(box, "origin", "main")
    assert refused.returncode != 0
    assert box.head() in seen.read_text()  # the chained hook got git's ref lines on stdin
    time.sleep(1.0)
    assert not log_of(box).exists() and tip(remote, LEDGER) == ""  # a refused push starts no sync

    (tmp_path / "refuse").unlink()
    assert push(box, "origin", "main").returncode == 0
    assert "sync not done" not in wait_for_log(box)
    assert tip(remote, LEDGER) == tip(box.path, LEDGER)

    box.ok("uninstall")
    assert theirs.read_text().startswith("#!/bin/sh\ncat >")  # put back as it was


def test_tracker_data_goes_only_to_the_sync_remote(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    fork = tmp_path / "fork.git"
    git_at(tmp_path, "init", "-q", "--bare", str(fork))
    box = clone(tmp_path, remote, "laptop", init=False)
    box.git("remote", "add", "fork", str(fork))
    box.ok("init", "--sync-on-push")
    window_with_commits(box, 1)

    assert push(box, "fork", "main").returncode == 0
    line = wait_for_log(box)
    assert "not synced" in line and "'fork'" in line and "'origin'" in line, line
    assert tip(fork, LEDGER) == "" and tip(fork, NOTES) == ""


def test_off_by_default_and_switched_off_per_clone(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    box = clone(tmp_path, remote, "laptop")  # plain init
    assert not (box.path / ".git" / "hooks" / "pre-push").exists()
    window_with_commits(box, 1)
    assert push(box, "origin", "main").returncode == 0
    time.sleep(1.0)
    assert tip(remote, LEDGER) == "" and not log_of(box).exists()

    switched_on = box.ok("init", "--sync-on-push")
    assert "pre-push hook: installed" in switched_on and "sync on push: on" in switched_on
    assert "sync on push: off" in box.ok("init", "--no-sync-on-push")
    box.commit()
    assert push(box, "origin", "main").returncode == 0
    time.sleep(1.0)
    assert tip(remote, LEDGER) == "" and not log_of(box).exists()
    assert (box.path / ".git" / "hooks" / "pre-push").exists()  # inert until uninstall
    box.ok("uninstall")
    assert not (box.path / ".git" / "hooks" / "pre-push").exists()


def test_pre_commit_mode_refuses_sync_on_push_and_writes_nothing(sandbox: Sandbox) -> None:
    done = sandbox.tracker("init", "--pre-commit", "--sync-on-push")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--sync-on-push" in done.stderr
    assert not (sandbox.path / ".git" / "tracker").exists()
    assert not (sandbox.path / ".git-tracker.toml").exists()
