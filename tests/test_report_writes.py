"""`git tracker report` writes every file or none: `--svg DIR` is checked first but made only when the page and the
charts are ready to be written, and a failure on the way (while gathering, or a disk that says no while writing)
leaves no folder, no SVG, no page and no temporary file behind (issue 17)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import Sandbox
from tests.mounts import mounted, run_as_root_elsewhere
from tests.test_full_disk import fill


def closed_window(box: Sandbox) -> None:
    box.ok("start", "codex", "--used", "10")
    box.ok("end", "codex", "--used", "30")
    box.ok("complete", "--outcome", "shipped", "--quality", "0.9")


def everything_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def lose_object(box: Sandbox, kind: str, folder: bool) -> str:
    """A damaged clone: the object of one ledger file of ``kind`` (or of the kind's folder) is gone (a lost pack, a
    copy that missed it), and no read of the ledger is kept from before."""
    if folder:
        listing = box.git("ls-tree", "tracker-ledger").splitlines()
        name = next(line.split()[2] for line in listing if line.endswith(f"\t{kind}"))
    else:
        listing = box.git("ls-tree", "-r", "tracker-ledger").splitlines()
        name = next(line.split()[2] for line in listing if f"{kind}/" in line)
    loose = box.path / ".git" / "objects" / name[:2] / name[2:]
    assert loose.is_file()  # written loose by the append: removing it loses the object
    loose.unlink()
    shutil.rmtree(box.path / ".git" / "tracker" / "cache", ignore_errors=True)
    assert box.git("cat-file", "-e", name, check=False) == "" and not loose.exists()
    return name


def test_a_failure_while_gathering_leaves_no_folder_and_no_page(tracked: Sandbox, tmp_path: Path) -> None:
    """A ledger folder's object is gone: the shapes of --out and --svg are fine, so the failure comes while the
    ledger is read, after they were checked. One line naming it, and nothing written."""
    closed_window(tracked)
    lose_object(tracked, "window-open", folder=True)
    out = tmp_path / "out"
    out.mkdir()
    done = tracked.tracker("report", "--out", str(out / "page.html"), "--svg", str(out / "charts"))
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "the ledger names a folder git has no object for" in done.stderr and "git fsck" in done.stderr
    assert everything_under(out) == []  # before: an empty charts folder was left behind


def test_a_record_whose_object_is_missing_is_skipped_and_named(tracked: Sandbox, tmp_path: Path) -> None:
    """One file's object gone: the reports skip that record and say so (it was an internal error), and count the
    rest."""
    closed_window(tracked)
    closed_window(tracked)
    blob = lose_object(tracked, "window-close", folder=False)
    commands = (
        ["status"],
        ["log"],
        ["preview", "--json"],
        ["decide", "--json"],
        ["report", "--out", str(tmp_path / "p.html")],
    )
    for command in commands:
        done = tracked.tracker(*command)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines() == [
            "git-tracker: warning: 1 ledger record skipped (1 object missing); git tracker doctor"
        ]
    preview = json.loads(tracked.ok("preview", "--json"))
    assert sum(report["windows"] for report in preview["providers"].values()) == 1
    assert "1 ledger record skipped (1 object missing): left out of every figure" in preview["notes"]
    assert blob not in (tmp_path / "p.html").read_text()


@pytest.mark.parametrize("where", ["svg", "out"])
def test_a_full_disk_while_writing_leaves_nothing_written(
    tracked: Sandbox, tmp_path: Path, request: pytest.FixtureRequest, where: str
) -> None:
    """A disk that fills up while the report is written (the SVG folder's disk, or the page's): exit 1 in one line,
    and neither the page nor any SVG nor the folder is there afterwards."""
    if run_as_root_elsewhere(request):
        return
    closed_window(tracked)
    small, roomy = tmp_path / "small", tmp_path / "roomy"
    small.mkdir()
    roomy.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)):
        filler = fill(small)
        before = everything_under(small)
        page = (small if where == "out" else roomy) / "page.html"
        charts = (small if where == "svg" else roomy) / "charts"
        done = tracked.tracker("report", "--out", str(page), "--svg", str(charts))
        assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        assert everything_under(small) == before and everything_under(roomy) == []
        assert "nothing was written" in done.stderr and "No space left on device" in done.stderr
        filler.unlink()
        assert tracked.tracker("report", "--out", str(page), "--svg", str(charts)).returncode == 0
        assert page.is_file() and {"meter-codex.svg", "work-vs-capacity.svg"} <= {p.name for p in charts.iterdir()}
        assert [*small.rglob(".*"), *roomy.rglob(".*")] == []  # no temporary file left


def test_svg_files_in_an_existing_folder_are_replaced_and_keep_their_mode(tracked: Sandbox, tmp_path: Path) -> None:
    closed_window(tracked)
    charts = tmp_path / "charts"
    charts.mkdir()
    (charts / "work-vs-capacity.svg").write_text("old")
    (charts / "work-vs-capacity.svg").chmod(0o640)
    (charts / "notes.txt").write_text("mine")
    tracked.ok("report", "--out", str(tmp_path / "page.html"), "--svg", str(charts))
    assert (charts / "work-vs-capacity.svg").read_text().lstrip().startswith("<?xml")
    assert (charts / "work-vs-capacity.svg").stat().st_mode & 0o777 == 0o640
    assert (charts / "notes.txt").read_text() == "mine"
    assert not list(charts.glob(".*")) and not list(tmp_path.glob(".*"))
