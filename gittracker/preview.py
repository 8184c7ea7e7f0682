"""``preview``: per-provider efficiency with intervals and power, the stop rule (``decide``'s gates: decision.py).

Everything is derived from the ledger on each run (nothing stored is trusted as a summary), with the
formulas of STATS.md from ``gittracker.stats``. scipy is imported only when a statistic needs it.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gittracker import currency, stats
from gittracker.capacity import meter_label, meter_minutes, meter_unit, window_meter
from gittracker.experiment import analysis
from gittracker.experiment.plan import current_plan
from gittracker.overlaps import (
    APPORTION,
    EXCLUDE,
    Span,
    Verdict,
    apportion,
    fill_readings,
    groups,
    overlapping_pairs,
    span_of,
)
from gittracker.plans import Plan, default_plans
from gittracker.records import PROVIDERS, Record, Skipped, kind_at, live_records
from gittracker.usage import Divergence, divergent, unit_ratios, window_tokens
from gittracker.who import ANYONE, Who, group_values

if TYPE_CHECKING:
    from gittracker.churn import WindowChurn
    from gittracker.context import Context
    from gittracker.proxyevents import Figures as ProxyFigures

# 2: efficiency on each provider's primary meter (other meters under other_meters), subscription dollars, and
# comparisons between providers in dollars (1 compared raw percents).
SCHEMA_VERSION = 2
G1_MAX_CI_WIDTH = 0.30
G1_MIN_POWER = 0.8
G1_QUALITY_FACTOR = 0.8
SPANS_RESET = "spans-reset"  # the note of a window whose delta is summed across a reset (windows.py)
PROXY_BATCH = "proxy-batch"  # the sub-agent proxy's events (proxy/store.py)


@dataclass(frozen=True)
class WindowRow:
    """One closed window with what the statistics need (``capacity`` None when unknown)."""

    window_id: str
    provider: str
    closed_ts: str
    capacity: float | None
    unit: str
    meter: str  # the binding meter the capacity delta was taken on
    other_deltas: Mapping[str, float | None]  # the other meters both readings showed: a fact, not a statistic
    outcome: str | None
    quality: float | None
    feature_id: str | None
    commit_start: str | None
    commit_end: str | None
    lines: int | None
    agent_id: str = "main"  # who closed it (its window-close record's stamp)
    machine: str | None = None  # None: a record of schema 2 or older, shown as machine "unknown"
    spans_reset: bool = False  # its delta is summed over the segments around a reset (a lower bound; notes)
    opened_ts: str = ""  # when its window opened: which provider did a feature first (the experiment's order)

    @property
    def completed(self) -> bool:
        return self.outcome is not None and self.quality is not None

    def work(self) -> float | None:
        if self.outcome is None or self.quality is None:
            return None
        return stats.delivered_work(self.outcome, self.quality)


LinesOf = Callable[[str, str | None, str | None], int | None]  # (window id, commit_start, commit_end) -> lines


def window_rows(records: Sequence[Record], lines_of: LinesOf) -> list[WindowRow]:
    """The live closed windows, each with its latest live completion and its churn lines."""
    closes, completions = latest_closes_and_completions(records)
    rows = [window_row(close, completions.get(window_id), lines_of) for window_id, close in closes.items()]
    rows.sort(key=lambda row: row.closed_ts)
    return rows


def latest_closes_and_completions(records: Sequence[Record]) -> tuple[dict[str, Record], dict[str, Record]]:
    """Each window's latest close and latest completion among ``records`` (id order: later records win)."""
    closes: dict[str, Record] = {}
    completions: dict[str, Record] = {}
    for record in records:
        if record.kind == "window-close":
            closes[record["window_id"]] = record
        elif record.kind == "completion":
            completions[record["window_id"]] = record
    return closes, completions


def window_row(close: Record, done: Record | None, lines_of: LinesOf) -> WindowRow:
    """One closed window from its close and its completion (None: no outcome yet)."""
    body = close.body  # read directly: a report makes a row per window, tens of thousands on a team's ledger
    outcome = done.body if done is not None else None
    window_id = body["window_id"]
    return WindowRow(
        window_id=window_id,
        provider=body["provider"],
        closed_ts=close.ts,
        capacity=body["delta"],
        unit=body["unit"],
        meter=window_meter(body),
        other_deltas=MappingProxyType(dict(body.get("other_deltas") or {})),
        outcome=outcome["outcome"] if outcome else None,
        quality=outcome["quality_score"] if outcome else None,
        feature_id=(outcome["feature_id"] if outcome and outcome["feature_id"] else body["feature_id"]),
        commit_start=body["commit_start"],
        commit_end=body["commit_end"],
        lines=lines_of(window_id, body["commit_start"], body["commit_end"]),
        agent_id=close.agent_id,
        machine=close.machine,
        spans_reset=SPANS_RESET in body["notes"],
        opened_ts=body["opened_ts"],
    )


