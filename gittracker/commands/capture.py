"""Readings and usage that come from the providers' own data: ``ingest`` and the ``statusline`` command."""

from __future__ import annotations

from typing import Any

import click

from gittracker.commands.common import context, emit, json_option


@click.command()
@click.argument("source", metavar="SOURCE")
@click.argument("target", required=False, metavar="[FILE|-]")
@click.option(
    "--dir", "dirs", multiple=True, metavar="DIR", help="Read this Claude config dir or Codex home (repeatable)."
)
@click.option("--this-repo", "this_repo_only", is_flag=True, help="claude-logs: only this repository's projects.")
@click.option("--skip-invalid", is_flag=True, help="Skip and count log lines that cannot be read, instead of stopping.")
@click.option("--provider", metavar="P", help="ccusage: the provider of a per-agent report (default claude).")
@click.option("--window", metavar="W", help="proxy-telemetry: attach every event to window W (default: by time).")
@click.option("--skip-bad", is_flag=True, help="proxy-telemetry: ingest the good lines, skip and count the bad ones.")
@json_option
def ingest(
    source: str,
    target: str | None,
    dirs: tuple[str, ...],
    this_repo_only: bool,
    skip_invalid: bool,
    provider: str | None,
    window: str | None,
    skip_bad: bool,
    as_json: bool,
) -> int:
    """Read usage and capacity data: ccusage, claude-logs, codex-sessions, codex-status, claude-usage,
    claude-statusline, proxy-telemetry."""
    from gittracker.ingest import describe, run

    summary = run(
        context("ingest"),
        source,
        target,
        dirs=dirs,
        this_repo_only=this_repo_only,
        skip_invalid=skip_invalid,
        provider=provider,
        window=window,
        skip_bad=skip_bad,
    )
    return emit(summary.to_dict(), as_json, describe)


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--wrap", metavar="CMD", help="Also run your previous statusLine command and show its line first.")
def statusline(wrap: str | None) -> int:
    """Claude Code statusLine command: keeps the rate-limit reading for --auto, prints one line."""
    from gittracker.statusline_cmd import main as statusline_main

    return statusline_main(["--wrap", wrap] if wrap else [])


@click.command("hook")
@click.argument("provider", metavar="claude|codex", type=click.Choice(["claude", "codex"]))
@click.argument("event", metavar="EVENT")
@click.argument("payload", metavar="[JSON]", required=False)
def hook(provider: str, event: str, payload: str | None) -> int:
    """What an agent's own hook entries run (`agent-hooks install`): the event's JSON on stdin.

    EVENT is SessionStart, UserPromptSubmit, Stop or SessionEnd (Codex: no SessionEnd; its legacy `notify`
    program passes the JSON as the last argument instead). The session's first event opens an automatic window,
    each Stop records a mid reading, SessionEnd (or auto.idle_minutes without an event) closes it. Prints nothing
    and exits 0 whatever happens, so the agent is never held up; failures are recorded as anomalies.
    See docs/autocapture.md.
    """
    from gittracker.autocapture.hook import main as hook_main

    return hook_main([provider, event, *([payload] if payload is not None else [])])


COMMANDS: list[Any] = [ingest, statusline, hook]
