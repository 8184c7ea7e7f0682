"""Standing jobs: the schedule file, `schedule check`, `schedule cron [--systemd]` and `timer --once`, on real
repositories through the installed console script (docs/autocapture.md, "Standing jobs")."""

from __future__ import annotations

import configparser
import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gittracker.errors import BadInput
from gittracker.jobs.schedule import DAY_NAMES, JOB_NAMES, JOB_OPTIONS, parse_schedule
from tests.conftest import Sandbox, tracker_command

SCHEDULE = ".git-tracker-schedule.toml"


def at(moment: str) -> dict[str, str]:
    return {"GIT_TRACKER_NOW": moment}


def write_schedule(box: Sandbox, text: str, name: str = SCHEDULE) -> Path:
    path = box.path / name
    path.write_text(text)
    return path


def timer(box: Sandbox, moment: str, *args: str, code: int = 0) -> dict[str, Any]:
    done = box.tracker("timer", "--once", "--json", *args, env=at(moment))
    assert done.returncode == code, f"timer -> {done.returncode}: {done.stdout}{done.stderr}"
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {job["id"]: job for job in report["jobs"]}


def checkpoints(box: Sandbox) -> list[dict[str, Any]]:
    return box.records("checkpoint")


def local_files(box: Sandbox) -> dict[str, bytes]:
    """Everything under .git/tracker, and the ledger's tip: what "nothing written" compares."""
    tracker = box.path / ".git" / "tracker"
    files = {str(p.relative_to(tracker)): p.read_bytes() for p in sorted(tracker.rglob("*")) if p.is_file()}
    files["<ledger tip>"] = box.git("rev-parse", "-q", "--verify", "tracker-ledger", check=False).encode()
    return files


def transcript(path: Path, moments: list[str]) -> None:
    """A Claude Code transcript with one assistant message (with usage) at each moment."""
    lines = []
    for number, moment in enumerate(moments):
        usage = {"input_tokens": 100 * (number + 1), "output_tokens": 10}
        message = {"id": f"{path.stem}-m{number}", "model": "claude-sonnet-4-5", "role": "assistant", "usage": usage}
        line = {
            "type": "assistant",
            "timestamp": moment,
            "sessionId": "s1",
            "cwd": "/w/p",
            "requestId": f"{path.stem}-r{number}",
        }
        lines.append(json.dumps({**line, "message": message}) + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))


# -- timer --once: each due job once per slot ---------------------------------------------------------------------

CHECKPOINT_EVERY_15 = 'timezone = "UTC"\n\n[[job]]\nname = "checkpoint"\nevery = "15m"\n'


def test_timer_runs_a_due_job_once_per_slot_and_again_in_the_next(tracked: Sandbox) -> None:
    write_schedule(tracked, CHECKPOINT_EVERY_15)
    tracked.ok("start", "claude", "--used", "10", env=at("2026-06-01T10:01:00Z"))
    tracked.commit()
    first = by_id(timer(tracked, "2026-06-01T10:07:00Z"))["checkpoint"]
    assert first["status"] == "ran" and first["slot"] == "2026-06-01T10:00:00.000Z", first
    assert first["added"] == 1 and len(first["windows"]) == 1
    again = by_id(timer(tracked, "2026-06-01T10:07:40Z"))["checkpoint"]
    assert again["status"] == "done" and again["slot"] == first["slot"] and again["next"] == "2026-06-01T10:15:00.000Z"
    later_in_slot = by_id(timer(tracked, "2026-06-01T10:14:59Z"))["checkpoint"]
    assert later_in_slot["status"] == "done"
    records = checkpoints(tracked)
    assert len(records) == 1 and records[0]["window_id"] == first["windows"][0]
    assert records[0]["source"] == "automation" and records[0]["phase"] == "mid" and records[0]["commits"] == 1
    following = by_id(timer(tracked, "2026-06-01T10:15:00Z"))["checkpoint"]
    assert following["status"] == "ran" and following["slot"] == "2026-06-01T10:15:00.000Z"
    assert len(checkpoints(tracked)) == 2


def test_checkpoint_jobs_choose_agents_and_providers(tracked: Sandbox) -> None:
    write_schedule(
        tracked,
        'timezone = "UTC"\n[[job]]\nname = "checkpoint"\nid = "claude-only"\nevery = "1h"\nproviders = ["claude"]\n'
        '[[job]]\nname = "checkpoint"\nid = "agent-b"\nevery = "1h"\nagents = ["b"]\nphase = "plan"\n',
    )
    for agent, provider in (("a", "claude"), ("b", "claude"), ("b", "codex")):
        tracked.ok("start", provider, "--used", "10", env={**at("2026-06-01T10:01:00Z"), "AGENT_ID": agent})
    report = by_id(timer(tracked, "2026-06-01T10:02:00Z"))
    assert report["claude-only"]["added"] == 2 and report["agent-b"]["added"] == 2
    written = sorted((r["agent_id"], r["provider"], r["phase"]) for r in checkpoints(tracked))
    assert written == [("a", "claude", "mid"), ("b", "claude", "mid"), ("b", "claude", "plan"), ("b", "codex", "plan")]


