"""``proxy addon-path`` and ``proxy compare``: the sub-agent proxy's addon, and the POC it serves (docs/proxy.md)."""

from __future__ import annotations

from typing import Any

import click

from gittracker.commands.common import context, emit, json_option
from gittracker.errors import EXIT_OK


@click.group("proxy")
def proxy() -> None:
    """The sub-agent proxy: its mitmproxy addon, and GLM against the baseline (docs/proxy.md)."""


@proxy.command("addon-path")
def addon_path_command() -> int:
    """Print the path of the mitmproxy addon, for `mitmdump -s PATH`."""
    from gittracker.proxy import addon_path

    click.echo(addon_path())
    return EXIT_OK


@proxy.command("compare")
@json_option
def compare_command(as_json: bool) -> int:
    """Per feature, GLM against the baseline: tokens, cost, quality, errors, p95 latency; the POC criteria (G3)."""
    from gittracker.formatting import format_compare
    from gittracker.proxy.compare import run_compare

    return emit(run_compare(context(reading=True)), as_json, format_compare)


COMMANDS: list[Any] = [proxy]
