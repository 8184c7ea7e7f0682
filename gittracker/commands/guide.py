"""``help``: a command's help, as ``git tracker COMMAND -h`` prints it (``git tracker --help`` is git's, which
opens the manual page)."""

from __future__ import annotations

from typing import Any

import click
from click.shell_completion import CompletionItem

from gittracker.errors import EXIT_OK, BadInput


def _command_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    group = ctx.find_root().command
    assert isinstance(group, click.Group)
    return [CompletionItem(name) for name in group.list_commands(ctx) if name.startswith(incomplete)]


@click.command("help")
@click.argument("names", nargs=-1, metavar="[COMMAND]", shell_complete=_command_names)
@click.pass_context
def help_command(ctx: click.Context, names: tuple[str, ...]) -> int:
    """A command's help (without one: every command, as `git tracker -h` lists them)."""
    command, command_ctx = _find(ctx.find_root(), names)
    click.echo(command.get_help(command_ctx))
    return EXIT_OK


def _find(root: click.Context, names: tuple[str, ...]) -> tuple[click.Command, click.Context]:
    """The command that ``names`` spell (``help ingest``; a nested group's ``help bank add``) and its context."""
    command, ctx = root.command, root
    for name in names:
        found = command.get_command(ctx, name) if isinstance(command, click.Group) else None
        if found is None:
            where = ctx.command_path
            choices = command.list_commands(ctx) if isinstance(command, click.Group) else []
            expected = f"one of {', '.join(choices)}" if choices else f"no more words after `{where}`"
            shown = repr(name if len(name) <= 40 else name[:39] + "…")  # a pasted paragraph is not echoed whole
            raise BadInput(f"help: expected {expected}, got {shown}")
        command, ctx = found, click.Context(found, info_name=name, parent=ctx)
    return command, ctx


COMMANDS: list[Any] = [help_command]
