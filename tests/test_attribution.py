"""Which window a commit belongs to (issue 13): the post-commit hook's choice, through the installed hooks and real
``git commit``.

Automatic windows are opened here the way the agents' own hooks will open them: a window of agent
``claude-<first 8 of the session>`` (``AGENT_ID=claude-1a2b3c4d git tracker start claude``) and the worktree mark
``automarks.mark`` leaves. Churn of shared commits is checked against ``git show --numstat``.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker import automarks as marks
from gittracker import hookrun, records
from gittracker.churn import parse_note, split_evenly
from gittracker.errors import BadInput
from gittracker.files import lock_held
from tests.conftest import Sandbox, tracker_command

CLAUDE = "claude-1a2b3c4d"
CLAUDE_SESSION = "1a2b3c4d-5e6f-4a5b-9c8d-7e6f5a4b3c2d"
CODEX = "codex-9f8e7d6c"
CODEX_SESSION = "9f8e7d6c-0a1b-4c2d-8e3f-405162738495"
NO_ENV: dict[str, str] = {}


def git_dir(box: Sandbox) -> Path:
    """The worktree's own git dir (``.git``, or ``.git/worktrees/NAME`` for a linked one)."""
    found = Path(box.git("rev-parse", "--git-dir").strip())
    return found if found.is_absolute() else box.path / found


def start(box: Sandbox, agent: str, provider: str) -> str:
    """Open a window of ``agent`` (as its own hook will); returns the window id."""
    out = box.ok("start", provider, "--used", "10", "--json", env={"AGENT_ID": agent})
    window_id: str = json.loads(out)["window_id"]
    return window_id


def start_automatic(box: Sandbox, agent: str, provider: str) -> str:
    """An automatic window: the agent's window and its mark in this worktree."""
    window_id = start(box, agent, provider)
    marks.mark(git_dir(box), agent, window_id)
    return window_id


def committed(box: Sandbox, env: dict[str, str], lines: int = 4, name: str | None = None) -> str:
    commit = box.commit(name, env=env, lines=lines)
    box.wait_for_flush()
    return commit


def windows_of(box: Sandbox, commit: str) -> list[str]:
    return sorted(line["id"] for line in box.note(commit) if line["kind"] == "window")


def shared_lines(box: Sandbox, commit: str) -> list[dict[str, Any]]:
    return [line for line in box.note(commit) if line["kind"] == "shared"]


def churn(box: Sandbox, window_id: str, *options: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(box.ok("churn", window_id, "--json", *options))
    return result


def numstat(box: Sandbox, commit: str) -> tuple[int, int]:
    """The independent computation: git's own numstat of the commit."""
    added = deleted = 0
    for row in box.git("show", "--numstat", "--format=", "--no-renames", commit).splitlines():
        a, d, _ = row.split("\t")
        added, deleted = added + int(a), deleted + int(d)
    return added, deleted


# -- the commit's environment names its agent --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "session", "agent", "provider"),
    [
        ("CLAUDE_CODE_SESSION_ID", CLAUDE_SESSION, CLAUDE, "claude"),
        ("CODEX_THREAD_ID", CODEX_SESSION, CODEX, "codex"),
        ("CODEX_SESSION_ID", CODEX_SESSION, CODEX, "codex"),
    ],
)
def test_a_commit_carrying_a_session_goes_to_that_sessions_window_alone(
    tracked: Sandbox, variable: str, session: str, agent: str, provider: str
) -> None:
    mine = start_automatic(tracked, agent, provider)
    other = start_automatic(tracked, "claude-77777777" if provider == "codex" else "codex-77777777", "codex")
    commit = committed(tracked, {variable: session})
    assert windows_of(tracked, commit) == [mine]
    assert other != mine and shared_lines(tracked, commit) == []


