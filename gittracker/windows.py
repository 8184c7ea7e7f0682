"""The window lifecycle: start, end, undo, snapshot, complete — with the clean-data invariants.

Each action runs under the agent's lock, journals the records it will append in the local state,
appends them to the ledger in one compare-and-swap commit, then clears the journal (see ``state``).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gittracker import clock
from gittracker.capacity import (
    FIVE_HOUR,
    PROMPTS,
    READING_FIELDS,
    UNITS,
    Reading,
    binding_meter,
    check_provider,
    meter_label,
    meter_unit,
    require_binding,
)
from gittracker.config import Config, load
from gittracker.errors import BadInput, NotInitialised, Refused, StorageFailed, TrackerError, storage_failed
from gittracker.git import Repo
from gittracker.index import report_known_skipped
from gittracker.names import valid_agent_id
from gittracker.records import OUTCOMES, Record, Skipped, live_records, note_line, typed_text
from gittracker.state import AgentState, LocalState

ROLLOVER_TOLERANCE = timedelta(seconds=90)
# What preview and decide read: snapshots, opens and checkpoints are not needed for the statistics.
_ULID_PREFIX = re.compile(r"^[0-9A-HJKMNP-TV-Z]{6,26}$")


@dataclass(frozen=True)
class Context:
    repo: Repo
    local: LocalState
    config: Config
    agent_id: str
    source: str = "cli"


def agent_from_env(agent_id: str | None = None) -> str:
    agent = agent_id or os.environ.get("AGENT_ID") or "main"
    if not valid_agent_id(agent):
        raise BadInput(f"AGENT_ID: expected letters, digits, '.', '_' or '-' (max 64), got {agent!r}")
    return agent


def open_context(path: Path | str = ".", agent_id: str | None = None, source: str = "cli") -> Context:
    agent = agent_from_env(agent_id)
    repo = Repo.discover(path)
    local = LocalState(repo.tracker_dir)
    if not local.manifest.exists():
        raise NotInitialised("git-tracker is not set up in this repository: run `git tracker init` first")
    local.clear_stale_flush_marker()
    ctx = Context(repo, local, load(repo.toplevel), agent, source)
    replay_journals(ctx)
    return ctx


# -- journal -------------------------------------------------------------------------------------------


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


def _recover(ctx: Context) -> AgentState:
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


def _commit(ctx: Context, before: AgentState, after: AgentState, records: list[Record]) -> None:
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


def _copy(state: AgentState) -> AgentState:
    return AgentState.from_json(state.to_json(), "state")


def _new(ctx: Context, kind: str, moment: datetime, **body: Any) -> Record:
    return Record.new(kind, source=ctx.source, agent_id=ctx.agent_id, ts=clock.format_ts(moment), **body)


def _reading_entry(snapshot: Record) -> dict[str, Any]:
    return {**snapshot.body, "ts": snapshot.ts, "agent_id": snapshot.agent_id, "snapshot_id": snapshot.id}


def _remember_reading(ctx: Context, provider: str, snapshot: Record) -> None:
    """The last reading is kept for ``status`` and the reset guards; the ledger already has it, so a disk that
    refuses this copy does not undo the command."""
    with contextlib.suppress(OSError):
        ctx.local.save_provider_reading(provider, _reading_entry(snapshot))


# -- start ---------------------------------------------------------------------------------------------


def start(
    ctx: Context,
    provider: str,
    reading: Reading,
    *,
    feature_id: str | None = None,
    methodology: str | None = None,
    note: str | None = None,
    override_halt: bool = False,
) -> dict[str, Any]:
    check_provider(provider)
    require_binding(provider, reading, "start", ctx.config.capacity.get(provider))
    feature_id = typed_text(feature_id, "--feature")
    methodology = typed_text(methodology, "--methodology")
    note = typed_text(note, "--note")
    with ctx.local.agent_lock(ctx.agent_id):
        state = _recover(ctx)
        halted = halt_of(ctx, provider)
        if halted and not override_halt:
            raise Refused(
                f"{provider} is HALTED: {halted}; fix the capture, then `git tracker resume {provider}` "
                "(or pass --override-halt)"
            )
        if provider in state.open:
            window = state.open[provider]
            raise Refused(
                f"a {provider} window is already open for agent {ctx.agent_id} (since {window['opened_ts']}, "
                f"id {window['window_id']}): `git tracker end {provider}` or `git tracker undo {provider}` first"
            )
        moment = clock.now()
        window_id = clock.new_id(moment)
        head = ctx.repo.head()
        snapshot = _new(
            ctx, "snapshot", moment, provider=provider, phase="before", window_id=window_id, **reading.snapshot_fields()
        )
        opened = _new(
            ctx,
            "window-open",
            moment,
            window_id=window_id,
            provider=provider,
            commit_start=head,
            snapshot_id=snapshot.id,
            feature_id=feature_id,
            methodology=methodology,
            note=note,
        )
        after = _copy(state)
        after.open[provider] = _open_entry(snapshot, opened)
        _commit(ctx, state, after, [snapshot, opened])
        _remember_reading(ctx, provider, snapshot)
    return {
        "window_id": window_id,
        "provider": provider,
        "agent_id": ctx.agent_id,
        "commit_start": head,
        "opened_ts": opened.ts,
    }


def _open_entry(snapshot: Record, opened: Record) -> dict[str, Any]:
    """What the local state keeps of an open window: all from its before snapshot and its window-open record."""
    return {
        "window_id": opened["window_id"],
        "provider": opened["provider"],
        "open_id": opened.id,
        "snapshot_id": snapshot.id,
        "opened_ts": opened.ts,
        "commit_start": opened["commit_start"],
        "feature_id": opened["feature_id"],
        "methodology": opened["methodology"],
        "note": opened["note"],
        "before": {name: snapshot.get(name) for name in READING_FIELDS},
        "before_reading": _reading_entry(snapshot),
        "note_line": note_line(opened["window_id"], opened["provider"], opened.agent_id, opened.ts),
    }


def _closed_entry(window: dict[str, Any], closed: Record, after: Record, anomalies: list[str]) -> dict[str, Any]:
    return {
        **window,
        "close_id": closed.id,
        "after_snapshot_id": after.id,
        "closed_ts": closed.ts,
        "completed": False,
        "anomaly_ids": anomalies,
    }


def rebuild_state(records: Iterable[Record], agent_id: str) -> AgentState:
    """An agent's local state as the ledger tells it, for a state file that was lost or damaged (``doctor --fix``).

    Its journal is empty: what was journalled and never reached the ledger was never recorded.
    """
    live = live_records(records)
    by_id = {record.id: record for record in live}
    closes = {r["window_id"]: r for r in live if r.kind == "window-close"}  # id order: the latest live close wins
    completed = {r["window_id"] for r in live if r.kind == "completion"}
    state = AgentState()
    latest = ""
    for opened in (r for r in live if r.kind == "window-open" and r.agent_id == agent_id):
        snapshot = by_id.get(opened["snapshot_id"])
        if snapshot is None:
            continue
        window = _open_entry(snapshot, opened)
        close = closes.get(opened["window_id"])
        after = by_id.get(close["snapshot_id"]) if close is not None else None
        if close is None or after is None:
            state.open[opened["provider"]] = window
            continue
        raised = [
            r.id for r in live if r.kind == "anomaly" and r.ts == close.ts and r["window_id"] == window["window_id"]
        ]
        entry = _closed_entry(window, close, after, raised)
        entry["completed"] = window["window_id"] in completed
        state.last_closed[opened["provider"]] = entry
        if close.ts >= latest:
            latest, state.last_closed_window = close.ts, window["window_id"]
    return state


# -- end -----------------------------------------------------------------------------------------------


def _reset_times(ctx: Context, provider: str, meter: str, before: Reading, after: Reading) -> list[datetime]:
    """Every reset instant of ``meter`` we have evidence of for this provider (prompts reset with the 5-hour window)."""
    shown = FIVE_HOUR if meter == PROMPTS else meter
    last = ctx.local.known_resets(provider).get(shown)
    times = [clock.parse_ts(text) for text in (before.resets_of(shown), last) if isinstance(text, str)]
    old_text, new_text = before.resets_of(shown), after.resets_of(shown)
    if old_text and new_text:
        # The after's reset lies a whole window later: the before's reset happened in between.
        old, new = clock.parse_ts(old_text), clock.parse_ts(new_text)
        if new - old > ROLLOVER_TOLERANCE:
            times.append(min(old, clock.now()))
    return times


def end(
    ctx: Context, provider: str, reading: Reading, *, force: bool = False, note: str | None = None
) -> dict[str, Any]:
    check_provider(provider)
    configured = ctx.config.capacity.get(provider)
    require_binding(provider, reading, "end", configured)
    note = typed_text(note, "--note")
    with ctx.local.agent_lock(ctx.agent_id):
        state = _recover(ctx)
        window = state.open.get(provider)
        if window is None:
            raise Refused(f"no open {provider} window for agent {ctx.agent_id}: `git tracker start {provider} …` first")
        before = Reading.from_fields(window["before"])
        meter = binding_meter(provider, before, reading, configured)
        if meter is None:
            raise BadInput(
                f"end {provider}: the window's before reading shows {before.summary()}; expected an after reading "
                "with one of those meters"
            )
        report_known_skipped(ctx.local.root / "cache")
        moment = clock.now()
        opened = clock.parse_ts(window["opened_ts"])
        if moment < opened:
            raise Refused(
                f"the clock says {clock.format_ts(moment)}, before this {provider} window opened "
                f"({window['opened_ts']}): a window cannot end before it started; check the system clock "
                "(or GIT_TRACKER_NOW) and end it again"
            )
        errors: list[str] = []
        notes: list[str] = []
        resets = [r for r in _reset_times(ctx, provider, meter, before, reading) if r <= moment]
        buffer = timedelta(minutes=ctx.config.reset_buffer_minutes)
        if resets and moment - max(resets) < buffer:
            latest = clock.format_ts(max(resets))
            if not force:
                raise Refused(
                    f"the {provider} {meter_label(meter)} meter reset at {latest}, less than "
                    f"{ctx.config.reset_buffer_minutes:g} min ago: readings this soon after a reset are unreliable; "
                    "wait, or pass --force to record it as late-after"
                )
            notes.append("late-after")
        if any(opened < r <= moment for r in resets):
            errors.append("reset-inside-window")
        unit = meter_unit(meter)
        delta = _delta(before, reading, meter, errors)
        others = {
            name: _other_delta(ctx, provider, name, before, reading, opened, moment)
            for name in before.names()
            if name != meter and reading.used(name) is not None
        }
        head = ctx.repo.head()
        snapshot = _new(
            ctx,
            "snapshot",
            moment,
            provider=provider,
            phase="after",
            window_id=window["window_id"],
            **reading.snapshot_fields(),
        )
        closed = _new(
            ctx,
            "window-close",
            moment,
            window_id=window["window_id"],
            provider=provider,
            commit_start=window["commit_start"],
            commit_end=head,
            snapshot_id=snapshot.id,
            opened_ts=window["opened_ts"],
            delta=delta,
            unit=unit,
            meter=meter,
            other_deltas=others,
            errors=errors,
            notes=notes,
            feature_id=window["feature_id"],
            methodology=window["methodology"],
            note=note if note is not None else window.get("note"),
        )
        anomalies = [
            _new(
                ctx,
                "anomaly",
                moment,
                code=code,
                window_id=window["window_id"],
                detail=_anomaly_detail(code, provider, before, reading, meter),
            )
            for code in [*errors, *notes]
            if code in ("negative-delta", "reset-inside-window", "late-after")
        ]
        after = _copy(state)
        del after.open[provider]
        after.last_closed[provider] = _closed_entry(window, closed, snapshot, [anomaly.id for anomaly in anomalies])
        after.last_closed_window = window["window_id"]
        _commit(ctx, state, after, [snapshot, closed, *anomalies])
        _remember_reading(ctx, provider, snapshot)
    flush_warning, stamped = _write_stamps(ctx, window["window_id"])
    commits, selection = _count_window_commits(ctx, window["window_id"], window["commit_start"], head)
    return {
        "window_id": window["window_id"],
        "provider": provider,
        "delta": delta,
        "unit": unit,
        "meter": meter,
        "other_deltas": others,
        "errors": errors,
        "notes": notes,
        "commit_start": window["commit_start"],
        "commit_end": head,
        "anomalies": [a["code"] for a in anomalies],
        "commits": commits,
        "selection": selection,
        "stamped": sorted(stamped),
        "flush_warning": flush_warning,
    }


def _delta(before: Reading, after: Reading, meter: str, errors: list[str]) -> float | None:
    if errors:
        return None
    start_value, end_value = before.used(meter), after.used(meter)
    if start_value is None or end_value is None:
        errors.append("missing-reading")
        return None
    delta = end_value - start_value
    if not math.isfinite(delta):
        errors.append("non-finite-delta")
        return None
    if delta < 0:
        errors.append("negative-delta")
        return None
    return round(delta, 6)


def _other_delta(
    ctx: Context, provider: str, meter: str, before: Reading, after: Reading, opened: datetime, moment: datetime
) -> float | None:
    """A meter beside the binding one, kept as a fact (the conversion between meters is estimated from these):
    unknown when it reset inside the window or went down."""
    if any(opened < r <= moment for r in _reset_times(ctx, provider, meter, before, after)):
        return None
    return _delta(before, after, meter, [])


def _anomaly_detail(code: str, provider: str, before: Reading, after: Reading, meter: str) -> str:
    values = f"before {before.used(meter)} -> after {after.used(meter)} ({meter_label(meter)} meter)"
    return {
        "negative-delta": f"{provider}: capacity went down inside the window, {values}; delta left unknown",
        "reset-inside-window": f"{provider}: the window reset while work was open, {values}; delta left unknown",
        "late-after": f"{provider}: after recorded within the reset buffer with --force, {values}",
    }.get(code, f"{provider}: {code}")


def _count_window_commits(ctx: Context, window_id: str, start: str | None, end: str | None) -> tuple[int | None, str]:
    """The closed window's commits under ``churn.selection``. The window is closed already: a failure
    here must not make ``end`` look failed, so it leaves the count unknown."""
    from gittracker.churn import window_churn

    try:
        churns = window_churn(ctx)
        counted = churns.churn(window_id, start, end).to_dict()["commits"]
        churns.save()
    except (TrackerError, OSError):
        return None, ctx.config.churn_selection
    return counted, ctx.config.churn_selection


def _write_stamps(ctx: Context, window_id: str) -> tuple[str | None, list[str]]:
    """Write the window's queued note stamps now, so they exist when ``end`` returns; put back stamps
    that git's note copying dropped, and stamp the window's commits that lost theirs (``stamps``)."""
    from gittracker import hookrun
    from gittracker.stamps import stamp_missing

    try:
        hookrun.flush(ctx.repo.toplevel)
        hookrun.restore_window_notes(ctx.repo, window_id)
        stamped = stamp_missing(ctx.repo, {window_id})
    except Exception as error:
        return f"note stamps stay queued ({error}); they are written by the next commit or `git tracker flush`", []
    return None, list(stamped)


# -- undo ------------------------------------------------------------------------------------------------


def undo(ctx: Context, provider: str, *, after_reading: bool = False) -> dict[str, Any]:
    check_provider(provider)
    with ctx.local.agent_lock(ctx.agent_id):
        state = _recover(ctx)
        moment = clock.now()
        new = _copy(state)
        if not after_reading:
            window = state.open.get(provider)
            if window is None:
                raise Refused(f"no open {provider} window for agent {ctx.agent_id} to undo")
            targets = [window["snapshot_id"], window["open_id"]]
            del new.open[provider]
            reason = "undo-before"
            fallback = None
        else:
            if provider in state.open:
                raise Refused(
                    f"a {provider} window is open: end it, or `git tracker undo {provider}` its before, first"
                )
            window = state.last_closed.get(provider)
            if window is None:
                raise Refused(f"no closed {provider} window of agent {ctx.agent_id} to reopen")
            if window.get("completed") or _index(ctx).live_completions(window["window_id"]):
                raise Refused(f"window {window['window_id']} already has an outcome; its after can no longer be undone")
            # The anomalies that end raised belong to the voided close: void them with it.
            targets = [window["after_snapshot_id"], window["close_id"], *window.get("anomaly_ids", [])]
            closing_keys = ("close_id", "after_snapshot_id", "closed_ts", "completed", "anomaly_ids")
            reopened = {k: v for k, v in window.items() if k not in closing_keys}
            new.open[provider] = reopened
            del new.last_closed[provider]
            if new.last_closed_window == window["window_id"]:
                new.last_closed_window = None
            reason = "undo-after"
            fallback = window.get("before_reading")
        voids = [_new(ctx, "void", moment, target_id=target, reason=reason) for target in targets]
        _commit(ctx, state, new, voids)
        ctx.local.forget_provider_reading(provider, targets[0], fallback)
    return {"window_id": window["window_id"], "provider": provider, "voided": targets, "reason": reason}


# -- snapshot --------------------------------------------------------------------------------------------


def snapshot(ctx: Context, provider: str, reading: Reading, phase: str = "mid") -> dict[str, Any]:
    check_provider(provider)
    if phase != "mid":
        raise BadInput(f"--phase: expected mid (before and after come from start and end), got {phase!r}")
    if reading.is_empty():
        raise BadInput(f"snapshot {provider}: expected a capacity reading (--used, --left, --weekly or --prompts)")
    with ctx.local.agent_lock(ctx.agent_id):
        state = _recover(ctx)
        window_id = state.open.get(provider, {}).get("window_id")
        record = _new(
            ctx,
            "snapshot",
            clock.now(),
            provider=provider,
            phase=phase,
            window_id=window_id,
            **reading.snapshot_fields(),
        )
        ctx.repo.append_records([record])
        _remember_reading(ctx, provider, record)
    return {"snapshot_id": record.id, "provider": provider, "window_id": window_id}


# -- complete ----------------------------------------------------------------------------------------------


def parse_quality(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"--quality: expected a number from 0 to 1, got {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise BadInput(f"--quality: expected a number from 0 to 1, got {text!r}")
    return value


def complete(
    ctx: Context,
    window: str | None,
    outcome: str,
    quality: str,
    *,
    feature_id: str | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    if outcome not in OUTCOMES:
        raise BadInput(f"--outcome: expected one of {', '.join(OUTCOMES)}, got {outcome!r}")
    score = parse_quality(quality)
    feature_id = typed_text(feature_id, "--feature")
    with ctx.local.agent_lock(ctx.agent_id):
        state = _recover(ctx)
        index = _index(ctx)
        window_id = _resolve_window(ctx, state, set(index.opens) | set(index.closes), window)
        close = index.live_close(window_id)
        if close is None:
            raise Refused(f"window {window_id} is still open: `git tracker end` it first")
        done = index.live_completions(window_id)
        if done and not replace:
            raise Refused(f"window {window_id} already has an outcome ({done[-1][1]}); pass --replace to correct it")
        moment = clock.now()
        new_records = [_new(ctx, "void", moment, target_id=old[0], reason="replaced") for old in done]
        feature = feature_id if feature_id is not None else close[2]
        completion = _new(
            ctx, "completion", moment, window_id=window_id, outcome=outcome, quality_score=score, feature_id=feature
        )
        new = _copy(state)
        for closed in new.last_closed.values():
            if closed["window_id"] == window_id:
                closed["completed"] = True
        _commit(ctx, state, new, [*new_records, completion])
    return {
        "window_id": window_id,
        "outcome": outcome,
        "quality_score": score,
        "feature_id": feature,
        "completion_id": completion.id,
        "replaced": [old[0] for old in done],
    }


def _index(ctx: Context) -> Any:
    from gittracker.index import load_index

    return load_index(ctx.repo, ctx.local.root / "cache")


def _window_ids(records: Iterable[Record]) -> set[str]:
    return {str(r["window_id"]) for r in records if r.kind in ("window-open", "window-close")}


def _resolve_window(ctx: Context, state: AgentState, known: set[str], window: str | None) -> str:
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


# -- stop rule ---------------------------------------------------------------------------------------------


def halt_of(ctx: Context, provider: str) -> str | None:
    reason: str | None = _index(ctx).halt_reason(provider)
    return reason


def resume(ctx: Context, provider: str, reason: str) -> dict[str, Any]:
    check_provider(provider)
    halted = halt_of(ctx, provider)
    record = _new(ctx, "resume", clock.now(), provider=provider, reason=reason)
    ctx.repo.append_records([record])
    return {"provider": provider, "resume_id": record.id, "halted_before": halted}


# -- checkpoints and CSV ledgers -----------------------------------------------------------------------------


def checkpoint(ctx: Context, phase: str, window: str | None = None) -> dict[str, Any]:
    """Tokens and churn so far for a window: its open range to HEAD, or its closed range."""
    from gittracker.churn import Policy, churn_between

    if phase not in ("plan", "mid", "final"):
        raise BadInput(f"--phase: expected plan, mid or final, got {phase!r}")
    with ctx.local.agent_lock(ctx.agent_id):
        state = _recover(ctx)
        records = live_records(ctx.repo.read_records(["window-open", "window-close", "void"]))
        if window is None and state.open:
            target = max(state.open.values(), key=lambda w: w["opened_ts"])["window_id"]
        else:
            target = _resolve_window(ctx, state, _window_ids(records), window)
        closes = [r for r in records if r.kind == "window-close" and r["window_id"] == target]
        opens = [r for r in records if r.kind == "window-open" and r["window_id"] == target]
        if not opens:
            raise BadInput(f"WINDOW: no window {target}")
        start = opens[-1]["commit_start"]
        end = closes[-1]["commit_end"] if closes else ctx.repo.head()
        churn = churn_between(ctx.repo, start, end, Policy())
        record = _new(
            ctx,
            "checkpoint",
            clock.now(),
            window_id=target,
            provider=opens[-1]["provider"],
            phase=phase,
            commit=end,
            tokens=None,
            added=churn.added,
            deleted=churn.deleted,
            files=churn.files,
            commits=churn.commits,
        )
        ctx.repo.append_records([record])
    return {"checkpoint_id": record.id, **record.body}


def export(ctx: Context, which: str) -> str:
    from gittracker.churn import Churn, window_churn
    from gittracker.ledgers import churn_csv, token_churn_csv

    records = ctx.repo.read_records()
    if which == "token-churn":
        return token_churn_csv(records)
    churns = window_churn(ctx, records)

    def churn_of(window_id: str, start: str | None, end: str | None) -> dict[str, int] | None:
        found = churns.churn(window_id, start, end)
        if not isinstance(found, Churn):
            return None
        return {"added": found.added, "deleted": found.deleted, "files": found.files, "commits": found.commits}

    text = churn_csv(records, churn_of, churns.selection)
    churns.save()
    return text


# -- churn ---------------------------------------------------------------------------------------------------


def churn_of(ctx: Context, target: str | None, policy: Any, selection: str | None = None) -> Any:
    """Churn of a window (id or unique prefix), of ``REV..REV``, or by default of this agent's open
    window (so far) or else its last closed one. A window's churn follows ``selection`` (default: the
    configured ``churn.selection``): its noted commits, or its range."""
    from gittracker.churn import churn_between, resolve_range

    if target is not None and ".." in target:
        start, end = resolve_range(ctx.repo, target)
        return churn_between(ctx.repo, start, end, policy)
    state = ctx.local.load(ctx.agent_id)
    if target is None:
        if state.open:
            window = max(state.open.values(), key=lambda w: w["opened_ts"])
            return _churn_of_window(ctx, selection, window["window_id"], window["commit_start"], None, policy)
        if state.last_closed_window is None:
            raise Refused(f"agent {ctx.agent_id} has no window yet: name a WINDOW or a REV..REV range")
        target = state.last_closed_window
    if _ULID_PREFIX.match(target):
        records = live_records(ctx.repo.read_records(["window-open", "window-close", "void"]))
        window_id = _resolve_window(ctx, state, _window_ids(records), target)
        closes = [r for r in records if r.kind == "window-close" and r["window_id"] == window_id]
        if closes:
            start, end = closes[-1]["commit_start"], closes[-1]["commit_end"]
            return _churn_of_window(ctx, selection, window_id, start, end, policy)
        opens = [r for r in records if r.kind == "window-open" and r["window_id"] == window_id]
        return _churn_of_window(ctx, selection, window_id, opens[-1]["commit_start"], None, policy)
    start, end = resolve_range(ctx.repo, target)
    return churn_between(ctx.repo, start, end, policy)


def _churn_of_window(
    ctx: Context, selection: str | None, window_id: str, start: str | None, end: str | None, policy: Any
) -> Any:
    """``end`` None: a window still open, counted to HEAD."""
    from gittracker import hookrun
    from gittracker.churn import WindowChurn

    hookrun.flush_if_queued(ctx.repo)
    churns = WindowChurn(ctx.repo, ctx.local.root / "cache", selection or ctx.config.churn_selection)
    found = churns.churn(window_id, start, end if end is not None else ctx.repo.head(), policy)
    churns.save()
    return found


# -- reading back --------------------------------------------------------------------------------------------


def status(ctx: Context) -> dict[str, Any]:
    now = clock.now()
    agents = {}
    for agent in ctx.local.agents():
        state = ctx.local.load_readable(agent)
        if state is None:
            continue  # a damaged state is one of the problems listed below
        agents[agent] = {
            "open": [
                {key: window[key] for key in ("window_id", "provider", "opened_ts", "commit_start", "feature_id")}
                | {
                    "age_minutes": round((now - clock.parse_ts(window["opened_ts"])).total_seconds() / 60, 1),
                    "before": window["before"],
                }
                for window in state.open.values()
            ],
            "last_closed_window": state.last_closed_window,
            "journal": len(state.pending),
        }
    readings = {}
    for provider in UNITS:
        reading = ctx.local.provider_reading(provider)
        if reading is not None:
            readings[provider] = reading
    from gittracker.hookrun import queue_files, read_queue

    # Stamps only: rewrite lines wait for the next flush by design, and damaged lines are doctor's.
    queued = sum(len(lines) for lines in read_queue(queue_files(ctx.local)).stamps.values())
    from gittracker import install

    problems = sorted({finding.code for finding in [*install.findings(ctx.repo), *ctx.local.findings()]})
    return {
        "schema_version": 1,
        "agents": agents,
        "readings": readings,
        "queued_stamps": queued,
        "halts": {},
        "problems": problems,
    }


def anomaly_records(ctx: Context) -> list[Record]:
    return ctx.repo.read_records(["anomaly"])


def select_records(
    ctx: Context,
    kinds: Iterable[str] | None = None,
    provider: str | None = None,
    since: str | None = None,
    *,
    foreign: bool = False,
) -> list[Record | Skipped]:
    """The records ``log`` shows, in id order; with ``foreign`` also the stored records this version cannot
    use (unknown kinds, newer versions), as they are stored."""
    kind_list = list(kinds) if kinds else None
    cutoff = clock.format_ts(clock.parse_ts(since, "--since")) if since is not None else None
    if provider is not None:
        check_provider(provider)
    records, skipped = ctx.repo.read_ledger(None if provider else kind_list)
    if provider is not None:
        records = _of_provider(records, provider)
    shown: list[Record | Skipped] = list(records)
    if foreign:
        shown += [item for item in skipped if item.stored is not None]

    def keep(item: Record | Skipped) -> bool:
        kind, ts, of_provider = _face(item)
        return (
            (kind_list is None or kind in kind_list)
            and (cutoff is None or ts >= cutoff)
            and (provider is None or isinstance(item, Record) or of_provider == provider)
        )

    return sorted((item for item in shown if keep(item)), key=lambda item: str(_id_of(item)))


def _face(item: Record | Skipped) -> tuple[str, str, object]:
    if isinstance(item, Record):
        return item.kind, item.ts, item.get("provider")
    stored = item.stored or {}
    return str(stored.get("kind")), str(stored.get("ts")), stored.get("provider")


def _id_of(item: Record | Skipped) -> object:
    return item.id if isinstance(item, Record) else (item.stored or {}).get("id")


def _of_provider(records: list[Record], provider: str) -> list[Record]:
    """Records of the provider's windows: their own ``provider``, their window's, or their target's."""
    window_provider = {r["window_id"]: r["provider"] for r in records if r.kind == "window-open"}
    by_id = {r.id: r for r in records}

    def provider_of(record: Record) -> str | None:
        if "provider" in record.body:
            return str(record["provider"])
        if record.get("window_id"):
            return window_provider.get(record["window_id"])
        target = by_id.get(record.get("target_id") or "")
        return provider_of(target) if target is not None and target is not record else None

    return [r for r in records if provider_of(r) == provider]
