"""Everything the report shows, gathered once from the ledger: plain data, no drawing.

The headline is ``preview`` and ``decide`` themselves (run_preview, run_decision, over one read of the ledger), so its
numbers are the ones ``preview --json`` prints. ``--since`` narrows the pictures over time (meter readings, weeks,
windows); the headline stays the whole ledger's, as ``preview`` has no such filter and a partial headline would
contradict it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gittracker import __version__, clock
from gittracker.capacity import check_provider, meter_label, window_meter
from gittracker.context import Context
from gittracker.records import PROVIDERS, Record, live_records

# The records the pictures read besides what preview reads for itself.
SERIES_KINDS = ("snapshot", "window-open", "window-close", "completion", "anomaly", "void", "usage")


class Reading(NamedTuple):  # tuples: a report makes tens of thousands
    ts: str
    five_hour: float | None
    weekly: float | None
    prompts: int | None


class Span(NamedTuple):  # tuples: a report makes tens of thousands
    window_id: str
    opened: str
    closed: str


class Mark(NamedTuple):  # tuples: a report makes tens of thousands
    ts: str
    label: str


@dataclass(frozen=True)
class MeterSeries:
    """One provider's capacity meter over the period: readings, windows, resets and flagged anomalies."""

    provider: str
    readings: list[Reading]
    windows: list[Span]
    resets: list[str]
    anomalies: list[Mark]


@dataclass(frozen=True)
class WindowPoint:
    """One closed window: capacity used (in its meter's unit) against delivered work, with its outcome."""

    provider: str
    unit: str
    meter: str
    capacity: float
    work: float | None
    outcome: str | None


@dataclass(frozen=True)
class ReportData:
    preview: dict[str, Any]
    decision: dict[str, Any]
    meters: dict[str, MeterSeries]
    # (provider, meter) -> ISO week -> tokens per 1 % of that meter: 1 % of a weekly meter is far more capacity
    # than 1 % of a 5-hour one, so each meter is its own series.
    weekly_tokens: dict[tuple[str, str], dict[str, float]]
    windows: list[WindowPoint]
    anomalies: list[dict[str, Any]]
    bank: dict[str, Any] | None
    provenance: dict[str, Any]
    closed_windows: int = 0
    notes: list[str] = field(default_factory=list)


def check_filters(since: str | None, provider: str | None) -> str | None:
    """The filters as the report uses them (``--since`` as a record time), or BadInput naming what was expected."""
    if provider is not None:
        check_provider(provider)
    return clock.format_ts(clock.parse_ts(since, "--since")) if since is not None else None


def gather(ctx: Context, since: str | None = None, provider: str | None = None) -> ReportData:
    from gittracker.decision import run_decision
    from gittracker.experiment.bank import BANK_KINDS
    from gittracker.preview import read_inputs, run_preview

    cutoff = check_filters(since, provider)
    inputs = read_inputs(ctx, (*BANK_KINDS, *SERIES_KINDS))  # one read for the headline, the gates and the pictures
    preview = run_preview(ctx, provider, inputs=inputs)
    decision = run_decision(ctx, inputs)
    live = live_records(inputs.of_kinds((*BANK_KINDS, *SERIES_KINDS))[0])
    chosen = [name for name in PROVIDERS if provider in (None, name)]
    in_period = _by_provider_and_kind([record for record in live if cutoff is None or record.ts >= cutoff])
    closes = [close for name in chosen for close in in_period[name, "window-close"]]
    closes.sort(key=lambda close: close.id)
    return ReportData(
        preview=preview,
        decision=decision,
        meters={name: _meter_series(name, in_period) for name in chosen},
        weekly_tokens=_weekly_tokens(closes, live),
        windows=_window_points(closes, live),
        anomalies=_anomalies(in_period[None, "anomaly"], closes),
        bank=_bank([record for record in live if record.kind in BANK_KINDS]),
        provenance=_provenance(ctx, since, provider),
        closed_windows=len(closes),
    )


ByProviderAndKind = Mapping[tuple[str | None, str], list[Record]]


def _by_provider_and_kind(records: Sequence[Record]) -> ByProviderAndKind:
    """The records under (provider, kind), in id order; records of no provider (anomalies, voids) under None."""
    grouped: defaultdict[tuple[str | None, str], list[Record]] = defaultdict(list)
    with_provider = ("snapshot", "window-close")
    for record in records:
        kind = record.kind
        grouped[record.body.get("provider") if kind in with_provider else None, kind].append(record)
    return grouped


