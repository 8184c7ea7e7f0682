"""``decide``: the gates G1 to G3 and the verdict, from the ledger.

G1 asks whether some provider's figures hold as of each of its last two closed windows, so it evaluates the ledger
as it was known then: up to six reports over one ledger. Each is kept (``asofcache``) by what it read, so the next
``decide`` or ``report`` evaluates only the cutoffs whose records changed, usually the newest close alone.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from gittracker import stats
from gittracker.asofcache import KeptEvaluations
from gittracker.experiment.bank import BANK_KINDS, backlog_pressure
from gittracker.experiment.plan import current_plan
from gittracker.overlaps import EXCLUDE, Span, span_of
from gittracker.plans import Plan, default_plans
from gittracker.preview import (
    REPORT_KINDS,
    SCHEMA_VERSION,
    LedgerInputs,
    LinesOf,
    ReadingsOf,
    WindowRow,
    apply_overlaps,
    by_kind,
    choose_baseline,
    comparisons,
    halt_reason,
    latest_closes_and_completions,
    ledger_readings_of,
    provider_arms,
    provider_report,
    read_inputs,
    readings_in,
    report_kinds,
    stored_proxy_figures,
    versus_arm,
    window_row,
)
from gittracker.records import PROVIDERS, Record, live_records

if TYPE_CHECKING:
    from gittracker.context import Context
    from gittracker.prices import Price
    from gittracker.proxyevents import Figures as ProxyFigures

REPORTED = frozenset((*REPORT_KINDS, "checkpoint"))  # what a report may read (checkpoints: when apportioning)
G1_MAX_CI_WIDTH = 0.30
G1_MIN_POWER = 0.8
G1_QUALITY_FACTOR = 0.8


def decision_kinds(ctx: Context) -> tuple[str, ...]:
    """What ``decide`` reads: a report's kinds, and the task bank's for G2 (``experiment.bank``)."""
    return tuple(dict.fromkeys(report_kinds(ctx) + BANK_KINDS))


def run_decision(ctx: Context, inputs: LedgerInputs | None = None) -> dict[str, Any]:
    """``git tracker decide``: the gates from the ledger, with this repository's settings (``[plans]`` too).
    ``inputs``: the ledger already read with the bank's kinds (``read_inputs``), else it is read here."""
    if inputs is None:
        inputs = read_inputs(ctx, BANK_KINDS)
    records, _ = inputs.of_kinds(decision_kinds(ctx))
    kept = KeptEvaluations(ctx.repo.cache_dir)
    result = build_decision(
        records,
        inputs.churns.lines,
        baseline=ctx.config.baseline,
        mde=ctx.config.mde,
        plans=ctx.config.plans,
        overlap=ctx.config.overlap,
        readings_of=ledger_readings_of(ctx),
        prices=ctx.config.prices,
        proxy=stored_proxy_figures(ctx),
        kept=kept,
    )
    kept.save()
    inputs.churns.save()
    return result


def build_decision(
    records: Sequence[Record],
    lines_of: LinesOf,
    *,
    baseline: str = "",
    mde: float = 0.25,
    plans: Mapping[str, Plan] | None = None,
    overlap: str = EXCLUDE,
    readings_of: ReadingsOf | None = None,
    prices: Mapping[str, Price] | None = None,
    proxy: Mapping[str | None, ProxyFigures] | None = None,
    kept: KeptEvaluations | None = None,
) -> dict[str, Any]:
    """The gates and the verdict; ``proxy`` as ``build_preview`` takes it (G3 reads it); ``kept``: G1's
    evaluations kept from earlier runs, and where this run's are kept."""
    alive = live_records(records)
    # G1's reports read what preview reads: the bank's records (G2's) would only slow each cutoff's cut.
    reported = [record for record in records if record.kind in REPORTED]
    as_of = AsOfEvaluations(reported, lines_of, baseline, mde, plans, overlap, readings_of, kept)
    g1 = _gate_g1(as_of.closes, as_of.at)
    g2 = _gate_g2(alive)
    g3 = _gate_g3(alive, prices, proxy)
    if g1["pass"] and g2["pass"]:
        verdict = (
            "add one seat: GLM (the proxy POC won)"
            if g3["pass"]
            else (f"add one seat: Claude Max (G3 failed: {g3['detail']})")
        )
    else:
        failed = [name for name, gate in (("G1", g1), ("G2", g2)) if not gate["pass"]]
        verdict = f"stay lean ({' and '.join(failed)} not met)"
    return {"schema_version": SCHEMA_VERSION, "gates": {"G1": g1, "G2": g2, "G3": g3}, "verdict": verdict}


