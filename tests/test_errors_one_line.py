"""Mistakes a new user makes get one line, exit 2, and nothing written (issue 11's first errors)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import Sandbox, tracker_command


def one_line_bad_input(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(done.stderr.splitlines()) == 1 and "internal error" not in done.stderr, done.stderr
    return done.stderr


def test_an_export_to_a_missing_folder_writes_nothing(tracked: Sandbox, tmp_path: Path) -> None:
    missing = tmp_path / "nodir" / "tc.csv"
    said = one_line_bad_input(tracked.tracker("export", "token-churn", "--out", str(missing)))
    assert "--out: expected a file in an existing folder" in said
    ok = tmp_path / "ok.csv"
    said = one_line_bad_input(tracked.tracker("export", "churn", "--out", str(ok), "--handoff", str(missing)))
    assert "--handoff: expected a file in an existing folder" in said
    assert not ok.exists()  # the CSV is not written when the hand-off cannot be
    said = one_line_bad_input(tracked.tracker("export", "churn", "--out", str(tmp_path)))
    assert "is a directory" in said
    done = tracked.tracker("export", "churn", "--handoff", str(tmp_path / "h.md"))
    assert one_line_bad_input(done) and done.stdout == ""  # refused before the CSV went to stdout


def test_demo_into_something_that_is_no_directory(sandbox: Sandbox, tmp_path: Path) -> None:
    assert "is not a directory" in one_line_bad_input(sandbox.tracker("demo", "/dev/null"))
    assert "is not a folder" in one_line_bad_input(sandbox.tracker("demo", str(tmp_path / "nope" / "deeper")))
    assert not (tmp_path / "nope").exists()


def test_a_missing_choice_is_one_line(tracked: Sandbox) -> None:
    said = one_line_bad_input(tracked.tracker("checkpoint"))
    assert "Missing option '--phase'. Choose from: plan, mid, final" in said
    said = one_line_bad_input(tracked.tracker("export"))
    assert "Choose from: token-churn, churn" in said


def test_a_long_note_is_named_by_its_option_and_not_echoed(tracked: Sandbox) -> None:
    said = one_line_bad_input(tracked.tracker("start", "codex", "--used", "1", "--note", "x" * 100_000))
    assert said.strip() == "git-tracker: --note: expected at most 4,096 characters, got 100,000"
    assert tracked.records() == []
    said = one_line_bad_input(tracked.tracker("start", "codex", "--used", "1", "--feature", "F-1\nF-2"))
    assert "--feature: expected one line of text, got a line break" in said
    tracked.ok("start", "codex", "--used", "1")
    said = one_line_bad_input(tracked.tracker("end", "codex", "--used", "2", "--note", "y" * 5000))
    assert "--note: expected at most 4,096 characters, got 5,000" in said
    assert tracked.records("window-close") == []


def test_statusline_help_is_a_success_on_stdout(tracked: Sandbox) -> None:
    done = subprocess.run([*tracker_command(), "statusline", "-h"], cwd=tracked.path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("usage: git tracker statusline") and done.stderr == ""


def write_settings(box: Sandbox, text: str) -> None:
    (box.path / ".git-tracker.toml").write_text(text)


def test_a_wrong_setting_names_the_file_the_key_and_what_it_must_be(tracked: Sandbox) -> None:
    for text, expected in [
        (
            '[tracker]\nauto_max_age_minutes = "x"\n',
            ".git-tracker.toml: tracker.auto_max_age_minutes: expected minutes",
        ),
        ('[stats]\nbaseline = "bogus"\n', '.git-tracker.toml: stats.baseline: expected "" or one of codex'),
        ("[stats]\nmde = nan\n", ".git-tracker.toml: stats.mde: expected a relative difference above 0"),
        ('[ingest]\ntimezone = "Mars/Olympus"\n', ".git-tracker.toml: ingest.timezone: expected an IANA zone"),
        ("[tracker]\nschema = 0\n", ".git-tracker.toml: tracker.schema: expected a layout version"),
        ('stats = "x"\n', ".git-tracker.toml: stats: expected a table"),
    ]:
        write_settings(tracked, text)
        said = one_line_bad_input(tracked.tracker("start", "codex", "--used", "1"))
        assert expected in said, (text, said)
        assert "reset_buffer_minutes, mde" not in said  # no longer names keys that are not the wrong one
    write_settings(tracked, "")
    assert tracked.records() == []


def test_an_unknown_setting_is_a_warning_and_the_rest_still_applies(tracked: Sandbox) -> None:
    write_settings(tracked, '[stats]\nbaseline = "claude"\nbasline = "codex"\n[capacity]\ncodex = "weekly"\n')
    done = tracked.tracker("start", "codex", "--used", "1", "--weekly", "5")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "git-tracker: warning: .git-tracker.toml: unknown setting stats.basline, ignored (docs/configuration.md)"
    ]
    tracked.ok("end", "codex", "--used", "3", "--weekly", "6")
    assert tracked.records("window-close")[0]["meter"] == "weekly"  # [capacity] still read
