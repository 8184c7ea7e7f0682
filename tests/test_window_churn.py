"""A window's churn is the work of the commits that carry its note, checked against git's own numstat.

Every test here lets something else land between the window's ``commit_start`` and ``commit_end`` (an
upstream merge or rebase, another agent's commits) or rewrites the window's commits, so counting the
range — or naively counting every commit whose note names the window — gives a different number.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import Sandbox

OTHER = {
    "GIT_AUTHOR_NAME": "Someone Else",
    "GIT_AUTHOR_EMAIL": "someone@example.org",
    "GIT_COMMITTER_NAME": "Someone Else",
    "GIT_COMMITTER_EMAIL": "someone@example.org",
}


class Upstream:
    """A bare remote on disk and another person's clone of it that pushes commits."""

    def __init__(self, mine: Sandbox, root: Path) -> None:
        self.bare = root / "upstream.git"
        mine.git("init", "-q", "--bare", str(self.bare))
        mine.git("remote", "add", "origin", str(self.bare))
        mine.git("push", "-q", "-u", "origin", "main")
        mine.git("clone", "-q", str(self.bare), str(root / "theirs"))
        self.theirs = Sandbox(root / "theirs")

    def push_commits(self, count: int, lines: int) -> list[str]:
        made = [self.theirs.commit(f"upstream-{self.theirs.counter}.txt", env=OTHER, lines=lines) for _ in range(count)]
        self.theirs.git("push", "-q", "origin", "HEAD:main")
        return made


@pytest.fixture(autouse=True)
def distinct_commit_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each commit a second after the last, as real work is (the fixture pins one date for all): so a
    squashed-in commit's author line differs from the squash's, and only the notes can tell them apart."""
    made = iter(range(10**6))
    original = Sandbox.commit

    def commit(self: Sandbox, name: str | None = None, env: dict[str, str] | None = None, lines: int = 3) -> str:
        n = next(made)
        moment = f"2026-06-01T10:{n // 60 % 60:02d}:{n % 60:02d}+0000"
        dated = {"GIT_AUTHOR_DATE": moment, "GIT_COMMITTER_DATE": moment, **(env or {})}
        return original(self, name, dated, lines)

    monkeypatch.setattr(Sandbox, "commit", commit)


@pytest.fixture
def upstream(tracked: Sandbox, tmp_path: Path) -> Upstream:
    return Upstream(tracked, tmp_path)


def git_numstat(box: Sandbox, commits: list[str]) -> dict[str, int]:
    """The independent computation: git's own `git show --numstat` of each commit, summed."""
    added = deleted = 0
    files: set[str] = set()
    for commit in commits:
        for line in box.git("show", "--numstat", "--format=", "--no-renames", commit).splitlines():
            a, d, path = line.split("\t")
            added, deleted = added + int(a), deleted + int(d)
            files.add(path)
    return {"added": added, "deleted": deleted, "files": len(files), "commits": len(commits)}


