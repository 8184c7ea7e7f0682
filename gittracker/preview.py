"""``preview`` and ``decide``: per-provider efficiency with intervals and power, the stop rule, the gates.

Everything is derived from the ledger on each run (nothing stored is trusted as a summary), with the
formulas of STATS.md from ``gittracker.stats``. scipy is imported only when a statistic needs it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gittracker import stats
from gittracker.capacity import UNITS
from gittracker.records import PROVIDERS, Record, live_records
from gittracker.usage import Divergence, divergent, unit_ratios, window_tokens

SCHEMA_VERSION = 1
G1_MAX_CI_WIDTH = 0.30
G1_MIN_POWER = 0.8
G1_QUALITY_FACTOR = 0.8


@dataclass(frozen=True)
class WindowRow:
    """One closed window with what the statistics need (``capacity`` None when unknown)."""

    window_id: str
    provider: str
    closed_ts: str
    capacity: float | None
    unit: str
    outcome: str | None
    quality: float | None
    feature_id: str | None
    commit_start: str | None
    commit_end: str | None
    lines: int | None

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
    closes: dict[str, Record] = {}
    completions: dict[str, Record] = {}
    for record in records:  # id order: later records win
        if record.kind == "window-close":
            closes[record["window_id"]] = record
        elif record.kind == "completion":
            completions[record["window_id"]] = record
    rows = []
    for window_id, close in closes.items():
        done = completions.get(window_id)
        rows.append(
            WindowRow(
                window_id=window_id,
                provider=close["provider"],
                closed_ts=close.ts,
                capacity=close["delta"],
                unit=close["unit"],
                outcome=done["outcome"] if done else None,
                quality=done["quality_score"] if done else None,
                feature_id=(done["feature_id"] if done and done["feature_id"] else close["feature_id"]),
                commit_start=close["commit_start"],
                commit_end=close["commit_end"],
                lines=lines_of(window_id, close["commit_start"], close["commit_end"]),
            )
        )
    rows.sort(key=lambda row: row.closed_ts)
    return rows


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


def provider_report(
    provider: str,
    rows: Sequence[WindowRow],
    baseline_rows: Sequence[WindowRow] | None,
    mde: float,
    halted: str | None,
) -> dict[str, Any]:
    mine = [row for row in rows if row.provider == provider]
    usable = _usable(mine)
    known = [row for row in mine if row.capacity is not None]
    ratio = stats.ratio_of_sums([row.work() or 0.0 for row in usable], [row.capacity or 0.0 for row in usable])
    if ratio.note == stats.NOTE_NON_FINITE and halted is None:
        halted = "non-finite statistic"
    power, n_needed = _power(usable, baseline_rows, mde)
    qualities = [row.quality for row in mine if row.quality is not None]
    with_lines = [row for row in known if row.lines is not None]
    capacity_with_lines = sum(row.capacity or 0.0 for row in with_lines)
    return {
        "n": ratio.n,
        "windows": len(mine),
        "unit": UNITS[provider],
        "capacity_used": round(sum(row.capacity or 0.0 for row in known), 6),
        "efficiency": ratio.estimate,
        "ci": list(ratio.ci) if ratio.ci else None,
        "ci_width": ratio.ci_width,
        "ci_note": ratio.note,
        "power": power,
        "n_per_arm_for_80pct_power": n_needed,
        "quality_mean": _mean(qualities),
        "lines_per_pct": (sum(row.lines or 0 for row in with_lines) / capacity_with_lines)
        if capacity_with_lines > 0
        else None,
        "pending": sum(1 for row in mine if not row.completed),
        "unknown_capacity": sum(1 for row in mine if row.capacity is None),
        "halted": halted,
    }


def _power(
    usable: Sequence[WindowRow], baseline_rows: Sequence[WindowRow] | None, mde: float
) -> tuple[float | None, int | None]:
    """Prospective power to detect a relative difference of ``mde`` against the baseline arm.

    For the baseline itself (``baseline_rows`` None) the comparison arm is taken to be as large as it.
    """
    mine = _log_effs(usable)
    other = _log_effs(_usable(baseline_rows)) if baseline_rows is not None else mine
    groups = [mine, other] if baseline_rows is not None else [mine]
    s = stats.pooled_sd([g for g in groups if len(g) >= 2]) if len(mine) >= 2 else None
    if s is None or s <= 0 or not mine or not other:
        return None, None
    d = stats.effect_size(mde, s)
    return stats.power_two_sample(d, len(mine), len(other)), stats.n_per_arm_for_power(d)


def comparisons(rows: Sequence[WindowRow], baseline: str | None) -> dict[str, Any]:
    """Each provider against the baseline: Welch on log efficiency, paired by feature when possible,
    Holm-adjusted across providers."""
    if baseline is None:
        return {}
    base = _usable(r for r in rows if r.provider == baseline)
    results: dict[str, Any] = {}
    for provider in PROVIDERS:
        if provider == baseline or not any(r.provider == provider for r in rows):
            continue
        if UNITS[provider] != UNITS[baseline]:
            results[provider] = {
                "method": None,
                "note": f"{provider} is measured in {UNITS[provider]}, {baseline} in {UNITS[baseline]}: not comparable",
            }
            continue
        mine = _usable(r for r in rows if r.provider == provider)
        pairs = _matched(mine, base)
        gate = stats.comparison_gate(len(mine), len(base), len(pairs))
        if gate is not None:
            results[provider] = {"method": None, "note": gate}
            continue
        if len(pairs) >= stats.MIN_PAIRS:
            test = stats.paired_log_ratio([a for a, _ in pairs], [b for _, b in pairs])
        else:
            test = stats.welch_log_ratio(_effs(mine), _effs(base))
        results[provider] = {
            "method": test.method,
            "ratio": test.ratio,
            "ci": list(test.ci) if test.ci else None,
            "p": test.p,
            "n_a": test.n_a,
            "n_b": test.n_b,
            "note": test.note,
        }
    tested = [p for p, r in results.items() if r.get("p") is not None]
    for provider, adjusted in zip(tested, stats.holm([results[p]["p"] for p in tested]), strict=True):
        results[provider]["p_holm"] = adjusted
    return results


def _effs(rows: Sequence[WindowRow]) -> list[float]:
    values = [stats.efficiency(row.work() or 0.0, row.capacity) for row in rows]
    return [v for v in values if v is not None and v > 0]


def _matched(mine: Sequence[WindowRow], base: Sequence[WindowRow]) -> list[tuple[float, float]]:
    def by_feature(rows: Sequence[WindowRow]) -> dict[str, float]:
        out: dict[str, float] = {}
        for row in rows:
            e = stats.efficiency(row.work() or 0.0, row.capacity)
            if row.feature_id and e is not None and e > 0:
                out[row.feature_id] = e  # the latest window of a feature stands for it
        return out

    a, b = by_feature(mine), by_feature(base)
    return [(a[f], b[f]) for f in sorted(set(a) & set(b))]


def build_preview(
    records: Sequence[Record],
    lines_of: LinesOf,
    *,
    baseline: str = "",
    mde: float = 0.25,
    provider: str | None = None,
    divergence_threshold: float = 0.10,
    churn_selection: str | None = None,
) -> dict[str, Any]:
    alive = live_records(records)
    rows = window_rows(alive, lines_of)
    tokens = window_tokens(alive)
    closes = [record for record in alive if record.kind == "window-close"]
    divergences = divergent(closes, tokens, divergence_threshold)
    ratios = unit_ratios(closes, tokens)
    chosen = choose_baseline(baseline, rows)
    base_rows = [row for row in rows if row.provider == chosen]
    providers = {}
    for name in PROVIDERS:
        if provider not in (None, name) or not any(row.provider == name for row in rows):
            continue
        versus = None if name == chosen else base_rows
        if versus is not None and UNITS[name] != UNITS[chosen or name]:
            versus = None  # different units: power against an arm like itself
        providers[name] = provider_report(name, rows, versus, mde, halt_reason(name, alive, rows))
        providers[name].update(_token_report(name, rows, tokens, ratios.get(name, []), divergences))
    notes = []
    for name, report in providers.items():
        if report["n"] < stats.MIN_WINDOWS:
            notes.append(f"{name}: n={report['n']} closed, completed windows; no efficiency conclusion below 3")
        elif report["ci"] is None and report["ci_note"]:
            notes.append(f"{name}: ci=n/a ({report['ci_note']})")
    compared = comparisons(rows, chosen)
    for name, result in compared.items():
        if result.get("method") is None:
            notes.append(f"{name} vs {chosen}: {result['note']}")
    if churn_selection is not None and providers:
        notes += _churn_notes(churn_selection, [row for row in rows if row.provider in providers])
    return {
        "schema_version": SCHEMA_VERSION,
        "baseline": chosen,
        "churn_selection": churn_selection,
        "providers": providers,
        "comparisons": compared,
        "anomalies": sum(1 for r in alive if r.kind == "anomaly"),
        "proxy": None,
        "notes": notes,
    }


def _churn_notes(selection: str, rows: Sequence[WindowRow]) -> list[str]:
    """Which commits the lines per capacity unit come from (churn.selection), and what was left out."""
    source = {"noted": "each window's noted commits", "range": "each window's whole range"}.get(selection, selection)
    notes = [f"lines per unit: {source} (churn.selection = {selection})"]
    unknown = sum(1 for row in rows if row.lines is None)
    if unknown:
        notes.append(f"lines per unit: {unknown} window(s) left out, their churn unknown (commits gone)")
    return notes


def _token_report(
    provider: str,
    rows: Sequence[WindowRow],
    tokens: dict[str, int],
    ratios: Sequence[tuple[Record, float]],
    found: Sequence[Divergence],
) -> dict[str, Any]:
    """Tokens of the provider's windows (from ingested logs) and the windows whose tokens per capacity
    unit stray from the provider's median (DESIGN §5 item 6), each with both figures."""
    mine = [row for row in rows if row.provider == provider and row.window_id in tokens]
    return {
        "tokens": sum(tokens[row.window_id] for row in mine) if mine else None,
        "windows_with_tokens": len(mine),
        "tokens_per_unit": round(statistics.median(ratio for _, ratio in ratios), 3) if ratios else None,
        "divergent": [item.to_dict() for item in found if item.provider == provider],
    }


