"""``agent-hooks install|uninstall|status``: Claude Code and Codex open and close windows themselves, through
hooks in their own settings files (docs/autocapture.md)."""

from __future__ import annotations

from typing import Any

import click

from gittracker.commands.common import emit, json_option
from gittracker.errors import EXIT_OK

AGENT = click.Choice(["claude", "codex"])
SCOPE = click.option(
    "--scope",
    type=click.Choice(["project", "user"]),
    default="project",
    show_default=True,
    help="project: this repository's .claude/settings.local.json or .codex/hooks.json, kept out of commits; "
    "user: ~/.claude/settings.json ($CLAUDE_CONFIG_DIR) or $CODEX_HOME/hooks.json, for every repository.",
)


@click.group("agent-hooks")
def agent_hooks() -> None:
    """Let Claude Code and Codex open, read and close windows themselves (docs/autocapture.md)."""


@agent_hooks.command("install")
@click.argument("agent", type=AGENT)
@SCOPE
def install_command(agent: str, scope: str) -> int:
    """Put git-tracker's hooks (and Claude's status line) in AGENT's settings; twice is once."""
    from gittracker.autocapture.agenthooks import install

    _say(install(agent, scope, "."))
    return EXIT_OK


@agent_hooks.command("uninstall")
@click.argument("agent", type=AGENT)
@SCOPE
def uninstall_command(agent: str, scope: str) -> int:
    """Take them out: the file as it was before install, when nothing else changed it."""
    from gittracker.autocapture.agenthooks import uninstall

    _say(uninstall(agent, scope, "."))
    return EXIT_OK


@agent_hooks.command("status")
@json_option
def status_command(as_json: bool) -> int:
    """For each agent and scope: installed or not, the file, and whether the program they run is there."""
    from gittracker.autocapture.agenthooks import describe_status, status

    return emit(status("."), as_json, describe_status)


def _say(result: dict[str, Any]) -> None:
    click.echo(result["headline"])
    for change in result["changes"]:
        click.echo(f"  - {change}")
    for line in result["advice"]:
        click.echo(line)


COMMANDS: list[Any] = [agent_hooks]