def churn(box: Sandbox, *args: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(box.ok("churn", "--json", *args))
    return result


def counts(result: dict[str, object]) -> dict[str, object]:
    return {key: result[key] for key in ("added", "deleted", "files", "commits")}


def last_window(box: Sandbox) -> str:
    return str(box.records("window-close")[-1]["window_id"])


def test_a_window_with_upstream_merged_in_counts_its_own_commits(tracked: Sandbox, upstream: Upstream) -> None:
    """The issue's acceptance test: +1010 lines and 12 commits in the range, 10 lines in 2 own commits."""
    upstream.push_commits(10, lines=100)
    tracked.ok("start", "codex", "--used", "10")
    own = [tracked.commit("mine-1.txt", lines=4)]
    tracked.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    own.append(tracked.commit("mine-2.txt", lines=6))
    out = tracked.ok("end", "codex", "--used", "20")
    window = last_window(tracked)

    expected = git_numstat(tracked, own)
    assert expected == {"added": 10, "deleted": 0, "files": 2, "commits": 2}
    result = churn(tracked, window)
    assert counts(result) == expected
    assert result["selection"] == "noted"
    assert counts(churn(tracked)) == expected  # this agent's last window by default
    assert "2 commit(s) carrying its note" in out
    ranged = churn(tracked, window, "--range")
    assert (ranged["added"], ranged["commits"], ranged["selection"]) == (1010, 12, "range")
    assert churn(tracked, window, "--net")["selection"] == "range"  # one diff from start to end is a range


def test_upstream_rebased_in_counts_the_rebased_copies_once(tracked: Sandbox, upstream: Upstream) -> None:
    tracked.ok("start", "claude", "--used", "10")
    tracked.commit("mine-1.txt", lines=4)
    tracked.commit("mine-2.txt", lines=6)
    upstream.push_commits(10, lines=100)
    tracked.git("pull", "-q", "--rebase", "origin", "main")
    tracked.ok("end", "claude", "--used", "20")
    rebased = tracked.git("rev-list", "HEAD~2..HEAD").split()
    # The originals are still there (reflog), carrying the window's note too.
    result = churn(tracked, last_window(tracked))
    assert counts(result) == git_numstat(tracked, rebased) == {"added": 10, "deleted": 0, "files": 2, "commits": 2}
    assert churn(tracked, last_window(tracked), "--range")["added"] == 1010


def test_two_agents_in_one_worktree_each_get_their_own_lines(tracked: Sandbox) -> None:
    helper = {"AGENT_ID": "helper"}
    tracked.ok("start", "codex", "--used", "10")
    tracked.ok("start", "claude", "--used", "10", env=helper)
    mine = [tracked.commit("main-1.txt", lines=4)]
    theirs = [tracked.commit("helper-1.txt", lines=20, env=helper)]
    mine.append(tracked.commit("main-2.txt", lines=6))
    theirs.append(tracked.commit("helper-2.txt", lines=30, env=helper))
    tracked.ok("end", "codex", "--used", "20")
    tracked.ok("end", "claude", "--used", "20", env=helper)
    closes = {r["provider"]: r["window_id"] for r in tracked.records("window-close")}
    assert counts(churn(tracked, closes["codex"])) == git_numstat(tracked, mine)
    assert counts(churn(tracked, closes["claude"])) == git_numstat(tracked, theirs)
    assert churn(tracked, closes["codex"])["added"] == 10


def test_an_amended_commit_counts_once(tracked: Sandbox, upstream: Upstream) -> None:
    upstream.push_commits(1, lines=100)
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit("mine.txt", lines=4)
    tracked.wait_for_flush()
    (tracked.path / "mine.txt").write_text("".join(f"amended {i}\n" for i in range(7)))
    tracked.git("commit", "-q", "-a", "--amend", "--no-edit")
    amended = tracked.head()
    tracked.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    tracked.ok("end", "codex", "--used", "20")
    result = churn(tracked, last_window(tracked))
    assert counts(result) == git_numstat(tracked, [amended]) == {"added": 7, "deleted": 0, "files": 1, "commits": 1}


def test_an_interactive_squash_counts_the_squashed_commit_once(tracked: Sandbox, upstream: Upstream) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit("one.txt", lines=4)
    tracked.commit("two.txt", lines=6)
    squash = "sed -i -e '2s/^pick/squash/'"
    tracked.git("rebase", "-q", "-i", "HEAD~2", env={"GIT_SEQUENCE_EDITOR": squash, "GIT_EDITOR": "true"})
    squashed = tracked.head()
    upstream.push_commits(2, lines=50)
    tracked.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    tracked.ok("end", "codex", "--used", "20")
    result = churn(tracked, last_window(tracked))
    assert counts(result) == git_numstat(tracked, [squashed]) == {"added": 10, "deleted": 0, "files": 2, "commits": 1}


def test_a_cherry_picked_commit_counts_once(tracked: Sandbox, upstream: Upstream) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.git("checkout", "-q", "-b", "side")
    picked = tracked.commit("side.txt", lines=5)
    tracked.git("checkout", "-q", "main")
    upstream.push_commits(3, lines=40)
    tracked.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    tracked.git("cherry-pick", picked)
    copy = tracked.head()
    tracked.ok("end", "codex", "--used", "20")
    result = churn(tracked, last_window(tracked))
    # Both the picked commit (still on side) and its copy carry the note; the copy says it replaces it.
    assert counts(result) == git_numstat(tracked, [copy]) == {"added": 5, "deleted": 0, "files": 1, "commits": 1}


def test_commits_rewritten_without_notes_and_collected_are_unknown_not_zero(tracked: Sandbox, tmp_path: Path) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit("one.txt", lines=4)
    tracked.commit("two.txt", lines=6)
    tracked.ok("end", "codex", "--used", "20")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "1")
    window = last_window(tracked)
    env = {"FILTER_BRANCH_SQUELCH_WARNING": "1"}
    tracked.git("filter-branch", "-f", "--msg-filter", "sed -e 's/$/ (filtered)/'", "--", "main", env=env)
    for ref in tracked.git("for-each-ref", "--format=%(refname)", "refs/original/").split():
        tracked.git("update-ref", "-d", ref)
    tracked.git("reflog", "expire", "--expire=now", "--all")
    tracked.git("gc", "-q", "--prune=now")

    result = churn(tracked, window)
    assert counts(result) == {"added": None, "deleted": None, "files": None, "commits": None}
    assert "no longer exist" in str(result["reason"])
    assert "unknown" in tracked.ok("churn", window)
    report = json.loads(tracked.ok("preview", "--json"))
    assert report["providers"]["codex"]["lines_per_unit"] is None
    assert any("1 window(s) left out, their churn unknown" in note for note in report["notes"])
    (row,) = csv.DictReader(io.StringIO(tracked.ok("export", "churn"), newline=""))
    assert (row["added"], row["commits"], row["churn_selection"]) == ("", "", "noted")


