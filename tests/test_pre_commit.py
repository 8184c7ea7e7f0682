"""The hooks offered to pre-commit users, through a real `pre-commit install` in a temp repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

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
