"""``proxy compare``: the sub-agent POC, GLM against the baseline, feature by feature, and gate G3 of ``decide``.

The arms. A closed window whose proxy events include any request routed to ``glm`` is in the GLM arm; a closed window
with proxy events and none on glm is in the baseline arm (its sub-agents ran on whatever they ran on, Haiku as a
rule). Windows without proxy events are in neither. A feature (the windows' ``feature_id``) is matched when it has
windows in both arms: only matched features are compared, so each arm did the same work.

Per feature and arm: prompts (requests), tokens of each kind, their cost at the configured prices (``prices.py``;
unknown when any event's model has no price), the error rate (``events.Event.failed``), the nearest-rank p95 latency,
quality (the mean ``quality_score`` of the arm's completed windows) and the windows whose outcome is ``failed``.

The five POC criteria of STATS.md (G3), over the matched features:
  1. token cost: the baseline's cost over GLM's, summed over the features, is at least 2;
  2. quality: GLM's mean quality (each feature's mean, averaged over the features completed in both arms) is at least
     0.8 x the baseline's, or, with n >= 3 such features, a one-sided paired t-test finds no significant drop
     (p >= 0.05);
  3. error rate: GLM's (its events pooled) is at most the baseline's + 2 percentage points;
  4. p95 latency: GLM's (its events pooled) is at most the baseline's x 1.3;
  5. no failed deterministic test: no GLM-arm window, of any feature, whose completion outcome is ``failed`` (the
     outcome a window's owner records when its tests fail).
No matched feature: no data, and the gate fails closed. scipy is imported only for the t-test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gittracker import proxyevents as ev
from gittracker.prices import Price, price_for
from gittracker.proxy.store import cached_window_figures, window_figures
from gittracker.records import Record, live_records

if TYPE_CHECKING:
    from gittracker.context import Context

SCHEMA_VERSION = 1
GLM_ARM = "glm"
BASELINE_ARM = "baseline"
ARMS = (GLM_ARM, BASELINE_ARM)
MIN_COST_FACTOR = 2.0
MIN_QUALITY_FACTOR = 0.8
MAX_ERROR_MARGIN = 0.02  # 2 percentage points
MAX_LATENCY_FACTOR = 1.3
ALPHA = 0.05
MIN_PAIRED = 3  # features completed in both arms before "no significant drop" may stand in for the 0.8 x rule
NO_MODEL = "(no model)"
NO_DATA = "no data: no feature has windows in both arms (proxy events routed to glm, and proxy events none on glm)"


@dataclass(frozen=True)
class ProxyWindow:
    """A closed window with proxy events, its feature and its latest completion."""

    window_id: str
    feature_id: str | None
    outcome: str | None
    quality: float | None
    figures: ev.Figures

    @property
    def arm(self) -> str:
        return GLM_ARM if self.figures.glm_prompts else BASELINE_ARM


def proxy_windows(records: Iterable[Record], proxy: Mapping[str | None, ev.Figures] | None = None) -> list[ProxyWindow]:
    """The live closed windows that have proxy events, in the order they closed; ``proxy``: the figures by window
    (``proxy/store.py``), else from the batch records given."""
    if proxy is not None and not any(figures.prompts for figures in proxy.values()):
        return []  # no window has events: nothing to look up, whatever the ledger holds
    alive = live_records(records)
    closes: dict[str, Record] = {}
    completions: dict[str, Record] = {}
    for record in alive:  # id order: the later record wins
        if record.kind == "window-close":
            closes[record["window_id"]] = record
        elif record.kind == "completion":
            completions[record["window_id"]] = record
    of_window = proxy if proxy is not None else window_figures(alive)
    found = []
    for window_id, close in sorted(closes.items(), key=lambda item: item[1].ts):
        figures = of_window.get(window_id)
        if figures is None or not figures.prompts:
            continue
        done = completions.get(window_id)
        found.append(
            ProxyWindow(
                window_id=window_id,
                feature_id=(done["feature_id"] if done and done["feature_id"] else close["feature_id"]),
                outcome=done["outcome"] if done else None,
                quality=done["quality_score"] if done else None,
                figures=figures,
            )
        )
    return found


def compare(
    records: Iterable[Record], prices: Mapping[str, Price], proxy: Mapping[str | None, ev.Figures] | None = None
) -> dict[str, Any]:
    """The comparison as a JSON-ready dict (docs/json.md, ``proxy compare --json``)."""
    windows = proxy_windows(records, proxy)
    by_feature: dict[str, dict[str, list[ProxyWindow]]] = {}
    for window in windows:
        if window.feature_id:
            by_feature.setdefault(window.feature_id, {GLM_ARM: [], BASELINE_ARM: []})[window.arm].append(window)
    matched = sorted(name for name, arms in by_feature.items() if arms[GLM_ARM] and arms[BASELINE_ARM])
    cost = _coster(prices)
    features = [_feature_row(name, by_feature[name], cost) for name in matched]
    glm_windows = [window for window in windows if window.arm == GLM_ARM]
    overall = _overall(features, [by_feature[name] for name in matched], cost) if features else None
    criteria = _criteria(features, overall, glm_windows) if overall is not None else []
    passed = bool(criteria) and all(item["pass"] for item in criteria)
    return {
        "schema_version": SCHEMA_VERSION,
        "matched": len(matched),
        "features": features,
        "unmatched": {
            arm: sorted(name for name, arms in by_feature.items() if arms[arm] and name not in matched) for arm in ARMS
        },
        "windows": {arm: sum(1 for window in windows if window.arm == arm) for arm in ARMS},
        "windows_without_feature": sum(1 for window in windows if not window.feature_id),
        "overall": overall,
        "models": _models(windows, prices),
        "criteria": criteria,
        "pass": passed,
        "detail": _detail(criteria, len(matched)),
    }


# -- figures -------------------------------------------------------------------------------------------------------

Coster = Callable[[str | None, Sequence[int]], float | None]


def _coster(prices: Mapping[str, Price]) -> Coster:
    """The cost of one model's token counts (``proxyevents.TOKEN_COUNTS``), None when the model has no price."""
    cache: dict[str | None, Price | None] = {}

    def cost(model: str | None, counts: Sequence[int]) -> float | None:
        if model not in cache:
            found = price_for(model, prices)
            cache[model] = found[1] if found else None
        price = cache[model]
        return None if price is None else price.cost(*counts)

    return cost