# -- decide ------------------------------------------------------------------------------------------------


def build_decision(
    records: Sequence[Record],
    lines_of: LinesOf,
    *,
    baseline: str = "",
    mde: float = 0.25,
) -> dict[str, Any]:
    alive = live_records(records)
    rows = window_rows(alive, lines_of)
    g1 = _gate_g1(records, rows, lines_of, baseline, mde)
    g2 = {"pass": False, "detail": "no data: no task bank yet (`git tracker bank add`); fails closed"}
    g3 = {"pass": False, "detail": "no data: no sub-agent proxy telemetry yet; fails closed"}
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


def _gate_g1(
    records: Sequence[Record],
    rows: Sequence[WindowRow],
    lines_of: LinesOf,
    baseline: str,
    mde: float,
) -> dict[str, Any]:
    """Expansion readiness: for some provider, the evaluations as of each of its last two closed windows
    both pass n >= 3, ci_width <= 0.30, power >= 0.8 and quality >= 0.8 x the baseline's."""
    per_provider: dict[str, Any] = {}
    for provider in PROVIDERS:
        closes = [row.closed_ts for row in rows if row.provider == provider]
        if not closes:
            continue
        checks = []
        for cutoff in closes[-2:]:
            as_of = [r for r in records if r.ts <= cutoff]
            preview = build_preview(as_of, lines_of, baseline=baseline, mde=mde)
            report = preview["providers"].get(provider)
            base = preview["providers"].get(preview["baseline"] or "", {})
            checks.append(_g1_check(cutoff, report, base.get("quality_mean")))
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


def _g1_check(cutoff: str, report: dict[str, Any] | None, baseline_quality: float | None) -> dict[str, Any]:
    if report is None:
        return {"as_of": cutoff, "pass": False, "failed": ["no data"]}
    failed = []
    if report["n"] < stats.MIN_WINDOWS:
        failed.append(f"n={report['n']} < 3")
    if report["ci_width"] is None or report["ci_width"] > G1_MAX_CI_WIDTH:
        failed.append(f"ci_width={_fmt(report['ci_width'])} > 0.30")
    if report["power"] is None or report["power"] < G1_MIN_POWER:
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
        "ci_width": report["ci_width"],
        "power": report["power"],
        "quality_mean": quality,
    }


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"
