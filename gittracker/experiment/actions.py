"""What ``bank add|list|show|status`` and ``assign`` do against the ledger, and what ``start --feature`` asks of the
bank: each reads the live records once, checks, and appends at most one record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from gittracker import clock
from gittracker.context import Context, new_record
from gittracker.errors import BadInput, LostRace, Refused
from gittracker.experiment import bank as b
from gittracker.experiment.plan import (
    ASSIGNMENT,
    DEFAULT_PROVIDERS,
    Plan,
    counterbalanced,
    current_plan,
    parse_providers,
    parse_seed,
    start_warnings,
)
from gittracker.git import LedgerMoved
from gittracker.records import FEATURE_STATUSES, Record, live_records, typed_text

T = TypeVar("T")


def _live(ctx: Context) -> list[Record]:
    return live_records(ctx.repo.read_records(b.BANK_KINDS))


DECIDE_ATTEMPTS = 20


def _decided(ctx: Context, decide: Callable[[list[Record]], tuple[Record, T]]) -> T:
    """Read the bank, decide, append the one record decided: only on the ledger tip it was decided from, else read
    and decide again. Two ``assign`` (or two ``bank add`` of one id) at once cannot both pass their check."""
    for _ in range(DECIDE_ATTEMPTS):
        tip = ctx.repo.ledger_tip()
        record, result = decide(_live(ctx))
        try:
            ctx.repo.append_records_on(tip, [record])
        except LedgerMoved:
            continue
        return result
    raise LostRace(f"could not write the {record.kind} record: {DECIDE_ATTEMPTS} attempts lost to concurrent writers")


# -- bank add ----------------------------------------------------------------------------------------------


def add_feature(
    ctx: Context, feature_id: str, title: str, spec_source: str, size: str, *, replace: bool = False
) -> dict[str, Any]:
    """Append a ``feature`` record; refused for an id the bank holds unless ``replace`` (the newer record wins)."""
    feature_id = b.parse_feature_id(feature_id)
    title = b.parse_title(title)
    value = b.parse_size(size)
    spec = b.read_spec(spec_source)

    def decide(live: list[Record]) -> tuple[Record, tuple[list[Record], b.Feature | None]]:
        replaced = b.features(live).get(feature_id)
        if replaced is not None and not replace:
            raise Refused(f"feature {feature_id} is already in the bank: pass --replace to store a newer version")
        moment = clock.now()
        if replaced is not None:
            newest = max(r.ts for r in live if r.kind == b.FEATURE and r["feature_id"] == feature_id)
            _refuse_behind(moment, newest, f"feature {feature_id}'s newest version")
        record = new_record(
            ctx,
            b.FEATURE,
            moment,
            feature_id=feature_id,
            title=title,
            size=value,
            spec=spec,
            spec_sha256=b.spec_digest(spec),
        )
        return record, ([*live, record], replaced)

    after, replaced = _decided(ctx, decide)
    bank = b.features(after)
    median = b.median_size(bank)
    far = b.is_far(value, median)
    warnings = [_far_warning(feature_id, value, median)] if far else []
    return {
        **bank[feature_id].to_dict(),
        "replaced": replaced.record_id if replaced is not None else None,
        "median_size": median,
        "size_far": far,
        "warnings": warnings,
    }


def _far_warning(feature_id: str, size: float, median: float | None) -> str:
    return (
        f"feature {feature_id}'s size {size:g} is far from the bank's median {median:g} "
        f"({b.SIZE_RULE}): comparisons on it say little about the others"
    )


# -- bank list / show / status -------------------------------------------------------------------------------


def list_bank(ctx: Context) -> dict[str, Any]:
    """Every feature with its derived status, its size against the median, and its order in the plan."""
    return bank_listing(_live(ctx))


def bank_listing(live: Sequence[Record]) -> dict[str, Any]:
    """``list_bank`` over live records of (at least) the bank's kinds, ``BANK_KINDS``."""
    plan = current_plan(live)
    bank = b.features(live)
    median = b.median_size(bank)
    statuses = b.current_statuses(live, plan)
    rows = [_row(feature, statuses[feature.feature_id], median, plan) for feature in bank.values()]
    return {"features": rows, "median_size": median, "size_rule": b.SIZE_RULE, "plan": _plan_summary(plan)}


