"""``git tracker …``: the command group, and what every command shares: its errors and warnings.

The commands themselves live in ``gittracker.commands``, one module per group. Errors reach the user as one
line on stderr (``TrackerError`` and click's usage errors); anything else is a bug, shown as one line plus a
hint, or in full with ``--debug``.
"""

from __future__ import annotations

import gc
import os
import sys
import traceback
import warnings

import click

from gittracker import __version__, colour, completion
from gittracker.commands import (
    agents,
    capture,
    experiment,
    guide,
    jobs,
    maintenance,
    proxy,
    report,
    reports,
    setup,
    shell,
    sync,
    windows,
)
from gittracker.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, Notice, TrackerError, storage_failed
from gittracker.records import SkippedWarning, describe_skipped

GC_YOUNG_THRESHOLD = 50_000  # allocations between collections of the youngest generation (Python's default: 700)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="git-tracker")
@click.option("--debug", is_flag=True, help="Show full details of unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Measure finished work per unit of AI-assistant capacity, inside git.

    `git tracker help COMMAND` (or `git tracker COMMAND -h`) for one command; `git tracker --help` for the manual.
    """
    if ctx.invoked_subcommand is None:  # bare `git tracker`: what it is and where to start, not an error
        from gittracker.helptext import overview

        click.echo(overview(), nl=False)


for _group in (
    setup,
    windows,
    reports,
    report,
    capture,
    jobs,
    maintenance,
    shell,
    sync,
    agents,
    proxy,
    experiment,
    guide,
):
    for _command in _group.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # A command is one short process that builds many objects and few cycles: with the young generation collected
    # every 700 allocations, a report over a large ledger spent about a tenth of its time in collections.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    if completion.requested():  # the shell asks for a script or for candidates (gittracker.completion)
        return completion.complete(cli)
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
        _fail(str(error))
        if debug:
            traceback.print_exc()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.Abort:
        _fail("aborted")
        return 1
    except click.ClickException as error:
        ctx = getattr(error, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        # click lists choices on tab-indented lines; the user gets one line, like every other error.
        message = " ".join(error.format_message().split())
        _fail(f"{message}{where}")
        return EXIT_BAD_INPUT
    except Exception as error:
        refused = storage_failed(error, "could not write") if isinstance(error, OSError) else None
        if refused is not None:  # the disk said no: the user's to fix, not a bug
            _fail(str(refused))
            if debug:
                traceback.print_exc()
            return refused.exit_code
        if debug:
            traceback.print_exc()
        else:
            _fail(f"internal error: {type(error).__name__}: {error} (rerun with --debug)")
        return EXIT_INTERNAL
    return result if isinstance(result, int) else EXIT_OK


def _fail(message: str) -> None:
    """An error, as its one line on stderr (the prefix in red on a terminal)."""
    click.echo(f"{colour.alarm('git-tracker:', sys.stderr)} {message}", err=True)


def _warn(message: str) -> None:
    click.echo(f"{colour.caution('git-tracker: warning:', sys.stderr)} {message}", err=True)


def _warn_once(caught: list[warnings.WarningMessage]) -> None:
    """One line for every ledger file the command skipped, however often it read the ledger; other warnings
    are shown as Python would have shown them."""
    skipped: dict[str, str] = {}
    for item in caught:
        if isinstance(item.message, SkippedWarning):
            skipped[item.message.skipped.path] = item.message.skipped.reason
        elif isinstance(item.message, Notice):
            _warn(str(item.message))
        else:
            warnings.showwarning(item.message, item.category, item.filename, item.lineno)
    if skipped:
        _warn(f"{describe_skipped(skipped.values())}; git tracker doctor")
