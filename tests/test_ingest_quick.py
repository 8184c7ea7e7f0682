"""The fast paths of `ingest`: the nothing-new check before the CLI loads, and reading in parallel.

The quick check reads git's files itself, so with no `git` on PATH it can still answer: a run that
succeeds without git was answered by it, and one that fails fell back to the full command. Both must
say exactly what the full command says.
"""

from __future__ import annotations

import json
import marshal
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gittracker import config, eventstore, git, gitfiles, logstate
from gittracker.names import valid_agent_id
from gittracker.synth import ClaudeSpec, write_claude_transcripts
from tests.conftest import Sandbox
from tests.test_ingest import DAY0, assistant_line, current, iso, ledger_days, ledger_tip, reference_days, usage


def no_git_path(tmp_path: Path) -> dict[str, str]:
    """A PATH without git (the console script and its interpreter are named by absolute paths)."""
    empty = tmp_path / "no-git-here"
    empty.mkdir(exist_ok=True)
    return {"PATH": str(empty)}


@pytest.fixture
def ingested(tracked: Sandbox, tmp_path: Path) -> tuple[Sandbox, Path]:
    claude = tmp_path / "claude"
    write_claude_transcripts(claude, ClaudeSpec(lines=400, days=2, start=DAY0))
    tracked.ok("ingest", "claude-logs", "--dir", str(claude))
    return tracked, claude


def test_nothing_new_is_answered_without_git_and_says_what_the_full_command_says(
    ingested: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    box, claude = ingested
    bare = no_git_path(tmp_path)
    quick_text = box.ok("ingest", "claude-logs", "--dir", str(claude), env=bare)
    # --skip-invalid is not the quick check's to parse: the full command answers, with git.
    full_text = box.ok("ingest", "claude-logs", "--dir", str(claude), "--skip-invalid")
    assert quick_text == full_text and "nothing new" in quick_text
    quick_json = json.loads(box.ok("ingest", "claude-logs", f"--dir={claude}", "--json", env=bare))
    full_json = json.loads(box.ok("ingest", "claude-logs", "--dir", str(claude), "--json", "--skip-invalid"))
    assert quick_json == full_json and quick_json["unchanged"] and quick_json["files"] > 0
    box.git("pack-refs", "--all")  # the ledger ref now lives in packed-refs only
    assert box.ok("ingest", "claude-logs", "--dir", str(claude), env=bare) == full_text


def test_anything_new_goes_to_the_full_command(ingested: tuple[Sandbox, Path], tmp_path: Path) -> None:
    box, claude = ingested
    bare = no_git_path(tmp_path)
    log = next(claude.rglob("*.jsonl"))
    with log.open("a") as handle:
        handle.write(assistant_line(DAY0, "msg_new", "req_new", usage(3, 4)))
    assert box.tracker("ingest", "claude-logs", "--dir", str(claude), env=bare).returncode != 0
    out = json.loads(box.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))
    assert out["files_read"] == 1 and not out["unchanged"]
    assert box.tracker("ingest", "claude-logs", "--dir", str(claude), env=bare).returncode == 0

    (buckets,) = (box.path / ".git" / "tracker" / "ingest").glob("*.buckets")
    # What was read is gone (the index, one bucket) or damaged: the quick check and the full command read again.
    for loss in ("index", "bucket", "damaged index"):
        if loss == "index":
            (buckets / "index").unlink()
        elif loss == "bucket":
            next(buckets.glob("*.0")).unlink()
        else:
            (buckets / "index").write_bytes(b"damaged")
        assert box.tracker("ingest", "claude-logs", "--dir", str(claude), env=bare).returncode != 0
        reread = json.loads(box.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))
        assert reread["files_read"] == reread["files"] and reread["records_added"] == 0
        assert box.tracker("ingest", "claude-logs", "--dir", str(claude), env=bare).returncode == 0

    box.ok("snapshot", "claude", "--used", "40")  # the ledger moved: a window may have closed
    assert box.tracker("ingest", "claude-logs", "--dir", str(claude), env=bare).returncode != 0
    box.ok("ingest", "claude-logs", "--dir", str(claude))
    assert box.tracker("ingest", "claude-logs", "--dir", str(claude), env=bare).returncode == 0

    toml = box.path / config.CONFIG_NAME
    toml.write_text(toml.read_text().replace('timezone = "UTC"', 'timezone = "Asia/Kathmandu"'))
    assert "Asia/Kathmandu" in toml.read_text()
    assert box.tracker("ingest", "claude-logs", "--dir", str(claude), env=bare).returncode != 0
    rezoned = json.loads(box.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))
    assert not rezoned["unchanged"] and rezoned["records_added"] > 0  # days drawn in the new zone
    assert box.tracker("ingest", "claude-logs", "--dir", str(claude), env=bare).returncode == 0

    assert box.tracker("ingest", "claude-logs", "--dir", str(claude), "--this-repo", env=bare).returncode != 0
    bad_agent = box.tracker("ingest", "claude-logs", "--dir", str(claude), env={"AGENT_ID": "../x"})
    assert bad_agent.returncode == 2 and "AGENT_ID: expected" in bad_agent.stderr
    elsewhere = box.tracker("ingest", "claude-logs", "--dir", str(claude), env={**bare, "GIT_DIR": str(box.path)})
    assert elsewhere.returncode != 0