def test_text_output_is_one_line_per_job(tracked: Sandbox) -> None:
    write_schedule(tracked, CHECKPOINT_EVERY_15 + '\n[[job]]\nname = "ingest-codex-sessions"\nat = "18:00"\n')
    tracked.ok("start", "claude", "--used", "10", env=at("2026-06-01T10:01:00Z"))
    done = tracked.tracker("timer", "--once", env=at("2026-06-01T10:02:00Z"))
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 3, lines
    assert re.fullmatch(
        r"checkpoint: ran for the slot of 2026-06-01T10:00:00\.000Z: 1 mid checkpoint\(s\): .*", lines[0]
    )
    assert lines[1] == "ingest-codex-sessions: not due (next 2026-06-01T18:00:00.000Z)"
    assert lines[2].startswith("close-idle: ")


def test_an_at_job_runs_within_its_hour_and_not_after(tracked: Sandbox, tmp_path: Path) -> None:
    config = tmp_path / "claude-config"
    transcript(config / "projects" / "-w-p" / "s1.jsonl", ["2026-06-01T09:00:00.000Z", "2026-06-01T09:30:00.000Z"])
    write_schedule(
        tracked,
        f'timezone = "UTC"\n[[job]]\nname = "ingest-claude-logs"\nat = ["12:00", "18:00"]\ndirs = ["{config}"]\n',
    )
    assert by_id(timer(tracked, "2026-06-01T11:59:00Z"))["ingest-claude-logs"]["status"] == "not-due"
    ran = by_id(timer(tracked, "2026-06-01T12:40:00Z"))["ingest-claude-logs"]
    assert ran["status"] == "ran" and ran["slot"] == "2026-06-01T12:00:00.000Z", ran
    usage = tracked.records("usage")
    assert ran["added"] == len(usage) > 0
    assert by_id(timer(tracked, "2026-06-01T12:41:00Z"))["ingest-claude-logs"]["status"] == "done"
    missed = by_id(timer(tracked, "2026-06-01T19:00:00Z"))["ingest-claude-logs"]  # 18:00 + 1 h has passed
    assert missed["status"] == "not-due" and missed["next"] == "2026-06-02T12:00:00.000Z"
    transcript(config / "projects" / "-w-p" / "s2.jsonl", ["2026-06-02T08:00:00.000Z"])
    next_day = by_id(timer(tracked, "2026-06-02T12:00:00Z"))["ingest-claude-logs"]
    assert next_day["status"] == "ran" and next_day["added"] > 0
    assert len(tracked.records("usage")) == len(usage) + next_day["added"]


def test_days_and_zone_decide_the_slots(tracked: Sandbox) -> None:
    """At 09:00 in Berlin (UTC+2 in June) on weekdays: Monday 07:00Z runs, Saturday does not."""
    write_schedule(
        tracked,
        'timezone = "Europe/Berlin"\n[[job]]\nname = "checkpoint"\nat = "09:00"\ndays = "weekdays"\nwithin = "2h"\n',
    )
    tracked.ok("start", "codex", "--used", "5", env=at("2026-06-01T06:00:00Z"))  # Monday
    assert by_id(timer(tracked, "2026-06-01T06:59:00Z"))["checkpoint"]["status"] == "not-due"
    assert by_id(timer(tracked, "2026-06-01T08:59:00Z"))["checkpoint"]["status"] == "ran"
    saturday = by_id(timer(tracked, "2026-06-06T07:30:00Z"))["checkpoint"]
    assert saturday["status"] == "not-due" and saturday["next"] == "2026-06-08T07:00:00.000Z"
    assert len(checkpoints(tracked)) == 1


