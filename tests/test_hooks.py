"""Hooks through real git: stamps, amend, rebase, cherry-pick, chaining, hooksPath, worktrees, failures."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import Sandbox

REWORD_ALL = "sed -i -e 's/^pick/reword/'"


def window_ids(box: Sandbox, commit: str) -> set[str]:
    return {line["id"] for line in box.note(commit) if line["kind"] == "window"}


def replaced_by(box: Sandbox, commit: str) -> set[str]:
    """The commits this commit's note says it replaces (amend, rebase, cherry-pick)."""
    return {line["id"] for line in box.note(commit) if line["kind"] == "replaces"}


def open_window(box: Sandbox, provider: str = "codex") -> str:
    box.ok("start", provider, "--used", "10")
    return str(box.records("window-open")[-1]["window_id"])


def test_commits_without_a_window_get_no_note(tracked: Sandbox) -> None:
    commit = tracked.commit()
    tracked.wait_for_flush()
    assert tracked.note(commit) == []
    assert not (tracked.path / ".git" / "tracker" / "queue").exists()


def test_background_flush_stamps_without_end(tracked: Sandbox) -> None:
    window = open_window(tracked)
    commit = tracked.commit()
    tracked.wait_for_flush()
    assert window_ids(tracked, commit) == {window}


def test_amend_keeps_the_note(tracked: Sandbox) -> None:
    window = open_window(tracked)
    tracked.commit()
    tracked.wait_for_flush()
    original = tracked.head()
    tracked.git("commit", "-q", "--amend", "-m", "amended, flushed before")
    amended = tracked.head()
    # Amend again at once, before any flush can run, so the stamp is still queued at the rewrite.
    tracked.git("commit", "-q", "--amend", "-m", "amended twice")
    twice = tracked.head()
    tracked.ok("end", "codex", "--used", "20")
    assert window_ids(tracked, amended) == {window}
    assert window_ids(tracked, twice) == {window}
    # identical lines merge, they do not pile up; the chain of replaced commits travels along
    assert sum(1 for line in tracked.note(twice) if line["kind"] == "window") == 1
    assert replaced_by(tracked, amended) == {original}
    assert replaced_by(tracked, twice) == {original, amended}


def test_amend_of_a_queued_stamp_keeps_the_note(tracked: Sandbox) -> None:
    window = open_window(tracked)
    # Keep the background flusher from running, so the stamp is still queued when the amend happens.
    marker = tracked.path / ".git" / "tracker" / "flush.running"
    marker.touch()
    tracked.commit()
    tracked.git("commit", "-q", "--amend", "-m", "amended while queued")
    amended = tracked.head()
    marker.unlink(missing_ok=True)  # post-rewrite's own flush took it
    tracked.ok("end", "codex", "--used", "20")
    assert window_ids(tracked, amended) == {window}


def test_rebase_reword_and_squash_keep_notes(tracked: Sandbox) -> None:
    window = open_window(tracked)
    for _ in range(3):
        tracked.commit()
    tracked.ok("end", "codex", "--used", "30")
    other = open_window(tracked, "claude")
    tracked.commit()
    tracked.ok("end", "claude", "--used", "30")

    env = {"GIT_SEQUENCE_EDITOR": REWORD_ALL, "GIT_EDITOR": "sed -i -e '1s/$/ (reworded)/'"}
    tracked.git("rebase", "-q", "-i", "HEAD~4", env=env)
    reworded = tracked.git("rev-list", "HEAD~4..HEAD").split()
    assert len(reworded) == 4
    assert all("(reworded)" in tracked.git("log", "-1", "--format=%s", sha) for sha in reworded)
    assert [window_ids(tracked, sha) for sha in reworded] == [{other}, {window}, {window}, {window}]

    squash = "sed -i -e '2,$s/^pick/squash/'"
    tracked.git("rebase", "-q", "-i", "HEAD~4", env={"GIT_SEQUENCE_EDITOR": squash, "GIT_EDITOR": "true"})
    squashed = tracked.head()
    assert tracked.git("rev-list", "--count", "HEAD~1..HEAD").strip() == "1"
    # No window is open: the rewrite waits in the queue (no Python started) for the next reader.
    assert (tracked.path / ".git" / "tracker" / "queue").exists()
    assert not (tracked.path / ".git" / "tracker" / "flush.running").exists()
    tracked.ok("flush")
    assert window_ids(tracked, squashed) == {window, other}
    assert sum(1 for line in tracked.note(squashed) if line["kind"] == "window") == 2
    assert set(reworded) <= replaced_by(tracked, squashed)  # so churn counts the squash, not its parts too