def test_an_older_manifest_means_reading_everything_again(ingested: tuple[Sandbox, Path]) -> None:
    box, claude = ingested
    before = ledger_days(box)
    count = len(box.records("usage"))
    state = box.path / ".git" / "tracker" / "ingest"
    (manifest,) = state.glob("*.manifest")
    older = logstate.MANIFEST_MAGIC + marshal.dumps({"version": logstate.MANIFEST_VERSION - 1, "files": {}})
    manifest.write_bytes(older)
    # What git-tracker 0.1 left: JSON manifests under other names, and their tables. Removed, not read.
    (state / "claude-logs-0123456789abcdef.manifest.json").write_text('{"version": 1, "files": {}}')
    (state / "claude-logs-0123456789abcdef.events").write_bytes(b"git-tracker events 1\n")
    again = json.loads(box.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))
    assert again["files_read"] == again["files"] and again["records_added"] == 0
    assert ledger_days(box) == before and len(box.records("usage")) == count
    assert sorted(path.suffix for path in state.iterdir()) == [".buckets", ".lock", ".manifest"]
    manifest.write_bytes(logstate.MANIFEST_MAGIC + b"\x00garbage")
    broken = box.tracker("ingest", "claude-logs", "--dir", str(claude))
    assert broken.returncode == 2 and "expected git-tracker's ingest manifest" in broken.stderr


def test_parallel_readers_derive_the_same_records_as_one(tracked: Sandbox, tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    write_claude_transcripts(claude, ClaudeSpec(lines=3000, days=3, start=DAY0, projects=("/w/a", "/w/b", "/w/c")))
    # The same message in files read by different processes: the larger usage must win across them.
    first, *_, last = sorted(claude.rglob("*.jsonl"))
    with first.open("a") as handle:
        handle.write(assistant_line(DAY0, "msg_dup", "req_dup", usage(5, 5)))
    with last.open("a") as handle:
        handle.write(assistant_line(DAY0, "msg_dup", "req_dup", usage(5, 50)))
    parallel = {"GIT_TRACKER_PARALLEL_MIN_BYTES": "1"}
    out = json.loads(tracked.ok("ingest", "claude-logs", "--dir", str(claude), "--json", env=parallel))
    assert out["files_read"] == out["files"] > 2
    ids = {record["id"] for record in tracked.records("usage")}
    assert ledger_days(tracked) == reference_days(claude)
    # One process, from scratch, in a second clone: the same records, so the append adds nothing.
    tracked.git("clone", "-q", str(tracked.path), str(tmp_path / "other"))
    other = Sandbox(tmp_path / "other")
    other.git("fetch", "-q", "origin", "tracker-ledger:tracker-ledger")
    other.ok("init")
    alone = json.loads(other.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))
    assert alone["records_added"] == 0
    assert {record["id"] for record in other.records("usage")} == ids