def test_a_failing_job_is_reported_and_the_others_still_run(tracked: Sandbox, tmp_path: Path) -> None:
    missing = tmp_path / "no-codex-here"
    write_schedule(
        tracked,
        f'timezone = "UTC"\n[[job]]\nname = "ingest-codex-sessions"\nevery = "1h"\ndirs = ["{missing}"]\n\n'
        + CHECKPOINT_EVERY_15.split("\n", 2)[2],
    )
    tracked.ok("start", "claude", "--used", "10", env=at("2026-06-01T10:00:00Z"))
    done = tracked.tracker("timer", "--once", env=at("2026-06-01T10:05:00Z"))
    assert done.returncode == 2, done.stderr  # the failed job's bad input, from the one exit-code table
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(
        "git-tracker: ingest-codex-sessions failed for the slot of 2026-06-01T10:00:00.000Z: "
    )
    assert "expected a Codex home" in done.stderr
    assert "checkpoint: ran for the slot of" in done.stdout
    assert len(checkpoints(tracked)) == 1
    # Recorded for its slot: not tried again every minute, but in its next slot.
    report = timer(tracked, "2026-06-01T10:06:00Z")
    assert by_id(report)["ingest-codex-sessions"]["status"] == "done"
    report = timer(tracked, "2026-06-01T11:00:00Z", code=2)
    failed = by_id(report)["ingest-codex-sessions"]
    assert failed["status"] == "failed" and failed["exit_code"] == 2 and "expected a Codex home" in failed["detail"]


def test_without_a_schedule_only_close_idle_runs(tracked: Sandbox) -> None:
    report = timer(tracked, "2026-06-01T10:00:00Z")
    assert report["schedule"] is None
    (job,) = report["jobs"]
    assert job["job"] == "close-idle" and job["slot"] == "2026-06-01T10:00:00.000Z"
    assert job["status"] == "ran", job
    assert timer(tracked, "2026-06-01T10:00:30Z")["jobs"][0]["status"] == "done"


def test_the_clone_s_own_schedule_wins_over_the_repository_s(tracked: Sandbox) -> None:
    write_schedule(tracked, CHECKPOINT_EVERY_15)
    local = tracked.path / ".git" / "tracker" / "schedule.toml"
    local.write_text('timezone = "UTC"\n[[job]]\nname = "checkpoint"\nid = "hourly"\nevery = "1h"\n')
    report = timer(tracked, "2026-06-01T10:20:00Z")
    assert report["schedule"] == str(local)
    assert [job["id"] for job in report["jobs"]] == ["hourly", "close-idle"]
    explicit = timer(tracked, "2026-06-01T10:20:00Z", "--schedule", SCHEDULE)
    assert [job["id"] for job in explicit["jobs"]] == ["checkpoint", "close-idle"]


