"""Reading the data where git-tracker is not set up: after `uninstall` (the data is kept) and in a clone that
fetched the ledger but never ran `init`. Read commands work there and write nothing; commands that record still
ask for `git tracker init`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import Sandbox

READ_COMMANDS = [
    ("status",),
    ("status", "--json"),
    ("log",),
    ("log", "--json"),
    ("anomalies",),
    ("churn",),
    ("preview",),
    ("preview", "--json"),
    ("decide",),
    ("export", "churn"),
    ("export", "token-churn"),
]


def files_under(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file and folder below ``folder``: its modification time and a digest of a file's bytes (so any
    write shows, an empty folder created too)."""
    return {
        str(path.relative_to(folder)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder",
        )
        for path in sorted(folder.rglob("*"))
    }


def worked_window(box: Sandbox) -> str:
    """One closed, completed codex window with two stamped commits; returns its id."""
    box.ok("start", "codex", "--used", "10")
    box.commit(lines=4)
    box.commit(lines=6)
    box.ok("end", "codex", "--used", "30")
    box.ok("complete", "--outcome", "shipped", "--quality", "0.9")
    box.wait_for_flush()
    return str(box.records("window-close")[0]["window_id"])


def test_after_uninstall_read_commands_show_the_kept_data_and_write_nothing(tracked: Sandbox) -> None:
    window = worked_window(tracked)
    tracked.ok("start", "claude", "--used", "5")  # left open across the uninstall
    shown = {args: tracked.ok(*args) for args in [("log",), ("churn", window, "--json"), ("anomalies",)]}
    tracked.ok("uninstall")
    git_dir = tracked.path / ".git"
    before = files_under(git_dir)

    for args, output in shown.items():
        assert tracked.ok(*args) == output
    churn = json.loads(shown[("churn", window, "--json")])
    assert (churn["added"], churn["commits"]) == (10, 2)  # git's own count: two files of 4 and 6 lines
    for args in READ_COMMANDS:
        tracked.ok(*args)
    status = json.loads(tracked.ok("status", "--json"))
    assert status["set_up"] is False and [w["provider"] for w in status["agents"]["main"]["open"]] == ["claude"]
    assert "not set up" in tracked.ok("status") and "git tracker init" in tracked.ok("status")
    assert files_under(git_dir) == before  # no cache, no journal replay, no flush: nothing written

    writes = [("start", "codex", "--used", "40"), ("end", "claude", "--used", "9"), ("checkpoint", "--phase", "mid")]
    for args in writes:
        refused = tracked.tracker(*args)
        assert refused.returncode == 2 and "run `git tracker init` first" in refused.stderr, args
    assert files_under(git_dir) == before


def test_a_clone_that_fetched_the_ledger_reads_it_without_init(tracked: Sandbox, tmp_path: Path) -> None:
    window = worked_window(tracked)
    clone = Sandbox(tmp_path / "clone")
    tracked.git("clone", "-q", str(tracked.path), str(clone.path))
    clone.git("fetch", "-q", "origin", "tracker-ledger:tracker-ledger", "refs/notes/tracker:refs/notes/tracker")
    before = files_under(clone.path / ".git")

    assert clone.ok("log", "--json") == tracked.ok("log", "--json")
    assert clone.ok("churn", window, "--json") == tracked.ok("churn", window, "--json")
    assert json.loads(clone.ok("preview", "--json")) == json.loads(tracked.ok("preview", "--json"))
    assert clone.ok("export", "churn") == tracked.ok("export", "churn")
    assert json.loads(clone.ok("status", "--json"))["agents"] == {}  # windows are this machine's, not the clone's
    assert not (clone.path / ".git" / "tracker").exists()
    assert files_under(clone.path / ".git") == before


def test_without_set_up_or_a_ledger_a_read_command_asks_for_init(sandbox: Sandbox) -> None:
    sandbox.commit()
    for args in [("log",), ("status",), ("preview",)]:
        done = sandbox.tracker(*args)
        assert done.returncode == 2 and "run `git tracker init` first" in done.stderr, args
        assert len(done.stderr.splitlines()) == 1
    assert not (sandbox.path / ".git" / "tracker").exists()
