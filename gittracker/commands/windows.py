"""The window lifecycle: ``start``, ``end``, ``undo``, ``snapshot``, ``complete``, and ``resume`` after a halt."""

from __future__ import annotations

from typing import Any

import click

from gittracker.commands.common import (
    capacity_options,
    capture,
    context,
    emit,
    json_option,
    say_what_was_read,
    short,
    warn,
)


@click.command()
@click.argument("provider")
@capacity_options
@click.option("--feature", "feature_id", metavar="ID", help="Task-bank feature this window works on.")
@click.option("--methodology", metavar="M", help="How the work is done (free text, e.g. plan-first).")
@click.option("--note", metavar="TEXT", help="A short note kept with the window.")
@click.option("--override-halt", is_flag=True, help="Start even though the provider is HALTED by the stop rule.")
@json_option
def start(
    provider: str,
    feature_id: str | None,
    methodology: str | None,
    note: str | None,
    override_halt: bool,
    as_json: bool,
    **capacity: Any,
) -> int:
    """Record a before-reading and open a window; stamps commit_start."""
    from gittracker.windows import start as open_window

    ctx = context()
    read = capture(capacity, provider, ctx)
    result = open_window(
        ctx,
        provider,
        read.reading,
        feature_id=feature_id,
        methodology=methodology,
        note=note,
        override_halt=override_halt,
    )
    say_what_was_read(read)
    for line in result["warnings"]:
        warn(f"warning: {line}")
    return emit(
        result,
        as_json,
        lambda r: (
            f"{r['provider']} window {r['window_id']} open for agent {r['agent_id']} at {short(r['commit_start'])}"
        ),
    )


@click.command()
@click.argument("provider")
@capacity_options
@click.option("--force", is_flag=True, help="Record an after inside the reset buffer (noted late-after).")
@click.option("--note", metavar="TEXT", help="A short note kept with the window.")
@json_option
def end(provider: str, force: bool, note: str | None, as_json: bool, **capacity: Any) -> int:
    """Record an after-reading and close the window; stamps commit_end and computes the delta."""
    from gittracker.formatting import format_end
    from gittracker.windows import end as close_window

    ctx = context()
    read = capture(capacity, provider, ctx)
    result = close_window(ctx, provider, read.reading, force=force, note=note)
    say_what_was_read(read)
    if result["worktree_warning"]:
        warn(f"warning: {result['worktree_warning']}")
    if result["flush_warning"]:
        warn(f"warning: {result['flush_warning']}")
    return emit(result, as_json, format_end)


@click.command()
@click.argument("provider")
@click.option("--after", "after_reading", is_flag=True, help="Void the last after instead, reopening the window.")
@json_option
def undo(provider: str, after_reading: bool, as_json: bool) -> int:
    """Void the open window's before (or the last after, reopening it)."""
    from gittracker.windows import undo as void_reading

    result = void_reading(context(), provider, after_reading=after_reading)
    return emit(
        result,
        as_json,
        lambda r: (
            f"{r['provider']} window {r['window_id']}: {r['reason']} recorded "
            f"({'reopened' if r['reason'] == 'undo-after' else 'closed without a delta'})"
        ),
    )


@click.command()
@click.argument("provider")
@capacity_options
@click.option("--phase", default="mid", show_default=True, help="Only mid: before/after come from start/end.")
@json_option
def snapshot(provider: str, phase: str, as_json: bool, **capacity: Any) -> int:
    """Record a reading without opening or closing anything."""
    from gittracker.windows import snapshot as record_reading

    ctx = context()
    read = capture(capacity, provider, ctx)
    result = record_reading(ctx, provider, read.reading, phase)
    say_what_was_read(read)
    return emit(result, as_json, lambda r: f"{r['provider']} snapshot {r['snapshot_id']} recorded")


@click.command()
@click.argument("window", required=False)
@click.option("--outcome", required=True, metavar="shipped|partial|failed")
@click.option("--quality", required=True, metavar="Q", help="Quality score in [0, 1].")
@click.option("--feature", "feature_id", metavar="ID", help="Feature id (default: the window's).")
@click.option("--replace", is_flag=True, help="Correct an earlier outcome (voids it).")
@click.option("--provider", metavar="P", help="Default to this agent's last closed window of P.")
@json_option
def complete(
    window: str | None,
    outcome: str,
    quality: str,
    feature_id: str | None,
    replace: bool,
    provider: str | None,
    as_json: bool,
) -> int:
    """Record the outcome of a closed window (default: this agent's last closed one)."""
    from gittracker.windows import complete as record_outcome

    result = record_outcome(
        context(), window, outcome, quality, feature_id=feature_id, replace=replace, provider=provider
    )
    return emit(
        result,
        as_json,
        lambda r: (
            f"window {r['window_id']}: {r['outcome']}, quality {r['quality_score']:g}"
            + (f", feature {r['feature_id']}" if r["feature_id"] else "")
        ),
    )


@click.command()
@click.argument("provider")
@click.option("--reason", default="capture fixed", show_default=True, help="What was fixed.")
@json_option
def resume(provider: str, reason: str, as_json: bool) -> int:
    """Record that capture for a HALTED provider was fixed; windows before this no longer count."""
    from gittracker.windows import resume as record_resume

    result = record_resume(context(), provider, reason)
    return emit(result, as_json, lambda r: f"{r['provider']}: resume recorded ({r['resume_id']})")


COMMANDS = [start, end, undo, snapshot, complete, resume]