def arm_figures(windows: Sequence[ProxyWindow], cost: Coster) -> dict[str, Any]:
    """One arm's figures over its windows' events (pooled) and its windows' completions."""
    pooled = ev.Figures.merged(window.figures for window in windows)
    costs = {model: cost(model, counts) for model, counts in pooled.tokens.items()}
    unpriced = sorted({model or NO_MODEL for model, usd in costs.items() if usd is None})
    qualities = [window.quality for window in windows if window.quality is not None]
    prompt, completion, written, read = pooled.token_totals()
    prompts = pooled.prompts
    return {
        "windows": len(windows),
        "prompts": prompts,
        "input_tokens": prompt,
        "output_tokens": completion,
        "cache_write_tokens": written,
        "cache_read_tokens": read,
        "tokens": pooled.total_tokens,
        "cost_usd": None if unpriced else math.fsum(usd or 0.0 for usd in costs.values()),
        "unpriced_models": unpriced,
        "errors": pooled.errors,
        "error_rate": pooled.errors / prompts if prompts else None,
        "latency_p95_ms": ev.percentile(pooled.latencies, 0.95),
        "quality": math.fsum(qualities) / len(qualities) if qualities else None,
        "completed": len(qualities),
        "failed_outcomes": sum(1 for window in windows if window.outcome == "failed"),
    }


def _ratio(baseline: float | None, glm: float | None) -> float | None:
    """Baseline over GLM; None when either is unknown or GLM's is zero."""
    if baseline is None or glm is None or glm == 0:
        return None
    return baseline / glm