def halt_reason(provider: str, records: Sequence[Record], rows: Sequence[WindowRow]) -> str | None:
    """STATS.md stop rule: more than one negative-delta anomaly per three windows (since the last resume)."""
    resumed = max((r.ts for r in records if r.kind == "resume" and r["provider"] == provider), default="")
    windows = {row.window_id for row in rows if row.provider == provider and row.closed_ts >= resumed}
    negative = sum(
        1
        for r in records
        if r.kind == "anomaly" and r["code"] == "negative-delta" and r["window_id"] in windows and r.ts >= resumed
    )
    # "More than one ... per three windows": more than one in all, and more than one per three, so a
    # single glitch in a provider's first windows does not halt it.
    if negative > 1 and negative * 3 > len(windows):
        return f"{negative} negative-delta anomalies in {len(windows)} windows (more than 1 per 3)"
    return None


def choose_baseline(configured: str, rows: Sequence[WindowRow]) -> str | None:
    if configured in PROVIDERS:
        return configured
    counts = {p: sum(1 for row in rows if row.provider == p) for p in PROVIDERS}
    best = max(PROVIDERS, key=lambda p: counts[p])  # ties go to the first in PROVIDERS order
    return best if counts[best] else None


def _usable(rows: Iterable[WindowRow]) -> list[WindowRow]:
    """Closed, completed windows whose capacity is known: the ones every statistic uses."""
    return [row for row in rows if row.completed and row.capacity is not None]


def _log_effs(rows: Sequence[WindowRow]) -> list[float]:
    effs = [stats.efficiency(row.work() or 0.0, row.capacity) for row in rows]
    return stats.log_efficiencies([e for e in effs if e is not None])


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Arm:
    """One provider's windows on one meter, and what a unit of that meter costs in subscription dollars."""

    provider: str
    meter: str
    rows: tuple[WindowRow, ...]
    conversion: currency.Conversion


def provider_arms(provider: str, rows: Sequence[WindowRow], plan: Plan) -> list[Arm]:
    """The provider's windows grouped by meter (statistics never mix meters), the primary meter first.

    The primary meter is the one with the most usable windows; ties go to the one with the most closed windows,
    then to the shorter meter. Every meter's conversion into dollars may use all the provider's windows: ``k``
    comes from any window that shows both the weekly meter and that one.
    """
    mine = [row for row in rows if row.provider == provider]
    groups: dict[str, list[WindowRow]] = {}
    for row in mine:
        groups.setdefault(row.meter, []).append(row)
    deltas = [(row.meter, row.capacity, row.other_deltas) for row in mine]

    def rank(meter: str) -> tuple[int, int, int, str]:
        return (-len(_usable(groups[meter])), -len(groups[meter]), meter_minutes(meter), meter)

    return [
        Arm(
            provider,
            meter,
            tuple(groups[meter]),
            currency.conversion(provider, meter, plan, currency.paired_deltas(deltas, meter)),
        )
        for meter in sorted(groups, key=rank)
    ]


def provider_report(arm: Arm, versus: Arm | None, mde: float, halted: str | None) -> dict[str, Any]:
    """One meter's statistics for one provider, in its own units and in subscription dollars."""
    mine = arm.rows
    usable = _usable(mine)
    known = [row for row in mine if row.capacity is not None]
    ratio = stats.ratio_of_sums([row.work() or 0.0 for row in usable], [row.capacity or 0.0 for row in usable])
    if ratio.note == stats.NOTE_NON_FINITE and halted is None:
        halted = "non-finite statistic"
    power, n_needed = _power(usable, versus.rows if versus is not None else None, mde)
    qualities = [row.quality for row in mine if row.quality is not None]
    with_lines = [row for row in known if row.lines is not None]
    capacity_with_lines = sum(row.capacity or 0.0 for row in with_lines)
    capacity_used = sum(row.capacity or 0.0 for row in known)
    return {
        "meter": arm.meter,
        "n": ratio.n,
        "windows": len(mine),
        "unit": meter_unit(arm.meter),
        "capacity_used": round(capacity_used, 6),
        "efficiency": ratio.estimate,
        "ci": list(ratio.ci) if ratio.ci else None,
        "ci_width": ratio.ci_width,
        "ci_note": ratio.note,
        "power": power,
        "n_per_arm_for_80pct_power": n_needed,
        "quality_mean": _mean(qualities),
        "lines_per_unit": (sum(row.lines or 0 for row in with_lines) / capacity_with_lines)
        if capacity_with_lines > 0
        else None,
        "pending": sum(1 for row in mine if not row.completed),
        "unknown_capacity": sum(1 for row in mine if row.capacity is None),
        # Kept in every figure: a lower bound, by at most the use in the minutes before each reset no reading saw.
        "spans_reset": sum(1 for row in mine if row.spans_reset),
        "halted": halted,
        "dollars": _dollar_report(arm.conversion, ratio, capacity_used),
    }


