"""``shell-init``: the shell functions (``os``, ``oe``, ``ox``, …) to ``eval`` in bash or zsh."""

from __future__ import annotations

from typing import Any

import click

from gittracker.errors import EXIT_OK


@click.command("shell-init")
@click.option("--agent", metavar="ID", help="Bake in this AGENT_ID (default: the environment's, at each call).")
@click.option(
    "--shell",
    type=click.Choice(["bash", "zsh"]),
    help="The shell the functions are for (default: the shell running this, else $SHELL).",
)
@click.option("--prefix", default="", metavar="P", help="Put P before every function name (P_os …) to avoid a clash.")
def shell_init(agent: str | None, shell: str | None, prefix: str) -> int:
    """Print shell functions to eval: os/oe/ox, os_d/oe_d for codex, cs… for claude, zs… for glm."""
    from gittracker.shellinit import Request, render

    click.echo(render(Request(shell=shell, agent=agent, prefix=prefix)), nl=False)
    return EXIT_OK


COMMANDS: list[Any] = [shell_init]
