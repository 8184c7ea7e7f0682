"""``init`` and ``uninstall``: set git-tracker up in a repository, and take it out again."""

from __future__ import annotations

from typing import Any

import click

from gittracker.errors import EXIT_OK


@click.command()
@click.option("--pre-commit", "pre_commit", is_flag=True, help="Leave hooks to pre-commit (see docs/hooks.md).")
@click.option(
    "--remote",
    metavar="NAME",
    help="Record the remote tracker data will travel through (kept in .git-tracker.toml; default origin).",
)
@click.option("--force", is_flag=True, help="Install into a core.hooksPath inside the work tree anyway.")
@click.option(
    "--sync-on-push/--no-sync-on-push",
    "sync_on_push",
    default=None,
    help="After each push to the sync remote, sync the tracker data in the background (a pre-push hook; "
    "the push is never failed or held up: docs/sync.md). Off by default; per clone.",
)
def init(pre_commit: bool, remote: str | None, force: bool, sync_on_push: bool | None) -> int:
    """Set up hooks, notes rewrite config and .git-tracker.toml. Idempotent; finishes an interrupted init."""
    from gittracker.install import init as set_up

    result = set_up(".", pre_commit=pre_commit, remote=remote, force=force, sync_on_push=sync_on_push)
    _say_changes(f"git-tracker set up in {result['toplevel']}", result)
    return EXIT_OK


@click.command()
def uninstall() -> int:
    """Remove exactly what init added; restore chained hooks and config."""
    from gittracker.install import uninstall as take_out

    result = take_out(".")
    _say_changes(f"git-tracker removed from {result['toplevel']}", result)
    for window in result["open_windows"]:
        agent = "" if window["agent_id"] == "main" else f"AGENT_ID={window['agent_id']} "
        click.echo(
            f"git-tracker: warning: agent {window['agent_id']}'s {window['provider']} window {window['window_id']} "
            f"stays open in the ledger; to close it: `git tracker init`, then "
            f"`{agent}git tracker end {window['provider']}`",
            err=True,
        )
    return EXIT_OK


def _say_changes(headline: str, result: dict[str, Any]) -> None:
    click.echo(headline)
    for change in result["changes"]:
        click.echo(f"  - {change}")


COMMANDS = [init, uninstall]