def _dollar_report(conversion: currency.Conversion, ratio: stats.RatioEstimate, capacity_used: float) -> dict[str, Any]:
    """The plan, what a unit of the meter costs, and delivered work per subscription dollar with its interval."""
    block = {"currency": "USD", **conversion.to_dict()}
    if conversion.usd_per_unit is None:
        return {**block, "capacity_usd": None, "efficiency": None, "ci": None, "ci_width": None, "ci_note": None}
    per_dollar = stats.converted_ratio(ratio, conversion.usd_per_unit, conversion.log_variance)
    return {
        **block,
        "capacity_usd": capacity_used * conversion.usd_per_unit,
        "efficiency": per_dollar.estimate,
        "ci": list(per_dollar.ci) if per_dollar.ci else None,
        "ci_width": per_dollar.ci_width,
        "ci_note": per_dollar.note,
    }


def _power(
    usable: Sequence[WindowRow], baseline_rows: Sequence[WindowRow] | None, mde: float
) -> tuple[float | None, int | None]:
    """Prospective power to detect a relative difference of ``mde`` against the baseline arm, and the windows per
    arm 80 % power needs.

    Power is a property of a comparison: with no baseline arm to compare with (``baseline_rows`` None: the
    baseline itself, another meter, a provider not comparable in dollars) there is none. The windows per arm are
    then from the provider's own spread, as if the other arm were like it: what a comparison would need.
    """
    mine = _log_effs(usable)
    other = _log_effs(_usable(baseline_rows)) if baseline_rows is not None else mine
    groups = [mine, other] if baseline_rows is not None else [mine]
    s = stats.pooled_sd([g for g in groups if len(g) >= 2]) if len(mine) >= 2 else None
    if s is None or s <= 0 or not mine or not other:
        return None, None
    d = stats.effect_size(mde, s)
    power = stats.power_two_sample(d, len(mine), len(other)) if baseline_rows is not None else None
    return power, stats.n_per_arm_within_reach(d)  # None: out of reach (a tiny stats.mde over a wide spread)


def versus_arm(name: str, arm: Arm, base: Arm | None, baseline: str | None) -> Arm | None:
    """What a provider's power is against: the baseline, where the two can be compared in dollars; else nothing."""
    return base if base is not None and name != baseline and _comparable(arm, base) else None


def _comparable(arm: Arm, base: Arm) -> bool:
    return arm.conversion.known and base.conversion.known


def comparisons(primary: Mapping[str, Arm], baseline: str | None) -> dict[str, Any]:
    """Each provider's primary meter against the baseline's, in subscription dollars: Welch on log efficiency,
    paired by feature when possible, the conversions' uncertainty carried in, Holm-adjusted across providers."""
    if baseline is None:
        return {}
    base = primary.get(baseline)
    if base is None:  # a configured baseline with no windows yet: nothing to test against, as the gate says
        return {
            provider: {
                "currency": "USD",
                "meter": arm.meter,
                "baseline_meter": None,
                "method": None,
                "note": stats.comparison_gate(len(_usable(arm.rows)), 0),
            }
            for provider, arm in primary.items()
        }
    results = {provider: _compare(arm, base) for provider, arm in primary.items() if provider != baseline}
    tested = [p for p, r in results.items() if r.get("p") is not None]
    for provider, adjusted in zip(tested, stats.holm([results[p]["p"] for p in tested]), strict=True):
        results[provider]["p_holm"] = adjusted
    return results