def test_rounds_and_buckets_derive_the_same_records_as_one_table(tracked: Sandbox, tmp_path: Path) -> None:
    """Memory is bounded by reading in rounds and keeping the events in buckets by key: with tiny rounds and
    buckets (and the buckets split as the events grow), the records are the ones a single table derives,
    duplicates across rounds and buckets counted once."""
    claude = tmp_path / "claude"
    write_claude_transcripts(claude, ClaudeSpec(lines=1500, days=3, start=DAY0, projects=("/w/a", "/w/b")))
    first, *_, last = sorted(claude.rglob("*.jsonl"))
    with first.open("a") as handle:
        handle.write(assistant_line(DAY0, "msg_dup", "req_dup", usage(5, 5)))
    with last.open("a") as handle:
        handle.write(assistant_line(DAY0, "msg_dup", "req_dup", usage(5, 50)))
    for hour in (1, 5, 30):  # closed windows: their totals take the events at their edges one by one
        opened = DAY0 + timedelta(hours=hour, minutes=7, seconds=13)
        tracked.ok("start", "claude", "--used", "10", env={"GIT_TRACKER_NOW": iso(opened)})
        tracked.ok("end", "claude", "--used", "20", env={"GIT_TRACKER_NOW": iso(opened + timedelta(minutes=83))})
    small = {
        "GIT_TRACKER_ROUND_BYTES": "20000",
        "GIT_TRACKER_BUCKET_EVENTS": "100",
        "GIT_TRACKER_PARALLEL_MIN_BYTES": "1",
    }
    tracked.ok("ingest", "claude-logs", "--dir", str(claude), env=small)
    assert ledger_days(tracked) == reference_days(claude)
    assert len([r for r in tracked.records("usage") if r["granularity"] == "window"]) == 3
    buckets = next((tracked.path / ".git" / "tracker" / "ingest").glob("*.buckets"))
    planned = len(list(buckets.glob("*.*"))) - 1  # the bucket files, not the index
    assert planned >= 4 and not list(buckets.glob("spill.*"))
    ids = {record["id"] for record in tracked.records("usage")}

    # More of the same sessions, and new ones: the buckets split, and the totals still equal the reference.
    write_claude_transcripts(claude, ClaudeSpec(lines=3000, days=3, start=DAY0, projects=("/w/a", "/w/b"), seed=8))
    with last.open("a") as handle:
        handle.write(assistant_line(DAY0, "msg_dup", "req_dup", usage(5, 500)))
    tracked.ok("ingest", "claude-logs", "--dir", str(claude), env=small)
    assert ledger_days(tracked) == reference_days(claude)
    assert len(list(buckets.glob("*.*"))) - 1 > planned

    # One table, from scratch, in a second clone: the same records, so appending them adds nothing.
    tracked.git("clone", "-q", str(tracked.path), str(tmp_path / "other"))
    other = Sandbox(tmp_path / "other")
    other.git("fetch", "-q", "origin", "tracker-ledger:tracker-ledger")
    other.ok("init")
    alone = json.loads(other.ok("ingest", "claude-logs", "--dir", str(claude), "--json"))
    assert alone["records_added"] == 0 and ids <= {record["id"] for record in other.records("usage")}


def test_a_bad_ingest_setting_in_the_environment_is_one_line_and_writes_nothing(
    tracked: Sandbox, tmp_path: Path
) -> None:
    claude = tmp_path / "claude"
    write_claude_transcripts(claude, ClaudeSpec(lines=200, days=1, start=DAY0))
    tip = ledger_tip(tracked)
    for name in ("GIT_TRACKER_ROUND_BYTES", "GIT_TRACKER_BUCKET_EVENTS", "GIT_TRACKER_PARALLEL_MIN_BYTES"):
        for value in ("0", "-5", "lots", "1e6", chr(0x661)):  # the last: a digit int() takes, not ours
            bad = tracked.tracker("ingest", "claude-logs", "--dir", str(claude), env={name: value})
            assert bad.returncode == 2, (name, value, bad.stderr)
            assert bad.stderr.count("\n") == 1 and f"{name}: expected a whole number of at least 1" in bad.stderr
    assert ledger_tip(tracked) == tip
    assert not list((tracked.path / ".git" / "tracker" / "ingest").glob("*.buckets"))


