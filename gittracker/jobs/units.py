"""``git tracker schedule cron FILE [--systemd]``: what runs ``timer --once`` every minute.

One crontab line (one timer unit), not one per job: the jobs' times live in the schedule alone, so editing the
schedule, or pulling a new one, needs no new crontab; the timer decides what is due, runs a slot missed while the
machine slept (within the job's ``within``), and closes idle windows at every tick. A tick with nothing due is one
short process.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

from gittracker.context import Context
from gittracker.errors import BadInput
from gittracker.jobs.schedule import load_schedule

SCRIPT = "git-tracker"
USER_UNITS = "~/.config/systemd/user"


def program() -> tuple[list[str], str | None]:
    """How to start git-tracker from cron or systemd, by absolute path, and a note when it is not the console script
    beside the Python running now (the one this installation made)."""
    beside = Path(sys.executable).parent / SCRIPT
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)], None
    found = shutil.which(SCRIPT)
    if found is not None:
        return [os.path.abspath(found)], f"{SCRIPT} found on PATH at {os.path.abspath(found)}"
    return [sys.executable, "-m", "gittracker"], f"no {SCRIPT} script found: the line runs the module with this Python"


def timer_command(ctx: Context, file: str) -> tuple[Path, list[str], str | None]:
    """The work tree to run in, the timer's argv (the schedule by absolute path) and the note of ``program``."""
    from gittracker import clock

    schedule = Path(file).absolute()
    load_schedule(schedule, clock.local_zone(ctx.config.screen_timezone))  # a bad schedule: refused here, not later
    argv, note = program()
    toplevel = ctx.repo.toplevel
    for part in (str(toplevel), *argv, str(schedule)):
        if any(char in part for char in "\n\r\0"):
            raise BadInput(f"{part!r}: expected a path without line breaks (a crontab or unit line cannot hold one)")
    return toplevel, [*argv, "timer", "--once", "--schedule", str(schedule)], note


def crontab(ctx: Context, file: str) -> str:
    toplevel, argv, note = timer_command(ctx, file)
    command = f"cd {shlex.quote(str(toplevel))} && {shlex.join(argv)} >/dev/null"
    # cron turns an unescaped % into a line break (crontab(5)); stdout is dropped so that cron mails only failures.
    line = "* * * * * " + command.replace("%", "\\%")
    head = [f"# git-tracker standing jobs in {toplevel}: `timer --once` every minute runs what the schedule makes due"]
    head += [f"# note: {note}"] if note else []
    head += ["# add it with `crontab -e`; failures are mailed by cron, one line each"]
    return "\n".join([*head, line])


def systemd_units(ctx: Context, file: str) -> str:
    toplevel, argv, note = timer_command(ctx, file)
    name = unit_name(toplevel)
    exec_start = " ".join(_unit_quote(part) for part in argv)
    service = [
        f"# file: {USER_UNITS}/{name}.service",
        "[Unit]",
        f"Description=git-tracker standing jobs in {_unit_text(str(toplevel))}",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={_unit_text(str(toplevel))}",
        f"ExecStart={exec_start}",
    ]
    timer = [
        f"# file: {USER_UNITS}/{name}.timer",
        "[Unit]",
        f"Description=Run {name}.service every minute",
        "",
        "[Timer]",
        "OnCalendar=*-*-* *:*:00",
        "AccuracySec=1s",
        f"Unit={name}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]
    head = [f"# note: {note}"] if note else []
    enable = f"# then: systemctl --user daemon-reload && systemctl --user enable --now {name}.timer"
    return "\n".join([*head, *service, "", *timer, enable])


def unit_name(toplevel: Path) -> str:
    """``git-tracker-<folder>-<8 hex>``: readable, and one per work tree even when two folders share a name."""
    slug = "-".join(re.findall(r"[a-z0-9]+", toplevel.name.lower()))[:40].strip("-") or "repo"
    digest = hashlib.sha256(str(toplevel).encode()).hexdigest()[:8]
    return f"git-tracker-{slug}-{digest}"


def _unit_text(text: str) -> str:
    """A value as systemd reads it back: % starts a specifier (systemd.unit(5))."""
    return text.replace("%", "%%")


def _unit_quote(arg: str) -> str:
    """One ExecStart word (systemd.service(5)): double-quoted, with \\ and " escaped, % and $ doubled."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'