def _compare(arm: Arm, base: Arm) -> dict[str, Any]:
    header = {"currency": "USD", "meter": arm.meter, "baseline_meter": base.meter}
    unknown = [conversion.reason for conversion in (arm.conversion, base.conversion) if conversion.reason]
    if arm.conversion.usd_per_unit is None or base.conversion.usd_per_unit is None:
        # Percents of different meters or plans are different amounts of money: no comparison rather than a wrong one.
        return {**header, "method": None, "note": "not comparable: " + "; ".join(unknown)}
    mine, theirs = _usable(arm.rows), _usable(base.rows)
    pairs = _matched(mine, theirs)
    gate = stats.comparison_gate(len(mine), len(theirs), len(pairs))
    if gate is not None:
        return {**header, "method": None, "note": gate}
    if len(pairs) >= stats.MIN_PAIRS:
        native = stats.paired_log_ratio([a for a, _ in pairs], [b for _, b in pairs])
    else:
        native = stats.welch_log_ratio(_effs(mine), _effs(theirs))
    uncertain = [c.log_variance for c in (arm.conversion, base.conversion) if c.log_variance is not None]
    # Work per dollar is work per unit / dollars per unit: A's over B's is the native ratio x rate_B / rate_A.
    factor = base.conversion.usd_per_unit / arm.conversion.usd_per_unit
    test = stats.converted_comparison(native, factor, uncertain)
    return {
        **header,
        "method": test.method,
        "ratio": test.ratio,
        "ci": list(test.ci) if test.ci else None,
        "p": test.p,
        "df": test.df,
        "n_a": test.n_a,
        "n_b": test.n_b,
        "note": test.note,
        "usd_per_unit": {arm.provider: arm.conversion.usd_per_unit, base.provider: base.conversion.usd_per_unit},
        "conversion_log_variance": math.fsum(item.variance for item in uncertain),
    }


def _effs(rows: Sequence[WindowRow]) -> list[float]:
    values = [stats.efficiency(row.work() or 0.0, row.capacity) for row in rows]
    return [v for v in values if v is not None and v > 0]


def _matched(mine: Sequence[WindowRow], base: Sequence[WindowRow]) -> list[tuple[float, float]]:
    """Per feature done on both, each arm's ``ΣO / ΣC`` over its windows on it (as the experiment's matched
    comparison has it: every window of a feature counts, weighted by the capacity it used)."""

    def by_feature(rows: Sequence[WindowRow]) -> dict[str, float]:
        found = analysis.ratio_of_sums_by_feature(
            (row.feature_id, row.work() or 0.0, row.capacity or 0.0) for row in rows if row.feature_id
        )
        return {feature: e for feature, e in found.items() if e > 0}  # a zero efficiency has no log ratio

    a, b = by_feature(mine), by_feature(base)
    return [(a[f], b[f]) for f in sorted(set(a) & set(b))]


# -- overlapping windows (STATS.md): kept out, or their one consumption apportioned by tokens --------------

# (the spans of a group, each window's live close by window id) -> the spans with their meter readings
ReadingsOf = Callable[[Sequence[Span], Mapping[str, Record]], list[Span]]
EXCLUDED_REASON = "left out: windows open at once share one meter"


def readings_in(records: Sequence[Record]) -> ReadingsOf:
    """Readings from the records at hand (their window-open and snapshot records), for a report built in memory."""
    opens = {r["window_id"]: r for r in records if r.kind == "window-open"}
    snapshots = {r.id: r for r in records if r.kind == "snapshot"}
    return lambda spans, closes: fill_readings(spans, closes, opens, snapshots)


def overlap_tokens(records: Sequence[Record]) -> dict[str, int]:
    """Each window's tokens for apportioning: from ingested logs (``usage`` of granularity window), else its latest
    checkpoint that knew them."""
    tokens = {r["window_id"]: r["tokens"] for r in records if r.kind == "checkpoint" and r["tokens"] is not None}
    return {**tokens, **window_tokens(records)}


def apply_overlaps(
    rows: Sequence[WindowRow],
    alive: Sequence[Record],
    policy: str,
    readings_of: ReadingsOf,
    span: Callable[[Record], Span] = span_of,
) -> tuple[list[WindowRow], dict[str, Any]]:
    """The rows the statistics use and the ``overlaps`` report. Decided from the windows themselves at every read,
    so a ledger whose anomaly record is missing (not synced yet, an older version) is still counted right.
    ``span``: a close's span (``span_of``; G1 passes one that remembers them across its evaluations)."""
    closes = {r["window_id"]: r for r in alive if r.kind == "window-close"}  # id order: the latest live close
    spans = [span(close) for close in closes.values()]
    pairs = overlapping_pairs(spans)
    found = groups(spans, pairs)
    report: dict[str, Any] = {"policy": policy, "excluded": [], "apportioned": []}
    if not found:
        return list(rows), report
    if policy == APPORTION:
        tokens = overlap_tokens(alive)
        verdicts = [apportion(readings_of(group, closes), tokens) for group in found]
    else:
        verdicts = [Verdict(group, reason=f"stats.overlap = {EXCLUDE}") for group in found]
    of_window = {span.window_id: verdict for verdict in verdicts for span in verdict.windows}
    kept = []
    for row in rows:
        verdict = of_window.get(row.window_id)
        if verdict is None:
            kept.append(row)
        elif verdict.apportioned:
            # Its other meters' deltas hold the shared consumption too: they do not feed the conversions.
            share = verdict.shares[row.window_id]
            kept.append(replace(row, capacity=share, other_deltas=MappingProxyType({})))
    partners: dict[str, list[str]] = {}
    for a, b in pairs:
        partners.setdefault(a.window_id, []).append(b.window_id)
        partners.setdefault(b.window_id, []).append(a.window_id)
    for verdict in verdicts:
        group = [span.window_id for span in verdict.windows]  # once per group, copied into each of its entries
        entries = [
            _overlap_entry(span, verdict, policy, sorted(partners[span.window_id]), group) for span in verdict.windows
        ]
        report["apportioned" if verdict.apportioned else "excluded"].extend(entries)
    return kept, report


