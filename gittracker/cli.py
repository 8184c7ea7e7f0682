"""``git tracker …``: the command group, and what every command shares: its errors and warnings.

The commands themselves live in ``gittracker.commands``, one module per group. Errors reach the user as one
line on stderr (``TrackerError`` and click's usage errors); anything else is a bug, shown as one line plus a
hint, or in full with ``--debug``.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings

import click

from gittracker import __version__
from gittracker.commands import capture, maintenance, reports, setup, windows
from gittracker.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, Notice, TrackerError, storage_failed
from gittracker.records import SkippedWarning, describe_skipped


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="git-tracker")
@click.option("--debug", is_flag=True, help="Show full details of unexpected errors.")
def cli(debug: bool) -> None:
    """Measure finished work per unit of AI-assistant capacity, inside git."""


for _group in (setup, windows, reports, capture, maintenance):
    for _command in _group.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedWarning)
        warnings.simplefilter("always", Notice)
        code = _run(args)
    _warn_once(caught)
    return code


def _run(args: list[str]) -> int:
    debug = "--debug" in args or bool(os.environ.get("GIT_TRACKER_DEBUG"))
    try:
        result = cli.main(args=args, prog_name="git tracker", standalone_mode=False)
    except TrackerError as error:
        click.echo(f"git-tracker: {error}", err=True)
        if debug:
            traceback.print_exc()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.Abort:
        click.echo("git-tracker: aborted", err=True)
        return 1
    except click.ClickException as error:
        ctx = getattr(error, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        # click lists choices on tab-indented lines; the user gets one line, like every other error.
        message = " ".join(error.format_message().split())
        click.echo(f"git-tracker: {message}{where}", err=True)
        return EXIT_BAD_INPUT
    except Exception as error:
        refused = storage_failed(error, "could not write") if isinstance(error, OSError) else None
        if refused is not None:  # the disk said no: the user's to fix, not a bug
            click.echo(f"git-tracker: {refused}", err=True)
            if debug:
                traceback.print_exc()
            return refused.exit_code
        if debug:
            traceback.print_exc()
        else:
            click.echo(f"git-tracker: internal error: {type(error).__name__}: {error} (rerun with --debug)", err=True)
        return EXIT_INTERNAL
    return result if isinstance(result, int) else EXIT_OK


def _warn_once(caught: list[warnings.WarningMessage]) -> None:
    """One line for every ledger file the command skipped, however often it read the ledger; other warnings
    are shown as Python would have shown them."""
    skipped: dict[str, str] = {}
    for item in caught:
        if isinstance(item.message, SkippedWarning):
            skipped[item.message.skipped.path] = item.message.skipped.reason
        elif isinstance(item.message, Notice):
            click.echo(f"git-tracker: warning: {item.message}", err=True)
        else:
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)
    if skipped:
        click.echo(f"git-tracker: warning: {describe_skipped(skipped.values())}; git tracker doctor", err=True)