def _row(feature: b.Feature, status: b.StatusEvent, median: float | None, plan: Plan | None) -> dict[str, Any]:
    order = plan.order_of(feature.feature_id) if plan is not None else None
    return {
        **feature.to_dict(),
        "size_far": b.is_far(feature.size, median),
        "status": status.status,
        "status_origin": status.origin,
        "status_ts": status.ts,
        "order": plan.orders[feature.feature_id] if order is not None and plan is not None else None,
        "providers": list(order) if order is not None else None,
    }


def _plan_summary(plan: Plan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {"record_id": plan.record_id, "seed": plan.seed, "providers": list(plan.providers)}


def show_feature(ctx: Context, feature_id: str) -> dict[str, Any]:
    """One feature: the list's row, its spec, its windows with their outcomes, and its status history."""
    feature_id = b.parse_feature_id(feature_id)
    live = _live(ctx)
    plan = current_plan(live)
    bank = b.features(live)
    feature = _known(bank, feature_id, BadInput)
    history = b.status_history(live, plan)[feature_id]
    return {
        **_row(feature, history[-1], b.median_size(bank), plan),
        "spec": feature.spec,
        "windows": _windows_on(live, feature_id),
        "history": [event.to_dict() for event in history],
    }


def _refuse_behind(moment: datetime, newest: str, what: str) -> None:
    """The newest record wins, by its time: one written by a clock behind the ledger's (another machine's records
    came with a sync) would be stored and never take effect. Refused, rather than said done and not done."""
    if clock.format_ts(moment) < newest:
        raise Refused(
            f"{what} was recorded at {newest}, and this clock says {clock.format_ts(moment)}: a record made now would "
            "not take its place; check this machine's clock"
        )


SHOWN_IDS = 5  # an unknown id's error names a few of the bank's, not hundreds


def _known(bank: dict[str, b.Feature], feature_id: str, error: type[Exception]) -> b.Feature:
    if feature_id not in bank:
        ids = list(bank)
        more = f", … ({len(ids)} in all: `git tracker bank list`)" if len(ids) > SHOWN_IDS else ""
        listed = ", ".join(ids[:SHOWN_IDS]) + more if ids else "none: `git tracker bank add` first"
        raise error(f"FEATURE: expected a feature of the bank ({listed}), got {feature_id!r}")
    return bank[feature_id]


def _windows_on(live: Sequence[Record], feature_id: str) -> list[dict[str, Any]]:
    """The windows opened on the feature or whose outcome names it, oldest first, with their latest outcome."""
    opens = {r["window_id"]: r for r in live if r.kind == "window-open"}
    outcomes = {r["window_id"]: r for r in live if r.kind == "completion"}  # in id order: the latest wins
    named = {r["window_id"] for r in outcomes.values() if r["feature_id"] == feature_id}
    ids = [w for w, r in opens.items() if r["feature_id"] == feature_id or w in named]
    ids += sorted(named - set(ids))
    rows = []
    for window_id in ids:
        opened, outcome = opens.get(window_id), outcomes.get(window_id)
        rows.append(
            {
                "window_id": window_id,
                "provider": opened["provider"] if opened is not None else None,
                "opened_ts": opened.ts if opened is not None else None,
                "agent_id": opened.agent_id if opened is not None else None,
                "outcome": outcome["outcome"] if outcome is not None else None,
                "quality_score": outcome["quality_score"] if outcome is not None else None,
            }
        )
    return rows


def feature_status(ctx: Context, feature_id: str, status: str | None, note: str | None = None) -> dict[str, Any]:
    """``bank status F`` prints the current status; ``bank status F STATUS`` appends a ``feature-status`` record."""
    feature_id = b.parse_feature_id(feature_id)
    if status is not None and status not in FEATURE_STATUSES:
        raise BadInput(f"STATUS: expected one of {', '.join(FEATURE_STATUSES)}, got {status[:80]!r}")
    note = typed_text(note, "--note")
    if status is None and note is not None:
        raise BadInput("--note: expected a STATUS to go with it")
    if status is None:
        live = _live(ctx)
        _known(b.features(live), feature_id, BadInput)
        current = b.current_statuses(live, current_plan(live))[feature_id]
        return {"feature_id": feature_id, **current.to_dict(), "previous": None}
    chosen = status

    def decide(live: list[Record]) -> tuple[Record, dict[str, Any]]:
        _known(b.features(live), feature_id, Refused)
        previous = b.current_statuses(live, current_plan(live))[feature_id]
        moment = clock.now()
        _refuse_behind(moment, previous.ts, f"{feature_id}'s status ({previous.status}, {previous.origin})")
        record = new_record(ctx, b.FEATURE_STATUS, moment, feature_id=feature_id, status=chosen, note=note)
        event = b.StatusEvent(feature_id, chosen, b.BY_HAND, record.ts, record.id, note)
        return record, {"feature_id": feature_id, **event.to_dict(), "previous": previous.to_dict()}

    return _decided(ctx, decide)


# -- assign ----------------------------------------------------------------------------------------------------


def assign(ctx: Context, seed: str, providers: str | None = None, replan: str | None = None) -> dict[str, Any]:
    """A counterbalanced plan for every feature of the bank, recorded as one ``assignment`` record; refused while a
    plan is in force unless ``replan`` says why (the new plan then names the one it replaces)."""
    number = parse_seed(seed)
    pair = parse_providers(providers) if providers is not None else DEFAULT_PROVIDERS
    reason = typed_text(replan, "--replan")
    if reason is not None and not reason.strip():
        raise BadInput("--replan: expected why the plan is made again, got nothing")

    def decide(live: list[Record]) -> tuple[Record, dict[str, Any]]:
        bank = b.features(live)
        if len(bank) < 2:
            raise Refused(f"the task bank holds {len(bank)} feature(s): `git tracker bank add` at least two first")
        old = current_plan(live)
        if old is not None and reason is None:
            raise Refused(
                f"a plan is in force ({old.record_id}, seed {old.seed}): pass --replan WHY to replace it "
                "(WHY is recorded)"
            )
        orders, odd = counterbalanced(bank, number)
        record = new_record(
            ctx,
            ASSIGNMENT,
            clock.now(),
            seed=number,
            providers=list(pair),
            orders=orders,
            odd_one_out=odd,
            replaces=old.record_id if old is not None else None,
            reason=reason,
        )
        return record, plan_report(Plan.of(record), record)

    return _decided(ctx, decide)


def plan_report(plan: Plan, record: Record) -> dict[str, Any]:
    rows = []
    for feature_id, order in plan.orders.items():
        providers = plan.order_of(feature_id) or ()
        rows.append({"feature_id": feature_id, "order": order, "providers": list(providers)})
    counts = {order: sum(1 for row in rows if row["order"] == order) for order in ("AB", "BA")}
    return {
        "record_id": plan.record_id,
        "seed": plan.seed,
        "providers": list(plan.providers),
        "features": rows,
        "counts": counts,
        "odd_one_out": plan.odd_one_out,
        "replaces": record["replaces"],
        "reason": record["reason"],
    }


# -- start --feature -----------------------------------------------------------------------------------------------


def start_feature_warnings(ctx: Context, feature_id: str, provider: str) -> list[str]:
    """The warnings of ``start --feature`` (``plan.start_warnings``), from the ledger as it is before the window."""
    live = _live(ctx)
    opened = sorted((r for r in live if r.kind == "window-open"), key=lambda r: (r.ts, r.id))
    earlier = [r["provider"] for r in opened if r["feature_id"] == feature_id]
    return start_warnings(b.features(live), current_plan(live), earlier, feature_id, provider)