def _overlap_entry(span: Span, verdict: Verdict, policy: str, partners: list[str], group: list[str]) -> dict[str, Any]:
    entry = {
        "window_id": span.window_id,
        "provider": span.provider,
        "agent_id": span.agent_id,
        "meter": span.meter,
        "delta": span.delta,
        "overlaps_with": partners,
        "group": group.copy(),
    }
    if not verdict.apportioned:
        why = f" ({verdict.reason})" if policy == EXCLUDE else f"; not apportioned: {verdict.reason}"
        return {**entry, "reason": EXCLUDED_REASON + why}
    return {
        **entry,
        "share": verdict.shares[span.window_id],
        "tokens": verdict.tokens[span.window_id],
        "group_consumption": verdict.consumption,
        "group_tokens": sum(verdict.tokens.values()),
    }


def build_preview(
    records: Sequence[Record],
    lines_of: LinesOf,
    *,
    baseline: str = "",
    mde: float = 0.25,
    provider: str | None = None,
    divergence_threshold: float = 0.10,
    churn_selection: str | None = None,
    plans: Mapping[str, Plan] | None = None,
    who: Who = ANYONE,
    overlap: str = EXCLUDE,
    readings_of: ReadingsOf | None = None,
    proxy: Mapping[str | None, ProxyFigures] | None = None,
) -> dict[str, Any]:
    """The report over the windows ``who`` wrote (default: all): windows are assembled from every record, then
    chosen; the stop rule (``halted``) stays the provider's, over all its windows, as ``start`` applies it.
    ``proxy``: the sub-agent proxy's figures by window (``proxy/store.py``); None: from the batch records given,
    if any; ``{}`` leaves them out (``proxy`` null), for reports that never show them."""
    return _report(
        assemble(records, lines_of, overlap, readings_of, proxy),
        baseline=baseline,
        mde=mde,
        provider=provider,
        divergence_threshold=divergence_threshold,
        churn_selection=churn_selection,
        plans=plans,
        who=who,
    )


@dataclass(frozen=True)
class Assembled:
    """What every report over one ledger starts from, whoever's windows it reports: the live records by kind,
    every writer's window rows, the rows the statistics count after overlaps, the overlaps report, and each
    window's tokens."""

    of_kind: defaultdict[str, list[Record]]
    every_row: list[WindowRow]
    counted_rows: list[WindowRow]
    overlaps: dict[str, Any]
    tokens: dict[str, int]
    proxy: Mapping[str | None, ProxyFigures]  # the sub-agent proxy's figures by window (None: no window)


def assemble(
    records: Sequence[Record],
    lines_of: LinesOf,
    overlap: str,
    readings_of: ReadingsOf | None,
    proxy: Mapping[str | None, ProxyFigures] | None = None,
) -> Assembled:
    """The windows of the live records, with overlaps decided (``stats.overlap`` = ``overlap``), and the proxy's
    figures by window (``proxy``, else from the batch records given)."""
    alive = live_records(records)
    of_kind = by_kind(alive)  # each kind's records once, in id order, for the steps that want one kind
    every_row = window_rows(alive, lines_of)
    # Overlaps are decided over every writer's windows: another agent's window shares the meter, chosen or not.
    counted_rows, overlaps = apply_overlaps(every_row, alive, overlap, readings_of or readings_in(alive))
    if proxy is None:
        proxy = _proxy_figures(of_kind[PROXY_BATCH])
    return Assembled(of_kind, every_row, counted_rows, overlaps, window_tokens(of_kind["usage"]), proxy)


def _proxy_figures(batches: Sequence[Record]) -> dict[str | None, ProxyFigures]:
    """msgspec decodes the batches: imported only when there are any."""
    if not batches:
        return {}
    from gittracker.proxy.store import window_figures

    return window_figures(batches)


