"""A ledger holding what this version cannot use (other versions, other clones, hand edits) never stops the tool.

Every command reads the records it can, skips the rest and says so once; no statistic includes a skipped record.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gittracker import clock
from gittracker.records import (
    INVALID,
    MISPLACED,
    NEWER_INVALID,
    NEWER_UNKNOWN_KIND,
    NOT_A_RECORD,
    SCHEMA_VERSION,
    STAMP_FIELDS,
    UNKNOWN_KIND,
    UNREADABLE,
    Record,
    Skipped,
    describe_skipped,
    read_stored,
    record_path,
)
from tests.conftest import Sandbox


def stamp(kind: str, **body: Any) -> dict[str, Any]:
    """A stored record as another clone (or version) wrote it: schema 3 and later name their machine."""
    record = {
        "id": clock.new_id(),
        "kind": kind,
        "ts": clock.format_ts(clock.now()),
        "schema_version": SCHEMA_VERSION,
        "tool_version": "9.9.9",
        "source": "cli",
        "agent_id": "other",
        "machine": "otherclone23",
        **body,
    }
    if record["schema_version"] < 3:
        del record["machine"]
    return record


def at_its_path(record: dict[str, Any]) -> tuple[str, bytes]:
    return record_path(record["id"], record["kind"]), json.dumps(record).encode()


def foreign_ledger_files() -> dict[str, bytes]:
    """One of each thing a ledger may hold that this version cannot use."""
    day = record_path(clock.new_id(), "window-close").rsplit("/", 1)[0]
    newer_kind = stamp("proxy-event", schema_version=SCHEMA_VERSION + 1, tokens=12)
    old_unknown_kind = stamp("milestone", title="M-01")
    newer_provider = stamp(
        "window-close",
        schema_version=SCHEMA_VERSION + 1,
        window_id=clock.new_id(),
        provider="gemini",
        commit_start=None,
        commit_end=None,
        snapshot_id=clock.new_id(),
        opened_ts="2026-06-01T10:00:00.000Z",
        delta=50.0,
        unit="percent",
        errors=[],
        notes=[],
        feature_id=None,
        methodology=None,
        note=None,
    )
    conflict = b'<<<<<<< HEAD\n{"id": "x"}\n=======\n{"id": "y"}\n>>>>>>> theirs\n'
    return dict(
        [
            (f"{day}/{clock.new_id()}.json", b"\x00\xffgarbage\x01"),
            (f"{day.replace('window-close', 'snapshot')}/{clock.new_id()}.json", conflict),
            at_its_path(newer_kind),
            at_its_path(old_unknown_kind),
            at_its_path(newer_provider),
            ("README.md", b"# the ledger of git-tracker\n"),
        ]
    )


EXPECTED_WARNING = (
    "git-tracker: warning: 6 ledger records skipped (2 unreadable, 1 from a newer version, 1 not a record file, "
    "1 unknown kind, 1 unknown kind from a newer version); git tracker doctor"
)


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "warning" in line]


def test_every_command_works_on_a_ledger_with_foreign_records_and_warns_once(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit()
    tracked.ok("end", "codex", "--used", "30")
    tracked.ok("complete", "--outcome", "shipped", "--quality", "1")
    tracked.write_ledger_files(foreign_ledger_files())
    usable_before = len(tracked.records())

    commands = [
        ["log"],
        ["log", "--json"],
        ["start", "codex", "--used", "40"],
        ["end", "codex", "--used", "55"],
        ["complete", "--outcome", "partial", "--quality", "0.5"],
        ["preview"],
        ["preview", "--json"],
        ["decide"],
        ["export", "churn"],
        ["export", "token-churn"],
        ["anomalies"],
        ["status"],
    ]
    for args in commands:
        done = tracked.tracker(*args)
        assert done.returncode == 0, (args, done.stderr)
        seen = warnings_of(done.stderr)
        if args[0] == "status":
            continue  # reads this machine's state, not the ledger
        # Each command says it once, whatever it read; what was read whole names all six.
        assert len(seen) == 1 and seen[0].endswith("; git tracker doctor"), (args, done.stderr)
        if args[0] == "log" or args == ["export", "churn"]:
            assert seen == [EXPECTED_WARNING], (args, done.stderr)
        else:  # a read of some kinds still reports whatever is no record of a known kind
            assert "1 unknown kind, 1 unknown kind from a newer version" in seen[0], (args, done.stderr)

    assert len(tracked.records()) == usable_before + 5  # the second window's 2 + 2 + 1, nothing foreign
    preview = json.loads(tracked.ok("preview", "--json"))
    assert set(preview["providers"]) == {"codex"}  # the newer version's "gemini" window is not counted
    assert preview["providers"]["codex"]["capacity_used"] == 20 + 15
    assert any("skipped" in note for note in preview["notes"])


def test_log_all_lists_what_this_version_cannot_use_as_stored(tracked: Sandbox) -> None:
    tracked.ok("snapshot", "codex", "--used", "5")
    files = foreign_ledger_files()
    tracked.write_ledger_files(files)
    shown = [json.loads(line) for line in tracked.ok("log", "--all", "--json").splitlines()]
    kinds = sorted(item["kind"] for item in shown)
    assert kinds == ["milestone", "proxy-event", "snapshot", "window-close"]
    stored = {json.dumps(json.loads(content), sort_keys=True) for content in files.values() if content[:1] == b"{"}
    assert {json.dumps(item, sort_keys=True) for item in shown if item["kind"] != "snapshot"} == stored
    assert [item["id"] for item in shown] == sorted(item["id"] for item in shown)
    text = tracked.ok("log", "--all", "--kind", "proxy-event")
    assert "proxy-event" in text and "[skipped: unknown kind from a newer version]" in text and "tokens=12" in text
    assert tracked.tracker("log", "--kind", "proxy-event").returncode == 2  # only with --all


def test_a_newer_records_extra_fields_are_kept_and_its_known_fields_used(tracked: Sandbox) -> None:
    tracked.ok("start", "glm", "--prompts", "10")
    tracked.ok("end", "glm", "--prompts", "25")
    close = tracked.records("window-close")[0]
    newer = {**close, "id": clock.new_id(), "schema_version": SCHEMA_VERSION + 1, "cost_per_prompt": 0.01}
    completion = stamp(
        "completion", window_id=close["window_id"], outcome="shipped", quality_score=1.0, feature_id=None
    )
    tracked.write_ledger_files(dict([at_its_path(newer), at_its_path(completion)]))
    done = tracked.tracker("log", "--json", "--kind", "window-close")
    assert done.returncode == 0 and warnings_of(done.stderr) == []
    assert json.loads(done.stdout.splitlines()[-1])["cost_per_prompt"] == 0.01


def test_reasons_are_told_apart() -> None:
    good = stamp("void", target_id=clock.new_id(), reason="undo-before")
    path, content = at_its_path(good)
    assert isinstance(read_stored(path, content), Record)
    cases = {
        NOT_A_RECORD: ("notes/README.md", content),
        UNREADABLE: (path, b'{"id": '),
        MISPLACED: (path.replace("void/", "anomaly/"), content),
        INVALID: (path, json.dumps({**good, "reason": 7}).encode()),
        NEWER_INVALID: (path, json.dumps({**good, "schema_version": SCHEMA_VERSION + 1, "reason": 7}).encode()),
        UNKNOWN_KIND: at_its_path(stamp("bank")),
        NEWER_UNKNOWN_KIND: at_its_path(stamp("bank", schema_version=SCHEMA_VERSION + 1)),
    }
    for reason, (where, data) in cases.items():
        found = read_stored(where, data)
        assert isinstance(found, Skipped) and found.reason == reason, (reason, found)
    assert describe_skipped(["b", "a", "b"]) == "3 ledger records skipped (2 b, 1 a)"
    assert describe_skipped(["a"]) == "1 ledger record skipped (1 a)"


@given(path=st.text(max_size=60), data=st.binary(max_size=300))
def test_reading_a_stored_file_never_raises(path: str, data: bytes) -> None:
    assert isinstance(read_stored(path, data), Record | Skipped)


@given(body=st.dictionaries(st.text(max_size=12), st.none() | st.integers() | st.text(max_size=8), max_size=6))
def test_any_object_at_a_record_path_is_a_record_or_skipped_with_a_reason(body: dict[str, Any]) -> None:
    record = {**stamp("snapshot"), **{key: value for key, value in body.items() if key not in STAMP_FIELDS}}
    path, content = at_its_path(record)
    found = read_stored(path, content)
    assert isinstance(found, Record) or found.reason in (INVALID, UNREADABLE)


def test_nothing_is_written_while_the_ledger_branch_is_checked_out(tracked: Sandbox) -> None:
    tracked.ok("start", "codex", "--used", "10")
    tracked.commit()
    tracked.ok("end", "codex", "--used", "30")
    before = tracked.git("ls-tree", "-r", "--name-only", "tracker-ledger").split()
    tip = tracked.git("rev-parse", "tracker-ledger").strip()
    elsewhere = tracked.path.parent / "ledger-checkout"
    tracked.git("worktree", "add", "-q", str(elsewhere), "tracker-ledger")

    for args in (["start", "claude", "--used", "5"], ["complete", "--outcome", "shipped", "--quality", "1"]):
        done = tracked.tracker(*args)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and f"checked out in {elsewhere.resolve()}" in done.stderr
    assert tracked.git("rev-parse", "tracker-ledger").strip() == tip
    assert "no open windows" in tracked.ok("status")  # the refused start left no window behind

    # Someone commits on the checked-out ledger by hand: every record is still there afterwards.
    (elsewhere / "README.md").write_text("what this branch is\n")
    subprocess.run(["git", "add", "README.md"], cwd=elsewhere, check=True)
    subprocess.run(["git", "commit", "-qm", "explain the ledger"], cwd=elsewhere, check=True)
    after = tracked.git("ls-tree", "-r", "--name-only", "tracker-ledger").split()
    assert set(before) <= set(after) and set(after) - set(before) == {"README.md"}

    tracked.git("worktree", "remove", str(elsewhere))
    tracked.ok("complete", "--outcome", "shipped", "--quality", "1")
    assert len(tracked.records("completion")) == 1
    # The main work tree counts too.
    tracked.git("checkout", "-q", "tracker-ledger")
    done = tracked.tracker("snapshot", "codex", "--used", "40")
    assert done.returncode == 1 and f"checked out in {tracked.path.resolve()}" in done.stderr
    tracked.git("checkout", "-q", "main")
    tracked.ok("snapshot", "codex", "--used", "40")
