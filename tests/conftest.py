"""Hermetic test harness: a temp HOME, no system git config, fixed identity and dates, real git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# CI explores a fixed set of examples (a submission cannot fail on a lucky draw) with no per-example
# deadline (CI machines are slower); elsewhere each run explores new ones. `thorough` digs deeper.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.register_profile("thorough", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

FIXED_DATE = "2026-06-01T10:00:00+0000"
# Read before the hermetic fixture swaps HOME: the pre-commit test reuses the machine's pip cache.
REAL_PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or os.path.expanduser("~/.cache/pip")


# Captures written by others (Claude Code transcripts, Codex rollouts): read where the workplace keeps them, never
# copied into the repository. GIT_TRACKER_REAL_DATA names the folder; else it sits beside the checkout.
REAL_DATA_PLACES = (
    os.environ.get("GIT_TRACKER_REAL_DATA", ""),
    str(Path(__file__).resolve().parents[2] / "shared" / "real-data"),
    "/work/shared/real-data",
)


def real_data(name: str) -> Path:
    """A capture (file or folder) from the shared real-data folder; a machine without it skips the test and says why."""
    for place in REAL_DATA_PLACES:
        if place and (Path(place) / name).exists():
            return Path(place) / name
    pytest.skip(f"real capture {name} not on this machine (set GIT_TRACKER_REAL_DATA to the shared real-data folder)")


def tracker_command() -> list[str]:
    """The installed console script, as git runs it for `git tracker`."""
    script = shutil.which("git-tracker")
    return [script] if script else [sys.executable, "-m", "gittracker"]


# What a coding agent's tool processes carry: a test run inside one must not hand its session to the commits it makes.
SESSION_VARIABLES = frozenset({"CLAUDE_CODE_SESSION_ID", "CODEX_THREAD_ID", "CODEX_SESSION_ID"})


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith(("GIT_", "AGENT_ID", "PRE_COMMIT")) or key in SESSION_VARIABLES:
            monkeypatch.delenv(key, raising=False)
    # The agents' and the user's own folders: a test that writes user-scope settings writes under the temp HOME.
    for key in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("TZ", "UTC")  # pasted screens' clock times are local: tests pin the zone they are read in
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    monkeypatch.setenv("GIT_AUTHOR_DATE", FIXED_DATE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", FIXED_DATE)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    return home


class Sandbox:
    """A throwaway repository driven through the real `git` and the real `git-tracker` command."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counter = 0

    def git(self, *args: str, check: bool = True, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            input=stdin,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def tracker(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*tracker_command(), *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def ok(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = self.tracker(*args, env=env)
        assert done.returncode == 0, f"git tracker {' '.join(args)} -> {done.returncode}: {done.stderr}"
        return done.stdout

    def commit(self, name: str | None = None, env: dict[str, str] | None = None, lines: int = 3) -> str:
        self.counter += 1
        name = name or f"file{self.counter}.txt"
        (self.path / name).write_text("".join(f"line {i} of {name}\n" for i in range(lines)))
        self.git("add", name)
        self.git("commit", "-q", "-m", f"change {self.counter}", env=env)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        args = ["log", "--json"] + (["--kind", kind] if kind else [])
        return [json.loads(line) for line in self.ok(*args).splitlines()]

    def note(self, commit: str) -> list[dict[str, Any]]:
        out = self.git("notes", "--ref", "tracker", "show", commit, check=False)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def write_ledger_files(self, files: dict[str, bytes], message: str = "written by another clone") -> str:
        """Commit files onto the ledger branch with git's own plumbing, as another clone or version would."""
        index = self.path.parent / f"ledger-index-{self.counter}"
        env = {"GIT_INDEX_FILE": str(index)}
        parent = self.git("rev-parse", "-q", "--verify", "refs/heads/tracker-ledger", check=False).strip()
        if parent:
            self.git("read-tree", parent, env=env)
        for path, content in files.items():
            hashed = subprocess.run(
                ["git", "hash-object", "-w", "--stdin"], cwd=self.path, input=content, capture_output=True, check=True
            )
            blob = hashed.stdout.decode().strip()
            self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = self.git("write-tree", env=env).strip()
        index.unlink()
        commit = self.git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message).strip()
        self.git("update-ref", "refs/heads/tracker-ledger", commit, *([parent] if parent else []))
        return commit

    def killed_end(self, agent: str, provider: str = "codex") -> list[dict[str, Any]]:
        """A window of ``agent`` as a killed ``end`` leaves it: closed in the agent's state, its closing records
        still in the journal, the ledger without them. Returns those records (the after snapshot, the close)."""
        env = {"AGENT_ID": agent}
        self.ok("start", provider, "--used", "10", env=env)
        self.ok("end", provider, "--used", "30", env=env)
        closing = [r for r in self.records() if r["kind"] in ("snapshot", "window-close")][-2:]
        state_path = self.path / ".git" / "tracker" / "agents" / agent / "state.json"
        state_path.write_text(json.dumps({**json.loads(state_path.read_text()), "pending": closing}))
        self.git("update-ref", "refs/heads/tracker-ledger", "refs/heads/tracker-ledger~1")
        assert closing[1]["id"] not in self.git("ls-tree", "-r", "--name-only", "tracker-ledger")
        return closing

    def wait_for_flush(self, timeout: float = 20.0) -> None:
        """Background flushers: wait until none runs and nothing is queued."""
        tracker = Path(self.git("rev-parse", "--git-common-dir").strip())
        tracker = (tracker if tracker.is_absolute() else self.path / tracker) / "tracker"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = (tracker / "flush.running").exists() or (tracker / "queue").exists()
            if not busy and not list(tracker.glob("queue.*.taken")):
                return
            time.sleep(0.02)
        raise AssertionError("background note flush did not finish")


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    repo = tmp_path / "repo"
    repo.mkdir()
    box = Sandbox(repo)
    box.git("init", "-q")
    return box


@pytest.fixture
def tracked(sandbox: Sandbox) -> Sandbox:
    """A repository with one commit and git-tracker initialised."""
    sandbox.commit("README.md")
    sandbox.ok("init")
    return sandbox


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository ``git tracker demo`` built, with its report (``git-tracker-report.html``): one per test module
    that asks for it, as building it takes seconds."""
    where = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "gittracker", "demo", str(where / "repo")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"The report with charts: {where / 'repo' / 'git-tracker-report.html'}" in done.stdout
    return where / "repo"