def _gate_g2(alive: Sequence[Record]) -> dict[str, Any]:
    """Backlog pressure: at least two task-bank features ready and blocked only by capacity, named."""
    return backlog_pressure(alive, current_plan(alive))


def _gate_g3(
    alive: Sequence[Record], prices: Mapping[str, Price] | None, proxy: Mapping[str | None, ProxyFigures] | None
) -> dict[str, Any]:
    """The sub-agent proxy POC: green only when all five criteria of ``proxy compare`` hold on the matched features;
    the detail names each failed criterion by number, with its figure ("no data" without a matched feature)."""
    from gittracker.prices import default_prices
    from gittracker.proxy.compare import compare

    result = compare(alive, prices if prices is not None else default_prices(), proxy)
    return {"pass": result["pass"], "detail": result["detail"]}


class ClosedWindow(NamedTuple):
    """A window as G1 sees it today: which provider closed it, and when (its latest live close)."""

    window_id: str
    provider: str
    closed_ts: str


def closed_windows(alive: Sequence[Record]) -> list[ClosedWindow]:
    """The live closed windows by close time (each window's latest live close)."""
    closes, _ = latest_closes_and_completions(alive)
    found = [ClosedWindow(window_id, r["provider"], r.ts) for window_id, r in closes.items()]
    return sorted(found, key=lambda window: window.closed_ts)