def _meter_series(provider: str, records: ByProviderAndKind) -> MeterSeries:
    snapshots = records[provider, "snapshot"]
    bodies = [(r.ts, r.body) for r in snapshots]  # tens of thousands: each field read from the body directly
    readings = [Reading(ts, b.get("five_hour_used"), b.get("weekly_used"), b.get("prompts")) for ts, b in bodies]
    closes = records[provider, "window-close"]
    spans = [Span(r["window_id"], r["opened_ts"], r.ts) for r in closes]
    resets = sorted({str(b["resets_at"]) for _, b in bodies if b.get("resets_at")})
    flagged = [Mark(r.ts, "spans a reset") for r in closes if "spans-reset" in r["notes"]]
    closed_at = {r["window_id"]: r.ts for r in closes}
    flagged += [
        Mark(closed_at[r["window_id"]], str(r["code"]))
        for r in records[None, "anomaly"]
        if r.get("window_id") in closed_at
    ]
    first, last = (readings[0].ts, readings[-1].ts) if readings else ("", "")
    resets = [moment for moment in resets if first <= moment <= last]  # only the resets inside the readings
    return MeterSeries(provider, readings, spans, resets, sorted(flagged, key=lambda mark: mark.ts))


def iso_week(ts: str) -> str:
    year, week, _ = clock.parse_ts(ts).isocalendar()
    return f"{year}-W{week:02d}"


def _weekly_tokens(closes: Sequence[Record], live: Sequence[Record]) -> dict[tuple[str, str], dict[str, float]]:
    """Tokens per 1 % of capacity, per provider and meter (``window_meter``) and per ISO week of the window's close:
    summed tokens over summed percent, over the windows with both (a percent meter, a positive delta, tokens
    ingested for the window). Percents of different meters are never added, as 1 % of a weekly meter is another
    amount of capacity than 1 % of a 5-hour one. In PROVIDERS order, then shorter meters first."""
    from gittracker.capacity import meter_minutes
    from gittracker.usage import window_tokens

    tokens = window_tokens([r for r in live if r.kind == "usage"])
    sums: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for close in closes:
        delta, found = close["delta"], tokens.get(close["window_id"])
        if close["unit"] != "percent" or not delta or delta <= 0 or found is None:
            continue
        total = sums[(close["provider"], window_meter(close.body))][iso_week(close.ts)]
        total[0] += found
        total[1] += delta
    return {
        series: {week: used / percent for week, (used, percent) in sorted(sums[series].items())}
        for series in sorted(sums, key=lambda pair: (PROVIDERS.index(pair[0]), meter_minutes(pair[1]), pair[1]))
    }


def _window_points(closes: Sequence[Record], live: Sequence[Record]) -> list[WindowPoint]:
    from gittracker import stats

    done = {r["window_id"]: r for r in live if r.kind == "completion"}
    points = []
    for close in closes:
        if close["delta"] is None:
            continue
        completion = done.get(close["window_id"])
        outcome = str(completion["outcome"]) if completion else None
        work = stats.delivered_work(outcome, completion["quality_score"]) if completion and outcome else None
        meter = window_meter(close.body)
        points.append(WindowPoint(close["provider"], close["unit"], meter, close["delta"], work, outcome))
    return points


def _anomalies(anomalies: Sequence[Record], closes: Sequence[Record]) -> list[dict[str, Any]]:
    provider_of = {r["window_id"]: r["provider"] for r in closes}
    return [
        {"ts": r.ts, "code": r["code"], "provider": provider_of.get(r.get("window_id") or ""), "detail": r["detail"]}
        for r in anomalies
        if r.get("window_id") is None or r["window_id"] in provider_of
    ]


def _bank(live: Sequence[Record]) -> dict[str, Any] | None:
    """The task bank's features by status and the plan; None when the bank is empty."""
    from gittracker.experiment.actions import bank_listing
    from gittracker.experiment.bank import FEATURE

    if not any(record.kind == FEATURE for record in live):
        return None  # no feature: no status to work out from the windows
    bank = bank_listing(live)
    if not bank["features"]:
        return None
    by_status: dict[str, int] = defaultdict(int)
    for row in bank["features"]:
        by_status[row["status"]] += 1
    return {"features": len(bank["features"]), "by_status": dict(sorted(by_status.items())), "plan": bank["plan"]}


def _provenance(ctx: Context, since: str | None, provider: str | None) -> dict[str, Any]:
    """Where the page comes from. The repository by its folder's name only: the page is made to be shared, and a
    path names the user's home and machine layout (no other path reaches the ledger either)."""
    return {
        "repository": ctx.repo.toplevel.name,
        "ledger_tip": ctx.repo.ledger_tip(),
        "tool_version": __version__,
        "generated": clock.format_ts(clock.now()),
        "filters": {"since": since, "provider": provider},
    }


def meter_title(meters: Mapping[str, Any], provider: str) -> str:
    report = meters.get(provider)
    return meter_label(report["meter"]) if report else ""