def test_a_schedule_that_is_no_regular_file_is_refused_without_waiting(tracked: Sandbox, tmp_path: Path) -> None:
    """A pulled symlink to a FIFO would block a reader forever, and cron starts a timer every minute."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tracked.path / SCHEDULE).symlink_to(fifo)
    done = subprocess.run(
        [*tracker_command(), "timer", "--once"], cwd=tracked.path, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and "expected a schedule file (TOML), but it is not a regular file" in done.stderr


def test_timer_needs_once(tracked: Sandbox) -> None:
    done = tracked.tracker("timer")
    assert done.returncode == 2 and "expected --once" in done.stderr and done.stderr.count("\n") == 1


# -- two timers at once --------------------------------------------------------------------------------------------


def test_two_concurrent_timers_run_each_job_once(tracked: Sandbox) -> None:
    write_schedule(tracked, CHECKPOINT_EVERY_15)
    tracked.ok("start", "claude", "--used", "10", env=at("2026-06-01T10:01:00Z"))
    tracked.ok("start", "codex", "--used", "20", env=at("2026-06-01T10:01:00Z"))
    env = {**os.environ, **at("2026-06-01T10:07:00Z")}
    command = [*tracker_command(), "timer", "--once", "--json"]
    runs = [subprocess.Popen(command, cwd=tracked.path, env=env, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0]
    statuses = sorted(by_id(json.loads(out))["checkpoint"]["status"] for out in outputs)
    assert statuses.count("ran") == 1 and set(statuses) <= {"ran", "busy", "done"}, statuses
    assert sorted(r["provider"] for r in checkpoints(tracked)) == ["claude", "codex"]


def test_a_job_another_timer_holds_is_left_to_it(tracked: Sandbox) -> None:
    write_schedule(tracked, CHECKPOINT_EVERY_15)
    tracked.ok("start", "claude", "--used", "10", env=at("2026-06-01T10:01:00Z"))
    lock = tracked.path / ".git" / "tracker" / "timer" / "checkpoint.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        busy = by_id(timer(tracked, "2026-06-01T10:07:00Z"))["checkpoint"]
        fcntl.flock(handle, fcntl.LOCK_UN)
    assert busy["status"] == "busy" and checkpoints(tracked) == []
    assert by_id(timer(tracked, "2026-06-01T10:08:00Z"))["checkpoint"]["status"] == "ran"


# -- a schedule or settings file that arrives with `git pull` runs no program --------------------------------------

HOSTILE = [
    ('[[job]]\nname = "/bin/sh"\nevery = "1m"\n', "[[job]] 1, key name: expected one of ingest-claude-logs"),
    ('[[job]]\nname = "checkpoint; touch {marker}"\nevery = "1m"\n', "key name: expected one of"),
    ('[[job]]\nname = "checkpoint"\nevery = "1m"\ncommand = "touch {marker}"\n', ":4: [[job]] 1, key command: "),
    ('[[job]]\nname = "close-idle"\nrun = ["touch", "{marker}"]\n', "key run: expected one of the keys a close-idle"),
    ('[[job]]\nname = "ingest-claude-logs"\nevery = "1m"\ndirs = ["/tmp/$(touch {marker})"]\n', "key dirs: expected"),
    ('[[job]]\nname = "ingest-codex-sessions"\nevery = "1m"\ndirs = ["/tmp; touch {marker}"]\n', "key dirs: expected"),
    ('[[job]]\nname = "ingest-codex-sessions"\nevery = "1m"\ndirs = ["`touch {marker}`"]\n', "key dirs: expected"),
    ('[[job]]\nname = "checkpoint"\nevery = "1m"\nphase = "$(touch {marker})"\n', "key phase: expected"),
    ('[[job]]\nname = "checkpoint"\nevery = "1m; touch {marker}"\n', "key every: expected"),
    ('[[job]]\nname = "checkpoint"\nid = "../../hooks/post-commit"\nevery = "1m"\n', "key id: expected a job id"),
    ('[[job]]\nname = "checkpoint"\nevery = "1m"\nagents = ["main; touch {marker}"]\n', "key agents: expected"),
    ('hook = "touch {marker}"\n[[job]]\nname = "checkpoint"\nevery = "1m"\n', ":1: hook: expected one of the keys"),
    ('[[window]]\nprovider = "claude"\nat = "09:00"\nduration = "1h"\nexec = "touch {marker}"\n', "key exec: "),
]


@pytest.fixture
def pulled(tracked: Sandbox, tmp_path: Path) -> tuple[Sandbox, Sandbox]:
    """The tracked repository and a teammate's clone, both on one bare remote."""
    remote = tmp_path / "remote.git"
    tracked.git("init", "-q", "--bare", str(remote))
    tracked.git("remote", "add", "origin", str(remote))
    tracked.git("push", "-q", "origin", "main")
    tracked.git("branch", "-q", "--set-upstream-to", "origin/main")
    mate = Sandbox(tmp_path / "mate")
    tracked.git("clone", "-q", str(remote), str(mate.path))
    return tracked, mate


def push_from(mate: Sandbox, files: dict[str, str]) -> None:
    for name, text in files.items():
        (mate.path / name).write_text(text)
        mate.git("add", name)
    mate.git("commit", "-q", "-m", "a schedule for everyone")
    mate.git("push", "-q", "origin", "main")


@pytest.mark.parametrize(("text", "expected"), HOSTILE)
def test_a_pulled_schedule_cannot_make_timer_run_a_program(
    pulled: tuple[Sandbox, Sandbox], tmp_path: Path, text: str, expected: str
) -> None:
    box, mate = pulled
    marker = tmp_path / "ran-a-program"
    push_from(mate, {SCHEDULE: text.replace("{marker}", str(marker))})
    box.git("pull", "-q")
    assert (box.path / SCHEDULE).exists()
    before = local_files(box)
    for args in (["timer", "--once"], ["timer", "--once", "--json"], ["schedule", "check", SCHEDULE]):
        done = box.tracker(*args, env=at("2026-06-01T10:00:00Z"))
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith(f"git-tracker: {box.path / SCHEDULE}") or args[0] == "schedule"
        assert expected in done.stderr, done.stderr
    assert not marker.exists()
    assert local_files(box) == before  # refused whole: no job ran, no slot was recorded


def test_pulled_settings_cannot_make_timer_run_a_program(pulled: tuple[Sandbox, Sandbox], tmp_path: Path) -> None:
    """`.git-tracker.toml` has no setting that names a program: unknown tables are warned about and ignored."""
    box, mate = pulled
    marker = tmp_path / "ran-a-program"
    settings = (box.path / ".git-tracker.toml").read_text()
    hostile = f'\n[timer]\ncommand = "touch {marker}"\n\n[schedule]\njob = "sh -c \'touch {marker}\'"\n'
    push_from(mate, {".git-tracker.toml": settings + hostile, SCHEDULE: CHECKPOINT_EVERY_15})
    box.git("pull", "-q")
    box.ok("start", "claude", "--used", "10", env=at("2026-06-01T10:01:00Z"))
    done = box.tracker("timer", "--once", env=at("2026-06-01T10:02:00Z"))
    assert done.returncode == 0, done.stderr
    assert "unknown setting timer.command, ignored" in done.stderr
    assert "checkpoint: ran" in done.stdout
    assert not marker.exists()


