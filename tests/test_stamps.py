"""Stamps that must not be lost: commits whose hook never ran, symbolic-ref branches, a full disk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gittracker import stamps
from gittracker.git import Repo, head_file_commit
from tests.conftest import Sandbox
from tests.mounts import mounted, run_as_root_elsewhere

NO_HOOKS = ("-c", "core.hooksPath=/dev/null")  # as if `git commit` was killed before its hook ran


def at(moment: str) -> dict[str, str]:
    """Pin the tracker's clock (GIT_TRACKER_NOW) for one command."""
    return {"GIT_TRACKER_NOW": moment}


def dated(moment: str, **extra: str) -> dict[str, str]:
    """Commit dates for one `git commit` (the fixture pins them all to 10:00:00)."""
    return {"GIT_AUTHOR_DATE": moment, "GIT_COMMITTER_DATE": moment, **extra}


def commit_without_hook(box: Sandbox, name: str, env: dict[str, str] | None = None) -> str:
    (box.path / name).write_text(f"{name}\n")
    box.git("add", name)
    box.git(*NO_HOOKS, "commit", "-q", "-m", name, env=env)
    return box.head()


def window_ids(box: Sandbox, commit: str) -> set[str]:
    return {line["id"] for line in box.note(commit) if line["kind"] == "window"}


def test_end_stamps_the_windows_commits_that_lost_their_stamp_and_no_one_elses(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10", env=at("2026-06-01T09:59:00Z"))
    window = tracked.records("window-open")[-1]["window_id"]
    lost = commit_without_hook(tracked, "lost.txt", dated("2026-06-01T10:00:00+0000"))
    someone = commit_without_hook(
        tracked, "someone.txt", dated("2026-06-01T10:00:05+0000", GIT_COMMITTER_EMAIL="someone@example.org")
    )
    rebased_old = commit_without_hook(  # a copy of older work: its author date is from before the window
        tracked,
        "old.txt",
        {"GIT_AUTHOR_DATE": "2026-05-01T10:00:00+0000", "GIT_COMMITTER_DATE": "2026-06-01T10:00:06+0000"},
    )
    tracked.ok("start", "claude", "--used", "10", env={"AGENT_ID": "helper", **at("2026-06-01T10:00:20Z")})
    during_helper = commit_without_hook(tracked, "helper-time.txt", dated("2026-06-01T10:00:30+0000"))
    tracked.ok("end", "claude", "--used", "20", env={"AGENT_ID": "helper", **at("2026-06-01T10:00:40Z")})
    tracked.git("checkout", "-q", "-b", "side")
    side = commit_without_hook(tracked, "side.txt", dated("2026-06-01T10:00:50+0000"))
    tracked.git("checkout", "-q", "main")
    tracked.git(*NO_HOOKS, "merge", "-q", "--no-ff", "-m", "merge side", "side", env=dated("2026-06-01T10:00:55+0000"))
    merge = tracked.head()
    late = commit_without_hook(tracked, "late.txt", dated("2026-06-01T10:05:00+0000"))  # after the window closed

    out = json.loads(tracked.ok("end", "codex", "--used", "20", "--json", env=at("2026-06-01T10:01:00Z")))
    assert sorted(out["stamped"]) == sorted([lost, side])
    assert window_ids(tracked, lost) == window_ids(tracked, side) == {window}
    for other in (someone, rebased_old, during_helper, merge, late):
        assert tracked.note(other) == [], other
    assert json.loads(tracked.ok("churn", window, "--json"))["commits"] == 2


def test_end_says_it_restored_stamps(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10", env=at("2026-06-01T09:59:00Z"))
    commit_without_hook(tracked, "lost.txt")
    out = tracked.ok("end", "codex", "--used", "20", env=at("2026-06-01T10:01:00Z"))
    assert "1 commit(s) carrying its note" in out and "restored the missing note of 1 commit(s)" in out


def test_a_branch_that_is_a_symbolic_ref_keeps_its_stamps(tracked: Sandbox) -> None:
    tracked.git("symbolic-ref", "refs/heads/alias", "refs/heads/main")
    tracked.git("symbolic-ref", "HEAD", "refs/heads/alias")
    tracked.ok("start", "codex", "--used", "10")
    window = tracked.records("window-open")[-1]["window_id"]
    commit = tracked.commit("via-alias.txt")
    assert tracked.git("rev-parse", "main").strip() == commit
    tracked.wait_for_flush()  # the hook's own stamp, before `end` could restore anything
    assert window_ids(tracked, commit) == {window}
    assert tracked.records("anomaly") == []  # nothing malformed was queued
    repo = Repo.discover(tracked.path)
    assert head_file_commit(repo.git_dir, repo.common_dir) == commit  # the pre-commit hook's twin


# -- a full disk and a read-only state dir, for real ------------------------------------------------------


FILL_HOOK = """#!/bin/sh
# The user's own post-commit hook (git-tracker chains it): here it fills the disk, right after git wrote
# the commit and right before git-tracker's hook queues the stamp.
if [ -n "$FILL_DISK" ]; then cat /dev/zero > "$FILL_DISK" 2>/dev/null; fi
exit 0
"""


def small_disk_repo(disk: Path) -> Sandbox:
    repo = disk / "repo"
    repo.mkdir()
    box = Sandbox(repo)
    box.git("init", "-q", "--template=")  # no sample hooks: every page of this disk counts
    box.commit("README.md")
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "post-commit").write_text(FILL_HOOK)
    (hooks / "post-commit").chmod(0o755)
    box.ok("init")
    return box


def only_tracker_line(stderr: str, commit: str, why: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"git-tracker: post-commit: could not queue the stamp for {commit}: "), stderr
    assert why in lines[0] and "your commit is fine" in lines[0] and "git tracker doctor" in lines[0]


def test_a_full_disk_loses_no_stamp_and_prints_one_line(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if run_as_root_elsewhere(request):
        return
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)):
        box = small_disk_repo(disk)
        box.ok("start", "codex", "--used", "10", env=at("2026-06-01T09:59:00Z"))
        window = box.records("window-open")[-1]["window_id"]
        filler = disk / "filler"
        (box.path / "work.txt").write_text("work\n")
        box.git("add", "work.txt")
        done = subprocess.run(
            ["git", "commit", "-q", "-m", "work on a full disk"],
            cwd=box.path,
            capture_output=True,
            text=True,
            env={**os.environ, "FILL_DISK": str(filler)},
        )
        assert done.returncode == 0
        commit = box.head()
        assert box.git("log", "-1", "--format=%s").strip() == "work on a full disk"
        assert shutil.disk_usage(disk).free < 4096  # it really was full
        only_tracker_line(done.stderr, commit, "is the disk full?")
        assert not (box.path / ".git" / "tracker" / "flush.running").exists()
        filler.unlink()
        out = json.loads(box.ok("end", "codex", "--used", "20", "--json", env=at("2026-06-01T10:01:00Z")))
        assert out["stamped"] == [commit]
        assert window_ids(box, commit) == {window}