def test_a_session_whose_agent_has_no_window_falls_through_to_the_worktrees_window(tracked: Sandbox) -> None:
    marked = start_automatic(tracked, CODEX, "codex")
    commit = committed(tracked, {"CLAUDE_CODE_SESSION_ID": CLAUDE_SESSION})
    assert windows_of(tracked, commit) == [marked]


def test_a_session_id_shorter_than_eight_characters_names_the_agent_whole(tracked: Sandbox) -> None:
    window = start(tracked, "claude-abc", "claude")
    start_automatic(tracked, CODEX, "codex")
    commit = committed(tracked, {"CLAUDE_CODE_SESSION_ID": "abc"})
    assert windows_of(tracked, commit) == [window]


# -- no agent in the environment: the worktree's automatic windows ---------------------------------------------


def test_a_commit_with_no_session_goes_to_the_one_marked_window(tracked: Sandbox) -> None:
    window = start_automatic(tracked, CLAUDE, "claude")
    commit = committed(tracked, NO_ENV)
    assert windows_of(tracked, commit) == [window]
    assert shared_lines(tracked, commit) == []


def test_two_marked_windows_share_the_commit_and_each_counts_half(tracked: Sandbox) -> None:
    first = start_automatic(tracked, CLAUDE, "claude")
    second = start_automatic(tracked, CODEX, "codex")
    own = committed(tracked, {"CLAUDE_CODE_SESSION_ID": CLAUDE_SESSION}, lines=6, name="own.txt")
    tracked.path.joinpath("own.txt").write_text("line 0 of own.txt\nchanged\n")  # 5 deleted, 1 added
    tracked.path.joinpath("new.txt").write_text("".join(f"{n}\n" for n in range(9)))  # 9 added
    tracked.git("add", "own.txt", "new.txt")
    tracked.git("commit", "-q", "-m", "both sessions' work")
    tracked.wait_for_flush()
    shared = tracked.head()

    assert windows_of(tracked, shared) == sorted([first, second])
    [line] = shared_lines(tracked, shared)
    assert line["windows"] == sorted([first, second]) and line["id"] == "+".join(sorted([first, second]))

    own_added, own_deleted = numstat(tracked, own)
    added, deleted = numstat(tracked, shared)
    assert (added, deleted) == (10, 5)  # the fixture's numbers, as git counts them
    of_first, of_second = churn(tracked, first), churn(tracked, second)
    # The shared commit is split between the two; the first also made a commit of its own.
    assert of_first["added"] + of_second["added"] == own_added + added
    assert of_first["deleted"] + of_second["deleted"] == own_deleted + deleted
    assert of_second["added"] == added // 2 and of_second["deleted"] in (deleted // 2, deleted - deleted // 2)
    assert of_first["added"] == own_added + added // 2
    assert (of_first["commits"], of_second["commits"]) == (2, 1)
    assert (of_first["shared_commits"], of_second["shared_commits"]) == (1, 1)
    assert "1 shared: lines split equally" in tracked.ok("churn", second)
    # The same split under a policy the per-commit cache does not hold.
    renamed = churn(tracked, second, "-M")
    assert (renamed["added"], renamed["deleted"], renamed["shared_commits"]) == (
        of_second["added"],
        of_second["deleted"],
        1,
    )


def test_preview_counts_a_shared_commits_lines_once(tracked: Sandbox) -> None:
    first = start_automatic(tracked, CLAUDE, "claude")
    second = start_automatic(tracked, CODEX, "codex")
    commit = committed(tracked, NO_ENV, lines=8)
    for agent, provider in ((CLAUDE, "claude"), (CODEX, "codex")):
        tracked.ok("end", provider, "--used", "30", env={"AGENT_ID": agent})
    export = tracked.ok("export", "churn")
    rows = {row.split(",")[0]: row for row in export.splitlines()[1:]}
    header = export.splitlines()[0].split(",")
    added = header.index("added")
    by_window = {window: int(rows[window].split(",")[added]) for window in (first, second)}
    assert sum(by_window.values()) == numstat(tracked, commit)[0] == 8
    assert by_window == {first: 4, second: 4}
    preview = json.loads(tracked.ok("preview", "--json"))
    assert (
        "lines per unit: 1 commit(s) shared by several windows: their lines are split equally between them"
        in (preview["notes"])
    )