# -- schedule check ----------------------------------------------------------------------------------------------

WINDOWS = 'timezone = "UTC"\n[[window]]\nprovider = "claude"\nat = "{at}"\nduration = "{duration}"\n'


def expected_conflicts(reset: datetime, period: timedelta, starts: list[datetime], length: timedelta) -> list[str]:
    """Independently: the captures (start, end) whose time since the reset, modulo the period, is under 5 minutes."""
    found = []
    for start in starts:
        for capture, moment in (("start", start), ("end", start + length)):
            if (moment - reset) % period < timedelta(minutes=5):
                found.append(f"{capture} {moment:%Y-%m-%dT%H:%M}")
    return found


def test_schedule_check_flags_captures_inside_the_reset_buffer(tracked: Sandbox) -> None:
    now = datetime(2026, 6, 1, 10, 7, tzinfo=UTC)
    reset = datetime(2026, 6, 1, 13, 58, tzinfo=UTC)
    tracked.ok("snapshot", "claude", "--used", "40", "--resets-at", "2026-06-01T13:58:00Z", env=at(now.isoformat()))
    write_schedule(tracked, WINDOWS.format(at="14:00", duration="3h"))
    done = tracked.tracker("schedule", "check", SCHEDULE, "--json", env=at(now.isoformat()))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    starts = [datetime(2026, 6, 1 + day, 14, 0, tzinfo=UTC) for day in range(7)]
    expected = expected_conflicts(reset, timedelta(hours=5), starts, timedelta(hours=3))
    assert expected  # the case has conflicts to find: 14:00 itself, 2 minutes after the reset
    found = [f"{c['capture']} {c['at'][:16]}" for c in report["conflicts"]]
    assert found == expected
    first = report["conflicts"][0]
    assert first["meter"] == "five_hour" and first["reset"] == "2026-06-01T13:58:00.000Z"
    assert first["minutes_after"] == 2 and first["window"] == 1 and first["provider"] == "claude"
    assert report["captures"] == 14 and report["unknown_resets"] == []
    text = tracked.tracker("schedule", "check", SCHEDULE, env=at(now.isoformat()))
    assert text.returncode == 1
    assert "conflict: window 1 (claude at 14:00 for 3h) start at 2026-06-01T14:00:00.000Z: 2 min after" in text.stdout
    assert text.stdout.rstrip().endswith(f"{len(expected)} capture(s) inside the reset buffer")


def test_schedule_check_passes_a_schedule_clear_of_the_buffer(tracked: Sandbox) -> None:
    now = "2026-06-01T10:07:00Z"
    tracked.ok("snapshot", "codex", "--weekly", "40", "--weekly-resets-at", "2026-06-03T08:58:00Z", env=at(now))
    write_schedule(tracked, WINDOWS.replace("claude", "codex").format(at="09:30", duration="1h"))
    done = tracked.tracker("schedule", "check", SCHEDULE, "--json", env=at(now))
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["conflicts"] == []
    # 09:00 on the day of the weekly reset is 2 minutes after it; the buffer set to 1 minute clears it again.
    write_schedule(tracked, WINDOWS.replace("claude", "codex").format(at="09:00", duration="1h"))
    report = json.loads(tracked.tracker("schedule", "check", SCHEDULE, "--json", env=at(now)).stdout)
    assert [(c["at"], c["meter"]) for c in report["conflicts"]] == [("2026-06-03T09:00:00.000Z", "weekly")]
    settings = tracked.path / ".git-tracker.toml"
    settings.write_text(settings.read_text().replace("reset_buffer_minutes = 5", "reset_buffer_minutes = 1"))
    assert tracked.tracker("schedule", "check", SCHEDULE, env=at(now)).returncode == 0


def test_schedule_check_says_which_providers_it_could_not_check(tracked: Sandbox) -> None:
    write_schedule(tracked, WINDOWS.format(at="09:00", duration="1h"))
    done = tracked.tracker("schedule", "check", SCHEDULE, "--json", env=at("2026-06-01T10:00:00Z"))
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert report["unknown_resets"] == ["claude"] and report["conflicts"] == []
    assert [job["job"] for job in report["jobs"]] == ["close-idle"]


# -- schedule cron ---------------------------------------------------------------------------------------------------

CRON_FIELDS = [(0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, {}), (0, 7, {d: i for i, d in enumerate(DAY_NAMES)})]