def test_a_read_only_state_dir_prints_one_line(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if run_as_root_elsewhere(request):
        return
    box = Sandbox(tmp_path / "repo")
    box.path.mkdir()
    box.git("init", "-q")
    box.commit("README.md")
    box.ok("init")
    box.ok("start", "codex", "--used", "10")
    state = box.path / ".git" / "tracker"
    with mounted("--bind", str(state), str(state)), mounted("-o", "remount,bind,ro", str(state)):
        (box.path / "work.txt").write_text("work\n")
        box.git("add", "work.txt")
        done = subprocess.run(["git", "commit", "-q", "-m", "work"], cwd=box.path, capture_output=True, text=True)
        assert done.returncode == 0
        only_tracker_line(done.stderr, box.head(), "is not writable")
        original = box.head()
        amend = ["git", "commit", "-q", "--amend", "-m", "amended"]
        done = subprocess.run(amend, cwd=box.path, capture_output=True, text=True)
        assert done.returncode == 0
        post_commit, post_rewrite = done.stderr.splitlines()  # one line from each hook, nothing else
        assert post_commit.startswith(f"git-tracker: post-commit: could not queue the stamp for {box.head()}: ")
        assert post_rewrite.startswith(f"git-tracker: post-rewrite: could not queue the rewrite of {original}: ")
        assert "is not writable" in post_rewrite


# -- what doctor will report and repair ---------------------------------------------------------------------


def codes(repo: Repo) -> set[str]:
    return {finding.code for finding in stamps.findings(repo)}


def test_findings_and_repair_of_the_stamp_queue(tracked: Sandbox) -> None:
    repo = Repo.discover(tracked.path)
    state = tracked.path / ".git" / "tracker"
    assert codes(repo) == set()
    tracked.ok("start", "codex", "--used", "10", env=at("2026-06-01T09:59:00Z"))
    window = tracked.records("window-open")[-1]["window_id"]

    (state / "flush.running").mkdir()  # a flusher that died: hooks start no other
    queued = tracked.commit("queued.txt")
    lost = commit_without_hook(tracked, "lost.txt")
    with (state / "queue").open("ab") as queue:
        queue.write(b"\xff\xfe not utf-8\n")
    assert json.loads(tracked.ok("status", "--json"))["queued_stamps"] == 1  # the damaged line: no crash
    (state / "flush.running").mkdir(exist_ok=True)  # status cleared it; put it back to be found
    found = {finding.code: finding for finding in stamps.findings(repo)}
    assert set(found) == {"flush-marker-stale", "stamps-queued", "queue-damaged", "stamps-missing"}
    assert all(finding.fixable for finding in found.values())
    assert "not UTF-8" in found["queue-damaged"].problem
    assert lost[:10] in found["stamps-missing"].problem  # the queued commit is queued, not missing

    done = stamps.repair(repo)
    assert len(done) == 3, done
    assert window_ids(tracked, queued) == window_ids(tracked, lost) == {window}
    assert codes(repo) == set()
    assert "hook-queue-malformed" in {anomaly["code"] for anomaly in tracked.records("anomaly")}
