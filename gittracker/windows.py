"""The window lifecycle: start, end, undo, snapshot, complete, and the stop rule's resume — with the
clean-data invariants.

Each action runs under the agent's lock, journals the records it will append in the local state,
appends them to the ledger in one compare-and-swap commit, then clears the journal (``context.commit``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gittracker import clock, segments
from gittracker.capacity import (
    FIVE_HOUR,
    PROMPTS,
    READING_FIELDS,
    Reading,
    binding_meter,
    check_provider,
    meter_label,
    meter_unit,
    require_binding,
)
from gittracker.context import Context, commit, copy_state, index_of, new_record, recover, resolve_window
from gittracker.errors import BadInput, Refused, TrackerError
from gittracker.index import report_known_skipped
from gittracker.noteline import note_line
from gittracker.overlaps import Span
from gittracker.records import OUTCOMES, Record, live_records, typed_text
from gittracker.state import AgentState
from gittracker.worktrees import Head, head_of, here

ROLLOVER_TOLERANCE = timedelta(seconds=90)


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
    opening: Opening | None = None,
) -> dict[str, Any]:
    """Open a window: its before snapshot and its window-open record, at HEAD (or as ``opening`` says, for a
    window an agent's hook opened earlier)."""
    check_provider(provider)
    opening = opening or Opening()
    if opening.require_reading or not reading.is_empty():
        require_binding(provider, reading, "start", ctx.config.capacity.get(provider))
    labels = {
        "feature_id": typed_text(feature_id, "--feature"),
        "methodology": typed_text(methodology, "--methodology"),
        "note": typed_text(note, "--note"),
    }
    warnings = _feature_warnings(ctx, labels["feature_id"], provider)
    with ctx.local.agent_lock(ctx.agent_id):
        state = recover(ctx)
        _refuse_when_halted(ctx, provider, override_halt)
        _refuse_when_open(ctx, state, provider)
        moment = opening.at or clock.now()
        if not reading.is_empty():
            _refuse_soon_after_a_reset(ctx, provider, reading, moment)
        snapshot, opened = _opening_records(ctx, provider, reading, labels, moment, opening)
        after = copy_state(state)
        # Which worktree: local state only (the ledger never holds a path), for end's commit_end.
        after.open[provider] = {**_open_entry(snapshot, opened), "worktree": here(ctx.repo).to_state()}
        commit(ctx, state, after, [snapshot, opened])
        _remember_reading(ctx, provider, snapshot)
    return {
        "window_id": opened["window_id"],
        "provider": provider,
        "agent_id": ctx.agent_id,
        "commit_start": opened["commit_start"],
        "opened_ts": opened.ts,
        "warnings": warnings,
    }


def _feature_warnings(ctx: Context, feature_id: str | None, provider: str) -> list[str]:
    """``--feature``: whether the window is the experiment's plan (a warning, never a refusal); the ledger's bank is
    read only then, so a plain ``start`` pays nothing for it."""
    if feature_id is None:
        return []
    from gittracker.experiment.actions import start_feature_warnings

    return start_feature_warnings(ctx, feature_id, provider)


def _refuse_when_halted(ctx: Context, provider: str, override_halt: bool) -> None:
    halted = halt_of(ctx, provider)
    if halted and not override_halt:
        raise Refused(
            f"{provider} is HALTED: {halted}; fix the capture, then `git tracker resume {provider}` "
            "(or pass --override-halt)"
        )


def _refuse_when_open(ctx: Context, state: AgentState, provider: str) -> None:
    """One window per provider and agent: a second agent (AGENT_ID) may open its own."""
    if provider in state.open:
        window = state.open[provider]
        raise Refused(
            f"a {provider} window is already open for agent {ctx.agent_id} (since {window['opened_ts']}, "
            f"id {window['window_id']}): `git tracker end {provider}` or `git tracker undo {provider}` first"
        )


def _refuse_soon_after_a_reset(ctx: Context, provider: str, reading: Reading, moment: datetime) -> None:
    """A before reading taken right after a reset is as unreliable as an after (the meter may not show the reset
    yet): the reset buffer holds for ``start`` too, on the meter the window's delta will most likely be on."""
    meter = binding_meter(provider, reading, reading, ctx.config.capacity.get(provider))
    if meter is None:  # no meter to take a delta on: require_binding has refused already
        return
    latest = _latest_reset(ctx, provider, meter, reading, reading, moment)
    if latest is None or not _within_buffer(ctx, latest, moment):
        return
    settled = latest + timedelta(minutes=ctx.config.reset_buffer_minutes)
    raise Refused(
        f"the {provider} {meter_label(meter)} meter reset at {clock.format_ts(latest)}, less than "
        f"{ctx.config.reset_buffer_minutes:g} min ago: a before reading this soon after a reset is unreliable; "
        f"read the meter again after {clock.format_ts(settled)}"
    )


@dataclass(frozen=True)
class Opening:
    """How a window an agent's hook opened is written (``autocapture``): at the moment of the session's first
    event, under the window id its commits were already stamped with, from the commit HEAD was then; and, for a
    session that never showed a reading, with none (its delta is then unknown, ``missing-reading``)."""

    at: datetime | None = None
    window_id: str | None = None
    commit_start: str | None = None
    require_reading: bool = True


def _opening_records(
    ctx: Context,
    provider: str,
    reading: Reading,
    labels: dict[str, str | None],
    moment: datetime,
    opening: Opening,
) -> tuple[Record, Record]:
    """The before snapshot and the window-open record, one moment and one window id (new unless given)."""
    window_id = opening.window_id or clock.new_id(moment)
    snapshot = new_record(
        ctx, "snapshot", moment, provider=provider, phase="before", window_id=window_id, **reading.snapshot_fields()
    )
    opened = new_record(
        ctx,
        "window-open",
        moment,
        window_id=window_id,
        provider=provider,
        commit_start=opening.commit_start or ctx.repo.head(),
        snapshot_id=snapshot.id,
        **labels,
    )
    return snapshot, opened


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
        "commit_end": closed["commit_end"],
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
    mids = _mid_readings(live, {r["window_id"] for r in live if r.kind == "window-open" and r.agent_id == agent_id})
    completed = {r["window_id"] for r in live if r.kind == "completion"}
    state = AgentState()
    latest = ""
    for opened in (r for r in live if r.kind == "window-open" and r.agent_id == agent_id):
        snapshot = by_id.get(opened["snapshot_id"])
        if snapshot is None:
            continue
        window = _with_tracks(_open_entry(snapshot, opened), mids.get(opened["window_id"], []))
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


def _mid_readings(live: Iterable[Record], windows: set[str]) -> dict[str, list[tuple[datetime, Reading]]]:
    """window id -> its mid readings, each with its time, for ``windows``: what their tracks are rebuilt from."""
    found: dict[str, list[tuple[datetime, Reading]]] = {}
    for record in live:
        if record.kind == "snapshot" and record["phase"] == "mid" and record["window_id"] in windows:
            with contextlib.suppress(BadInput):
                reading = (clock.parse_ts(record.ts), Reading.from_fields(record.body))
                found.setdefault(record["window_id"], []).append(reading)
    return found


def _with_tracks(window: dict[str, Any], mids: list[tuple[datetime, Reading]]) -> dict[str, Any]:
    """The window's entry with the tracks its mid readings make (``segments``); none without a mid reading, as
    ``snapshot`` keeps them."""
    if not mids:
        return window
    before = Reading.from_fields(window["before"])
    tracks = segments.replayed(before, clock.parse_ts(window["opened_ts"]), mids)
    return {**window, segments.KEY: segments.to_state(tracks)}


# -- end -----------------------------------------------------------------------------------------------


def _reset_times(ctx: Context, provider: str, meter: str, before: Reading, after: Reading) -> list[datetime]:
    """Every reset instant of ``meter`` we have evidence of for this provider (prompts reset with the 5-hour window).

    Evidence is a reset time already past: the before's, the after's own (a reading that shows its window's
    reset as past was taken before it, or was typed so), or the latest any reading on this machine showed.
    """
    shown = FIVE_HOUR if meter == PROMPTS else meter
    last = ctx.local.known_resets(provider).get(shown)
    shown_times = (before.resets_of(shown), after.resets_of(shown), last)
    times = [clock.parse_ts(text) for text in shown_times if isinstance(text, str)]
    old_text, new_text = before.resets_of(shown), after.resets_of(shown)
    if old_text and new_text:
        # The after's reset lies a whole window later: the before's reset happened in between.
        old, new = clock.parse_ts(old_text), clock.parse_ts(new_text)
        if new - old > ROLLOVER_TOLERANCE:
            times.append(min(old, clock.now()))
    return times


def end(
    ctx: Context,
    provider: str,
    reading: Reading,
    *,
    force: bool = False,
    note: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Close the agent's open window on ``provider``: the after snapshot, the window-close record with the delta
    on the binding meter, and an anomaly for each reason the delta cannot be trusted. ``at``: when an agent's
    hook saw the window end (an idle window closes at its last reading), instead of now."""
    check_provider(provider)
    configured = ctx.config.capacity.get(provider)
    if at is None:
        require_binding(provider, reading, "end", configured)
    note = typed_text(note, "--note")
    with ctx.local.agent_lock(ctx.agent_id):
        state = recover(ctx)
        window = _open_window(ctx, state, provider)
        before = Reading.from_fields(window["before"])
        meter = _meter_of_window(provider, before, reading, configured, unread_ok=at is not None)
        report_known_skipped(ctx.local.root / "cache")
        moment = _closing_moment(provider, window, at)
        head = head_of(ctx.repo, window)
        errors, notes = _reset_checks(ctx, provider, meter, before, reading, window, moment, force)
        spans = _segmented(ctx, provider, meter, before, reading, window, moment)
        measured = _Measured(
            meter=meter,
            delta=_delta_across_resets(ctx, spans, errors, notes) if spans else _delta(before, reading, meter, errors),
            others=_other_deltas(ctx, provider, meter, before, reading, window, moment),
            errors=errors,
            notes=notes,
            segmented=spans,
        )
        snapshot, closed, anomalies = _closing_records(
            ctx, provider, window, before, reading, measured, moment, note, head
        )
        overlapping = _overlap_marks(ctx, closed)
        anomalies += [mark for _, mark in overlapping]
        after = copy_state(state)
        del after.open[provider]
        after.last_closed[provider] = _closed_entry(window, closed, snapshot, [anomaly.id for anomaly in anomalies])
        after.last_closed_window = window["window_id"]
        commit(ctx, state, after, [snapshot, closed, *anomalies])
        _remember_reading(ctx, provider, snapshot)
    # The window is closed: what follows only completes its notes and counts its commits, and cannot undo it.
    flush_warning, stamped = _write_stamps(ctx, window["window_id"])
    commits, selection = _count_window_commits(ctx, window["window_id"], window["commit_start"], closed["commit_end"])
    return {
        "window_id": window["window_id"],
        "provider": provider,
        "delta": measured.delta,
        "unit": closed["unit"],
        "meter": meter,
        "other_deltas": measured.others,
        "errors": errors,
        "notes": notes,
        "resets": [reset.to_dict() for reset in spans.resets] if spans else [],
        "commit_start": window["commit_start"],
        "commit_end": closed["commit_end"],
        "anomalies": [a["code"] for a in anomalies],
        "overlaps_with": [{"window_id": other.window_id, "agent_id": other.agent_id} for other, _ in overlapping],
        "commits": commits,
        "selection": selection,
        "stamped": sorted(stamped),
        "flush_warning": flush_warning,
        "worktree_warning": head.warning,
    }


@dataclass(frozen=True)
class _Measured:
    """What ``end`` measured: the delta on the binding meter, the other meters' deltas, and why any is unknown."""

    meter: str
    delta: float | None
    others: dict[str, float | None]
    errors: list[str]
    notes: list[str]
    segmented: segments.Segmented | None = None  # the resets the window's readings saw, when it had mid readings


def _open_window(ctx: Context, state: AgentState, provider: str) -> dict[str, Any]:
    window = state.open.get(provider)
    if window is None:
        raise Refused(f"no open {provider} window for agent {ctx.agent_id}: `git tracker start {provider} …` first")
    return window


def _meter_of_window(
    provider: str, before: Reading, after: Reading, configured: str | None, *, unread_ok: bool = False
) -> str:
    meter = binding_meter(provider, before, after, configured)
    if meter is None and unread_ok:  # an automatic window that never saw a reading: its delta is unknown
        return configured or FIVE_HOUR
    if meter is None:
        raise BadInput(
            f"end {provider}: the window's before reading shows {before.summary()}; expected an after reading "
            "with one of those meters"
        )
    return meter


def _closing_moment(provider: str, window: dict[str, Any], at: datetime | None = None) -> datetime:
    moment = at or clock.now()
    if moment < clock.parse_ts(window["opened_ts"]):
        raise Refused(
            f"the clock says {clock.format_ts(moment)}, before this {provider} window opened "
            f"({window['opened_ts']}): a window cannot end before it started; check the system clock "
            "(or GIT_TRACKER_NOW) and end it again"
        )
    return moment


def _reset_checks(
    ctx: Context,
    provider: str,
    meter: str,
    before: Reading,
    after: Reading,
    window: dict[str, Any],
    moment: datetime,
    force: bool,
) -> tuple[list[str], list[str]]:
    """The binding meter's resets: one inside the window leaves the delta unknown (``errors``); an after taken
    within the reset buffer is refused, or noted ``late-after`` with ``force`` (``notes``)."""
    errors: list[str] = []
    notes: list[str] = []
    resets = [r for r in _reset_times(ctx, provider, meter, before, after) if r <= moment]
    if resets and _within_buffer(ctx, max(resets), moment):
        if not force:
            raise Refused(
                f"the {provider} {meter_label(meter)} meter reset at {clock.format_ts(max(resets))}, less than "
                f"{ctx.config.reset_buffer_minutes:g} min ago: readings this soon after a reset are unreliable; "
                "wait, or pass --force to record it as late-after"
            )
        notes.append("late-after")
    if any(clock.parse_ts(window["opened_ts"]) < r <= moment for r in resets):
        errors.append("reset-inside-window")
    return errors, notes


def _latest_reset(
    ctx: Context, provider: str, meter: str, before: Reading, after: Reading, moment: datetime
) -> datetime | None:
    return max((r for r in _reset_times(ctx, provider, meter, before, after) if r <= moment), default=None)


def _within_buffer(ctx: Context, reset: datetime, moment: datetime) -> bool:
    """Readings less than ``reset_buffer_minutes`` after a reset are unreliable."""
    return moment - reset < timedelta(minutes=ctx.config.reset_buffer_minutes)


def _segmented(
    ctx: Context, provider: str, meter: str, before: Reading, after: Reading, window: dict[str, Any], moment: datetime
) -> segments.Segmented | None:
    """The window's consumption summed over the resets its readings saw, when it has mid readings of ``meter``
    and they, or other evidence, show a reset inside it; None otherwise (the delta is after - before as ever)."""
    track = (segments.tracks_of(window.get(segments.KEY)) or {}).get(meter)
    if track is None or track.mids == 0:
        return None
    opened = clock.parse_ts(window["opened_ts"])
    known = [r for r in _reset_times(ctx, provider, meter, before, after) if opened < r <= moment]
    found = segments.measure(track, after, meter, moment, known)
    return found if found is not None and (found.resets or found.unexplained) else None


def _delta_across_resets(ctx: Context, spans: segments.Segmented, errors: list[str], notes: list[str]) -> float | None:
    """The segmented delta, kept and noted ``spans-reset`` when every reset is bracketed by two readings less than
    ``auto.reset_gap_minutes`` apart from it; else unknown, ``reset-inside-window``, as for a window without mid
    readings."""
    if not spans.kept(ctx.config.reset_gap_minutes):
        if "reset-inside-window" not in errors:
            errors.append("reset-inside-window")
        return None
    if "reset-inside-window" in errors:
        errors.remove("reset-inside-window")
    if errors:
        return None
    if not math.isfinite(spans.delta):
        errors.append("non-finite-delta")
        return None
    notes.append("spans-reset")
    return spans.delta


def _other_deltas(
    ctx: Context,
    provider: str,
    meter: str,
    before: Reading,
    after: Reading,
    window: dict[str, Any],
    moment: datetime,
) -> dict[str, float | None]:
    opened = clock.parse_ts(window["opened_ts"])
    return {
        name: _other_delta(ctx, provider, name, before, after, opened, moment)
        for name in before.names()
        if name != meter and after.used(name) is not None
    }


def _closing_records(
    ctx: Context,
    provider: str,
    window: dict[str, Any],
    before: Reading,
    reading: Reading,
    measured: _Measured,
    moment: datetime,
    note: str | None,
    head: Head,
) -> tuple[Record, Record, list[Record]]:
    """The after snapshot, the window-close record at the HEAD of the window's worktree, and the anomalies the
    measurement raised."""
    window_id = window["window_id"]
    snapshot = new_record(
        ctx, "snapshot", moment, provider=provider, phase="after", window_id=window_id, **reading.snapshot_fields()
    )
    closed = new_record(
        ctx,
        "window-close",
        moment,
        window_id=window_id,
        provider=provider,
        commit_start=window["commit_start"],
        commit_end=head.commit,
        snapshot_id=snapshot.id,
        opened_ts=window["opened_ts"],
        delta=measured.delta,
        unit=meter_unit(measured.meter),
        meter=measured.meter,
        other_deltas=measured.others,
        errors=measured.errors,
        notes=measured.notes,
        feature_id=window["feature_id"],
        methodology=window["methodology"],
        note=note if note is not None else window.get("note"),
    )
    anomalies = [
        new_record(
            ctx,
            "anomaly",
            moment,
            code=code,
            window_id=window_id,
            detail=_anomaly_detail(code, provider, before, reading, measured),
        )
        for code in [*measured.errors, *measured.notes]
        if code in ("negative-delta", "reset-inside-window", "late-after", "spans-reset")
    ]
    return snapshot, closed, anomalies


def _overlap_marks(ctx: Context, closed: Record) -> list[tuple[Span, Record]]:
    """An ``overlapping-windows`` anomaly for each closed window of the provider this one overlapped (recorded with
    the close, so ``undo --after`` voids them with it). Reading the ledger cannot undo the close: on failure there
    are none, and ``preview`` still leaves the windows out (it decides from the windows themselves)."""
    from gittracker.overlapledger import marks_for

    try:
        return marks_for(ctx.repo, closed, ctx.machine)
    except (TrackerError, OSError):
        return []


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


def _anomaly_detail(code: str, provider: str, before: Reading, after: Reading, measured: _Measured) -> str:
    meter = measured.meter
    values = f"before {before.used(meter)} -> after {after.used(meter)} ({meter_label(meter)} meter)"
    spans = measured.segmented
    if spans is not None and code in ("reset-inside-window", "spans-reset"):
        return f"{provider}: {_segments_detail(spans, values, measured.notes)}"
    return {
        "negative-delta": f"{provider}: capacity went down inside the window, {values}; delta left unknown",
        "reset-inside-window": f"{provider}: the window reset while work was open, {values}; delta left unknown",
        "late-after": f"{provider}: after recorded within the reset buffer with --force, {values}",
    }.get(code, f"{provider}: {code}")


def _segments_detail(spans: segments.Segmented, values: str, notes: list[str]) -> str:
    """Each reset with the readings around it and the time no reading saw; then the delta, or why it is unknown."""
    seen = "; ".join(_reset_text(reset) for reset in spans.resets)
    unexplained = ", ".join(clock.format_ts(moment) for moment in spans.unexplained)
    parts = [f"{values}; the meter reset inside the window"]
    if seen:
        parts.append(f"between readings: {seen}")
    if unexplained:
        parts.append(f"reset at {unexplained} with no reading of the window on each side")
    unseen = sum(reset.uncovered_minutes() for reset in spans.resets)
    if unexplained or not spans.resets or "spans-reset" not in notes:
        parts.append("delta left unknown")
    else:
        parts.append(
            f"summed over {len(spans.resets) + 1} segments: {spans.delta:g}, a lower bound (the use in the "
            f"{unseen:g} min before the reset{'s' if len(spans.resets) > 1 else ''} is unseen)"
        )
    return "; ".join(parts)


def _reset_text(reset: segments.Reset) -> str:
    when = f"at {clock.format_ts(reset.at)}" if reset.at is not None else "when unknown (the value fell)"
    return (
        f"{reset.before.used:g} at {clock.format_ts(reset.before.ts)} -> {reset.after.used:g} at "
        f"{clock.format_ts(reset.after.ts)}, reset {when}, {reset.uncovered_minutes():g} min unseen"
    )


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
        state = recover(ctx)
        moment = clock.now()
        new = copy_state(state)
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
            if window.get("completed") or index_of(ctx).live_completions(window["window_id"]):
                raise Refused(f"window {window['window_id']} already has an outcome; its after can no longer be undone")
            # The anomalies that end raised belong to the voided close: void them with it.
            targets = [window["after_snapshot_id"], window["close_id"], *window.get("anomaly_ids", [])]
            closing_keys = ("close_id", "after_snapshot_id", "closed_ts", "commit_end", "completed", "anomaly_ids")
            reopened = {k: v for k, v in window.items() if k not in closing_keys}
            new.open[provider] = reopened
            del new.last_closed[provider]
            if new.last_closed_window == window["window_id"]:
                new.last_closed_window = None
            reason = "undo-after"
            fallback = window.get("before_reading")
        voids = [new_record(ctx, "void", moment, target_id=target, reason=reason) for target in targets]
        commit(ctx, state, new, voids)
        ctx.local.forget_provider_reading(provider, targets[0], fallback)
    return {"window_id": window["window_id"], "provider": provider, "voided": targets, "reason": reason}


# -- snapshot --------------------------------------------------------------------------------------------


def snapshot(
    ctx: Context, provider: str, reading: Reading, phase: str = "mid", *, at: datetime | None = None
) -> dict[str, Any]:
    check_provider(provider)
    if phase != "mid":
        raise BadInput(f"--phase: expected mid (before and after come from start and end), got {phase!r}")
    if reading.is_empty():
        raise BadInput(f"snapshot {provider}: expected a capacity reading (--used, --left, --weekly or --prompts)")
    with ctx.local.agent_lock(ctx.agent_id):
        state = recover(ctx)
        window = state.open.get(provider)
        window_id = window["window_id"] if window is not None else None
        record = new_record(
            ctx,
            "snapshot",
            at or clock.now(),
            provider=provider,
            phase=phase,
            window_id=window_id,
            **reading.snapshot_fields(),
        )
        if window is None:
            ctx.repo.append_records([record])
        else:
            # The open window keeps what its delta across a reset needs, with the record, in one step.
            after = copy_state(state)
            after.open[provider] = _tracked(window, reading, clock.parse_ts(record.ts))
            commit(ctx, state, after, [record])
        _remember_reading(ctx, provider, record)
    return {"snapshot_id": record.id, "provider": provider, "window_id": window_id}


def _tracked(window: dict[str, Any], reading: Reading, moment: datetime) -> dict[str, Any]:
    """The open window's entry with a mid reading added to its tracks (started from its before reading when it has
    none yet: its first mid reading, or a state written before tracks were kept)."""
    tracks = segments.tracks_of(window.get(segments.KEY))
    if tracks is None:
        try:
            tracks = segments.start(Reading.from_fields(window["before"]), clock.parse_ts(window["opened_ts"]))
        except BadInput:  # a before `end` could not read either: the window is measured without tracks
            return window
    return {**window, segments.KEY: segments.to_state(segments.with_reading(tracks, reading, moment))}


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
    provider: str | None = None,
) -> dict[str, Any]:
    """``provider``: the default window is this agent's last closed window of that provider (the shell functions'
    ``ox`` completes codex's even when a claude window closed since), and a named WINDOW must be one of its."""
    if outcome not in OUTCOMES:
        raise BadInput(f"--outcome: expected one of {', '.join(OUTCOMES)}, got {outcome!r}")
    score = parse_quality(quality)
    feature_id = typed_text(feature_id, "--feature")
    if provider is not None:
        check_provider(provider)
    with ctx.local.agent_lock(ctx.agent_id):
        state = recover(ctx)
        if window is None:
            _refuse_default_while_open(ctx, state, provider)
        index = index_of(ctx)
        if window is None and provider is not None:
            window_id = _last_closed_of(ctx, state, provider)
        else:
            window_id = resolve_window(ctx, state, set(index.opens) | set(index.closes), window)
            _check_window_provider(index, window_id, provider)
        close = index.live_close(window_id)
        if close is None:
            raise Refused(f"window {window_id} is still open: `git tracker end` it first")
        done = index.live_completions(window_id)
        if done and not replace:
            raise Refused(f"window {window_id} already has an outcome ({done[-1][1]}); pass --replace to correct it")
        moment = clock.now()
        new_records = [new_record(ctx, "void", moment, target_id=old[0], reason="replaced") for old in done]
        feature = feature_id if feature_id is not None else close[2]
        completion = new_record(
            ctx, "completion", moment, window_id=window_id, outcome=outcome, quality_score=score, feature_id=feature
        )
        new = copy_state(state)
        for closed in new.last_closed.values():
            if closed["window_id"] == window_id:
                closed["completed"] = True
        commit(ctx, state, new, [*new_records, completion])
    return {
        "window_id": window_id,
        "outcome": outcome,
        "quality_score": score,
        "feature_id": feature,
        "completion_id": completion.id,
        "replaced": [old[0] for old in done],
    }


def _refuse_default_while_open(ctx: Context, state: AgentState, provider: str | None = None) -> None:
    """The default is the last closed window; with a window open the user most likely means that one, and an
    outcome silently filed on an older window is hard to notice: ask for the end, or for the WINDOW. With a
    provider, only that provider's open window counts: the user said which one they mean."""
    opened = [w for w in state.open.values() if provider is None or w["provider"] == provider]
    if not opened:
        return
    window = max(opened, key=lambda w: w["opened_ts"])
    also = f" (and {len(opened) - 1} more)" if len(opened) > 1 else ""
    raise Refused(
        f"agent {ctx.agent_id} has a {window['provider']} window open ({window['window_id']}){also}: "
        f"`git tracker end {window['provider']}` it first, or name the WINDOW to complete"
    )


def _last_closed_of(ctx: Context, state: AgentState, provider: str) -> str:
    closed = state.last_closed.get(provider)
    if closed is None:
        raise Refused(
            f"agent {ctx.agent_id} has no closed {provider} window to complete: name one "
            "(see `git tracker log --kind window-close`)"
        )
    return str(closed["window_id"])


def _check_window_provider(index: Any, window_id: str, provider: str | None) -> None:
    opened = index.opens.get(window_id)
    if provider is not None and opened is not None and opened[1] != provider:
        raise BadInput(f"WINDOW: expected a {provider} window, got {window_id}, a {opened[1]} window")


# -- stop rule ---------------------------------------------------------------------------------------------


def halt_of(ctx: Context, provider: str) -> str | None:
    reason: str | None = index_of(ctx).halt_reason(provider)
    return reason


def resume(ctx: Context, provider: str, reason: str) -> dict[str, Any]:
    check_provider(provider)
    halted = halt_of(ctx, provider)
    record = new_record(ctx, "resume", clock.now(), provider=provider, reason=reason)
    ctx.repo.append_records([record])
    return {"provider": provider, "resume_id": record.id, "halted_before": halted}
