"""`git tracker demo`: a temporary repository is removed after the report; a DIRECTORY is kept, and named."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Sandbox


def test_demo_without_a_directory_removes_its_repository_after_the_report(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    box = Sandbox(tmp_path)
    out = box.ok("demo", env={"TMPDIR": str(scratch)})
    assert "Efficiency per provider" in out and "Notes on commits:" in out  # the whole report, as before
    assert out.startswith("demo repository: a temporary one, removed after this report (pass a DIRECTORY to keep it)")
    assert "git tracker demo DIRECTORY" in out.splitlines()[-1]
    assert "cd " not in out  # no path to a folder that is gone
    assert list(scratch.iterdir()) == []  # nothing left behind, not even by the hooks' background flushers


def test_demo_into_a_directory_keeps_it_and_says_where(tmp_path: Path) -> None:
    kept = tmp_path / "demo"
    box = Sandbox(tmp_path)
    report = json.loads(box.ok("demo", str(kept), "--json"))
    assert report["repository"] == str(kept.resolve())
    demo = Sandbox(kept)
    assert len(demo.records("window-close")) == sum(row["windows"] for row in report["providers"].values())
    out = Sandbox(tmp_path).ok("demo", str(tmp_path / "again"))
    assert out.startswith(f"demo repository: {(tmp_path / 'again').resolve()}\n")
    assert out.splitlines()[-1] == f"Try: cd {(tmp_path / 'again').resolve()} && git tracker log"


def test_demo_json_without_a_directory_has_no_repository(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    report = json.loads(Sandbox(tmp_path).ok("demo", "--json", env={"TMPDIR": str(scratch)}))
    assert report["repository"] is None and report["preview"]["providers"]
    assert list(scratch.iterdir()) == []
