"""Nothing lost: concurrent writers, concurrent agents, a killed process, and two clones merging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import Sandbox, tracker_command

APPENDER = textwrap.dedent(
    """
    import sys
    from gittracker.git import Repo
    from gittracker.records import Record

    repo = Repo.discover(sys.argv[1])
    worker, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        record = Record.new("anomaly", source="automation", agent_id=f"w{worker}", machine="testmachinea",
                            code="load-test", window_id=None, detail=f"worker {worker} record {i}")
        repo.append_records([record])
    """
)


def test_eight_processes_appending_at_once_lose_nothing(tracked: Sandbox) -> None:
    per_worker = 25
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(tracked.path), str(worker), str(per_worker)])
        for worker in range(8)
    ]
    assert [proc.wait(timeout=180) for proc in procs] == [0] * 8
    records = tracked.records("anomaly")
    assert len(records) == 8 * per_worker
    assert len({r["id"] for r in records}) == 8 * per_worker
    details = {r["detail"] for r in records}
    assert details == {f"worker {w} record {i}" for w in range(8) for i in range(per_worker)}
    # Every append is its own commit on a single line of history: no write replaced another.
    commits = int(tracked.git("rev-list", "--count", "tracker-ledger").strip())
    assert commits == 8 * per_worker
    assert tracked.git("rev-list", "--merges", "tracker-ledger") == ""


def test_eight_agents_start_commit_and_end_in_the_same_second(tracked: Sandbox) -> None:
    agents = [f"agent-{n}" for n in range(8)]
    pinned = {"GIT_TRACKER_NOW": "2026-06-01T12:00:00Z"}

    def run(agent: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **pinned, "AGENT_ID": agent}
        return subprocess.run([*tracker_command(), *args], cwd=tracked.path, env=env, capture_output=True, text=True)

    with ThreadPoolExecutor(8) as pool:
        started = list(pool.map(lambda a: run(a, "start", "claude", "--used", str(10 + int(a[-1]))), agents))
    assert all(done.returncode == 0 for done in started), [d.stderr for d in started]
    with ThreadPoolExecutor(8) as pool:
        ended = list(pool.map(lambda a: run(a, "end", "claude", "--used", str(20 + 2 * int(a[-1]))), agents))
    assert all(done.returncode == 0 for done in ended), [d.stderr for d in ended]

    opens = tracked.records("window-open")
    closes = tracked.records("window-close")
    assert sorted(r["agent_id"] for r in opens) == agents == sorted(r["agent_id"] for r in closes)
    window_of = {r["agent_id"]: r["window_id"] for r in opens}
    for close in closes:
        n = int(close["agent_id"][-1])
        assert close["window_id"] == window_of[close["agent_id"]]
        assert close["delta"] == (20 + 2 * n) - (10 + n)
    assert len(tracked.records("snapshot")) == 16
    status = json.loads(tracked.ok("status", "--json"))
    assert all(status["agents"][a]["open"] == [] for a in agents)


def test_concurrent_note_writers_lose_no_note(tracked: Sandbox) -> None:
    commits = [tracked.commit() for _ in range(8)]
    writer = textwrap.dedent(
        """
        import sys
        from gittracker.git import Repo
        Repo.discover(sys.argv[1]).add_note_lines({sys.argv[2]: ['{"id":"%s","ts":"t","v":1}' % sys.argv[3]]})
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", writer, str(tracked.path), sha, f"w{n}"])
        for n, sha in enumerate(commits)
    ] + [subprocess.Popen([sys.executable, "-c", writer, str(tracked.path), commits[0], f"extra{n}"]) for n in range(4)]
    assert [proc.wait(timeout=120) for proc in procs] == [0] * 12
    for n, sha in enumerate(commits[1:], 1):
        assert [line["id"] for line in tracked.note(sha)] == [f"w{n}"]
    assert sorted(line["id"] for line in tracked.note(commits[0])) == ["extra0", "extra1", "extra2", "extra3", "w0"]


KILL_AFTER_JOURNAL = textwrap.dedent(
    """
    import os, sys
    from gittracker import context, windows
    from gittracker.capacity import Reading
    from gittracker.git import Repo

    def die(self, records, message=None):
        os._exit(137)  # killed between journalling and the ledger write

    Repo.append_records = die
    ctx = context.open_context(sys.argv[1])
    windows.start(ctx, "codex", Reading.of(five_hour_used=10.0))
    """
)


def test_a_process_killed_mid_start_is_finished_by_the_next_command(tracked: Sandbox) -> None:
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_JOURNAL, str(tracked.path)])
    assert killed.returncode == 137
    assert tracked.git("rev-parse", "-q", "--verify", "tracker-ledger", check=False) == ""
    state = json.loads((tracked.path / ".git" / "tracker" / "agents" / "main" / "state.json").read_text())
    assert len(state["pending"]) == 2
    # Any command finishes it, a read-only one too.
    status = json.loads(tracked.ok("status", "--json"))
    assert status["agents"]["main"]["journal"] == 0
    assert [r["kind"] for r in tracked.records()] == ["snapshot", "window-open"]
    # The window the killed process opened is honoured: a second start is refused, end works.
    assert tracked.tracker("start", "codex", "--used", "11").returncode == 1
    tracked.ok("end", "codex", "--used", "30")
    kinds = [r["kind"] for r in tracked.records()]
    assert kinds == ["snapshot", "window-open", "snapshot", "window-close"]
    assert tracked.records("window-close")[0]["delta"] == 20


def test_two_clones_merge_the_ledger_by_tree_union(tracked: Sandbox, tmp_path_factory: object) -> None:
    bare = tracked.path.parent / "shared.git"
    tracked.git("init", "-q", "--bare", str(bare))
    tracked.ok("start", "codex", "--used", "1")
    tracked.ok("end", "codex", "--used", "2")
    tracked.git("push", "-q", str(bare), "main", "tracker-ledger")
    clones = []
    for name in ("alice", "bob"):
        path = tracked.path.parent / name
        tracked.git("clone", "-q", str(bare), str(path))
        box = Sandbox(path)
        box.git("fetch", "-q", "origin", "tracker-ledger:tracker-ledger")
        box.ok("init")
        box.ok("start", "claude", "--used", "5", env={"AGENT_ID": name})
        box.ok("end", "claude", "--used", "9", env={"AGENT_ID": name})
        clones.append(box)
    alice, bob = clones
    alice.git("push", "-q", "origin", "tracker-ledger")
    bob.git("fetch", "-q", "origin", "tracker-ledger:refs/tracker-remotes/origin/tracker-ledger")
    merged_tree = bob.git("merge-tree", "--write-tree", "tracker-ledger", "refs/tracker-remotes/origin/tracker-ledger")
    tree = merged_tree.split()[0]
    paths = bob.git("ls-tree", "-r", "--name-only", tree).split()
    ours = set(bob.git("ls-tree", "-r", "--name-only", "tracker-ledger").split())
    theirs = set(bob.git("ls-tree", "-r", "--name-only", "refs/tracker-remotes/origin/tracker-ledger").split())
    assert set(paths) == ours | theirs
    assert len(paths) == len(ours | theirs) == 4 + 4 + 4  # the shared window, alice's, bob's