# -- what wins over the worktree's automatic windows -----------------------------------------------------------


def test_agent_id_still_wins(tracked: Sandbox) -> None:
    start_automatic(tracked, CLAUDE, "claude")
    start_automatic(tracked, CODEX, "codex")
    typed = start(tracked, "reviewer", "claude")
    commit = committed(tracked, {"AGENT_ID": "reviewer", "CLAUDE_CODE_SESSION_ID": CLAUDE_SESSION})
    assert windows_of(tracked, commit) == [typed]
    unstamped = committed(tracked, {"AGENT_ID": "nobody"})  # AGENT_ID set, no window of its own: nothing
    assert tracked.note(unstamped) == []


def test_mains_typed_window_wins_over_automatic_ones_for_a_commit_with_no_session(tracked: Sandbox) -> None:
    start_automatic(tracked, CLAUDE, "claude")
    start_automatic(tracked, CODEX, "codex")
    typed = start(tracked, "main", "codex")
    commit = committed(tracked, NO_ENV)
    assert windows_of(tracked, commit) == [typed] and shared_lines(tracked, commit) == []


def test_a_mark_in_another_worktree_is_not_seen(tracked: Sandbox) -> None:
    linked_path = tracked.path.parent / "linked"
    tracked.git("worktree", "add", "-q", str(linked_path), "-b", "linked")
    linked = Sandbox(linked_path)
    linked.counter = 1000
    window = start_automatic(linked, CLAUDE, "claude")
    here = committed(tracked, NO_ENV)
    assert tracked.note(here) == []
    there = committed(linked, NO_ENV)
    assert windows_of(linked, there) == [window]


def test_nothing_open_queues_nothing(tracked: Sandbox) -> None:
    state = tracked.path / ".git" / "tracker"
    commit = committed(tracked, {"CLAUDE_CODE_SESSION_ID": CLAUDE_SESSION})
    assert tracked.note(commit) == [] and not (state / "queue").exists() and not (state / "stamped").exists()
    # A mark left behind by a window that has closed counts for nothing either.
    window = start_automatic(tracked, CLAUDE, "claude")
    tracked.ok("end", "claude", "--used", "20", env={"AGENT_ID": CLAUDE})
    assert marks.marked(git_dir(tracked)) == {CLAUDE: window}
    later = committed(tracked, NO_ENV)
    assert tracked.note(later) == [] and not (state / "queue").exists()


def test_amending_a_shared_commit_keeps_one_shared_line(tracked: Sandbox) -> None:
    first = start_automatic(tracked, CLAUDE, "claude")
    second = start_automatic(tracked, CODEX, "codex")
    original = committed(tracked, NO_ENV, lines=6)
    tracked.git("commit", "-q", "--amend", "-m", "amended", env={"GIT_COMMITTER_DATE": "2026-06-01T10:05:00+0000"})
    tracked.wait_for_flush()
    amended = tracked.head()
    assert amended != original
    assert windows_of(tracked, amended) == sorted([first, second])
    assert len(shared_lines(tracked, amended)) == 1
    replaces = [line for line in tracked.note(amended) if line["kind"] == "replaces"]
    assert [line["id"] for line in replaces] == [original]
    # Counted once, split, with the original (kept until gc) not counted again.
    halves = [churn(tracked, window) for window in (first, second)]
    assert [half["commits"] for half in halves] == [1, 1]
    assert sum(half["added"] for half in halves) == numstat(tracked, amended)[0] == 6