def _report(
    assembled: Assembled,
    *,
    baseline: str = "",
    mde: float = 0.25,
    provider: str | None = None,
    divergence_threshold: float = 0.10,
    churn_selection: str | None = None,
    plans: Mapping[str, Plan] | None = None,
    who: Who = ANYONE,
) -> dict[str, Any]:
    of_kind, every_row, overlaps = assembled.of_kind, assembled.every_row, assembled.overlaps
    counted_rows = assembled.counted_rows
    chosen_windows = {row.window_id for row in every_row if who.wrote(row.machine, row.agent_id)}
    rows = [row for row in counted_rows if row.window_id in chosen_windows]
    if not who.anyone:
        overlaps = {
            **overlaps,
            "excluded": [entry for entry in overlaps["excluded"] if entry["window_id"] in chosen_windows],
            "apportioned": [entry for entry in overlaps["apportioned"] if entry["window_id"] in chosen_windows],
        }
    counted = {row.window_id for row in rows}
    tokens = assembled.tokens
    # Windows out of the statistics are out of the token figures too; an apportioned one's delta is not its own.
    unshared = counted - {entry["window_id"] for entry in overlaps["apportioned"]}
    closes = [record for record in of_kind["window-close"] if record["window_id"] in unshared]
    priced = plans if plans is not None else default_plans()
    chosen = choose_baseline(baseline, rows)
    arms = {name: provider_arms(name, rows, priced[name]) for name in PROVIDERS}
    primary = {name: found[0] for name, found in arms.items() if found}
    base = primary.get(chosen or "")
    tokens_of = partial(_token_report, closes, tokens, divergence_threshold)
    stop_records = of_kind["resume"] + of_kind["anomaly"]  # all the stop rule reads
    providers = {}
    for name, found in arms.items():
        if provider not in (None, name) or not found:
            continue
        versus = versus_arm(name, found[0], base, chosen)
        providers[name] = _provider_entry(found, versus, mde, halt_reason(name, stop_records, every_row), tokens_of)
    compared = comparisons(primary, chosen)
    halts = {name: halt_reason(name, stop_records, every_row) for name in primary}
    experiment = _experiment(of_kind["assignment"], every_row, rows, primary, halts, chosen, mde, who)
    notes = _provider_notes(providers)
    for name, result in compared.items():
        if result.get("method") is None:
            notes.append(f"{name} vs {chosen}: {result['note']}")
    if churn_selection is not None and providers:
        notes += _churn_notes(churn_selection, [row for row in rows if row.provider in providers])
    return {
        "schema_version": SCHEMA_VERSION,
        "baseline": chosen,
        "mde": mde,
        "churn_selection": churn_selection,
        "providers": providers,
        "comparisons": compared,
        "anomalies": sum(1 for r in of_kind["anomaly"] if _about(r, who, chosen_windows)),
        "overlaps": overlaps,
        "proxy": proxy_block(_selected_figures(assembled.proxy, every_row, who, provider)),
        "experiment": experiment,
        "notes": notes,
        "filters": who.to_dict(),
    }


def _experiment(
    assignments: Sequence[Record],
    every_row: Sequence[WindowRow],
    rows: Sequence[WindowRow],
    primary: Mapping[str, Arm],
    halts: Mapping[str, str | None],
    baseline: str | None,
    mde: float,
    who: Who,
) -> dict[str, Any] | None:
    """The matched and crossover comparisons (experiment/analysis.py) over the report's windows on a feature: each
    counted on its provider's headline meter; every chosen closed window, counted or not, tells the order."""
    counted = {row.window_id: row for row in rows}
    windows = []
    for row in every_row:
        if not row.feature_id or not who.wrote(row.machine, row.agent_id):
            continue
        used = counted.get(row.window_id)  # the counted row: an apportioned window's capacity is its share
        arm = primary.get(row.provider)
        capacity = used.capacity if used is not None and arm is not None and row.meter == arm.meter else None
        windows.append(analysis.FeatureWindow(row.feature_id, row.provider, row.opened_ts, row.work(), capacity))
    arms = {
        name: analysis.ArmInfo(
            name,
            arm.meter,
            arm.conversion.usd_per_unit,
            arm.conversion.log_variance,
            arm.conversion.reason,
            halts.get(name),
        )
        for name, arm in primary.items()
    }
    return analysis.experiment_block(windows, arms, current_plan(assignments), baseline, mde)


def _selected_figures(
    of_window: Mapping[str | None, ProxyFigures], every_row: Sequence[WindowRow], who: Who, provider: str | None
) -> list[ProxyFigures]:
    """The proxy figures of the report's selection: every window's when nothing is filtered (open windows' and the
    events of no window too); else the chosen closed windows' (``--agent``/``--machine``, ``--provider``)."""
    if who.anyone and provider is None:
        return list(of_window.values())
    chosen = {row.window_id for row in every_row if who.wrote(row.machine, row.agent_id)}
    chosen &= {row.window_id for row in every_row if provider in (None, row.provider)}
    return [figures for window_id, figures in of_window.items() if window_id in chosen]


