"""Keeping things working: ``doctor`` checks and repairs, ``flush`` writes queued note stamps, ``demo`` shows it
all on a throwaway repository."""

from __future__ import annotations

from typing import Any

import click

from gittracker.commands.common import context, emit, json_option
from gittracker.errors import EXIT_OK, EXIT_REFUSED


@click.command()
@click.option("--fix", is_flag=True, help="Also repair what is safe to repair (nothing committed is lost).")
@json_option
def doctor(fix: bool, as_json: bool) -> int:
    """Check everything git-tracker depends on and say what to do; exit 1 while a problem remains."""
    from gittracker.doctor import run
    from gittracker.formatting import format_doctor

    report = run(".", fix=fix)
    emit(report.to_dict(), as_json, format_doctor)
    return EXIT_OK if not report.findings else EXIT_REFUSED


@click.command()
def flush() -> int:
    """Write queued note stamps into refs/notes/tracker now (hooks normally do this in the background)."""
    from gittracker import hookrun

    count = hookrun.flush(context().repo)
    click.echo(f"{count} commit(s) stamped")
    return EXIT_OK


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--seed", default=7, show_default=True, help="Random seed for the simulated work.")
@json_option
def demo(directory: str | None, seed: int, as_json: bool) -> int:
    """Build a throwaway repository with realistic windows for every provider and report on it."""
    from gittracker.demo import run_demo
    from gittracker.formatting import format_demo

    return emit(run_demo(directory, seed=seed), as_json, format_demo)


COMMANDS: list[Any] = [doctor, flush, demo]