def _gate_g1(closes: Sequence[ClosedWindow], preview_at: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """Expansion readiness: for some provider, the evaluations as of each of its last two closed windows
    both pass n >= 3, ci_width <= 0.30 (of work per subscription dollar, the figure providers are compared
    in), power >= 0.8 and quality >= 0.8 x the baseline's. ``preview_at``: the report as of a close (G1's part)."""
    per_provider: dict[str, Any] = {}
    for provider in PROVIDERS:
        cutoffs = [window.closed_ts for window in closes if window.provider == provider]
        if not cutoffs:
            continue
        checks = []
        for cutoff in cutoffs[-2:]:
            preview = preview_at(cutoff)
            report = preview["providers"].get(provider)
            base = preview["providers"].get(preview["baseline"] or "", {})
            checks.append(_g1_check(cutoff, report, base.get("quality_mean"), _why_no_power(provider, preview)))
        passed = len(checks) == 2 and all(check["pass"] for check in checks)
        per_provider[provider] = {"pass": passed, "as_of": checks}
    winners = [p for p, result in per_provider.items() if result["pass"]]
    detail = (
        f"met by {', '.join(winners)}"
        if winners
        else "no provider met n >= 3, ci_width <= 0.30, power >= 0.8 and quality >= 0.8 x baseline "
        "as of each of its last two closed windows"
    )
    return {"pass": bool(winners), "detail": detail, "providers": per_provider}


class AsOfEvaluations:
    """G1's reports as of each close it asks for: what ``build_preview`` would report over the ledger as known
    then (``known_by``), cut to what G1 reads (``g1_view``).

    Up to six such reports over one ledger differ only in which records count, so each window's row and span
    are made once and reused, and a cutoff two providers share is evaluated once. With ``kept``, a report is
    taken from an earlier run when it read the same records with the same settings and churn.
    """

    def __init__(
        self,
        records: Sequence[Record],
        lines_of: LinesOf,
        baseline: str,
        mde: float,
        plans: Mapping[str, Plan] | None,
        overlap: str,
        readings_of: ReadingsOf | None,
        kept: KeptEvaluations | None = None,
    ) -> None:
        self._records, self._lines_of = records, lines_of
        self._view = partial(g1_view, baseline=baseline, mde=mde, plans=plans)
        self._overlap, self._readings_of = overlap, readings_of
        self._made_rows: dict[tuple[str, str | None], WindowRow] = {}
        self._made_spans: dict[str, Span] = {}
        self._reports: dict[str, dict[str, Any]] = {}
        self._kept = kept
        self._settings = _settings_key(baseline, mde, plans, overlap) if kept is not None else ""
        self.closes = closed_windows(live_records(records))  # today's windows: whose closes G1 evaluates at
        self._close_times = [window.closed_ts for window in self.closes]
        self._by_time: list[tuple[str, str, str]] | None = None  # made on the first key (``_known_ids``)
        self._completions: list[tuple[str, str, str]] = []
        self._voids_of: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)

    def at(self, cutoff: str) -> dict[str, Any]:
        if cutoff not in self._reports:
            if self._kept is None:
                self._reports[cutoff] = self._evaluate(known_by(self._records, self.closes, cutoff))
            else:
                key = self._kept.key(self._settings, cutoff, self._known_ids(cutoff))
                found = self._kept.get(key)
                if found is None:
                    found = self._kept.put(key, self._evaluate(known_by(self._records, self.closes, cutoff)))
                self._reports[cutoff] = found
        return self._reports[cutoff]

    def _known_ids(self, cutoff: str) -> list[str]:
        """What ``known_by(cutoff)`` holds, named: its records' ids (a close's with the churn lines of its window:
        a rewritten commit or another ``churn.selection`` changes them). The records up to the cutoff in (time, id)
        order, then the later outcomes of the windows closed by then and the voids of those: from lists sorted
        once, not a scan of the ledger per cutoff (a key must cost far less than the evaluation it spares)."""
        if self._by_time is None:
            self._by_time = sorted((record.ts, record.id, self._named(record)) for record in self._records)
            self._completions = sorted((r.ts, r.id, r["window_id"]) for r in self._records if r.kind == "completion")
            for record in self._records:
                if record.kind == "void":
                    self._voids_of[record["target_id"]].append((record.ts, record.id))
        closed = {window.window_id for window in self.closes[: bisect_right(self._close_times, cutoff)]}
        after = (cutoff, "\uffff")  # past every id at the cutoff's time
        later = [
            record_id
            for _, record_id, window_id in self._completions[bisect_right(self._completions, after) :]
            if window_id in closed
        ]
        voids = sorted(v for record_id in later for ts, v in self._voids_of.get(record_id, ()) if ts > cutoff)
        return [name for _, _, name in self._by_time[: bisect_right(self._by_time, after)]] + later + voids

    def _named(self, record: Record) -> str:
        if record.kind != "window-close":
            return record.id
        lines = self._lines_of(record["window_id"], record["commit_start"], record["commit_end"])
        return f"{record.id} {lines}"

    def _evaluate(self, records: Sequence[Record]) -> dict[str, Any]:
        """As ``assemble`` then ``_report`` (everyone's windows), from the rows and spans made so far."""
        alive = live_records(records)
        every_row = self._window_rows(alive)
        readings_of = self._readings_of or readings_in(alive)
        counted_rows, _ = apply_overlaps(every_row, alive, self._overlap, readings_of, self._span)
        of_kind = by_kind(record for record in alive if record.kind in ("resume", "anomaly"))
        return self._view(every_row, counted_rows, of_kind["resume"] + of_kind["anomaly"])

    def _window_rows(self, alive: Sequence[Record]) -> list[WindowRow]:
        """``window_rows``, each (close, completion) pair's row made once."""
        closes, completions = latest_closes_and_completions(alive)
        rows = []
        for window_id, close in closes.items():
            done = completions.get(window_id)
            key = (close.id, done.id if done is not None else None)
            if key not in self._made_rows:
                self._made_rows[key] = window_row(close, done, self._lines_of)
            rows.append(self._made_rows[key])
        rows.sort(key=lambda row: row.closed_ts)
        return rows

    def _span(self, close: Record) -> Span:
        if close.id not in self._made_spans:
            self._made_spans[close.id] = span_of(close)
        return self._made_spans[close.id]


