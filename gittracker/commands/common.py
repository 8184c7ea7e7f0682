"""What the command modules share: the ``--json`` and capacity options, printing a result, the context."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gittracker.errors import EXIT_OK

F = TypeVar("F", bound=Callable[..., Any])


def emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> int:
    click.echo(json.dumps(data, sort_keys=True) if as_json else text(data))
    return EXIT_OK


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output (docs/json.md).")(func)


def who_options(func: F) -> F:
    """``--machine ID`` and ``--agent ID``: report only what these writers did (docs/agents.md, "Who wrote what")."""
    machine = click.option(
        "--machine", metavar="ID", help="Only this clone's windows (its id, as status shows it; 'unknown' for old)."
    )
    agent = click.option("--agent", metavar="ID", help="Only this agent's windows (its AGENT_ID).")
    return machine(agent(func))


def who(machine: str | None, agent: str | None) -> Any:
    """The filter of ``--machine`` and ``--agent``, checked (``who.Who``)."""
    from gittracker.who import Who

    return Who.checked(machine, agent)


def capacity_options(func: F) -> F:
    options = [
        click.option("--used", metavar="PCT", help="5-hour window percent used."),
        click.option("--left", metavar="PCT", help="5-hour window percent left (stored as 100 - PCT used)."),
        click.option("--weekly", metavar="PCT", help="Weekly window percent used."),
        click.option("--prompts", metavar="N", help="Prompts used in the 5-hour window (glm)."),
        click.option("--resets-at", metavar="TIME", help="When the 5-hour window resets (ISO-8601)."),
        click.option("--weekly-resets-at", metavar="TIME", help="When the weekly window resets (ISO-8601)."),
        click.option("--from", "source", metavar="FILE|-", help="A pasted Codex /status or Claude /usage screen."),
        click.option("--auto", is_flag=True, help="The provider's own data: Codex logs, Claude status line."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def capture(kwargs: dict[str, Any], provider: str, ctx: Any) -> Any:
    """The reading the capacity options give, with where it came from (``readings.Capture``); takes the
    capacity options out of ``kwargs``."""
    from datetime import timedelta

    from gittracker.capacity import check_provider
    from gittracker.readings import capture_for

    names = ("used", "left", "weekly", "prompts", "resets_at", "weekly_resets_at", "source", "auto")
    options = {name: kwargs.pop(name) for name in names}
    max_age = timedelta(minutes=ctx.config.auto_max_age_minutes)
    return capture_for(
        check_provider(provider),
        options,
        repo_root=ctx.repo.toplevel,
        max_age=max_age,
        screen_timezone=ctx.config.screen_timezone,
    )


def say_what_was_read(capture: Any) -> None:
    """After the command succeeded (a refusal stays one line): what a paste or --auto read, then its warnings."""
    for line in capture.echo():
        warn(line)


def warn(line: str) -> None:
    click.echo(f"git-tracker: {line}", err=True)


def context(source: str = "cli", *, reading: bool = False) -> Any:
    """The repository, machine state, settings and agent of this command (``context.Context``). ``reading``: a
    command that only reads, which also works where git-tracker is not set up but a ledger exists."""
    from gittracker.context import open_context

    return open_context(".", source=os.environ.get("GIT_TRACKER_SOURCE", source), require_setup=not reading)


def short(sha: str | None) -> str:
    from gittracker.formatting import short_sha

    return short_sha(sha)