def valid_cron_field(text: str, low: int, high: int, names: dict[str, int]) -> bool:
    """One time field as crontab(5) defines it: `*` or ranges and numbers, comma-separated, each with a /step."""
    for item in text.split(","):
        spec, _, step = item.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return False
        if spec == "*":
            continue
        bounds = spec.split("-")
        if len(bounds) > 2:
            return False
        values = [names.get(b.lower(), int(b) if b.isdigit() else -1) for b in bounds]
        if any(not low <= value <= high for value in values) or values != sorted(values):
            return False
    return True


def crontab_entries(text: str) -> list[tuple[list[str], str]]:
    """The entries of a crontab: each line not blank or a comment has five valid time fields and a command."""
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6, line
        for field, (low, high, names) in zip(fields[:5], CRON_FIELDS, strict=True):
            assert valid_cron_field(field, low, high, names), (field, line)
        entries.append((fields[:5], fields[5]))
    return entries


def as_cron_runs_it(command: str) -> str:
    """cron's treatment of the command field: an unescaped % ends the command, \\% is a literal %."""
    unescaped = re.split(r"(?<!\\)%", command)[0]
    assert unescaped == command, "an unescaped % would cut the command"
    return command.replace("\\%", "%")


@pytest.fixture
def odd_repo(tmp_path: Path) -> Sandbox:
    """A tracked repository in a folder whose name needs quoting for sh, cron and systemd."""
    box = Sandbox(tmp_path / "my work 100% $HOME")
    box.path.mkdir()
    box.git("init", "-q")
    box.commit("README.md")
    box.ok("init")
    return box


