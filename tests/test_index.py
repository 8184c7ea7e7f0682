"""The window index gives the same answers as reading the whole ledger, however it was brought up to date."""

from __future__ import annotations

from pathlib import Path

from gittracker.git import Repo
from gittracker.index import load_index
from gittracker.preview import halt_reason, window_rows
from gittracker.records import PROVIDERS, live_records
from tests.conftest import Sandbox


def full_read_halts(repo: Repo) -> dict[str, str | None]:
    records = live_records(repo.read_records())
    rows = window_rows(records, lambda window_id, start, end: None)
    return {p: halt_reason(p, records, rows) for p in PROVIDERS}


def index_halts(repo: Repo, cache: Path) -> dict[str, str | None]:
    index = load_index(repo, cache)
    return {p: index.halt_reason(p) for p in PROVIDERS}


def test_index_agrees_with_a_full_read(tracked: Sandbox) -> None:
    repo = Repo.discover(tracked.path)
    cache = tracked.path / ".git" / "tracker" / "cache"
    steps = [
        ("codex", "10", "20"),
        ("codex", "30", "20"),
        ("claude", "5", "9"),
        ("codex", "40", "30"),
    ]
    for provider, before, after in steps:
        tracked.ok("start", provider, "--used", before)
        tracked.ok("end", provider, "--used", after)
        assert index_halts(repo, cache) == full_read_halts(repo)  # incremental, one step at a time
    assert index_halts(repo, cache)["codex"] is not None
    tracked.ok("undo", "codex", "--after")  # voids the last negative delta and its anomaly
    assert index_halts(repo, cache) == full_read_halts(repo)
    assert index_halts(repo, cache)["codex"] is None
    tracked.ok("end", "codex", "--used", "35")
    tracked.ok("resume", "codex")
    (cache / "window-index.json").unlink()  # rebuilt from scratch
    assert index_halts(repo, cache) == full_read_halts(repo)
    (cache / "window-index.json").write_text("{not json")  # corrupt: rebuilt too
    assert index_halts(repo, cache) == full_read_halts(repo)
    index = load_index(repo, cache)
    assert index.tip == repo.ledger_tip()
    closed = [w for w in index.closes if index.live_close(w)]
    assert len(closed) == len(steps)


def test_status_on_an_unchanged_ledger_does_not_load_pygit2(tracked: Sandbox) -> None:
    """`status` shows HALTED providers from the index; once the index has the ledger's tip, reading it again
    must not load pygit2 (about half of status's time) only to learn that nothing changed."""
    import subprocess
    import sys

    tracked.ok("start", "codex", "--used", "10")
    tracked.ok("end", "codex", "--used", "20")
    tracked.ok("status")  # brings the index up to the tip
    probe = (
        "import sys\n"
        "from gittracker.entry import main\n"
        "code = main(['status'])\n"
        "print('LOADED' if 'pygit2' in sys.modules else 'NOT LOADED', code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tracked.path, capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "NOT LOADED 0"
    tracked.ok("start", "codex", "--used", "25")  # the ledger moved: the next status reads the new records
    assert "codex window" in tracked.ok("status")
