"""What every command runs in, and the one way it writes.

A ``Context`` is the repository, this machine's state, the settings and the agent a command acts for.
Changes to an agent's windows go through ``commit``: journal, append to the ledger, clear the journal, so a
killed process leaves nothing half done (``replay_journals`` finishes it on the next command).

Commands that record need git-tracker set up. Commands that only read also work where it is not (after
``uninstall``, which keeps the data, or in a clone that fetched the ledger): their context has ``set_up``
False, and such a context writes nothing in the repository: no cache, no replayed journal, no flushed stamp.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.config import Config, load
from gittracker.errors import BadInput, NotInitialised, Refused, StorageFailed, TrackerError, storage_failed
from gittracker.git import Repo
from gittracker.names import valid_agent_id
from gittracker.records import Record
from gittracker.state import AgentState, LocalState


@dataclass(frozen=True)
class Context:
    repo: Repo
    local: LocalState
    config: Config
    agent_id: str
    source: str = "cli"
    set_up: bool = True  # False: only reading, in a repository where git-tracker is not set up

    @cached_property
    def machine(self) -> str:
        """This clone's machine id, which every record it writes carries; created on first need (``machine``)."""
        from gittracker.machine import ensure_machine

        return ensure_machine(self.repo)


NOT_SET_UP = "git-tracker is not set up in this repository: run `git tracker init` first"


def agent_from_env(agent_id: str | None = None) -> str:
    agent = agent_id or os.environ.get("AGENT_ID") or "main"
    if not valid_agent_id(agent):
        raise BadInput(f"AGENT_ID: expected letters, digits, '.', '_' or '-' (max 64), got {agent!r}")
    return agent


def open_context(
    path: Path | str = ".", agent_id: str | None = None, source: str = "cli", *, require_setup: bool = True
) -> Context:
    """The context of a command. ``require_setup`` False (commands that only read): where git-tracker is not
    set up but the repository has a ledger, a context that reads it and writes nothing there."""
    agent = agent_from_env(agent_id)
    repo = Repo.discover(path)
    local = LocalState(repo.tracker_dir)
    if not local.manifest.exists():
        return _reading_context(repo, local, agent, source, require_setup)
    local.clear_stale_flush_marker()
    ctx = Context(repo, local, load(repo.toplevel), agent, source)
    replay_journals(ctx)
    return ctx


def _reading_context(repo: Repo, local: LocalState, agent: str, source: str, require_setup: bool) -> Context:
    if require_setup:
        raise NotInitialised(NOT_SET_UP)
    if repo.ledger_tip_fast() is None:  # nothing to read either
        raise NotInitialised(NOT_SET_UP)
    return Context(repo.without_caches(), local, load(repo.toplevel), agent, source, set_up=False)


def replay_journals(ctx: Context) -> list[str]:
    """Finish what killed processes of any agent on this machine started; returns whose journals were replayed.

    An agent's journal holds records only while one of its commands runs, and that command holds the agent's
    lock: a journal whose lock is free was left by a process that died, and any command may finish it. One that
    cannot be replayed now (its state damaged, the ledger checked out) is left for later, and for ``doctor``.
    """
    replayed = []
    for agent in ctx.local.agents():
        if _journal_of(ctx, agent) is None:  # the common case: read, and nothing to lock or write
            continue
        with contextlib.suppress(TrackerError, OSError), ctx.local.try_agent_lock(agent) as held:
            state = _journal_of(ctx, agent) if held else None  # read again: it may have finished meanwhile
            if state is not None:
                replay_journal(ctx, agent, state)
                replayed.append(agent)
    return replayed


def _journal_of(ctx: Context, agent: str) -> AgentState | None:
    """The agent's state when it holds a journal; None when it holds none or cannot be read (``doctor`` says so)."""
    state = ctx.local.load_readable(agent)
    return state if state is not None and state.pending else None


def recover(ctx: Context) -> AgentState:
    """Finish what a killed process of this agent started (call with the agent's lock held)."""
    state = ctx.local.load(ctx.agent_id)
    if state.pending:
        replay_journal(ctx, ctx.agent_id, state)
    return state


def replay_journal(ctx: Context, agent_id: str, state: AgentState) -> None:
    """Append an agent's journalled records (appends are idempotent), then clear its journal."""
    records = [Record.from_dict(data, where=f"journal of agent {agent_id}") for data in state.pending]
    ctx.repo.append_records(records, "tracker: replay journalled records")
    state.pending = []
    ctx.local.save(agent_id, state)


def commit(ctx: Context, before: AgentState, after: AgentState, records: list[Record]) -> None:
    """Journal, append, clear the journal: what the command then reports is what happened, at every failure.

    - The journal cannot be saved: nothing changed (the state file is replaced whole or not at all).
    - The ledger refuses: the state goes back to ``before``; if even that cannot be saved, the journal stands and
      the next command completes the action, and the error says so.
    - The cleared journal cannot be saved: the records are on the ledger, so the action is done; the stale journal
      is replayed as a no-op later (appends are idempotent).
    """
    after.pending = [record.to_dict() for record in records]
    try:
        ctx.local.save(ctx.agent_id, after)
    except OSError as error:
        raise storage_failed(error, "nothing was recorded: could not save the journal") or error from None
    try:
        ctx.repo.append_records(records)
    except Exception as error:
        _roll_back(ctx, before, error)
        raise
    after.pending = []
    with contextlib.suppress(OSError):
        ctx.local.save(ctx.agent_id, after)


def _roll_back(ctx: Context, before: AgentState, error: Exception) -> None:
    before.pending = []
    try:
        ctx.local.save(ctx.agent_id, before)
    except OSError:
        raise StorageFailed(
            f"{error}; this action stays journalled and the next git-tracker command in this repository completes it"
        ) from None


def copy_state(state: AgentState) -> AgentState:
    return AgentState.from_json(state.to_json(), "state")


def new_record(ctx: Context, kind: str, moment: datetime, **body: Any) -> Record:
    return Record.new(
        kind, source=ctx.source, agent_id=ctx.agent_id, machine=ctx.machine, ts=clock.format_ts(moment), **body
    )


def index_of(ctx: Context) -> Any:
    from gittracker.index import load_index

    return load_index(ctx.repo, ctx.repo.cache_dir)  # no cache where git-tracker is not set up


def window_ids(records: Iterable[Record]) -> set[str]:
    return {str(r["window_id"]) for r in records if r.kind in ("window-open", "window-close")}


def resolve_window(ctx: Context, state: AgentState, known: set[str], window: str | None) -> str:
    if window is None:
        if state.last_closed_window is None:
            raise Refused(
                f"agent {ctx.agent_id} has no closed window to complete: name one "
                "(see `git tracker log --kind window-close`)"
            )
        return str(state.last_closed_window)
    matches = sorted(w for w in known if w.startswith(window.upper()))
    if len(window) < 6 or not matches:
        raise BadInput(f"WINDOW: expected a window id (or a unique prefix of 6+ characters), got {window!r}")
    if len(matches) > 1:
        raise BadInput(f"WINDOW: {window!r} matches {len(matches)} windows; give more characters")
    return matches[0]