def test_preview_lines_per_unit_uses_the_noted_churn(tracked: Sandbox, upstream: Upstream) -> None:
    upstream.push_commits(4, lines=100)
    tracked.ok("start", "codex", "--used", "10")
    own = [tracked.commit("mine-1.txt", lines=4)]
    tracked.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    own.append(tracked.commit("mine-2.txt", lines=6))
    tracked.ok("end", "codex", "--used", "30")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "0.9")
    report = json.loads(tracked.ok("preview", "--json"))
    expected = git_numstat(tracked, own)
    lines = expected["added"] + expected["deleted"]
    assert report["providers"]["codex"]["lines_per_unit"] == pytest.approx(lines / 20)
    assert report["churn_selection"] == "noted"
    assert "lines per unit: each window's noted commits (churn.selection = noted)" in report["notes"]
    assert "churn.selection = noted" in tracked.ok("preview")


def test_the_range_selection_setting_for_preview_and_export(tracked: Sandbox, upstream: Upstream) -> None:
    upstream.push_commits(4, lines=100)
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit("mine-1.txt", lines=4)
    tracked.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    tracked.ok("end", "codex", "--used", "30")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "0.9")
    settings = tracked.path / ".git-tracker.toml"
    settings.write_text(settings.read_text().replace('selection = "noted"', 'selection = "range"'))
    report = json.loads(tracked.ok("preview", "--json"))
    assert report["providers"]["codex"]["lines_per_unit"] == pytest.approx(404 / 20)
    assert report["churn_selection"] == "range"
    (row,) = csv.DictReader(io.StringIO(tracked.ok("export", "churn"), newline=""))
    assert (row["added"], row["commits"], row["churn_selection"]) == ("404", "5", "range")
    assert churn(tracked)["selection"] == "range"
    assert churn(tracked, "--noted")["added"] == 4
    settings.write_text(settings.read_text().replace('selection = "range"', 'selection = "all"'))
    bad = tracked.tracker("preview")
    assert bad.returncode == 2 and "churn.selection" in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_a_window_without_commits_has_zero_churn(tracked: Sandbox, upstream: Upstream) -> None:
    upstream.push_commits(3, lines=100)
    tracked.ok("start", "codex", "--used", "10")
    tracked.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    out = tracked.ok("end", "codex", "--used", "20")
    assert counts(churn(tracked, last_window(tracked))) == {"added": 0, "deleted": 0, "files": 0, "commits": 0}
    assert "0 commit(s) carrying its note" in out


def test_a_squash_merged_branch_that_was_deleted_still_counts(tracked: Sandbox, upstream: Upstream) -> None:
    """GitHub-style: the branch is squashed into one commit on main by someone else and deleted; the
    window's own commits are unreachable now, but they exist and they are its work."""
    tracked.ok("start", "codex", "--used", "10")
    tracked.git("checkout", "-q", "-b", "feature")
    own = [tracked.commit("feature-1.txt", lines=4), tracked.commit("feature-2.txt", lines=6)]
    tracked.git("push", "-q", "origin", "feature")
    upstream.push_commits(2, lines=100)
    theirs = upstream.theirs
    theirs.git("fetch", "-q", "origin")
    theirs.git("merge", "-q", "--squash", "origin/feature")
    theirs.git("commit", "-q", "-m", "Feature (#1)", env=OTHER)
    theirs.git("push", "-q", "origin", "HEAD:main", ":feature")
    tracked.git("checkout", "-q", "main")
    tracked.git("pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    tracked.git("branch", "-q", "-D", "feature")
    tracked.git("fetch", "-q", "--prune", "origin")
    tracked.ok("end", "codex", "--used", "20")
    assert all(tracked.git("branch", "-a", "--contains", sha).strip() == "" for sha in own)
    assert counts(churn(tracked, last_window(tracked))) == git_numstat(tracked, own)


def test_merges_made_in_a_window_are_excluded(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.git("checkout", "-q", "-b", "feature")
    own = [tracked.commit("feature.txt", lines=4)]
    tracked.git("checkout", "-q", "main")
    own.append(tracked.commit("main.txt", lines=3))
    tracked.git("merge", "-q", "--no-ff", "--no-commit", "feature")
    tracked.git("commit", "-q", "-m", "merge feature")  # made by `git commit`: post-commit stamps it
    merge = tracked.head()
    tracked.ok("end", "codex", "--used", "20")
    assert last_window(tracked) in {line["id"] for line in tracked.note(merge)}
    assert counts(churn(tracked, last_window(tracked))) == git_numstat(tracked, own)


def test_notes_written_before_rewrites_were_recorded_count_the_copy_only(tracked: Sandbox) -> None:
    """Windows noted by an older version have no ``replaces`` lines: an amend left the original and its
    copy both noted. The copy (reachable, same author line) is counted, not both."""
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit("one.txt", lines=4)
    tracked.ok("end", "codex", "--used", "20")
    original = tracked.head()
    (tracked.path / "one.txt").write_text("x\n" * 9)
    # As the old hooks did for a flushed stamp: git copies the note (notes.rewriteRef), nothing else.
    tracked.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-a", "--amend", "--no-edit")
    amended = tracked.head()
    window = last_window(tracked)
    assert window in {line["id"] for line in tracked.note(original)}
    assert window in {line["id"] for line in tracked.note(amended)}
    assert not any(line["kind"] == "replaces" for line in tracked.note(amended))
    assert counts(churn(tracked, window)) == git_numstat(tracked, [amended])
