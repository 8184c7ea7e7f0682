"""A full disk and a read-only one, for real (a small tmpfs holding the repository): every command says one line
and exits 1 or 2, reads keep working, and nothing reported failed takes effect later."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.mounts import mounted, run_as_root_elsewhere

WRITES = [
    ["snapshot", "codex", "--used", "12"],
    ["end", "codex", "--used", "20"],
    ["start", "claude", "--used", "5"],
    ["undo", "codex"],
    ["checkpoint", "--phase", "mid"],
    ["resume", "codex"],
]
READS = [["log"], ["log", "--json"], ["status"], ["preview"], ["decide"], ["export", "churn"], ["churn"]]


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    # Unbuffered: a buffered file that filled the disk raises again when it is closed, for the bytes it still holds.
    with open(filler, "wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
    with contextlib.suppress(OSError):  # the last few blocks a small write may still find
        while True:
            with open(disk / f"crumb-{os.urandom(4).hex()}", "wb") as crumb:
                crumb.write(b"\0" * 4096)
                crumb.flush()
                os.fsync(crumb.fileno())
    probe = disk / "probe"
    with pytest.raises(OSError, match="No space left on device"):
        probe.write_bytes(b"\0" * 65536)
    probe.unlink(missing_ok=True)
    return filler


def ledger_tip(box: Sandbox) -> str:
    return box.git("rev-parse", "refs/heads/tracker-ledger").strip()


def open_window(disk: Path) -> Sandbox:
    box = Sandbox(disk / "repo")
    box.path.mkdir()
    box.git("init", "-q")
    box.commit("README.md")
    box.ok("init")
    box.ok("start", "codex", "--used", "10")
    box.commit()
    box.wait_for_flush()
    return box


def one_line(done: subprocess.CompletedProcess[str], args: list[str]) -> None:
    assert done.returncode in (1, 2), (args, done.returncode, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("git-tracker: "), (args, done.stderr)
    assert "internal error" not in done.stderr, (args, done.stderr)


def test_a_full_disk_refuses_writes_in_one_line_and_nothing_refused_happens_later(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if run_as_root_elsewhere(request):
        return
    small_disk = tmp_path / "disk"
    small_disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=6m", "tmpfs", str(small_disk)):
        full_disk_refuses_writes(small_disk)


def full_disk_refuses_writes(small_disk: Path) -> None:
    box = open_window(small_disk)
    tip = ledger_tip(box)
    filler = fill(small_disk)

    for args in WRITES:
        done = box.tracker(*args)
        one_line(done, args)
        assert "stays journalled" not in done.stderr  # each was refused before anything was kept
    for args in READS:
        done = box.tracker(*args)
        assert done.returncode == 0, (args, done.stderr)
    assert ledger_tip(box) == tip

    filler.unlink()
    assert "codex window" in box.ok("status")  # the window is still open, nothing was half done
    box.ok("log")  # any command would replay a journal: none was left
    assert ledger_tip(box) == tip
    box.ok("end", "codex", "--used", "20")
    assert [r["delta"] for r in box.records("window-close")] == [10]


def test_a_read_only_repository_refuses_writes_in_one_line_and_still_reads(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if run_as_root_elsewhere(request):
        return
    box = open_window(tmp_path)
    tip = ledger_tip(box)
    with mounted("--bind", str(box.path), str(box.path)), mounted("-o", "remount,bind,ro", str(box.path)):
        for args in WRITES:
            one_line(box.tracker(*args), args)
        for args in READS:
            done = box.tracker(*args)
            assert done.returncode == 0, (args, done.stderr)
    assert ledger_tip(box) == tip
    box.ok("end", "codex", "--used", "20")
    assert json.loads(box.ok("log", "--json", "--kind", "window-close"))["delta"] == 10
