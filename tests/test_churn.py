"""Churn equals git's own numstat on the same range, for every policy."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import Sandbox


def build_history(box: Sandbox) -> tuple[str, str]:
    """A history with edits, deletions, a binary file, a rename, a merge and a merged side branch."""
    box.commit("base.txt", lines=5)
    start = box.head()
    (box.path / "a.py").write_text("".join(f"a{i}\n" for i in range(40)))
    box.git("add", "a.py")
    box.git("commit", "-q", "-m", "add a")
    box.git("checkout", "-q", "-b", "feature")
    (box.path / "feature.py").write_text("".join(f"f{i}\n" for i in range(12)))
    box.git("add", "feature.py")
    box.git("commit", "-q", "-m", "feature")
    (box.path / "a.py").write_text("".join(f"a{i}\n" for i in range(30)) + "changed\n")
    box.git("commit", "-q", "-am", "edit a on feature")
    box.git("checkout", "-q", "main")
    (box.path / "main.py").write_text("m\n" * 7)
    box.git("add", "main.py")
    box.git("commit", "-q", "-m", "main work")
    box.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
    (box.path / "blob.bin").write_bytes(bytes(range(256)) * 4)
    box.git("add", "blob.bin")
    box.git("commit", "-q", "-m", "binary")
    box.git("mv", "feature.py", "renamed_feature.py")
    (box.path / "renamed_feature.py").write_text("".join(f"f{i}\n" for i in range(12)) + "one more\n")
    box.git("add", "-A")
    box.git("commit", "-q", "-m", "rename and edit")
    (box.path / "base.txt").unlink()
    box.git("commit", "-q", "-am", "delete base")
    return start, box.head()


def git_numstat_totals(box: Sandbox, *args: str) -> dict[str, int]:
    """The independent computation: sum git's own numstat rows in the test."""
    out = box.git(*args)
    added = deleted = binary = 0
    files: set[str] = set()
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        files.add(parts[2])
        if parts[0] == "-":
            binary += 1
        else:
            added, deleted = added + int(parts[0]), deleted + int(parts[1])
    return {"added": added, "deleted": deleted, "files": len(files), "binary_files": binary}


POLICIES = [
    ([], ["--no-renames", "--no-merges"]),
    (["-M"], ["-M", "--no-merges"]),
    (["--first-parent"], ["--no-renames", "--first-parent"]),
    (["-M", "--first-parent"], ["-M", "--first-parent"]),
]


@pytest.mark.parametrize(("flags", "git_flags"), POLICIES)
def test_gross_churn_equals_git_log_numstat(tracked: Sandbox, flags: list[str], git_flags: list[str]) -> None:
    start, end = build_history(tracked)
    ours = json.loads(tracked.ok("churn", f"{start}..{end}", "--json", *flags))
    theirs = git_numstat_totals(tracked, "log", "--numstat", "--format=", *git_flags, f"{start}..{end}")
    assert {k: ours[k] for k in ("added", "deleted", "files")} == {k: theirs[k] for k in ("added", "deleted", "files")}
    commit_flags = [f for f in git_flags if f in ("--first-parent", "--no-merges")]
    count = tracked.git("rev-list", "--count", *commit_flags, f"{start}..{end}").strip()
    assert ours["commits"] == int(count)
    assert ours["mode"] == "gross"
    assert {"renames", "merges"} <= set(ours)
    assert ours["binary_files"] == 1


@pytest.mark.parametrize("rename_flag", [[], ["-M"]])
def test_net_churn_equals_git_diff_numstat(tracked: Sandbox, rename_flag: list[str]) -> None:
    start, end = build_history(tracked)
    ours = json.loads(tracked.ok("churn", f"{start}..{end}", "--net", "--json", *rename_flag))
    git_flags = rename_flag or ["--no-renames"]
    theirs = git_numstat_totals(tracked, "diff", "--numstat", *git_flags, start, end)
    assert (ours["added"], ours["deleted"], ours["files"]) == (theirs["added"], theirs["deleted"], theirs["files"])
    assert ours["mode"] == "net"


def test_window_churn_uses_the_windows_commits(tracked: Sandbox) -> None:
    tracked.commit("before-window.txt", lines=100)
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit("one.txt", lines=4)
    tracked.commit("two.txt", lines=6)
    in_progress = json.loads(tracked.ok("churn", "--json"))
    assert (in_progress["added"], in_progress["commits"]) == (10, 2)
    tracked.ok("end", "codex", "--used", "20")
    tracked.commit("after-window.txt", lines=50)
    window = tracked.records("window-close")[0]["window_id"]
    for target in ([], [window], [window[:8]]):
        result = json.loads(tracked.ok("churn", "--json", *target))
        assert (result["added"], result["deleted"], result["files"], result["commits"]) == (10, 0, 2, 2)


def test_churn_from_the_root_and_bad_ranges(tracked: Sandbox) -> None:
    tracked.commit("x.txt", lines=2)
    result = json.loads(tracked.ok("churn", "HEAD", "--json"))
    total = subprocess.run(["git", "log", "--numstat", "--format="], cwd=tracked.path, capture_output=True, text=True)
    assert result["added"] == sum(int(line.split("\t")[0]) for line in total.stdout.splitlines() if line)
    for bad in ("nope..HEAD", "HEAD...HEAD~1", "deadbeef"):
        done = tracked.tracker("churn", bad)
        assert done.returncode == 2, bad
        assert len(done.stderr.splitlines()) == 1


def test_a_window_whose_commits_were_rewritten_and_collected_counts_the_rewritten_commits(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit("one.txt", lines=4)
    tracked.commit("two.txt", lines=6)
    tracked.ok("end", "codex", "--used", "20")
    window = tracked.records("window-close")[0]
    before = json.loads(tracked.ok("churn", window["window_id"], "--json"))
    assert (before["added"], before["commits"]) == (10, 2)
    # Squash the window's two commits into one, then let git collect the originals.
    squash = "sed -i -e '2s/^pick/squash/'"
    tracked.git("rebase", "-q", "-i", "HEAD~2", env={"GIT_SEQUENCE_EDITOR": squash, "GIT_EDITOR": "true"})
    tracked.git("reflog", "expire", "--expire=now", "--all")
    tracked.git("gc", "-q", "--prune=now")
    assert tracked.git("cat-file", "-t", window["commit_end"], check=False) == ""
    after = json.loads(tracked.ok("churn", window["window_id"], "--json"))
    squashed = tracked.head()
    numstat = tracked.git("show", "--numstat", "--format=", squashed)
    assert after["added"] == sum(int(line.split("\t")[0]) for line in numstat.splitlines() if line) == 10
    assert (after["commits"], after["files"]) == (1, 2)
    assert after["selection"] == "noted"
    # The range selection has nothing left to count: unknown, never 0.
    gone = json.loads(tracked.ok("churn", window["window_id"], "--range", "--json"))
    assert (gone["added"], gone["commits"], gone["selection"]) == (None, None, "range")
