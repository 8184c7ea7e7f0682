"""Parallel agents in worktrees (issue 12): each agent's windows take their commits from the worktree they were
opened in, and each commit gets exactly its own agent's note, through the installed hooks and real ``git worktree``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker.worktrees import Worktree
from tests.conftest import Sandbox

A = {"AGENT_ID": "a"}
B = {"AGENT_ID": "b"}


@pytest.fixture
def trees(tracked: Sandbox) -> tuple[Sandbox, Sandbox]:
    """The main worktree (agent a works here) and a linked worktree on its own branch, one commit ahead
    (agent b works there), so the two HEADs differ from the start."""
    linked = tracked.path.parent / "wt-b"
    tracked.git("worktree", "add", "-q", str(linked), "-b", "branch-b")
    other = Sandbox(linked)
    other.counter = 1000  # file names apart from the main worktree's
    other.commit("b-base.txt")
    return tracked, other


def start_both(box: Sandbox, env: dict[str, str]) -> dict[str, str]:
    """codex and claude windows of one agent; provider -> window id."""
    return {
        provider: json.loads(box.ok("start", provider, "--used", "10", "--json", env=env))["window_id"]
        for provider in ("codex", "claude")
    }


def end(box: Sandbox, provider: str, env: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(box.ok("end", provider, "--used", "20", "--json", env=env))
    return result


def note_windows(box: Sandbox, commit: str) -> list[str]:
    """The window ids a commit's note names, one per line, in note order (duplicates kept)."""
    return sorted(line["id"] for line in box.note(commit) if line["kind"] == "window")


def agents_of(box: Sandbox, commit: str) -> set[str]:
    return {line["agent_id"] for line in box.note(commit) if line["kind"] == "window"}


def rev_list(box: Sandbox, start: str, end_: str) -> list[str]:
    return box.git("rev-list", f"{start}..{end_}").split()


def test_each_agent_gets_its_own_notes_and_its_own_worktree_heads(trees: tuple[Sandbox, Sandbox]) -> None:
    main, linked = trees
    start_a, start_b = main.head(), linked.head()
    assert start_a != start_b
    windows_a, windows_b = start_both(main, A), start_both(linked, B)
    mine, theirs = [], []
    for _ in range(3):
        mine.append(main.commit(env=A))
        theirs.append(linked.commit(env=B))
    main.wait_for_flush()
    for commit in mine:
        assert note_windows(main, commit) == sorted(windows_a.values())
    for commit in theirs:
        assert note_windows(main, commit) == sorted(windows_b.values())
    # Each agent ends one window from the other worktree and one from its own: commit_end is always the HEAD
    # of the worktree the window was opened in.
    closed = {
        "a codex": end(linked, "codex", A),
        "a claude": end(main, "claude", A),
        "b codex": end(main, "codex", B),
        "b claude": end(linked, "claude", B),
    }
    for name, result in closed.items():
        agent_start, agent_end, own = (start_a, mine[-1], mine) if name[0] == "a" else (start_b, theirs[-1], theirs)
        assert (result["commit_start"], result["commit_end"]) == (agent_start, agent_end), name
        assert result["commits"] == len(rev_list(main, agent_start, agent_end)) == len(own), name
    records = {(r["agent_id"], r["provider"]): r for r in main.records("window-close")}
    assert records["a", "codex"]["commit_end"] == mine[-1]
    assert records["b", "codex"]["commit_end"] == theirs[-1]


def test_range_selection_counts_the_worktrees_own_range(trees: tuple[Sandbox, Sandbox]) -> None:
    main, linked = trees
    (main.path / ".git-tracker.toml").write_text('[churn]\nselection = "range"\n')
    linked_config = linked.path / ".git-tracker.toml"
    linked_config.write_text('[churn]\nselection = "range"\n')
    start_both(main, A)
    start_both(linked, B)
    mine = [main.commit(env=A) for _ in range(2)]
    theirs = [linked.commit(env=B) for _ in range(4)]
    result_b = end(main, "codex", B)  # from the other worktree
    assert result_b["selection"] == "range"
    assert result_b["commit_end"] == theirs[-1]
    assert result_b["commits"] == len(theirs)
    result_a = end(linked, "codex", A)
    assert (result_a["commit_end"], result_a["commits"]) == (mine[-1], len(mine))