def _feature_row(name: str, arms: Mapping[str, list[ProxyWindow]], cost: Coster) -> dict[str, Any]:
    figures = {arm: arm_figures(arms[arm], cost) for arm in ARMS}
    return {
        "feature_id": name,
        **figures,
        "cost_ratio": _ratio(figures[BASELINE_ARM]["cost_usd"], figures[GLM_ARM]["cost_usd"]),
    }


def _overall(
    features: Sequence[dict[str, Any]], arms_of: Sequence[Mapping[str, list[ProxyWindow]]], cost: Coster
) -> dict[str, Any]:
    """Both arms over every matched feature: events pooled; quality each feature's mean, averaged over the features
    completed in both arms (the pairs the t-test reads)."""
    pooled = {arm: arm_figures([w for arms in arms_of for w in arms[arm]], cost) for arm in ARMS}
    pairs = [
        (row[GLM_ARM]["quality"], row[BASELINE_ARM]["quality"])
        for row in features
        if row[GLM_ARM]["quality"] is not None and row[BASELINE_ARM]["quality"] is not None
    ]
    for index, arm in enumerate(ARMS):
        pooled[arm]["quality"] = math.fsum(pair[index] for pair in pairs) / len(pairs) if pairs else None
    return {
        **pooled,
        "cost_ratio": _ratio(pooled[BASELINE_ARM]["cost_usd"], pooled[GLM_ARM]["cost_usd"]),
        "quality_pairs": len(pairs),
        "quality_p": _paired_drop_p(pairs) if len(pairs) >= MIN_PAIRED else None,
    }


def _paired_drop_p(pairs: Sequence[tuple[float, float]]) -> float:
    """One-sided paired t-test of GLM's quality against the baseline's (H1: GLM lower). Differences all equal have no
    spread: p is 1 when they are >= 0 (no drop at all) and 0 when they are all the same drop."""
    differences = [glm - base for glm, base in pairs]
    if max(differences) == min(differences):
        return 1.0 if differences[0] >= 0 else 0.0
    from scipy import stats as st  # type: ignore[import-untyped,unused-ignore]

    result = st.ttest_rel([glm for glm, _ in pairs], [base for _, base in pairs], alternative="less")
    return float(result.pvalue)


def _models(windows: Sequence[ProxyWindow], prices: Mapping[str, Price]) -> dict[str, str | None]:
    """Each model the proxy saw, with the price name that prices it (null: unpriced)."""
    seen = {model or NO_MODEL for window in windows for model in window.figures.tokens}
    out: dict[str, str | None] = {}
    for model in sorted(seen):
        found = price_for(None if model == NO_MODEL else model, prices)
        out[model] = found[0] if found else None
    return out


# -- the criteria --------------------------------------------------------------------------------------------------


def _criteria(
    features: Sequence[dict[str, Any]], overall: dict[str, Any], glm_windows: Sequence[ProxyWindow]
) -> list[dict[str, Any]]:
    glm, base = overall[GLM_ARM], overall[BASELINE_ARM]
    return [
        _criterion(1, "token cost", *_cost_check(glm, base, overall["cost_ratio"])),
        _criterion(2, "quality", *_quality_check(glm["quality"], base["quality"], overall)),
        _criterion(3, "error rate", *_error_check(glm["error_rate"], base["error_rate"])),
        _criterion(4, "p95 latency", *_latency_check(glm["latency_p95_ms"], base["latency_p95_ms"])),
        _criterion(5, "no failed test", *_failed_check(glm_windows)),
    ]


def _criterion(number: int, name: str, passed: bool, detail: str) -> dict[str, Any]:
    return {"number": number, "name": name, "pass": passed, "detail": detail}