def test_doctor_finds_nothing_wrong_with_shared_stamps(tracked: Sandbox) -> None:
    start_automatic(tracked, CLAUDE, "claude")
    start_automatic(tracked, CODEX, "codex")
    commit = committed(tracked, NO_ENV)
    assert len(shared_lines(tracked, commit)) == 1
    done = tracked.tracker("doctor", "--json")
    assert json.loads(done.stdout)["findings"] == [], done.stdout


def test_end_puts_back_a_lost_shared_line(tracked: Sandbox) -> None:
    """git's own note copying can drop a stamp another worktree wrote meanwhile; end restores its window's lines,
    the shared line naming it included."""
    first = start_automatic(tracked, CLAUDE, "claude")
    start_automatic(tracked, CODEX, "codex")
    commit = committed(tracked, NO_ENV)
    kept = [line for line in tracked.git("notes", "--ref", "tracker", "show", commit).splitlines() if first in line]
    tracked.git("notes", "--ref", "tracker", "add", "-f", "-m", "\n".join(kept[:1]), commit)
    assert shared_lines(tracked, commit) == []
    tracked.ok("end", "claude", "--used", "20", env={"AGENT_ID": CLAUDE})
    assert len(shared_lines(tracked, commit)) == 1


# -- through the agents' own hooks (`git tracker hook claude EVENT`) --------------------------------------------


def agent_hook(box: Sandbox, event: str, session: str) -> None:
    payload = {"session_id": session, "cwd": str(box.path), "hook_event_name": event}
    done = subprocess.run(
        [*tracker_command(), "hook", "claude", event],
        cwd=box.path,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout == "", done.stderr


def wait_for_worker(box: Sandbox, timeout: float = 30.0) -> None:
    """The agents' hooks hand the ledger work to a detached worker: wait until it has done it all."""
    auto = box.path / ".git" / "tracker" / "auto"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not (auto / "queue").exists() and not lock_held(auto / "worker.lock"):
            return
        time.sleep(0.05)
    raise AssertionError("the autocapture worker did not finish")


def test_two_claude_sessions_through_their_own_hooks(tracked: Sandbox) -> None:
    other_session = "5e6f7a8b-0000-4000-8000-000000000000"
    for session in (CLAUDE_SESSION, other_session):
        agent_hook(tracked, "SessionStart", session)
    wait_for_worker(tracked)
    windows = marks.marked(git_dir(tracked))
    assert sorted(windows) == [CLAUDE, "claude-5e6f7a8b"]
    own = committed(tracked, {"CLAUDE_CODE_SESSION_ID": CLAUDE_SESSION}, lines=2)
    by_hand = committed(tracked, NO_ENV, lines=6)  # the person, in another terminal
    assert windows_of(tracked, own) == [windows[CLAUDE]] and shared_lines(tracked, own) == []
    assert windows_of(tracked, by_hand) == sorted(windows.values())
    assert len(shared_lines(tracked, by_hand)) == 1
    for session in (CLAUDE_SESSION, other_session):
        agent_hook(tracked, "SessionEnd", session)
    wait_for_worker(tracked)
    assert marks.marked(git_dir(tracked)) == {}
    assert tracked.note(committed(tracked, NO_ENV)) == []  # closed: nothing claims later commits
    added = {agent: churn(tracked, window)["added"] for agent, window in windows.items()}
    assert added == {CLAUDE: 2 + 3, "claude-5e6f7a8b": 3}


# -- the Python twin (pre-commit users) makes the same choice ----------------------------------------------------


SCENARIOS = [
    ("no session, two marked", NO_ENV),
    ("claude session", {"CLAUDE_CODE_SESSION_ID": CLAUDE_SESSION}),
    ("codex thread", {"CODEX_THREAD_ID": CODEX_SESSION}),
    ("unknown session", {"CLAUDE_CODE_SESSION_ID": "ffffffff-0000"}),
    ("agent id", {"AGENT_ID": "reviewer"}),
    ("bad agent id", {"AGENT_ID": "../x"}),
]


def test_the_python_twin_queues_what_the_shell_hook_queues(tracked: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    start_automatic(tracked, CLAUDE, "claude")
    start_automatic(tracked, CODEX, "codex")
    start(tracked, "reviewer", "claude")
    queue = tracked.path / ".git" / "tracker" / "queue"
    (tracked.path / ".git" / "tracker" / "flush.running").mkdir()  # hold the flusher: read what was queued
    try:
        for label, env in SCENARIOS:
            tracked.commit(env=env)
            by_shell = queue.read_text() if queue.exists() else ""
            queue.unlink(missing_ok=True)
            with monkeypatch.context() as patched:
                for name, value in env.items():
                    patched.setenv(name, value)
                hookrun.queue_post_commit(tracked.path)  # what `git-tracker-hook post-commit` queues
            by_python = queue.read_text() if queue.exists() else ""
            queue.unlink(missing_ok=True)
            assert sorted(by_shell.splitlines()) == sorted(by_python.splitlines()), label
            assert (by_shell != "") == (label != "bad agent id"), label
    finally:
        (tracked.path / ".git" / "tracker" / "flush.running").rmdir()


# -- the note line and its readers -------------------------------------------------------------------------------

# Window ids as git-tracker makes them (``01…``: this century's times), and any other 26 characters of the alphabet.
ULIDS = st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=24, max_size=24).map(lambda tail: "01" + tail)
ANY_ULID = st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26)