def test_an_open_windows_churn_and_checkpoint_reach_its_own_worktrees_head(trees: tuple[Sandbox, Sandbox]) -> None:
    main, linked = trees
    start_both(main, A)
    windows_b = start_both(linked, B)
    main.commit(env=A)
    theirs = [linked.commit(env=B, lines=5) for _ in range(3)]
    # Asked from a's worktree, for b's window still open: b's worktree's commits, not a's.
    ranged = json.loads(main.ok("churn", windows_b["codex"], "--range", "--json", env=A))
    assert (ranged["commits"], ranged["added"]) == (len(theirs), 5 * len(theirs))
    assert ranged["range"].endswith(theirs[-1][:10])
    checkpoint = json.loads(main.ok("checkpoint", "--phase", "mid", "--json", env=B))
    assert (checkpoint["window_id"], checkpoint["commit"]) in {(w, theirs[-1]) for w in windows_b.values()}
    assert checkpoint["commits"] == len(theirs)


def test_the_ledger_and_notes_hold_no_worktree_path(trees: tuple[Sandbox, Sandbox]) -> None:
    main, linked = trees
    start_both(linked, B)
    commit = linked.commit(env=B)
    end(main, "codex", B)
    end(main, "claude", B)
    ledger = main.git("grep", "-I", "-l", "-e", "wt-b", "-e", str(linked.path), "tracker-ledger", check=False)
    assert ledger == ""
    assert "wt-b" not in main.git("notes", "--ref", "tracker", "show", commit)
    # ... while the local state knows the worktree (that is where end reads commit_end), by its git dir under the
    # common dir: no path there either.
    state = json.loads((main.path / ".git" / "tracker" / "agents" / "b" / "state.json").read_text())
    assert state["last_closed"]["codex"]["worktree"] == {
        "git_dir": "worktrees/wt-b",
        "name": "wt-b",
        "branch": "refs/heads/branch-b",
    }
    assert str(linked.path.parent) not in json.dumps(state)


def test_end_after_the_worktree_was_removed_takes_its_branch_tip(trees: tuple[Sandbox, Sandbox]) -> None:
    main, linked = trees
    start_both(linked, B)
    theirs = [linked.commit(env=B) for _ in range(2)]
    main.git("worktree", "remove", str(linked.path))
    main.commit(env=A)  # the main worktree moves on meanwhile
    done = main.tracker("end", "codex", "--used", "20", "--json", env=B)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["commit_end"] == theirs[-1]
    assert result["commits"] == 2
    lines = [line for line in done.stderr.splitlines() if "wt-b" in line]
    assert len(lines) == 1 and "branch-b" in lines[0] and "removed" in lines[0], done.stderr


def test_end_after_a_detached_worktree_was_removed_says_where_it_took_commit_end(tracked: Sandbox) -> None:
    linked_path = tracked.path.parent / "wt-detached"
    tracked.git("worktree", "add", "-q", "--detach", str(linked_path))
    linked = Sandbox(linked_path)
    linked.counter = 1000
    linked.ok("start", "codex", "--used", "10", env=B)
    linked.commit(env=B)
    tracked.git("worktree", "remove", "--force", str(linked_path))
    done = tracked.tracker("end", "codex", "--used", "20", "--json", env=B)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["commit_end"] == tracked.head()
    lines = [line for line in done.stderr.splitlines() if "wt-detached" in line]
    assert len(lines) == 1 and "HEAD" in lines[0], done.stderr


def test_status_lists_every_agents_windows_with_their_worktree(trees: tuple[Sandbox, Sandbox]) -> None:
    main, linked = trees
    windows_a, windows_b = start_both(main, A), start_both(linked, B)
    for box in (main, linked):
        data = json.loads(box.ok("status", "--json"))
        shown = {
            (agent, window["provider"]): (window["window_id"], window["worktree"], window["opened_ts"])
            for agent, info in data["agents"].items()
            for window in info["open"]
        }
        assert {key: value[:2] for key, value in shown.items()} == {
            ("a", "codex"): (windows_a["codex"], main.path.name),
            ("a", "claude"): (windows_a["claude"], main.path.name),
            ("b", "codex"): (windows_b["codex"], linked.path.name),
            ("b", "claude"): (windows_b["claude"], linked.path.name),
        }
        text = box.ok("status")
        for (agent, provider), (window_id, worktree, opened) in shown.items():
            (line,) = [line for line in text.splitlines() if window_id in line]
            assert f"agent {agent}:" in line and provider in line and f"worktree {worktree}" in line
            assert f"since {opened}" in line