def test_commits_made_during_a_rebase_are_stamped_once_and_picks_not_restamped(tracked: Sandbox) -> None:
    old = tracked.commit()
    tracked.commit()
    window = open_window(tracked)
    # Stop at the first pick ("edit"), add a new commit inside the open window, continue.
    tracked.git("rebase", "-q", "-i", "HEAD~2", env={"GIT_SEQUENCE_EDITOR": "sed -i -e '1s/^pick/edit/'"})
    new = tracked.commit("made-during-rebase.txt")
    tracked.git("rebase", "--continue", env={"GIT_EDITOR": "true"})
    tracked.ok("end", "codex", "--used", "30")
    assert window_ids(tracked, new) == {window}
    assert tracked.note(old) == []
    assert tracked.note("HEAD") == []  # a pick of an old commit is not the window's work


def test_conflict_resolved_picks_are_not_stamped_but_break_and_exec_commits_are(tracked: Sandbox) -> None:
    tracked.commit("shared.txt")
    tracked.git("checkout", "-q", "-b", "topic")
    (tracked.path / "shared.txt").write_text("topic version\n")
    tracked.git("commit", "-q", "-am", "old topic change")
    tracked.git("checkout", "-q", "main")
    (tracked.path / "shared.txt").write_text("main version\n")
    tracked.git("commit", "-q", "-am", "main change")
    tracked.git("checkout", "-q", "topic")
    window = open_window(tracked)

    tracked.git("rebase", "-q", "main", check=False)  # stops on the conflict
    (tracked.path / "shared.txt").write_text("resolved\n")
    tracked.git("add", "shared.txt")
    tracked.git("rebase", "--continue", env={"GIT_EDITOR": "true"})
    resolved_pick = tracked.head()
    assert tracked.git("log", "-1", "--format=%s").strip() == "old topic change"

    todo = "sed -i -e '1s/^/break\\n/' -e '$a exec git commit -q --allow-empty -m from-exec'"
    tracked.commit("one-more-old.txt")
    tracked.wait_for_flush()
    tracked.git("rebase", "-q", "-i", "--force-rebase", "HEAD~1", env={"GIT_SEQUENCE_EDITOR": todo})
    at_break = tracked.commit("made-at-break.txt")
    tracked.git("rebase", "--continue")
    from_exec = tracked.head()
    assert tracked.git("log", "-1", "--format=%s").strip() == "from-exec"
    tracked.ok("end", "codex", "--used", "30")

    assert tracked.note(resolved_pick) == []
    assert window_ids(tracked, at_break) == {window}
    assert window_ids(tracked, from_exec) == {window}


def test_cherry_pick_copies_the_note(tracked: Sandbox) -> None:
    tracked.git("checkout", "-q", "-b", "side")
    window = open_window(tracked)
    picked = tracked.commit("side.txt")
    tracked.ok("end", "codex", "--used", "20")
    tracked.git("checkout", "-q", "main")
    tracked.commit("main-moved-on.txt")
    tracked.git("cherry-pick", picked)
    copy = tracked.head()
    assert copy != picked
    tracked.wait_for_flush()
    assert window_ids(tracked, copy) == {window}