def _settings_key(baseline: str, mde: float, plans: Mapping[str, Plan] | None, overlap: str) -> str:
    """The settings an as-of report depends on, as text (plans as every field of each)."""
    priced = plans if plans is not None else default_plans()
    return repr((baseline, mde, sorted((name, repr(plan)) for name, plan in priced.items()), overlap))


def g1_view(
    every_row: Sequence[WindowRow],
    counted_rows: Sequence[WindowRow],
    stop_records: Sequence[Record],
    *,
    baseline: str,
    mde: float,
    plans: Mapping[str, Plan] | None,
) -> dict[str, Any]:
    """The part of ``build_preview``'s report over everyone's windows that G1 reads: the baseline, each provider's
    headline report without its tokens and other meters, and the comparisons. Computed as ``_report`` does."""
    priced = plans if plans is not None else default_plans()
    chosen = choose_baseline(baseline, counted_rows)
    arms = {name: provider_arms(name, counted_rows, priced[name]) for name in PROVIDERS}
    primary = {name: found[0] for name, found in arms.items() if found}
    base = primary.get(chosen or "")
    providers = {
        name: provider_report(arm, versus_arm(name, arm, base, chosen), mde, halt_reason(name, stop_records, every_row))
        for name, arm in primary.items()
    }
    return {"baseline": chosen, "providers": providers, "comparisons": comparisons(primary, chosen)}


def known_by(records: Sequence[Record], closes: Sequence[ClosedWindow], cutoff: str) -> list[Record]:
    """The ledger as of ``cutoff`` (a window's close), with the outcomes of the windows closed by then: an outcome is
    recorded after its window closes, and a window evaluated without it would count one window short."""
    closed = {window.window_id for window in closes if window.closed_ts <= cutoff}
    later = {r.id for r in records if r.ts > cutoff and r.kind == "completion" and r["window_id"] in closed}
    return [r for r in records if r.ts <= cutoff or r.id in later or (r.kind == "void" and r["target_id"] in later)]


def _why_no_power(provider: str, preview: dict[str, Any]) -> str:
    """Why a provider's power is null, for G1: power is only ever against the baseline."""
    baseline = preview["baseline"]
    if provider == baseline:
        return "the baseline is what the others are compared with"
    if baseline not in preview["providers"]:
        return f"the baseline {baseline} has no windows yet"
    note = preview["comparisons"].get(provider, {}).get("note") or ""
    if note.startswith("not comparable"):
        return "not comparable with the baseline in dollars"
    return "too few windows or no spread"


def _g1_check(
    cutoff: str, report: dict[str, Any] | None, baseline_quality: float | None, no_power: str
) -> dict[str, Any]:
    if report is None:
        return {"as_of": cutoff, "pass": False, "failed": ["no data"]}
    failed = []
    if report["n"] < stats.MIN_WINDOWS:
        failed.append(f"n={report['n']} < 3")
    dollars = report["dollars"]
    if dollars["usd_per_unit"] is None:
        failed.append(f"ci_width=n/a: no figure in dollars ({dollars['reason']})")
    elif dollars["ci_width"] is None or dollars["ci_width"] > G1_MAX_CI_WIDTH:
        failed.append(f"ci_width={_fmt(dollars['ci_width'])} > 0.30 (work per dollar)")
    if report["power"] is None:
        failed.append(f"power=n/a: {no_power}")
    elif report["power"] < G1_MIN_POWER:
        failed.append(f"power={_fmt(report['power'])} < 0.8")
    quality = report["quality_mean"]
    if quality is None or baseline_quality is None or quality < G1_QUALITY_FACTOR * baseline_quality:
        failed.append(f"quality={_fmt(quality)} < 0.8 x baseline {_fmt(baseline_quality)}")
    if report["halted"]:
        failed.append(f"halted: {report['halted']}")
    return {
        "as_of": cutoff,
        "pass": not failed,
        "failed": failed,
        "n": report["n"],
        "ci_width": dollars["ci_width"],
        "power": report["power"],
        "quality_mean": quality,
    }


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"