def test_schedule_cron_prints_a_crontab_line_that_runs_the_timer(odd_repo: Sandbox) -> None:
    write_schedule(odd_repo, CHECKPOINT_EVERY_15)
    odd_repo.ok("start", "claude", "--used", "10", env=at("2026-06-01T10:01:00Z"))
    text = odd_repo.ok("schedule", "cron", SCHEDULE)
    ((times, command),) = crontab_entries(text)
    assert times == ["*"] * 5
    # Run it as cron would: sh -c, from HOME, with cron's PATH; the timer runs in the repository.
    env = {**os.environ, "PATH": "/usr/bin:/bin", **at("2026-06-01T10:07:00Z")}
    done = subprocess.run(["/bin/sh", "-c", as_cron_runs_it(command)], cwd=Path.home(), env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""  # stdout goes nowhere: cron mails only what fails
    assert len(odd_repo.records("checkpoint")) == 1
    argv = shlex.split(as_cron_runs_it(command).split(" && ", 1)[1].removesuffix(" >/dev/null"))
    assert Path(argv[0]).is_absolute() and argv[1:] == ["timer", "--once", "--schedule", str(odd_repo.path / SCHEDULE)]


def systemd_units(text: str) -> dict[str, str]:
    """The unit files the output holds, by name: each starts at its `# file:` line."""
    units: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        found = re.match(r"^# file: ~/\.config/systemd/user/(\S+)$", line)
        if found:
            name = found.group(1)
            units[name] = ""
        elif name is not None and not line.startswith("# "):
            units[name] += line + "\n"
    return units


def test_schedule_cron_systemd_prints_a_service_and_a_timer(odd_repo: Sandbox) -> None:
    write_schedule(odd_repo, CHECKPOINT_EVERY_15)
    units = systemd_units(odd_repo.ok("schedule", "cron", SCHEDULE, "--systemd"))
    assert len(units) == 2
    service_name = next(name for name in units if name.endswith(".service"))
    timer_name = next(name for name in units if name.endswith(".timer"))
    assert service_name.removesuffix(".service") == timer_name.removesuffix(".timer")
    service, timer_unit = (configparser.ConfigParser(interpolation=None) for _ in range(2))
    for parser, name in ((service, service_name), (timer_unit, timer_name)):
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
        parser.read_string(units[name])
    assert service.sections() == ["Unit", "Service"] and timer_unit.sections() == ["Unit", "Timer", "Install"]
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["WorkingDirectory"].replace("%%", "%") == str(odd_repo.path)
    argv = shlex.split(service["Service"]["ExecStart"].replace("%%", "%").replace("$$", "$"))
    assert argv[1:] == ["timer", "--once", "--schedule", str(odd_repo.path / SCHEDULE)]
    assert os.access(argv[0], os.X_OK)
    assert timer_unit["Timer"]["OnCalendar"] == "*-*-* *:*:00" and timer_unit["Timer"]["Unit"] == service_name
    assert timer_unit["Install"]["WantedBy"] == "timers.target"


def test_systemd_analyze_accepts_the_units(odd_repo: Sandbox, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not on this machine: the units are checked by the parse test only")
    write_schedule(odd_repo, CHECKPOINT_EVERY_15)
    units = systemd_units(odd_repo.ok("schedule", "cron", SCHEDULE, "--systemd"))
    folder = tmp_path / "units"
    folder.mkdir()
    for name, text in units.items():
        (folder / name).write_text(text)
    paths = [str(folder / name) for name in sorted(units)]
    done = subprocess.run([analyze, "verify", "--man=no", *paths], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    calendar = subprocess.run([analyze, "calendar", "*-*-* *:*:00"], capture_output=True, text=True)
    assert calendar.returncode == 0 and "Normalized form: *-*-* *:*:00" in calendar.stdout


def test_schedule_options_belong_to_their_action(tracked: Sandbox) -> None:
    write_schedule(tracked, CHECKPOINT_EVERY_15)
    for args, expected in (
        (["check", SCHEDULE, "--systemd"], "--systemd: expected `schedule cron FILE --systemd`"),
        (["cron", SCHEDULE, "--json"], "--json: expected `schedule check FILE --json`"),
        (["cron", "no-such.toml"], "no-such.toml: expected a schedule file (TOML), but there is no such file"),
    ):
        done = tracked.tracker("schedule", *args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr


# -- the parser: bad input is one line naming what was expected -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[job]]\nname = 'checkpoint'\nevery = '15m'\nat = '09:00'\n", ":4: [[job]] 1, key at: expected either every"),
        ("[[job]]\nname = 'checkpoint'\n", ":1: [[job]] 1: expected a timing: every"),
        ("[[job]]\nevery = '1m'\n", ":1: [[job]] 1: expected name = one of"),
        ("[[job]]\nname = 'checkpoint'\nevery = '25h'\n", ':3: [[job]] 1, key every: expected a span from "1m"'),
        ("[[job]]\nname = 'checkpoint'\nat = '24:00'\n", 'key at: expected a time "HH:MM"'),
        ("[[job]]\nname = 'checkpoint'\nat = '9:00'\ndays = ['monday']\n", "key at: expected"),
        ("[[job]]\nname = 'checkpoint'\nat = '09:00'\ndays = ['mon', 'mon']\n", "key days: expected a list of mon"),
        ("[[job]]\nname = 'checkpoint'\nevery = '1m'\n[[job]]\nname = 'checkpoint'\nevery = '2m'\n", "job 1 is"),
        ("[[job]]\nname = 'ingest-codex-sessions'\nevery = '1m'\nthis_repo = true\n", "key this_repo: expected one of"),
        ("[[job]]\nname = 'ingest-claude-logs'\nevery = '1m'\ndirs = ['relative/dir']\n", "key dirs: expected"),
        ("[[job]]\nname = 'ingest-claude-logs'\nevery = '1m'\nthis_repo = 'yes'\n", "key this_repo: expected true"),
        ("[[window]]\nprovider = 'claude'\nat = '09:00'\n", "[[window]] 1: expected duration = "),
        ("[[job]]\nname = 'checkpoint'\nid = 'close-idle'\nevery = '1m'\n", "key id: expected an id other than"),
        ("[[window]]\nprovider = 'gemini'\nat = '09:00'\nduration = '1h'\n", "key provider: expected one of codex"),
        ("timezone = 'Mars/Olympus'\n", ":1: timezone: expected an IANA zone"),
        ("version = 2\n", ":1: version: expected 1"),
        ("[job]\nname = 'checkpoint'\n", "job: expected tables [[job]]"),
        ("[[job]\n", "expected TOML ("),
        ("jobs = [\n", "expected TOML ("),
    ],
)
def test_bad_schedules_are_refused_in_one_line(tracked: Sandbox, text: str, expected: str) -> None:
    write_schedule(tracked, text)
    before = local_files(tracked)
    done = tracked.tracker("timer", "--once", env=at("2026-06-01T10:00:00Z"))
    assert done.returncode == 2, done.stdout
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"git-tracker: {tracked.path / SCHEDULE}") and expected in done.stderr, done.stderr
    assert local_files(tracked) == before


SPEC_KEYS = sorted({key for spec in JOB_OPTIONS.values() for key in spec} | {"name", "id", "every", "at", "days"})
VALUES = st.one_of(
    st.sampled_from(["15m", "1h30m", "0m", "25h", "09:00", "24:00", "mid", "final", "/tmp", "~/x", "rel", "$(x)"]),
    st.sampled_from([*JOB_NAMES, *DAY_NAMES, "weekdays", "claude", "codex", "nope", "main", "a;b"]),
    st.lists(st.sampled_from([*DAY_NAMES, "09:00", "12:30", "/tmp/a", "~/b", "main", "claude", "x y"]), max_size=4),
    st.booleans(),
    st.integers(-3, 100_000),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.none(),
)
TABLES = st.dictionaries(st.one_of(st.sampled_from(SPEC_KEYS), st.text(max_size=8)), VALUES, max_size=6)


def toml_text(data: dict[str, Any]) -> str:
    """TOML for generated data (None values leave their key out: TOML has no null)."""
    import tomli_w

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value if v is not None]
        return value

    return tomli_w.dumps(clean(data))


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "job": st.lists(TABLES, max_size=3),
            "window": st.lists(TABLES, max_size=2),
            "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Nowhere/Else", ""]),
            "version": st.integers(0, 2),
            "extra": VALUES,
        },
    )
)
def test_the_parser_accepts_or_names_what_it_expected(data: dict[str, Any]) -> None:
    text = toml_text(data)
    try:
        schedule = parse_schedule(text, Path("s.toml"), UTC)
    except BadInput as error:
        message = str(error)
        assert "\n" not in message and message.startswith("s.toml") and "expected" in message, message
        return
    for job in schedule.jobs:  # what was accepted is exactly what the spec allows
        assert job.name in JOB_NAMES and set(job.options) <= set(JOB_OPTIONS[job.name])
        assert (job.timing.every is None) != (not job.timing.at)
    for table in data.get("job", []):
        assert {k for k, v in table.items() if v is not None} <= set(SPEC_KEYS) | {"within"}