def test_existing_hook_is_chained_and_restored_exactly(sandbox: Sandbox) -> None:
    sandbox.commit()
    hooks = sandbox.path / ".git" / "hooks"
    legacy = '#!/bin/sh\necho legacy-ran "$@" >> "$(git rev-parse --git-dir)/legacy.log"\nexit 3\n'
    (hooks / "post-commit").write_text(legacy)
    (hooks / "post-commit").chmod(0o755)
    config_before = (sandbox.path / ".git" / "config").read_text()
    listing_before = sorted(p.name for p in hooks.iterdir())

    sandbox.ok("init")
    sandbox.ok("init")  # idempotent: the chained hook is not wrapped twice
    assert (hooks / "post-commit.pre-tracker").read_text() == legacy
    window = open_window(sandbox)
    commit = sandbox.commit()  # the legacy hook exits 3; the commit still succeeds
    assert (sandbox.path / ".git" / "legacy.log").read_text() == "legacy-ran\n"
    sandbox.ok("end", "codex", "--used", "20")
    assert window_ids(sandbox, commit) == {window}
    assert "rewriteMode" not in (sandbox.path / ".git" / "config").read_text()  # the user's notes keep theirs

    sandbox.ok("uninstall")
    assert (hooks / "post-commit").read_text() == legacy
    assert os.access(hooks / "post-commit", os.X_OK)
    assert sorted(p.name for p in hooks.iterdir()) == listing_before
    assert (sandbox.path / ".git" / "config").read_text() == config_before
    assert not (sandbox.path / ".git-tracker.toml").exists()
    assert "/.git-tracker.toml" not in (sandbox.path / ".git" / "info" / "exclude").read_text()
    # The data stays.
    assert sandbox.git("rev-parse", "--verify", "tracker-ledger").strip()
    assert window_ids(sandbox, commit) == {window}


def test_init_leaves_a_users_rewrite_mode_and_uninstall_restores_the_config(sandbox: Sandbox) -> None:
    sandbox.commit()
    sandbox.git("config", "notes.rewriteMode", "concatenate")
    sandbox.git("config", "notes.rewriteRef", "refs/notes/commits")
    before = (sandbox.path / ".git" / "config").read_bytes()
    sandbox.ok("init")
    assert sandbox.git("config", "--get-all", "notes.rewriteRef").split() == [
        "refs/notes/commits",
        "refs/notes/tracker",
    ]
    assert sandbox.git("config", "notes.rewriteMode").strip() == "concatenate"
    sandbox.ok("uninstall")
    assert (sandbox.path / ".git" / "config").read_bytes() == before


def test_core_hooks_path_is_respected(sandbox: Sandbox) -> None:
    sandbox.commit()
    shared = sandbox.path.parent / "shared-hooks"
    shared.mkdir()
    sandbox.git("config", "core.hooksPath", str(shared))
    sandbox.ok("init")
    assert (shared / "post-commit").exists() and (shared / "post-rewrite").exists()
    assert not (sandbox.path / ".git" / "hooks" / "post-commit").exists()
    window = open_window(sandbox)
    commit = sandbox.commit()
    sandbox.ok("end", "codex", "--used", "11")
    assert window_ids(sandbox, commit) == {window}
    sandbox.ok("uninstall")
    assert list(shared.iterdir()) == []


def test_worktree_commits_are_stamped(tracked: Sandbox) -> None:
    worktree = tracked.path.parent / "wt"
    tracked.git("worktree", "add", "-q", str(worktree), "-b", "wt-branch")
    other = Sandbox(worktree)
    window = open_window(other)
    commit = other.commit("in-worktree.txt")
    other.ok("end", "codex", "--used", "15")
    assert window_ids(tracked, commit) == {window}
    (closed,) = tracked.records("window-close")
    assert closed["commit_end"] == commit


def test_agents_stamp_only_their_own_windows(tracked: Sandbox) -> None:
    mine = open_window(tracked)
    tracked.ok("start", "claude", "--used", "1", env={"AGENT_ID": "helper"})
    theirs = tracked.records("window-open")[-1]["window_id"]
    by_main = tracked.commit()
    by_helper = tracked.commit(env={"AGENT_ID": "helper"})
    tracked.ok("end", "codex", "--used", "12")
    tracked.ok("end", "claude", "--used", "3", env={"AGENT_ID": "helper"})
    assert window_ids(tracked, by_main) == {mine}
    assert window_ids(tracked, by_helper) == {theirs}


def test_a_failing_flush_warns_records_an_anomaly_and_loses_nothing(tracked: Sandbox) -> None:
    window = open_window(tracked)
    blob = tracked.git("hash-object", "-w", "--stdin", stdin="not a commit\n").strip()
    good_tip = tracked.git("rev-parse", "refs/notes/tracker").strip()
    tracked.git("update-ref", "refs/notes/tracker", blob)  # the notes ref broken by something else
    commit = tracked.commit()  # the commit succeeds; the background flush fails and keeps the stamp
    assert commit == tracked.head()
    hook = subprocess.run(
        [sys.executable, "-m", "gittracker.hookrun", "post-commit", str(tracked.path)],
        cwd=tracked.path,
        capture_output=True,
        text=True,
    )
    assert hook.returncode == 0
    assert "git-tracker: post-commit hook:" in hook.stderr and "your commit is fine" in hook.stderr
    assert "hook-failed" in {a["code"] for a in tracked.records("anomaly")}
    tracked.git("update-ref", "refs/notes/tracker", good_tip)  # repaired
    tracked.ok("flush")
    assert window_ids(tracked, commit) == {window}