def test_a_bad_line_in_a_parallel_reader_is_one_line_and_writes_nothing(tracked: Sandbox, tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    write_claude_transcripts(claude, ClaudeSpec(lines=600, days=1, start=DAY0))
    last = sorted(claude.rglob("*.jsonl"))[-1]
    with last.open("a") as handle:
        handle.write(
            '{"message":{"usage":{"input_tokens":1,"output_tokens":"x"}},"timestamp":"2026-06-01T08:00:00Z"}\n'
        )
    tip = ledger_tip(tracked)
    bad = tracked.tracker("ingest", "claude-logs", "--dir", str(claude), env={"GIT_TRACKER_PARALLEL_MIN_BYTES": "1"})
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert f"{last}:" in bad.stderr and "output_tokens to be a whole number" in bad.stderr
    assert ledger_tip(tracked) == tip
    assert not list((tracked.path / ".git" / "tracker" / "ingest").glob("*.buckets"))
    assert not current(tracked.records("usage"))


# -- gitfiles against git itself ----------------------------------------------------------------------


def rev_parse(path: Path, *args: str) -> list[str]:
    import subprocess

    done = subprocess.run(["git", "rev-parse", *args], cwd=path, capture_output=True, text=True, check=False)
    return done.stdout.split() if done.returncode == 0 else []


def test_gitfiles_finds_what_git_finds(tracked: Sandbox, tmp_path: Path) -> None:
    (tracked.path / "sub" / "dir").mkdir(parents=True)
    tracked.git("branch", "side")
    tracked.git("worktree", "add", "-q", str(tmp_path / "linked"), "side")
    for where in (tracked.path, tracked.path / "sub" / "dir", tmp_path / "linked"):
        top, common = rev_parse(where, "--show-toplevel", "--git-common-dir")
        found = gitfiles.find_repo(str(where))
        assert found is not None
        assert Path(found[0]).resolve() == Path(top).resolve()
        assert Path(found[1]).resolve() == (where / common).resolve()
    outside = tmp_path / "plain"
    outside.mkdir()
    assert gitfiles.find_repo(str(outside)) is None or rev_parse(outside, "--show-toplevel")
    common = str(tracked.path / ".git")
    for packed in (False, True):
        if packed:
            tracked.git("pack-refs", "--all")
        for branch in ("main", "side", git.LEDGER_REF.removeprefix("refs/heads/"), "missing"):
            expected = rev_parse(tracked.path, "-q", "--verify", f"refs/heads/{branch}")
            assert gitfiles.branch_tip(common, branch) == (True, expected[0] if expected else None)
    assert git.LEDGER_REF.removeprefix("refs/heads/") == logstate.LEDGER_BRANCH
    assert logstate.CONFIG_NAME == config.CONFIG_NAME
    assert logstate.EVENTS_INDEX_MAGIC == eventstore.INDEX_MAGIC


def test_gitfiles_leaves_unusual_repositories_to_git(tracked: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    common = tracked.path / ".git"
    (common / "refs" / "heads" / "odd").write_text("ref: refs/heads/main\n")
    assert gitfiles.branch_tip(str(common), "odd") == (False, None)
    (common / "reftable").mkdir()
    assert gitfiles.branch_tip(str(common), "main") == (False, None)
    monkeypatch.setenv("GIT_DIR", str(common))
    assert gitfiles.find_repo(str(tracked.path)) is None


@given(st.text(max_size=70))
def test_agent_id_rule_is_the_documented_pattern(text: str) -> None:
    assert valid_agent_id(text) == bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", text))


def test_quick_check_stays_light() -> None:
    """The quick path must not pull in what it exists to avoid (click, pygit2, json decoding of logs)."""
    import subprocess
    import sys

    code = (
        "import sys, gittracker.logstate, gittracker.entry; "
        "print(' '.join(sorted(m for m in ('click', 'pygit2', 'json', 'dataclasses', 'gittracker.usage') "
        "if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert done.stdout.strip() == ""
    assert shutil.which("git")  # the tests above that drop git from PATH need it to be there otherwise