@given(st.text(max_size=300))
def test_the_parser_never_fails_otherwise_on_any_text(text: str) -> None:
    try:
        parse_schedule(text, Path("s.toml"), UTC)
    except BadInput as error:
        assert "\n" not in str(error) and "expected" in str(error)


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.fixed_dictionaries({"job": st.lists(TABLES, min_size=1, max_size=2)}))
def test_bad_schedules_exit_2_and_write_nothing(tracked: Sandbox, data: dict[str, Any]) -> None:
    text = toml_text(data)
    try:
        parse_schedule(text, tracked.path / SCHEDULE, UTC)
    except BadInput:
        pass
    else:
        return  # a valid schedule: the other tests run those
    write_schedule(tracked, text)
    before = local_files(tracked)
    done = tracked.tracker("timer", "--once", env=at("2026-06-01T10:00:00Z"))
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1 and "expected" in done.stderr
    assert local_files(tracked) == before


# -- when a job is due: the slots against a minute-by-minute count ------------------------------------------------


def brute_latest_slot(now: datetime, zone: timezone, every: int | None, at_minutes: list[int], days: set[int]) -> Any:
    """The latest minute at or before ``now`` whose local clock time is a slot, found by stepping back a minute at a
    time (fixed-offset zones: every local minute exists once)."""
    moment = now.replace(second=0, microsecond=0)
    for _ in range(8 * 24 * 60):
        local = moment.astimezone(zone)
        minute = local.hour * 60 + local.minute
        if local.weekday() in days and (minute % every == 0 if every else minute in at_minutes):
            return moment
        moment -= timedelta(minutes=1)
    return None


@settings(max_examples=60)
@given(
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)),
    offset=st.integers(-14 * 60, 14 * 60),
    every=st.one_of(st.none(), st.integers(1, 24 * 60)),
    at_minutes=st.lists(st.integers(0, 24 * 60 - 1), min_size=1, max_size=4, unique=True),
    days=st.sets(st.integers(0, 6), min_size=1),
)
def test_the_latest_slot_is_the_one_a_minute_by_minute_count_finds(
    now: datetime, offset: int, every: int | None, at_minutes: list[int], days: set[int]
) -> None:
    zone = timezone(timedelta(minutes=offset))
    moment = now.replace(tzinfo=UTC)
    timing = (
        f'every = "{every}m"'
        if every
        else "at = [" + ", ".join(f'"{m // 60:02d}:{m % 60:02d}"' for m in at_minutes) + "]"
    )
    chosen = ", ".join(f'"{DAY_NAMES[d]}"' for d in sorted(days))
    text = f'[[job]]\nname = "checkpoint"\n{timing}\ndays = [{chosen}]\n'
    job = parse_schedule(text, Path("s.toml"), zone).jobs[0]
    expected = brute_latest_slot(moment, zone, every, at_minutes, days)
    assert job.timing.latest_slot(moment) == expected
    following = job.timing.next_slot(moment)
    assert following is not None and following > moment
    assert brute_latest_slot(following, zone, every, at_minutes, days) == following
    assert brute_latest_slot(following - timedelta(minutes=1), zone, every, at_minutes, days) == expected or (
        expected is None or following - timedelta(minutes=1) >= moment
    )