def test_malformed_queue_lines_are_skipped_with_an_anomaly(tracked: Sandbox) -> None:
    window = open_window(tracked)
    queue = tracked.path / ".git" / "tracker" / "queue"
    queue.write_text("garbage line\n" + "f" * 40 + " {truncated\n")
    commit = tracked.commit()
    tracked.ok("end", "codex", "--used", "20")
    assert window_ids(tracked, commit) == {window}
    (anomaly,) = tracked.records("anomaly")
    assert anomaly["code"] == "hook-queue-malformed" and "line 1" in anomaly["detail"]


def test_hook_script_is_posix_and_executable(tracked: Sandbox) -> None:
    for name in ("post-commit", "post-rewrite"):
        path = tracked.path / ".git" / "hooks" / name
        assert path.stat().st_mode & stat.S_IXUSR
        subprocess.run(["sh", "-n", str(path)], check=True)
        assert "@PYTHON@" not in path.read_text()


def test_status_reports_queued_stamps(tracked: Sandbox) -> None:
    open_window(tracked)
    marker = tracked.path / ".git" / "tracker" / "flush.running"
    marker.touch()
    tracked.commit()
    assert json.loads(tracked.ok("status", "--json"))["queued_stamps"] == 1
    assert not marker.exists()  # nobody held the flush lock: status cleared the stale marker
    assert "1 commit(s) stamped" in tracked.ok("flush")
    assert json.loads(tracked.ok("status", "--json"))["queued_stamps"] == 0


def test_pre_commit_mode_installs_no_hooks(sandbox: Sandbox) -> None:
    sandbox.commit()
    out = sandbox.ok("init", "--pre-commit")
    assert "pre-commit install" in out
    assert not (sandbox.path / ".git" / "hooks" / "post-commit").exists()
    assert Path(sandbox.path / ".git-tracker.toml").exists()


def test_a_stale_flush_marker_is_cleared_by_the_next_command(tracked: Sandbox) -> None:
    window = open_window(tracked)
    marker = tracked.path / ".git" / "tracker" / "flush.running"
    marker.write_text("left by a flusher that was killed")
    first = tracked.commit()
    tracked.ok("status")
    assert not marker.exists()
    second = tracked.commit()
    tracked.wait_for_flush()
    assert window_ids(tracked, first) == window_ids(tracked, second) == {window}


def test_modes_and_created_directories_are_restored(sandbox: Sandbox) -> None:
    sandbox.commit()
    exclude = sandbox.path / ".git" / "info" / "exclude"
    exclude.chmod(0o644)
    sandbox.git("config", "core.hooksPath", ".githooks")
    sandbox.ok("init", "--force")  # a hooks folder inside the work tree is refused without --force
    assert (sandbox.path / ".githooks" / "post-commit").stat().st_mode & 0o777 == 0o755
    assert exclude.stat().st_mode & 0o777 == 0o644
    sandbox.ok("uninstall")
    assert not (sandbox.path / ".githooks").exists()
    assert exclude.stat().st_mode & 0o777 == 0o644


def test_an_amend_that_changes_nothing_is_not_a_replacement_of_itself(tracked: Sandbox) -> None:
    # With the dates pinned, an amend that changes nothing gives the same commit id: git's mapping is
    # "X X", and X must not be noted as replacing itself (churn would leave it out).
    window = open_window(tracked)
    first = tracked.commit(lines=2)
    second = tracked.commit(lines=5)
    tracked.wait_for_flush()
    tracked.git("commit", "-q", "--amend", "--no-edit")
    assert tracked.head() == second
    tracked.ok("end", "codex", "--used", "20")
    assert replaced_by(tracked, second) == set()
    churn = json.loads(tracked.ok("churn", window, "--json"))
    assert (churn["commits"], churn["added"]) == (2, 7), first