def proxy_block(parts: Sequence[ProxyFigures]) -> dict[str, Any] | None:
    """The ``Subagent Proxy`` figures (DESIGN §10) over these windows' events pooled, as a window's rollup has them
    (``proxyevents.rollup``); None when there are none. ``glm_prompts``: GLM's capacity is counted in prompts."""
    if not any(part.prompts for part in parts):
        return None
    from gittracker.proxyevents import Figures

    return Figures.merged(parts).rollup()


def by_kind(records: Iterable[Record]) -> defaultdict[str, list[Record]]:
    """The records of each kind, in their order (an absent kind: an empty list)."""
    of_kind: defaultdict[str, list[Record]] = defaultdict(list)
    for record in records:
        of_kind[record.kind].append(record)
    return of_kind


def _about(anomaly: Record, who: Who, windows: set[str]) -> bool:
    """An anomaly counts in a filtered report when it concerns one of its windows, or concerns no window and was
    written by one of the chosen writers."""
    if who.anyone:
        return True
    if anomaly["window_id"] is not None:
        return anomaly["window_id"] in windows
    return who.wrote(anomaly.machine, anomaly.agent_id)


def build_grouped_preview(
    records: Sequence[Record], lines_of: LinesOf, by: str, who: Who = ANYONE, **settings: Any
) -> dict[str, Any]:
    """``preview --by agent|machine``: one report per writer, each over that writer's windows alone (the windows
    still assembled from every record)."""
    assembled = assemble(  # once: every group's report starts from the same windows and overlaps
        records,
        lines_of,
        settings.pop("overlap", EXCLUDE),
        settings.pop("readings_of", None),
        settings.pop("proxy", None),
    )
    rows = assembled.every_row
    writers = [(row.machine, row.agent_id) for row in rows if who.wrote(row.machine, row.agent_id)]
    return {
        "schema_version": SCHEMA_VERSION,
        "by": by,
        "filters": who.to_dict(),
        "groups": {
            value: _report(assembled, who=who.narrowed(by, value), **settings) for value in group_values(writers, by)
        },
    }


def _provider_entry(
    found: Sequence[Arm], versus: Arm | None, mde: float, halted: str | None, tokens_of: Callable[[Arm], dict[str, Any]]
) -> dict[str, Any]:
    """The headline report on the primary meter, and each other meter's own report under ``other_meters``."""

    def report(arm: Arm, against: Arm | None) -> dict[str, Any]:
        return {**provider_report(arm, against, mde, halted), **tokens_of(arm)}

    headline, *others = found
    return {**report(headline, versus), "other_meters": {arm.meter: report(arm, None) for arm in others}}


def _provider_notes(providers: Mapping[str, dict[str, Any]]) -> list[str]:
    notes = []
    for name, report in providers.items():
        if report["other_meters"]:
            others = ", ".join(meter_label(meter) for meter in report["other_meters"])
            notes.append(
                f"{name}: statistics never mix meters: the headline is on {meter_label(report['meter'])} "
                f"(the meter with the most usable windows), {others} under other_meters"
            )
        if report["n"] < stats.MIN_WINDOWS:
            notes.append(f"{name}: n={report['n']} closed, completed windows; no efficiency conclusion below 3")
        elif report["ci"] is None and report["ci_note"]:
            notes.append(f"{name}: ci=n/a ({report['ci_note']})")
        if report["dollars"]["reason"]:
            notes.append(f"{name}: no figure in dollars: {report['dollars']['reason']}")
    return notes


def _churn_notes(selection: str, rows: Sequence[WindowRow]) -> list[str]:
    """Which commits the lines per capacity unit come from (churn.selection), and what was left out."""
    source = {"noted": "each window's noted commits", "range": "each window's whole range"}.get(selection, selection)
    notes = [f"lines per unit: {source} (churn.selection = {selection})"]
    unknown = sum(1 for row in rows if row.lines is None)
    if unknown:
        notes.append(f"lines per unit: {unknown} window(s) left out, their churn unknown (commits gone)")
    return notes