def test_end_restores_a_lost_stamp_while_another_agent_works_in_another_worktree(
    trees: tuple[Sandbox, Sandbox],
) -> None:
    """A commit whose hook did not run (here: hooks off) is restored by end when the only other agent working at
    that time worked in another worktree, on another line of history; before, any other agent's open window made
    end leave it unstamped."""
    main, linked = trees
    early, late = {"GIT_TRACKER_NOW": "2026-06-01T09:59:00Z"}, {"GIT_TRACKER_NOW": "2026-06-01T10:01:00Z"}
    windows_a, windows_b = start_both(main, A | early), start_both(linked, B | early)  # the commits are at 10:00
    mine = main.commit(env=A)
    (linked.path / "lost.txt").write_text("no hook ran for this one\n")
    linked.git("add", "lost.txt")
    linked.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "hooks off", env=B)
    lost = linked.head()
    theirs = linked.commit(env=B)
    main.wait_for_flush()
    assert note_windows(main, lost) == []
    assert end(main, "codex", A | late)["stamped"] == []  # a's window does not claim b's commit
    assert end(main, "codex", B | late)["stamped"] == [lost]  # run from a's worktree: b's range all the same
    assert note_windows(main, lost) == sorted(windows_b.values())
    assert note_windows(main, theirs) == sorted(windows_b.values())
    assert note_windows(main, mine) == sorted(windows_a.values())


# -- two agents committing at the same time -----------------------------------------------------------------

COMMIT_LOOP = """
set -e
i=0
while [ $i -lt "$N" ]; do
    i=$((i + 1))
    echo "$AGENT_ID $i" > "$AGENT_ID-$i.txt"
    git add "$AGENT_ID-$i.txt"
    git commit -q -m "$AGENT_ID commit $i"
done
"""


def test_two_agents_committing_at_once_each_get_their_own_notes(trees: tuple[Sandbox, Sandbox]) -> None:
    main, linked = trees
    count = 25
    start_a, start_b = main.head(), linked.head()
    windows_a, windows_b = start_both(main, A), start_both(linked, B)
    loops = [
        subprocess.Popen(
            ["sh", "-c", COMMIT_LOOP],
            cwd=box.path,
            env={**os.environ, **env, "N": str(count)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for box, env in ((main, A), (linked, B))
    ]
    for loop in loops:
        _, err = loop.communicate(timeout=300)
        assert loop.returncode == 0, err
        assert "git-tracker" not in err  # no hook complained
    closed = {("a", provider): end(box, provider, A) for provider, box in (("codex", linked), ("claude", main))} | {
        ("b", provider): end(box, provider, B) for provider, box in (("codex", main), ("claude", linked))
    }
    for (agent, _), result in closed.items():
        own_start, own_head, windows = (
            (start_a, main.head(), windows_a) if agent == "a" else (start_b, linked.head(), windows_b)
        )
        commits = rev_list(main, own_start, own_head)
        assert len(commits) == count
        assert (result["commit_start"], result["commit_end"]) == (own_start, own_head)
        assert result["commits"] == len(commits)
        assert result["stamped"] == []  # nothing was lost on the way, so nothing had to be restored
        for commit in commits:
            assert note_windows(main, commit) == sorted(windows.values()), commit
            assert agents_of(main, commit) == {agent}
    fsck = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=main.path, capture_output=True, text=True)
    assert fsck.returncode == 0 and fsck.stderr == "", fsck.stderr
    assert Path(main.path / ".git" / "tracker" / "queue").exists() is False


# -- the worktree kept in a state file ------------------------------------------------------------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
GIT_DIRS = st.sampled_from([".", "worktrees/wt", "worktrees/..", "worktrees/.", "../x", "worktrees/a/b", "/abs", ""])


@given(
    st.one_of(
        JSONISH,
        st.fixed_dictionaries(
            {"git_dir": GIT_DIRS | st.text(max_size=20), "name": JSONISH, "branch": JSONISH | st.just("refs/heads/x")}
        ),
    )
)
def test_a_state_files_worktree_is_taken_only_when_it_names_a_place_under_the_common_dir(data: Any) -> None:
    """Whatever a state file holds, reading its worktree never fails, and a git dir is trusted only when it is the
    main worktree's (``.``) or one linked worktree's (``worktrees/<id>``): never a path out of the common dir."""
    found = Worktree.from_state(data)
    if found is None:
        return
    assert found.git_dir == "." or (
        found.git_dir.startswith("worktrees/")
        and found.git_dir.count("/") == 1
        and found.git_dir[10:] not in ("", ".", "..")
    )
    assert "\\" not in found.git_dir
    assert isinstance(found.name, str) and (found.branch is None or found.branch.startswith("refs/"))
    assert Worktree.from_state(found.to_state()) == found
