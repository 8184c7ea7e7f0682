"""Set-up through the real CLI and real git: shared and in-tree hooks folders, the user's own notes and
config, damaged or leftover files, and the health checks `doctor` reports (install.findings / fix)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gittracker import install
from gittracker.git import Repo
from tests.conftest import Sandbox

USER_HOOK = '#!/bin/sh\necho "$PWD" >> "$HOME/user-hook.log"\n'


def window_ids(box: Sandbox, commit: str) -> set[str]:
    return {line["id"] for line in box.note(commit)}


def new_repo(path: Path) -> Sandbox:
    path.mkdir()
    box = Sandbox(path)
    box.git("init", "-q")
    box.commit("README.md")
    return box


def listing(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mode & 0o7777) for p in sorted(folder.iterdir())}


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def codes(box: Sandbox) -> list[str]:
    return [finding.code for finding in install.findings(Repo.discover(box.path))]


# -- shared hooks folders ---------------------------------------------------------------------------------


def test_a_global_hooks_folder_keeps_working_for_the_other_repository(sandbox: Sandbox, hermetic: Path) -> None:
    shared = hermetic / "global-hooks"
    shared.mkdir()
    (shared / "post-commit").write_text(USER_HOOK)
    (shared / "post-commit").chmod(0o755)
    original = listing(shared)
    sandbox.git("config", "--global", "core.hooksPath", str(shared))
    first = sandbox
    first.commit("README.md")
    second = new_repo(sandbox.path.parent / "second")

    said_at_init = first.ok("init")
    second.ok("init")
    assert (shared / "post-commit.pre-tracker").read_text() == USER_HOOK

    said_at_uninstall = first.ok("uninstall")
    second.ok("start", "codex", "--used", "10")
    window = second.records("window-open")[0]["window_id"]
    commit = second.commit("after-the-other-left.txt")
    second.ok("end", "codex", "--used", "12")
    assert window_ids(second, commit) == {window}  # still stamped: the other uninstall left the hooks
    assert str(second.path) in (hermetic / "user-hook.log").read_text()  # and the user's hook still ran
    assert f"hooks folder {shared} is shared" in said_at_init
    assert "kept the hooks in the shared folder" in said_at_uninstall

    second.ok("uninstall")
    assert listing(shared) == original


def test_a_shared_folder_is_cleaned_up_when_the_other_repositories_are_gone(sandbox: Sandbox, hermetic: Path) -> None:
    shared = hermetic / "global-hooks"  # does not exist yet: init creates it, the last uninstall removes it
    sandbox.git("config", "--global", "core.hooksPath", str(shared))
    sandbox.commit("README.md")
    other = new_repo(sandbox.path.parent / "other")
    other.ok("init")
    sandbox.ok("init")
    registry = json.loads((shared / ".git-tracker-repos.json").read_text())
    assert sorted(registry["repos"]) == sorted([str(other.path / ".git"), str(sandbox.path / ".git")])
    subprocess.run(["rm", "-rf", str(other.path)], check=True)  # deleted without an uninstall
    out = sandbox.ok("uninstall")
    assert "removed post-commit hook" in out
    assert not shared.exists()


def test_a_hooks_folder_inside_the_work_tree_is_refused_without_force(sandbox: Sandbox) -> None:
    hooks = sandbox.path / ".githooks"
    hooks.mkdir()
    (hooks / "post-commit").write_text(USER_HOOK)
    (hooks / "post-commit").chmod(0o755)
    sandbox.git("add", ".githooks")
    sandbox.commit("README.md")
    sandbox.git("config", "core.hooksPath", ".githooks")
    config = (sandbox.path / ".git" / "config").read_bytes()

    refused = sandbox.tracker("init")
    assert refused.returncode == 1
    assert len(refused.stderr.splitlines()) == 1
    assert "--pre-commit" in refused.stderr and "--force" in refused.stderr and "tracked" in refused.stderr
    assert not (sandbox.path / ".git" / "tracker").exists()
    assert (sandbox.path / ".git" / "config").read_bytes() == config
    assert sandbox.git("status", "--porcelain", "--untracked-files=all") == ""

    sandbox.ok("init", "--force")
    assert (hooks / "post-commit.pre-tracker").read_text() == USER_HOOK
    assert "inside the work tree" in sandbox.ok("init")  # forced once: a later init may keep it up to date
    sandbox.ok("uninstall")
    assert sandbox.git("status", "--porcelain", "--untracked-files=all") == ""
    assert (sandbox.path / ".git" / "config").read_bytes() == config


# -- the user's own notes and config ------------------------------------------------------------------------


def squashed_user_note(box: Sandbox, *, with_tracker: bool) -> bytes:
    box.git("config", "notes.rewriteRef", "refs/notes/commits")  # the user's notes follow rewrites
    if with_tracker:
        box.ok("init")
    first = box.commit("one.txt")
    box.git("notes", "add", "-m", "zeta\nalpha\nzeta", first)
    second = box.commit("two.txt")
    box.git("notes", "add", "-m", "beta\nalpha", second)
    squash = {"GIT_SEQUENCE_EDITOR": "sed -i -e '2s/^pick/squash/'", "GIT_EDITOR": "true"}
    box.git("rebase", "-q", "-i", "HEAD~2", env=squash)
    blob = box.git("notes", "list", "HEAD").strip()
    return subprocess.run(["git", "cat-file", "blob", blob], cwd=box.path, capture_output=True, check=True).stdout


def test_a_squash_leaves_the_users_own_notes_as_without_git_tracker(sandbox: Sandbox) -> None:
    plain = squashed_user_note(new_repo(sandbox.path.parent / "plain"), with_tracker=False)
    tracked = squashed_user_note(new_repo(sandbox.path.parent / "tracked"), with_tracker=True)
    assert plain.count(b"zeta") == 2  # git's default mode concatenates: nothing sorted or de-duplicated
    assert tracked == plain


def write_version_1_manifest(box: Sandbox, previous_mode: list[str]) -> None:
    """What git-tracker 0.1 left behind: its manifest, and notes.rewriteMode=cat_sort_uniq."""
    git_dir = box.path / ".git"
    box.git("config", "notes.rewriteMode", "cat_sort_uniq")
    settings = (box.path / ".git-tracker.toml").read_text()
    manifest = {
        "version": 1,
        "hooks": [str(git_dir / "hooks" / name) for name in ("post-commit", "post-rewrite")],
        "legacy": [],
        "config_added": [["notes.rewriteRef", "refs/notes/tracker"]],
        "config_previous": {"notes.rewriteMode": previous_mode},
        "settings_file": {"path": ".git-tracker.toml", "sha256": hashlib.sha256(settings.encode()).hexdigest()},
        "excluded": "/.git-tracker.toml",
        "notes_ref_created": box.git("rev-parse", "refs/notes/tracker").strip(),
    }
    (git_dir / "tracker" / "install.json").write_text(json.dumps(manifest))


def test_init_puts_back_the_rewrite_mode_an_older_version_set(sandbox: Sandbox) -> None:
    sandbox.commit("README.md")
    config = (sandbox.path / ".git" / "config").read_bytes()
    sandbox.ok("init")
    write_version_1_manifest(sandbox, previous_mode=[])
    assert codes(sandbox) == ["rewrite-mode-legacy"]
    out = sandbox.ok("init")
    assert "notes.rewriteMode: put back your previous setting" in out
    assert sandbox.git("config", "--get-all", "notes.rewriteMode", check=False) == ""
    assert codes(sandbox) == []
    sandbox.ok("uninstall")
    assert (sandbox.path / ".git" / "config").read_bytes() == config  # no empty [notes] left behind


def test_uninstall_keeps_what_the_user_added_meanwhile(sandbox: Sandbox) -> None:
    sandbox.commit("README.md")
    exclude = sandbox.path / ".git" / "info" / "exclude"
    exclude.write_bytes(b"*.log")
    sandbox.ok("init")
    sandbox.git("config", "notes.displayRef", "refs/notes/commits")
    with exclude.open("ab") as handle:
        handle.write(b"build/\n")
    sandbox.ok("uninstall")
    assert sandbox.git("config", "notes.displayRef").strip() == "refs/notes/commits"
    assert sandbox.git("config", "--get-all", "notes.rewriteRef", check=False) == ""
    assert exclude.read_bytes() == b"*.log\nbuild/\n"


# -- refused, damaged and leftover files ----------------------------------------------------------------------


def test_a_refused_sha256_repository_leaves_no_tracker_directory(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "sha256")
    box.path.mkdir()
    box.git("init", "-q", "--object-format=sha256")
    box.commit("README.md")
    done = box.tracker("init")
    assert done.returncode == 1 and "is a SHA-256 repository: git-tracker works only in SHA-1" in done.stderr
    assert not (box.path / ".git" / "tracker").exists()


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"\xff\xfe{}", "not UTF-8"), (b'{"version": 2, "sta', "truncated or not JSON"), (b"[]", "not git-tracker")],
)
def test_a_damaged_install_record_is_one_line_naming_doctor(tracked: Sandbox, content: bytes, why: str) -> None:
    (tracked.path / ".git" / "tracker" / "install.json").write_bytes(content)
    for command in ("init", "uninstall"):
        done = tracked.tracker(command)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1
        assert "install.json" in done.stderr and why in done.stderr and "git tracker doctor --fix" in done.stderr


def test_temp_files_of_killed_writers_are_removed_and_live_ones_kept(tracked: Sandbox) -> None:
    git_dir = tracked.path / ".git"
    dead, alive = dead_pid(), os.getpid()
    agent = git_dir / "tracker" / "agents" / "main"
    agent.mkdir(parents=True)
    dead_state = agent / f".state.json.{dead}.0123abcd.git-tracker-tmp"
    live_state = agent / f".state.json.{alive}.0123abcd.git-tracker-tmp"
    dead_hook = git_dir / "hooks" / f".post-commit.{dead}.89abcdef.git-tracker-tmp"
    old_style = git_dir / "tracker" / ".install.json.k2j4h6g8"
    for path in (dead_state, live_state, dead_hook, old_style):
        path.write_text("half a write")
    long_ago = time.time() - 600
    os.utime(old_style, (long_ago, long_ago))

    tracked.ok("start", "codex", "--used", "5")  # the next write of state.json clears its dead temp files
    assert not dead_state.exists() and live_state.exists()
    tracked.ok("init")  # init clears all of ours
    assert not dead_hook.exists() and not old_style.exists() and live_state.exists()


# -- health checks ------------------------------------------------------------------------------------------


def test_a_healthy_set_up_has_no_findings(tracked: Sandbox) -> None:
    assert install.findings(Repo.discover(tracked.path)) == []


def test_an_interrupted_init_is_found_and_finished(tracked: Sandbox) -> None:
    manifest = tracked.path / ".git" / "tracker" / "install.json"
    record = json.loads(manifest.read_text())
    record["state"] = "installing"  # as a kill between the first hook and the rest leaves it
    manifest.write_text(json.dumps(record))
    (tracked.path / ".git" / "hooks" / "post-rewrite").unlink()
    tracked.git("config", "--unset", "notes.rewriteRef")
    repo = Repo.discover(tracked.path)
    found = install.findings(repo)
    assert [f.code for f in found] == ["install-incomplete"] and found[0].fixable
    done = install.fix(repo, found)
    assert "finished the interrupted `git tracker init`" in done
    assert install.findings(repo) == []
    assert (tracked.path / ".git" / "hooks" / "post-rewrite").exists()
    assert tracked.git("config", "notes.rewriteRef").strip() == "refs/notes/tracker"


def test_an_init_killed_before_the_hooks_is_finished_with_hooks(sandbox: Sandbox) -> None:
    sandbox.commit("README.md")
    sandbox.ok("init")
    manifest = sandbox.path / ".git" / "tracker" / "install.json"
    record = json.loads(manifest.read_text())
    record["state"], record["hook_folders"] = "installing", {}  # journalled, then killed before any hook
    manifest.write_text(json.dumps(record))
    hooks = sandbox.path / ".git" / "hooks"
    for name in ("post-commit", "post-rewrite"):
        (hooks / name).unlink()
    repo = Repo.discover(sandbox.path)
    install.fix(repo, install.findings(repo))
    assert install.findings(repo) == []
    assert all(install.is_tracker_hook(hooks / name) for name in ("post-commit", "post-rewrite"))


def test_a_damaged_record_is_rebuilt_from_what_is_installed(sandbox: Sandbox) -> None:
    sandbox.commit("README.md")
    hooks = sandbox.path / ".git" / "hooks"
    (hooks / "post-commit").write_text(USER_HOOK)
    (hooks / "post-commit").chmod(0o755)
    original = listing(hooks)
    sandbox.ok("init")
    manifest = sandbox.path / ".git" / "tracker" / "install.json"
    manifest.write_bytes(manifest.read_bytes()[:40])
    repo = Repo.discover(sandbox.path)
    assert codes(sandbox) == ["install-damaged"]
    done = install.fix(repo, install.findings(repo))
    assert any("could not know" in line for line in done)
    assert (manifest.parent / "install.json.damaged").exists()
    assert install.findings(repo) == []
    sandbox.ok("uninstall")
    assert listing(hooks) == original  # the user's hook is back, ours are gone
    assert sandbox.git("config", "--get-all", "notes.rewriteRef", check=False) == ""


def test_missing_foreign_and_dead_interpreter_hooks(tracked: Sandbox) -> None:
    hooks = tracked.path / ".git" / "hooks"
    repo = Repo.discover(tracked.path)
    (hooks / "post-rewrite").unlink()
    assert codes(tracked) == ["hook-missing"]
    install.fix(repo, install.findings(repo))
    assert codes(tracked) == []

    text = (hooks / "post-commit").read_text()
    (hooks / "post-commit").write_text(text.replace(f"GT_PYTHON='{sys.executable}'", "GT_PYTHON='/gone/bin/python'"))
    found = install.findings(repo)
    assert [f.code for f in found] == ["hook-interpreter-gone"] and "/gone/bin/python" in found[0].problem
    install.fix(repo, found)
    assert codes(tracked) == []
    tracked.ok("start", "codex", "--used", "5")
    commit = tracked.commit()
    tracked.ok("end", "codex", "--used", "6")
    assert tracked.note(commit)  # the re-written hook stamps again

    (hooks / "post-commit").write_text(USER_HOOK)
    found = install.findings(repo)
    assert [f.code for f in found] == ["hook-foreign"] and not found[0].fixable
    assert install.fix(repo, found) == []
    assert (hooks / "post-commit").read_text() == USER_HOOK  # never overwritten


def test_config_findings(tracked: Sandbox) -> None:
    repo = Repo.discover(tracked.path)
    tracked.git("config", "--unset", "notes.rewriteRef")
    assert codes(tracked) == ["rewrite-ref-missing"]
    install.fix(repo, install.findings(repo))
    assert tracked.git("config", "notes.rewriteRef").strip() == "refs/notes/tracker"
    lock = tracked.path / ".git" / "config.lock"
    lock.write_text("")
    long_ago = time.time() - 60
    os.utime(lock, (long_ago, long_ago))
    found = install.findings(repo)
    assert [f.code for f in found] == ["config-lock-stale"] and not found[0].fixable


def test_a_stranded_original_hook_and_leftover_temp_files(sandbox: Sandbox) -> None:
    sandbox.commit("README.md")
    hooks = sandbox.path / ".git" / "hooks"
    (hooks / "post-commit.pre-tracker").write_text(USER_HOOK)  # what a killed 0.1 init left behind
    (hooks / f".post-rewrite.{dead_pid()}.00000000.git-tracker-tmp").write_text("half")
    repo = Repo.discover(sandbox.path)
    found = install.findings(repo)
    assert sorted(f.code for f in found) == ["hook-original-stranded", "temp-leftover"]
    assert all(f.fixable for f in found)
    install.fix(repo, found)
    assert install.findings(repo) == []
    assert (hooks / "post-commit").read_text() == USER_HOOK
    assert not list(hooks.glob("*git-tracker-tmp"))


def test_hooks_without_a_record_are_found_and_the_record_rebuilt(tracked: Sandbox) -> None:
    (tracked.path / ".git" / "tracker" / "install.json").unlink()
    repo = Repo.discover(tracked.path)
    assert codes(tracked) == ["install-record-missing"]
    install.fix(repo, install.findings(repo))
    assert install.findings(repo) == []
    tracked.ok("uninstall")
    assert not (tracked.path / ".git" / "hooks" / "post-commit").exists()


# -- what init and uninstall say --------------------------------------------------------------------------


def test_uninstall_warns_of_each_open_window_and_how_to_close_it(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.ok("start", "claude", "--used", "20", env={"AGENT_ID": "worker-1"})
    opened = {r["agent_id"]: r["window_id"] for r in tracked.records("window-open")}
    done = tracked.tracker("uninstall")
    assert done.returncode == 0 and "git-tracker removed from" in done.stdout
    warnings = done.stderr.splitlines()
    assert len(warnings) == 2, done.stderr
    main, worker = sorted(warnings, key=lambda line: "worker-1" in line)
    assert main.startswith("git-tracker: warning: ") and opened["main"] in main and "codex" in main
    assert "stays open in the ledger" in main and "`git tracker init`, then `git tracker end codex`" in main
    assert opened["worker-1"] in worker and "`AGENT_ID=worker-1 git tracker end claude`" in worker
    # What the warning says works: set up again, end the window.
    tracked.ok("init")
    tracked.ok("end", "codex", "--used", "15")
    assert opened["main"] in {r["window_id"] for r in tracked.records("window-close")}


def test_uninstall_without_open_windows_warns_of_nothing(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.ok("end", "codex", "--used", "15")
    done = tracked.tracker("uninstall")
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.parametrize("hooks_path", [".git/my-hooks", "ABSOLUTE"])
def test_init_says_which_core_hooks_path_folder_it_wrote_the_hooks_to(sandbox: Sandbox, hooks_path: str) -> None:
    sandbox.commit("README.md")
    folder = sandbox.path / ".git" / "my-hooks"
    sandbox.git("config", "core.hooksPath", str(folder) if hooks_path == "ABSOLUTE" else hooks_path)
    out = sandbox.ok("init")
    assert f"  - hooks folder {folder} (core.hooksPath)\n" in out, out
    assert (folder / "post-commit").exists() and not (sandbox.path / ".git" / "hooks" / "post-commit").exists()
    assert sandbox.ok("init").splitlines()[1:] == ["  - already set up; nothing to change"]


def test_init_into_the_default_hooks_folder_names_no_folder(sandbox: Sandbox) -> None:
    sandbox.commit("README.md")
    assert "hooks folder" not in sandbox.ok("init")
