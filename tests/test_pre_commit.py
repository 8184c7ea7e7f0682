"""The hooks offered to pre-commit users, through a real `pre-commit install` in a temp repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker import precommit
from tests.conftest import REAL_PIP_CACHE, Sandbox

PROJECT = Path(__file__).resolve().parent.parent


def snapshot_project(dest: Path) -> str:
    """This checkout's files (committed or not) as a one-commit repository pre-commit can clone."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        source = PROJECT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    box = Sandbox(dest)
    box.git("init", "-q")
    box.git("add", "-A")
    box.git("commit", "-q", "-m", "snapshot")
    return box.head()


@pytest.mark.skipif(shutil.which("pre-commit") is None, reason="pre-commit is installed by the test extras")
def test_pre_commit_hooks_stamp_and_survive_amend(tracked: Sandbox, tmp_path: Path, hermetic: Path) -> None:
    hook_repo = tmp_path / "hook-repo"
    hook_repo.mkdir()
    rev = snapshot_project(hook_repo)
    tracked.ok("uninstall")
    tracked.ok("init", "--pre-commit")
    (tracked.path / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n"
        "  - id: git-tracker-post-commit\n  - id: git-tracker-post-rewrite\n"
    )
    # pre-commit builds the hook's environment from the snapshot (wheels from the machine's pip cache).
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PIP_CACHE_DIR": REAL_PIP_CACHE}
    installed = subprocess.run(
        ["pre-commit", "install", "--hook-type", "post-commit", "--hook-type", "post-rewrite"],
        cwd=tracked.path,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert installed.returncode == 0, installed.stderr
    assert "pre-commit" in (tracked.path / ".git" / "hooks" / "post-commit").read_text()
    tracked.git("add", ".pre-commit-config.yaml")
    tracked.git("commit", "-q", "-m", "pre-commit config", env=env)  # builds the hook environment once

    tracked.ok("start", "codex", "--used", "10")
    window = tracked.records("window-open")[0]["window_id"]
    commit = tracked.commit(env=env)
    # The pre-commit hook writes the note synchronously: it is there as soon as the commit returns.
    assert [line["id"] for line in tracked.note(commit)] == [window]
    tracked.git("commit", "-q", "--amend", "-m", "amended through pre-commit", env=env)
    amended = tracked.head()
    assert amended != commit
    assert [line["id"] for line in tracked.note(amended)] == [window]
    tracked.ok("end", "codex", "--used", "20")
    assert tracked.records("anomaly") == []


LOCAL_HOOKS = """repos:
  - repo: local
    hooks:
      - id: git-tracker-post-commit
        name: git-tracker post-commit
        entry: git-tracker-hook post-commit
        language: system
        stages: [post-commit]
        always_run: true
        pass_filenames: false
      - id: git-tracker-post-rewrite
        name: git-tracker post-rewrite
        entry: git-tracker-hook post-rewrite
        language: system
        stages: [post-rewrite]
        always_run: true
        pass_filenames: false
"""


def problems(box: Sandbox) -> list[str]:
    return list(json.loads(box.ok("status", "--json"))["problems"])


@pytest.mark.skipif(shutil.which("pre-commit") is None, reason="pre-commit is installed by the test extras")
def test_init_pre_commit_says_what_is_missing_and_status_warns_until_commits_are_stamped(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.commit("README.md")
    out = sandbox.ok("init", "--pre-commit")
    assert "commits are not stamped until you:" in out
    assert "add `- id: git-tracker-post-commit` and `- id: git-tracker-post-rewrite` to .pre-commit-config.yaml" in out
    assert "run `pre-commit install --hook-type post-commit --hook-type post-rewrite`" in out
    sandbox.ok("start", "codex", "--used", "10")
    unstamped = sandbox.commit()
    assert sandbox.note(unstamped) == []  # what the warnings are about
    assert problems(sandbox) == ["pre-commit-config-missing", "pre-commit-hook-missing"]
    assert "need attention (pre-commit-config-missing, pre-commit-hook-missing)" in sandbox.ok("status")
    doctor = sandbox.tracker("doctor")
    assert doctor.returncode == 1 and "there is no .pre-commit-config.yaml" in doctor.stdout

    (sandbox.path / ".pre-commit-config.yaml").write_text(LOCAL_HOOKS)
    assert problems(sandbox) == ["pre-commit-hook-missing"]
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    installed = subprocess.run(
        ["pre-commit", "install", "--hook-type", "post-commit", "--hook-type", "post-rewrite"],
        cwd=sandbox.path,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert installed.returncode == 0, installed.stderr
    assert problems(sandbox) == [] and sandbox.tracker("doctor").returncode == 0
    again = sandbox.ok("init", "--pre-commit")
    assert again.splitlines()[1:] == ["  - hooks: left to pre-commit, which runs git-tracker's"]
    window = sandbox.records("window-open")[0]["window_id"]
    stamped = sandbox.commit(env=env)
    assert [line["id"] for line in sandbox.note(stamped)] == [window]  # and now it is true: commits are stamped


@given(
    noise=st.text(),
    ids=st.sets(st.sampled_from(precommit.HOOK_IDS)),
    flow=st.booleans(),
    commented_out=st.booleans(),
)
def test_the_config_check_finds_exactly_the_ids_listed_outside_comments(
    noise: str, ids: set[str], flow: bool, commented_out: bool
) -> None:
    hook_lines = [f"{{id: {hook_id}}}" if flow else f"- id: '{hook_id}'  # git-tracker" for hook_id in sorted(ids)]
    lines = [f"# {line}" for line in noise.splitlines()]  # anything at all, inside comments
    lines += [("# " if commented_out else "      ") + line for line in hook_lines]
    listed = precommit._listed_ids("\n".join(lines))
    assert listed == (frozenset() if commented_out else frozenset(ids))
