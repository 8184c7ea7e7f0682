"""``sync``: the ledger and the notes travel through a git remote (docs/sync.md)."""

from __future__ import annotations

import click

from gittracker.commands.common import emit, json_option


@click.command()
@click.argument("remote", required=False)
@json_option
def sync(remote: str | None, as_json: bool) -> int:
    """Fetch, merge and push the ledger and notes through REMOTE (default: sync.remote, else origin)."""
    from gittracker.sync import describe, sync_here

    return emit(sync_here(".", remote).to_dict(), as_json, describe)


COMMANDS = [sync]
