"""What each standing job does: the same core functions the typed commands call, with the schedule's options.

Every job is a Python function of git-tracker's own, picked by the job's name; none starts a program.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gittracker.context import Context


@dataclass(frozen=True)
class Outcome:
    """What a job did: one line for the user, the records it added to the ledger, the windows it touched."""

    detail: str
    added: int | None = 0  # None: the job does not say (close-idle)
    windows: list[str] = field(default_factory=list)


class Unavailable(Exception):
    """The job cannot run in this version of git-tracker (it is reported, and is not a failure)."""


def ingest_claude_logs(ctx: Context, options: Mapping[str, Any]) -> Outcome:
    return _ingest(ctx, "claude-logs", options)


def ingest_codex_sessions(ctx: Context, options: Mapping[str, Any]) -> Outcome:
    return _ingest(ctx, "codex-sessions", options)


def _ingest(ctx: Context, source: str, options: Mapping[str, Any]) -> Outcome:
    """``git tracker ingest SOURCE``: idempotent, so a slot run twice adds nothing the second time."""
    from gittracker.ingest import run
    from gittracker.logstate import describe

    summary = run(
        ctx,
        source,
        dirs=tuple(options.get("dirs", ())),
        this_repo_only=bool(options.get("this_repo", False)),
        skip_invalid=bool(options.get("skip_invalid", False)),
    ).to_dict()
    return Outcome(describe(summary), added=summary["records_added"] + summary["snapshots_added"])


def checkpoint(ctx: Context, options: Mapping[str, Any]) -> Outcome:
    """``git tracker checkpoint --phase P`` for every open window on this machine (of the agents and providers
    given): a checkpoint of a closed window would only repeat the last one."""
    from gittracker.reports import checkpoint as record_checkpoint

    phase = str(options.get("phase", "mid"))
    providers = options.get("providers")
    written = []
    for agent in options.get("agents") or ctx.local.agents():
        state = ctx.local.load_readable(agent)
        if state is None:  # damaged: doctor says so; the other agents still get their checkpoints
            continue
        for provider, window in sorted(state.open.items()):
            if providers is None or provider in providers:
                written.append(record_checkpoint(replace(ctx, agent_id=agent), phase, window["window_id"]))
    if not written:
        return Outcome("no open window to checkpoint")
    shown = ", ".join(f"{r['window_id']} ({r['provider']}, +{r['added']} -{r['deleted']})" for r in written)
    return Outcome(f"{len(written)} {phase} checkpoint(s): {shown}", len(written), [r["window_id"] for r in written])


def close_idle(ctx: Context, options: Mapping[str, Any]) -> Outcome:
    """Close the automatic windows whose agent went quiet (``auto.idle_minutes``), at their last reading."""
    from gittracker.autocapture.idle import close_idle as close_idle_windows

    closed = [done for done in close_idle_windows(ctx.repo.toplevel) if done.get("done")]
    if not closed:
        return Outcome("no idle automatic window", added=None)
    shown = ", ".join(f"{w['window_id']} ({w['agent_id']}, {w['provider']})" for w in closed)
    closed_ids = [str(w["window_id"]) for w in closed]
    return Outcome(f"closed {len(closed)} idle window(s): {shown}", added=None, windows=closed_ids)


JOBS: dict[str, Callable[[Context, Mapping[str, Any]], Outcome]] = {
    "ingest-claude-logs": ingest_claude_logs,
    "ingest-codex-sessions": ingest_codex_sessions,
    "checkpoint": checkpoint,
    "close-idle": close_idle,
}
