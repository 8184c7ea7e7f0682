"""What the read commands compute: ``status``, ``log``, ``anomalies``, a window's ``churn``, ``checkpoint`` and
the CSV ledgers of ``export``. (``preview`` and ``decide`` have their own module, ``preview``.)"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gittracker import clock
from gittracker.capacity import UNITS, check_provider
from gittracker.context import Context, index_of, new_record, recover, resolve_window, window_ids
from gittracker.errors import BadInput, Refused
from gittracker.records import PROVIDERS, Record, Skipped, live_records
from gittracker.who import ANYONE, Who
from gittracker.worktrees import head_of
from gittracker.worktrees import name_of as worktree_name

_ULID_PREFIX = re.compile(r"^[0-9A-HJKMNP-TV-Z]{6,26}$")


def checkpoint(ctx: Context, phase: str, window: str | None = None) -> dict[str, Any]:
    """Tokens and churn so far for a window: its open range to HEAD, or its closed range."""
    from gittracker.churn import Policy, churn_between

    if phase not in ("plan", "mid", "final"):
        raise BadInput(f"--phase: expected plan, mid or final, got {phase!r}")
    with ctx.local.agent_lock(ctx.agent_id):
        state = recover(ctx)
        records = live_records(ctx.repo.read_records(["window-open", "window-close", "void", "usage"]))
        if window is None and state.open:
            target = max(state.open.values(), key=lambda w: w["opened_ts"])["window_id"]
        else:
            target = resolve_window(ctx, state, window_ids(records), window)
        closes = [r for r in records if r.kind == "window-close" and r["window_id"] == target]
        opens = [r for r in records if r.kind == "window-open" and r["window_id"] == target]
        if not opens:
            raise BadInput(f"WINDOW: no window {target}")
        start = opens[-1]["commit_start"]
        end = closes[-1]["commit_end"] if closes else open_window_head(ctx, target)
        churn = churn_between(ctx.repo, start, end, Policy())
        record = new_record(
            ctx,
            "checkpoint",
            clock.now(),
            window_id=target,
            provider=opens[-1]["provider"],
            phase=phase,
            commit=end,
            tokens=_tokens_so_far(records, target),
            added=churn.added,
            deleted=churn.deleted,
            files=churn.files,
            commits=churn.commits,
        )
        ctx.repo.append_records([record])
    return {"checkpoint_id": record.id, **record.body}


def _tokens_so_far(records: list[Record], window_id: str) -> int | None:
    """The window's tokens as ``preview`` counts them: what ``ingest`` attributed to it (closed windows only), or
    None when nothing is known — never 0 for "not read"."""
    from gittracker.usage import window_tokens

    return window_tokens(records).get(window_id)


@dataclass(frozen=True)
class Exported:
    text: str
    format: str  # the ledger's name, e.g. Churn_Ledger.csv
    rows: int


def export(ctx: Context, which: str, out: str | None = None, handoff: str | None = None) -> Exported:
    """A CSV ledger, written to ``out`` when given, its path appended to the ``handoff`` document. Every path
    is checked before anything is written: a mistyped folder is one line, never half the output."""
    from gittracker.files import output_file
    from gittracker.ledgers import LEDGER_NAMES

    target = output_file(out, "--out") if out is not None else None
    notes = output_file(handoff, "--handoff") if handoff else None
    text = _ledger_text(ctx, which)
    if target is not None:
        target.write_text(text, newline="")
    if notes is not None:
        with notes.open("a") as handle:
            handle.write(f"- {LEDGER_NAMES[which]}: `{out}`\n")
    return Exported(text, LEDGER_NAMES[which], text.count("\n") - 1)


def _ledger_text(ctx: Context, which: str) -> str:
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
            reached = head_of(ctx.repo, window).commit
            return _churn_of_window(ctx, selection, window["window_id"], window["commit_start"], reached, policy)
        if state.last_closed_window is None:
            raise Refused(f"agent {ctx.agent_id} has no window yet: name a WINDOW or a REV..REV range")
        target = state.last_closed_window
    if _ULID_PREFIX.match(target):
        records = live_records(ctx.repo.read_records(["window-open", "window-close", "void"]))
        window_id = resolve_window(ctx, state, window_ids(records), target)
        closes = [r for r in records if r.kind == "window-close" and r["window_id"] == window_id]
        if closes:
            start, end = closes[-1]["commit_start"], closes[-1]["commit_end"]
            return _churn_of_window(ctx, selection, window_id, start, end, policy)
        opens = [r for r in records if r.kind == "window-open" and r["window_id"] == window_id]
        reached = open_window_head(ctx, window_id)
        return _churn_of_window(ctx, selection, window_id, opens[-1]["commit_start"], reached, policy)
    start, end = resolve_range(ctx.repo, target)
    return churn_between(ctx.repo, start, end, policy)


def open_window_head(ctx: Context, window_id: str) -> str | None:
    """Where an open window's work reaches so far: HEAD of the worktree it was opened in (any agent's window on this
    machine), else HEAD here."""
    for agent in ctx.local.agents():
        state = ctx.local.load_readable(agent)
        for window in state.open.values() if state is not None else ():
            if window["window_id"] == window_id:
                return head_of(ctx.repo, window).commit
    return ctx.repo.head()


def _churn_of_window(
    ctx: Context, selection: str | None, window_id: str, start: str | None, end: str | None, policy: Any
) -> Any:
    """``end`` None: counted to HEAD here."""
    from gittracker import hookrun
    from gittracker.churn import WindowChurn

    if ctx.set_up:  # where git-tracker is not set up, reading writes nothing
        hookrun.flush_if_queued(ctx.repo)
    churns = WindowChurn(ctx.repo, ctx.repo.cache_dir, selection or ctx.config.churn_selection)
    found = churns.churn(window_id, start, end if end is not None else ctx.repo.head(), policy)
    churns.save()
    return found


def status(ctx: Context, who: Who = ANYONE) -> dict[str, Any]:
    """This machine's agents and their open windows (those ``who`` names), its readings, halts and problems. Looking
    closes the automatic windows that have been idle too long (``auto.idle_minutes``)."""
    closed_idle = _close_idle(ctx)
    now = clock.now()
    machine = _this_machine(ctx)
    agents = {}
    for agent in ctx.local.agents():
        if not who.wrote(machine, agent):
            continue
        state = ctx.local.load_readable(agent)
        if state is None:
            continue  # a damaged state is one of the problems listed below
        agents[agent] = {
            "open": [
                {key: window[key] for key in ("window_id", "provider", "opened_ts", "commit_start", "feature_id")}
                | {
                    "age_minutes": round((now - clock.parse_ts(window["opened_ts"])).total_seconds() / 60, 1),
                    "worktree": worktree_name(window),
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
        "halts": _halts(ctx),
        "problems": problems,
        "set_up": ctx.set_up,
        "sync_on_push": _sync_on_push(ctx),
        "machine": machine,
        "filters": who.to_dict(),
        "automatic": _automatic(ctx, now),
        "closed_idle": closed_idle,
    }


def _close_idle(ctx: Context) -> list[dict[str, Any]]:
    if not ctx.set_up:
        return []
    from gittracker.autocapture.idle import close_idle

    return [
        {key: done.get(key) for key in ("window_id", "agent_id", "provider", "closed_ts")}
        for done in close_idle(ctx.repo.toplevel)
        if done.get("done")
    ]


def _automatic(ctx: Context, now: datetime) -> list[dict[str, Any]]:
    """The agents' sessions with an automatic window on this machine (docs/autocapture.md)."""
    from gittracker.autocapture.sessions import all_sessions

    return [
        {
            "agent_id": session["agent_id"],
            "provider": session["provider"],
            "window_id": session["window_id"],
            "opened_ts": session["opened_ts"],
            "last_event_ts": session["last_ts"],
            "quiet_minutes": round((now - clock.parse_ts(session["last_ts"])).total_seconds() / 60, 1),
        }
        for _, session in sorted(all_sessions(ctx.local.root), key=lambda found: found[1]["opened_ts"])
    ]