def _cost_check(glm: dict[str, Any], base: dict[str, Any], ratio: float | None) -> tuple[bool, str]:
    unpriced = sorted(set(glm["unpriced_models"]) | set(base["unpriced_models"]))
    if unpriced:
        return False, f'cost unknown: no price for {", ".join(unpriced)} (set [prices."…"] in .git-tracker.toml)'
    glm_usd, base_usd = glm["cost_usd"], base["cost_usd"]
    figures = f"baseline ${base_usd:.4g} / GLM ${glm_usd:.4g}"
    if ratio is None:
        passed = base_usd > 0  # GLM cost nothing: any baseline cost is an unbounded reduction
        return passed, f"{figures} (GLM cost $0){'' if passed else ': nothing to compare'}"
    passed = ratio >= MIN_COST_FACTOR
    return passed, f"{figures} = x{ratio:.3g} ({'>=' if passed else '<'} x2)"


def _quality_check(glm: float | None, base: float | None, overall: dict[str, Any]) -> tuple[bool, str]:
    n, p = overall["quality_pairs"], overall["quality_p"]
    if glm is None or base is None:
        return False, "quality unknown: no matched feature completed in both arms (git tracker complete)"
    factor = glm / base if base > 0 else None
    holds = glm >= MIN_QUALITY_FACTOR * base
    shown = f"GLM {glm:.3g} vs baseline {base:.3g} (x{factor:.3g})" if factor is not None else f"GLM {glm:.3g} vs 0"
    if holds:
        return True, f"{shown} >= 0.8 x baseline, n={n}"
    if p is None:
        return False, f"{shown} < 0.8 x baseline, n={n} (a t-test needs n >= {MIN_PAIRED})"
    no_drop = p >= ALPHA
    verdict = "no significant drop" if no_drop else "a significant drop"
    return no_drop, f"{shown} < 0.8 x baseline; one-sided paired t-test p={p:.3g}, n={n}: {verdict}"


def _error_check(glm: float | None, base: float | None) -> tuple[bool, str]:
    if glm is None or base is None:
        return False, "error rate unknown"
    passed = glm <= base + MAX_ERROR_MARGIN + 1e-12  # 2 pp exactly holds, whatever the float rounding
    sign = "<=" if passed else ">"
    return passed, f"GLM {glm:.1%} vs baseline {base:.1%} ({sign} baseline + 2 pp)"


def _latency_check(glm: float | None, base: float | None) -> tuple[bool, str]:
    if glm is None or base is None:
        return False, "p95 latency unknown"
    passed = glm <= base * MAX_LATENCY_FACTOR
    factor = f"x{glm / base:.3g}" if base > 0 else "baseline 0 ms"
    return passed, f"GLM {glm:.0f} ms vs baseline {base:.0f} ms ({factor}, {'<=' if passed else '>'} x1.3)"


def _failed_check(glm_windows: Sequence[ProxyWindow]) -> tuple[bool, str]:
    failed = [window for window in glm_windows if window.outcome == "failed"]
    if not failed:
        return True, f"no GLM-arm window failed ({len(glm_windows)} window(s))"
    named = ", ".join(window.feature_id or window.window_id[:12] for window in failed)
    return False, f"{len(failed)} GLM-arm window(s) failed: {named}"


def _detail(criteria: Sequence[dict[str, Any]], matched: int) -> str:
    """G3's one line: every failed criterion by number and figure, or the figures that passed."""
    if not criteria:
        return NO_DATA + "; fails closed"
    failed = [item for item in criteria if not item["pass"]]
    if failed:
        return "; ".join(f"criterion {item['number']} ({item['name']}) failed: {item['detail']}" for item in failed)
    return f"all 5 criteria hold on {matched} matched feature(s): " + "; ".join(
        f"{item['number']} {item['detail']}" for item in criteria
    )


# -- the command -------------------------------------------------------------------------------------------------

COMPARE_KINDS = ("window-close", "completion", "void")


def run_compare(ctx: Context) -> dict[str, Any]:
    """``git tracker proxy compare``: the comparison from the ledger, at this repository's prices (the proxy's
    figures kept between reports, ``proxy/store.py``)."""
    return compare(ctx.repo.read_records(COMPARE_KINDS), ctx.config.prices, cached_window_figures(ctx.repo))
