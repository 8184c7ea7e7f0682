"""The kept ledger read (``readcache``): the same answer as reading the ledger, never a stale one (issue 12)."""

from __future__ import annotations

import json
import marshal
from pathlib import Path
from typing import Any

from gittracker import readcache
from gittracker.git import Repo
from gittracker.preview import REPORT_KINDS
from gittracker.records import Record
from tests.conftest import Sandbox
from tests.test_sync import append, clone, make_remote, sync


def kept_file(box: Sandbox) -> Path:
    return readcache.cache_path(box.path / ".git" / "tracker" / "cache", REPORT_KINDS)


def read(box: Sandbox) -> list[Record]:
    return Repo.discover(box.path).read_records(REPORT_KINDS)


def read_afresh(box: Sandbox) -> list[Record]:
    """The same read with no cache at all: every ledger file parsed again."""
    return Repo.discover(box.path).without_caches().read_records(REPORT_KINDS)


def windows_in_preview(box: Sandbox) -> int:
    report = json.loads(box.ok("preview", "--json"))
    return int(report["providers"]["codex"]["windows"])


def test_a_kept_read_is_the_ledgers_answer_and_moves_with_the_tip(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.ok("end", "codex", "--used", "20")
    assert windows_in_preview(tracked) == 1
    assert kept_file(tracked).is_file()
    assert read(tracked) == read_afresh(tracked)
    added = append(tracked, 3)
    assert added <= {record.id for record in read(tracked)}  # a record appended: the kept read is not used
    assert read(tracked) == read_afresh(tracked)
    tracked.ok("start", "codex", "--used", "20")
    tracked.ok("end", "codex", "--used", "25")
    assert windows_in_preview(tracked) == 2


def test_a_sync_that_merges_records_in_changes_the_answer(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    alice, bob = clone(tmp_path, remote, "alice"), clone(tmp_path, remote, "bob")
    alice.ok("start", "codex", "--used", "10")
    alice.ok("end", "codex", "--used", "20")
    sync(alice)
    assert windows_in_preview(alice) == 1
    from_bob = append(bob, 5, "bob")
    bob.ok("start", "codex", "--used", "30")
    bob.ok("end", "codex", "--used", "40")
    sync(bob)
    assert sync(alice)["merged"]["ledger"] in ("fast-forward", "merge")
    assert windows_in_preview(alice) == 2
    assert from_bob <= {record.id for record in read(alice)}
    assert read(alice) == read_afresh(alice)


def test_a_kept_read_is_used_only_for_its_own_tip_version_and_kinds(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.ok("end", "codex", "--used", "20")
    whole = read(tracked)
    path = kept_file(tracked)
    stamp, tip, kinds, rows, skipped = marshal.loads(path.read_bytes())
    assert tip == Repo.discover(tracked.path).ledger_tip() and len(rows) == len(whole)

    def keep(*, stamp: Any = stamp, tip: Any = tip, kinds: Any = kinds) -> None:
        path.write_bytes(marshal.dumps((stamp, tip, kinds, rows[:-1], skipped)))  # one record short

    keep()  # this very tip, version and kinds: taken back as kept (and this is how a read knows it is in play)
    assert read(tracked) == whole[:-1]
    for changed in ({"tip": "0" * 40}, {"stamp": (*stamp[:2], "0.0.0", *stamp[3:])}, {"kinds": ("usage",)}):
        keep(**changed)
        assert read(tracked) == whole, changed
    path.write_bytes(b"not marshal at all")
    assert read(tracked) == whole
    path.write_bytes(marshal.dumps((stamp, tip, kinds, [("short",)], skipped)))
    assert read(tracked) == whole


def test_the_notes_tip_read_from_gits_files_is_what_git_says_loose_packed_or_missing(tracked: Sandbox) -> None:
    """``preview`` reads the notes tip from git's files (no pygit2 on a warm run): it must agree with git."""
    tracked.git("update-ref", "-d", "refs/notes/tracker")  # init made one: gone, there is no tip
    assert Repo.discover(tracked.path).notes_tip() is None
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit("noted.txt")
    tracked.ok("end", "codex", "--used", "20")
    tracked.wait_for_flush()
    loose = tracked.git("rev-parse", "refs/notes/tracker").strip()
    assert Repo.discover(tracked.path).notes_tip() == loose
    tracked.git("pack-refs", "--all")
    assert not (tracked.path / ".git" / "refs" / "notes" / "tracker").exists()
    assert Repo.discover(tracked.path).notes_tip() == loose