@given(st.lists(ULIDS, min_size=2, max_size=5, unique=True))
def test_a_shared_line_depends_on_the_set_of_windows_only(ids: list[str]) -> None:
    line = records.shared_line(ids)
    assert line == records.shared_line(list(reversed(ids)))
    data = json.loads(line)
    assert records.shared_windows(data) == tuple(sorted(ids))
    assert next(records.iter_note_lines(line))["kind"] == "shared"
    assert parse_note(line.encode()).shared


@given(st.lists(ULIDS, max_size=1) | st.lists(st.text(max_size=30) | ANY_ULID, min_size=2, max_size=3))
def test_a_shared_line_is_made_of_two_window_ids_or_refused(ids: list[str]) -> None:
    try:
        line = records.shared_line(ids)
    except BadInput:
        return
    assert records.shared_windows(json.loads(line)) == tuple(sorted(set(ids))) and len(set(ids)) >= 2


@given(st.binary(max_size=200))
def test_any_queue_line_is_read_or_reported_never_raises(raw: bytes) -> None:
    queue = hookrun.Queue()
    queue.add_line(b"shared " + raw, "queue line 1")
    assert bool(queue.stamps) != bool(queue.bad) or raw.strip() == b""


@given(
    st.lists(ULIDS, min_size=2, max_size=5, unique=True),
    st.integers(0, 10**6),
    st.text("0123456789abcdef", min_size=40, max_size=40),
)
def test_split_evenly_adds_up_to_the_commit_once(ids: list[str], amount: int, commit: str) -> None:
    sharers = tuple(sorted(ids))
    parts = [split_evenly(amount, sharers, member, commit) for member in sharers]
    assert sum(parts) == amount and max(parts) - min(parts) <= 1


def test_a_queued_shared_line_becomes_the_records_line() -> None:
    ids = ["01KT1A0F80RC0CZ8XY4NJD9R6S", "01KT13TQ406DFFA5VTMK6SK2HR"]
    queue = hookrun.Queue()
    queue.add_line(f"shared {'a' * 40} {ids[0]} {ids[1]}".encode(), "queue line 1")
    queue.add_line(f"shared {'a' * 40} {ids[0]}".encode(), "queue line 2")  # one window is no sharing
    assert queue.stamps == {"a" * 40: {records.shared_line(ids)}}
    assert queue.bad == ["queue line 2: not a queue line"]
