"""Standing jobs: ``schedule check|cron FILE`` and ``timer --once`` (docs/autocapture.md, "Standing jobs")."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from gittracker.commands.common import context, emit, json_option, warn
from gittracker.errors import EXIT_OK, EXIT_REFUSED, BadInput


@click.command()
@click.argument("action", type=click.Choice(["check", "cron"]))
@click.argument("file", metavar="FILE")
@click.option("--systemd", is_flag=True, help="cron: print a systemd .service and .timer pair instead of a line.")
@json_option
def schedule(action: str, file: str, systemd: bool, as_json: bool) -> int:
    """Check a schedule's planned windows against the known resets (exit 1 on a conflict), or print the
    crontab line (or systemd units) that runs its jobs."""
    if action == "check":
        if systemd:
            raise BadInput("--systemd: expected `schedule cron FILE --systemd` (check prints no units)")
        from gittracker.jobs.check import check, describe

        report = check(context("automation"), file)
        emit(report, as_json, describe)
        return EXIT_REFUSED if report["conflicts"] else EXIT_OK
    if as_json:
        raise BadInput("--json: expected `schedule check FILE --json` (cron prints a crontab line or units)")
    from gittracker.jobs.units import crontab, systemd_units

    click.echo((systemd_units if systemd else crontab)(context("automation"), file))
    return EXIT_OK


@click.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit (from cron or a systemd timer).")
@click.option("--schedule", "schedule_file", metavar="FILE", help="The schedule (default: see docs/autocapture.md).")
@json_option
def timer(once: bool, schedule_file: str | None, as_json: bool) -> int:
    """Run every standing job that is due and not yet done for its slot, and close idle automatic windows."""
    from gittracker.jobs.timer import describe, exit_code, run_once

    if not once:
        raise BadInput("timer: expected --once (run it every minute: `git tracker schedule cron FILE`)")
    root = click.get_current_context().find_root()
    debug = bool(root.params.get("debug")) or bool(os.environ.get("GIT_TRACKER_DEBUG"))
    report = run_once(context("automation"), schedule_file, debug=debug)
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
    else:
        out, failed = describe(report)
        for line in out:
            click.echo(line)
        for line in failed:
            warn(line)
    return exit_code(report)


COMMANDS: list[Any] = [schedule, timer]