def _sync_on_push(ctx: Context) -> dict[str, Any]:
    from gittracker.syncpush import last_result

    return {"on": ctx.local.sync_on_push.exists(), "last": last_result(ctx.local)}


def _this_machine(ctx: Context) -> str | None:
    """This clone's machine id: created where git-tracker is set up and the clone has none yet (a clone an older
    version set up); where it is not set up, read only (None when there is none)."""
    from gittracker.machine import read_machine

    return ctx.machine if ctx.set_up else read_machine(ctx.repo)


def _halts(ctx: Context) -> dict[str, str]:
    """provider -> why the stop rule halted it: the reason ``start`` refuses with, and ``preview`` shows."""
    index = index_of(ctx)
    return {provider: reason for provider in PROVIDERS if (reason := index.halt_reason(provider)) is not None}


def anomaly_records(ctx: Context) -> list[Record]:
    return ctx.repo.read_records(["anomaly"])


@dataclass(frozen=True)
class Selected:
    """What ``log`` shows: the records in id order, and for each voided one the void that cancels it."""

    items: list[Record | Skipped]
    voided_by: dict[str, Record]


def select_records(
    ctx: Context,
    kinds: Iterable[str] | None = None,
    provider: str | None = None,
    since: str | None = None,
    *,
    foreign: bool = False,
    who: Who = ANYONE,
) -> Selected:
    """The records ``log`` shows, in id order; with ``foreign`` also the stored records this version cannot
    use (unknown kinds, newer versions), as they are stored; ``who`` keeps the records those writers stamped."""
    kind_list = list(kinds) if kinds else None
    cutoff = clock.format_ts(clock.parse_ts(since, "--since")) if since is not None else None
    if provider is not None:
        check_provider(provider)
    # The voids are read whatever the filters: they mark the records shown as voided.
    records, skipped = ctx.repo.read_ledger(None if provider or kind_list is None else [*kind_list, "void"])
    voided_by = _voids_by_target(records)
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
            and who.wrote(*_writer(item))
        )

    return Selected(sorted((item for item in shown if keep(item)), key=lambda item: str(_id_of(item))), voided_by)


def _voids_by_target(records: Iterable[Record]) -> dict[str, Record]:
    """record id -> the first void naming it (two clones may both void one record; the first did it)."""
    voids: dict[str, Record] = {}
    for record in records:
        if record.kind == "void":
            voids.setdefault(str(record["target_id"]), record)
    return voids


def _face(item: Record | Skipped) -> tuple[str, str, object]:
    if isinstance(item, Record):
        return item.kind, item.ts, item.get("provider")
    stored = item.stored or {}
    return str(stored.get("kind")), str(stored.get("ts")), stored.get("provider")


def _writer(item: Record | Skipped) -> tuple[object, object]:
    if isinstance(item, Record):
        return item.machine, item.agent_id
    stored = item.stored or {}
    return stored.get("machine"), stored.get("agent_id")


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