def _token_report(closes: Sequence[Record], tokens: dict[str, int], threshold: float, arm: Arm) -> dict[str, Any]:
    """Tokens of the arm's windows (from ingested logs) and the windows whose tokens per capacity unit stray
    from the arm's median (DESIGN §5 item 6), each with both figures. Per meter: a percent of a week and a
    percent of 5 hours are different units."""
    mine = [c for c in closes if c["provider"] == arm.provider and window_meter(c.body) == arm.meter]
    ratios = unit_ratios(mine, tokens).get(arm.provider, [])
    found: list[Divergence] = divergent(mine, tokens, threshold)
    with_tokens = [row for row in arm.rows if row.window_id in tokens]
    return {
        "tokens": sum(tokens[row.window_id] for row in with_tokens) if with_tokens else None,
        "windows_with_tokens": len(with_tokens),
        "tokens_per_unit": round(statistics.median(ratio for _, ratio in ratios), 3) if ratios else None,
        "divergent": [item.to_dict() for item in found],
    }


# -- the commands -------------------------------------------------------------------------------------------

# What preview reads (``assignment``: the plan the experiment block reads, experiment/plan.py).
REPORT_KINDS = ("window-close", "completion", "anomaly", "void", "resume", "usage", "assignment")


@dataclass(frozen=True)
class LedgerInputs:
    """What the reports read, read once: the ledger's records of the kinds asked for (id order), the files skipped,
    and the windows' churn. ``git tracker report`` reads once for preview, decide and its pictures."""

    records: list[Record]
    skipped: list[Skipped]
    churns: WindowChurn

    def of_kinds(self, kinds: Iterable[str]) -> tuple[list[Record], list[Skipped]]:
        """The records of ``kinds`` and the files skipped that could have been one (or of no known kind), as a
        read of those kinds alone returns them."""
        wanted = set(kinds)
        records = [record for record in self.records if record.kind in wanted]
        skipped = [item for item in self.skipped if kind_at(item.path) in wanted or kind_at(item.path) is None]
        return records, skipped


def read_inputs(ctx: Context, kinds: Iterable[str] = ()) -> LedgerInputs:
    """One read of what preview reads, and ``kinds`` besides, with the windows' churn worked out."""
    from gittracker.churn import window_churn

    records, skipped = ctx.repo.read_ledger(tuple(dict.fromkeys((*report_kinds(ctx), *kinds))))
    return LedgerInputs(records, skipped, window_churn(ctx, records))


def run_preview(
    ctx: Context,
    provider: str | None = None,
    who: Who = ANYONE,
    by: str | None = None,
    inputs: LedgerInputs | None = None,
) -> dict[str, Any]:
    """``git tracker preview``: the report from the ledger, with this repository's settings (``[plans]`` too);
    ``who`` chooses the windows reported, ``by`` splits the report into one per agent or machine. ``inputs``:
    the ledger already read (``read_inputs``), else it is read here."""
    from gittracker.capacity import check_provider
    from gittracker.records import describe_skipped

    if provider is not None:
        check_provider(provider)
    if inputs is None:
        inputs = read_inputs(ctx)
    records, skipped = inputs.of_kinds(report_kinds(ctx))
    churns = inputs.churns
    settings: dict[str, Any] = {
        "baseline": ctx.config.baseline,
        "mde": ctx.config.mde,
        "provider": provider,
        "divergence_threshold": ctx.config.divergence_threshold,
        "churn_selection": churns.selection,
        "plans": ctx.config.plans,
        "overlap": ctx.config.overlap,
        "readings_of": ledger_readings_of(ctx),
        "proxy": stored_proxy_figures(ctx),
    }
    if by is not None:
        result = build_grouped_preview(records, churns.lines, by, who, **settings)
    else:
        result = build_preview(records, churns.lines, who=who, **settings)
    churns.save()
    reports = list(result["groups"].values()) if by is not None else [result]
    if churns.split_commits:
        shared = f"lines per unit: {shared_note(len(churns.split_commits))}"
        for report in reports:
            report["notes"].append(shared)
    if skipped:
        left_out = f"{describe_skipped(item.reason for item in skipped)}: left out of every figure"
        for report in reports:
            report["notes"].append(left_out)
    return result


def shared_note(count: int) -> str:
    """What preview says when windows shared commits (docs/preview.md)."""
    return f"{count} commit(s) shared by several windows: their lines are split equally between them"


def report_kinds(ctx: Context) -> tuple[str, ...]:
    """What a report reads: with apportioning on, checkpoints too (a window's tokens when no log was ingested)."""
    return REPORT_KINDS + (("checkpoint",) if ctx.config.overlap == APPORTION else ())


def stored_proxy_figures(ctx: Context) -> Mapping[str | None, ProxyFigures]:
    """The proxy's figures by window, kept between reports (the batches are read again only when they changed)."""
    from gittracker.proxy.store import cached_window_figures

    return cached_window_figures(ctx.repo)


def ledger_readings_of(ctx: Context) -> ReadingsOf:
    """Overlapping windows' meter readings, read from the ledger when a report apportions them."""
    from gittracker.overlapledger import ledger_readings

    return partial(ledger_readings, ctx.repo)
