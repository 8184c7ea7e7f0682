"""Human-readable text for records, status and the demo (JSON shapes live with their commands)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gittracker import colour, wrap
from gittracker.capacity import amount_text, meter_label, unit_text
from gittracker.errors import TrackerError
from gittracker.records import STAMP_FIELDS, Record, Skipped


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return str(value)


_SHOWN = {
    "snapshot": ("provider", "phase", "window_id"),
    "window-open": ("provider", "window_id", "commit_start", "feature_id"),
    "window-close": ("provider", "window_id", "delta", "unit", "meter", "errors", "notes", "commit_end"),
    "completion": ("window_id", "outcome", "quality_score", "feature_id"),
    "void": ("target_id", "reason"),
    "anomaly": ("code", "window_id", "detail"),
}


def format_record(record: Record, voided_by: Record | None = None) -> str:
    """One record on one line; a voided one ends ``[voided by <void id>: <reason>]``."""
    fields = []
    for name in _SHOWN.get(record.kind, tuple(record.body)):
        value = record.get(name)
        if isinstance(value, str) and name.startswith("commit_"):
            value = value[:10]
        if value is not None and value != []:
            fields.append(f"{name}={_fmt(value)}")
    if record.kind == "snapshot":
        fields.insert(2, f"read: {_reading_of(dict(record.body))};")
    if voided_by is not None:
        fields.append(f"[voided by {voided_by.id}: {voided_by['reason']}]")
    kind = f"{record.kind:<12}"  # padded before it is coloured: escape codes take no columns
    kind = colour.caution(kind) if record.kind == "anomaly" else kind
    return f"{record.ts}  {kind} {record.agent_id:<8} {' '.join(fields)}"


def format_no_records(kinds: Sequence[str], provider: str | None, since: str | None, who: Any = None) -> str:
    """What ``log`` says when it has nothing to show: an empty screen reads like a failure."""
    filters = [f"--kind {kind}" for kind in kinds]
    if provider is not None:
        filters.append(f"--provider {provider}")
    if since is not None:
        filters.append(f"--since {since}")
    filters += _who_filters(who.to_dict() if who is not None else {})
    return f"no records match {' '.join(filters)}" if filters else "no records yet"


def format_stored(item: Skipped) -> str:
    """A stored record this version cannot use (``log --all``): its stamp, why it was skipped, its fields."""
    stored = item.stored or {}
    kind, agent = _fmt(stored.get("kind")), _fmt(stored.get("agent_id"))
    fields = " ".join(f"{name}={_fmt(value)}" for name, value in sorted(stored.items()) if name not in STAMP_FIELDS)
    return f"{_fmt(stored.get('ts'))}  {kind:<12} {agent:<8} [skipped: {item.reason}] {fields}".rstrip()


def _who_filters(filters: dict[str, Any]) -> list[str]:
    """``--machine ID --agent ID`` as given (nothing when not)."""
    return [f"--{name} {value}" for name, value in sorted(filters.items()) if value is not None]


def format_status(data: dict[str, Any]) -> str:
    lines = []
    if not data["set_up"]:
        lines.append("git-tracker is not set up here: showing the data it kept; `git tracker init` to record again")
    any_open = False
    for agent, info in data["agents"].items():
        for window in info["open"]:
            any_open = True
            before = _reading_of(window["before"])
            where = f" in worktree {window['worktree']}," if window.get("worktree") else ""
            lines.append(
                f"agent {agent}: {window['provider']} window {window['window_id']}{where} open since "
                f"{window['opened_ts']} ({window['age_minutes']:g} min; before {before}, "
                f"commit_start {_fmt(window['commit_start'])[:10]})"
            )
        if info["journal"]:
            lines.append(f"agent {agent}: {info['journal']} journalled record(s) will be replayed by the next command")
    for session in data.get("automatic", []):
        lines.append(
            f"agent {session['agent_id']}: automatic {session['provider']} window {session['window_id']} "
            f"(last event {session['quiet_minutes']:g} min ago)"
        )
    for closed in data.get("closed_idle", []):
        lines.append(f"closed idle automatic window {closed['window_id']} of agent {closed['agent_id']}")
    if not any_open:
        chosen = _who_filters(data["filters"])
        lines.append(f"no open windows matching {' '.join(chosen)}" if chosen else "no open windows")
    for provider, reading in sorted(data["readings"].items()):
        lines.append(f"last {provider} reading {reading.get('ts')}: {_reading_of(reading)}")
    for provider, reason in sorted(data["halts"].items()):
        lines.append(f"{provider} is HALTED: {reason}; fix the capture, then `git tracker resume {provider}`")
    if data["sync_on_push"]["on"] or data["sync_on_push"]["last"]:
        state = "on" if data["sync_on_push"]["on"] else "off"
        lines.append(f"sync on push: {state}; last: {data['sync_on_push']['last'] or 'none yet'}")
    if data["queued_stamps"]:
        lines.append(f"{data['queued_stamps']} commit stamp(s) queued for notes (`git tracker flush` writes them)")
    if data["problems"]:
        lines.append(
            f"{len(data['problems'])} problem(s) need attention ({', '.join(data['problems'])}): git tracker doctor"
        )
    lines.append(f"this clone is machine {data['machine'] or '- (none yet)'}")
    return "\n".join(lines)


def _reading_of(fields: dict[str, Any]) -> str:
    """A kept reading as one phrase (``5h 36% (resets …), weekly 38%``), whatever schema wrote it."""
    from gittracker.capacity import Reading

    try:
        return Reading.from_fields(fields).summary()
    except TrackerError:
        return "unreadable"


def format_delta(meter: str, delta: float | None, errors: Sequence[str] = ()) -> str:
    """``12.5% of 5h``, ``3 prompts``, or ``unknown (negative-delta)``."""
    from gittracker.capacity import PROMPTS, amount_text, meter_label, meter_unit

    if delta is None:
        return f"unknown ({', '.join(errors)})" if errors else f"unknown on {meter_label(meter)}"
    amount = amount_text(meter_unit(meter), delta)
    return amount if meter == PROMPTS else f"{amount} of {meter_label(meter)}"


def format_end(result: dict[str, Any]) -> str:
    """``end``: the delta on the binding meter, the other meters', and the commits the window counts."""
    r = result
    delta = format_delta(r["meter"], r["delta"], r["errors"])
    others = [format_delta(name, value) for name, value in r["other_deltas"].items()]
    also = f" (also {', '.join(others)})" if others else ""
    extra = f", notes: {', '.join(r['notes'])}" if r["notes"] else ""
    commits = "unknown" if r["commits"] is None else str(r["commits"])
    span = f"{short_sha(r['commit_start'])}..{short_sha(r['commit_end'])}"
    counted = (
        f"{commits} commit(s) carrying its note, range {span}"
        if r["selection"] == "noted"
        else f"{commits} commit(s) in its range {span}"
    )
    restored = f"; restored the missing note of {len(r['stamped'])} commit(s)" if r["stamped"] else ""
    line = f"{r['provider']} window {r['window_id']} closed: delta {delta}{also}, {counted}{extra}{restored}"
    line += _resets_text(r)
    overlapped = [f"{other['window_id']} (agent {other['agent_id']})" for other in r.get("overlaps_with", [])]
    if not overlapped:
        return line
    return (
        f"{line}\noverlaps {r['provider']} window {', '.join(overlapped)}: one meter, so both deltas hold shared "
        "consumption; recorded as overlapping-windows, preview leaves them out (or apportions: stats.overlap)"
    )


def short_sha(sha: str | None) -> str:
    return sha[:10] if sha else "(no commits yet)"


def _resets_text(r: dict[str, Any]) -> str:
    """The resets the window's readings saw, and what the delta misses because of them."""
    resets = r.get("resets") or []
    if not resets:
        return ""
    unseen = max(reset["uncovered_minutes"] for reset in resets)
    count = "a reset" if len(resets) == 1 else f"{len(resets)} resets"
    if "spans-reset" in r["notes"]:
        return (
            f"\nthe meter reset inside the window: delta summed over the segments around {count}, a lower bound "
            f"(up to {unseen:g} min before a reset unseen)"
        )
    return (
        f"\nthe meter reset inside the window ({count} between readings, up to {unseen:g} min before a reset unseen): "
        "delta unknown, see `git tracker anomalies`"
    )


def format_churn(r: dict[str, Any]) -> str:
    from gittracker.churn import SELECTION_TEXT

    head = f"{r['range']} ({r['mode']}; {SELECTION_TEXT[r['selection']]})"
    if r["added"] is None:
        return f"{head}: unknown: {r['reason']}"
    shared = f" ({r['shared_commits']} shared: lines split equally)" if r.get("shared_commits") else ""
    return (
        f"{head}: +{r['added']} -{r['deleted']} lines, {r['files']} file(s) ({r['binary_files']} binary), "
        f"{r['commits']} commit(s){shared}; renames {r['renames']}; merges {r['merges']}"
    )


def format_doctor(data: dict[str, Any]) -> str:
    lines = [f"fixed: {line}" for line in data["fixed"]]
    if not data["findings"]:
        return "\n".join([*lines, "no problems found"])
    count = len(data["findings"])
    lines.append(f"{count} problem{'s' if count != 1 else ''}:")
    for finding in data["findings"]:
        lines.append(f"  {finding['code']}: {finding['problem']}")
        lines.append(f"    {'fix' if finding['fixable'] else 'to do'}: {finding['action']}")
    if any(finding["fixable"] for finding in data["findings"]) and not data["fixed"]:
        lines.append("`git tracker doctor --fix` repairs those marked fix")
    return "\n".join(lines)


def format_demo(data: dict[str, Any]) -> str:
    where = data["repository"]
    kept = where is not None
    lines = [
        f"demo repository: {where}"
        if kept
        else "demo repository: a temporary one, removed after this report (pass a DIRECTORY to keep it)"
    ]
    lines += ["", "records:"]
    lines += [f"  {kind:<13} {count}" for kind, count in sorted(data["records"].items())]
    lines += ["", f"{'provider':<8} {'windows':>7} {'capacity':>12} {'shipped':>7} {'partial':>7} {'failed':>6}"]
    for provider, row in data["providers"].items():
        lines.append(
            f"{provider:<8} {row['windows']:>7} {amount_text(row['unit'], row['capacity']):>12} {row['shipped']:>7} "
            f"{row['partial']:>7} {row['failed']:>6}"
        )
    lines += ["", f"Notes on commits: {data['stamped_commits']} of {data['commits']}"]
    lines += ["", format_preview(data["preview"]), ""]
    if data.get("report"):
        lines.append(f"The report with charts: {data['report']} (open it in a browser)")
    if kept:
        lines.append(f"Try: cd {where} && git tracker log")
    else:
        lines.append("To look around in it afterwards (git tracker log, preview, churn): git tracker demo DIRECTORY")
    return "\n".join(lines)


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}"


def format_grouped_preview(data: dict[str, Any]) -> str:
    """``preview --by agent|machine``: each group's report under its own heading."""
    chosen = _who_filters(data["filters"])
    if not data["groups"]:
        return f"No closed windows{' matching ' + ' '.join(chosen) if chosen else ''} yet."
    parts = []
    for value, report in data["groups"].items():
        parts.append(f"== {data['by']} {value} ==\n{format_preview(report)}")
    return "\n\n".join(parts)


def format_preview(data: dict[str, Any]) -> str:
    """The report, then the sub-agent proxy's block when the selection has proxy events."""
    return "\n".join([_preview_text(data), *proxy_lines(data.get("proxy"))])


def proxy_lines(proxy: dict[str, Any] | None) -> list[str]:
    """DESIGN §10's block: the share of prompts routed to GLM, GLM's prompts (its capacity unit), the latency
    percentiles and the error rate over the selection's proxy events."""
    if not proxy:
        return []
    p50, p95 = proxy["latency_p50_ms"], proxy["latency_p95_ms"]
    return [
        "",
        "Subagent Proxy:",
        f"  - routed_to_glm={proxy['routed_to_glm']:.0%} (prompts={proxy['glm_prompts']}), "
        f"latency={p50:.0f} ms p50 / {p95:.0f} ms p95, errors={proxy['error_rate']:.1%}",
    ]


def _preview_text(data: dict[str, Any]) -> str:
    providers = data["providers"]
    chosen = _who_filters(data.get("filters") or {})
    overlaps = _overlap_lines(data.get("overlaps"))
    if not providers and overlaps:
        return "\n".join(["No windows in the statistics: every closed window overlaps another.", *overlaps])
    if not providers:
        if chosen:
            return f"No closed windows matching {' '.join(chosen)}."
        return (
            "No closed windows yet. Start one: `git tracker start codex --used 10`, commit, "
            "`git tracker end codex --used 25`, `git tracker complete --outcome shipped --quality 0.9`."
        )
    only = f" of {' '.join(chosen)}" if chosen else ""
    lines = [f"Efficiency per provider and meter{only} (work per capacity unit; baseline: {data['baseline']})", ""]
    lines.append(
        f"{'provider':<8} {'meter':<8} {'n/win':>6} {'used':>11} {'efficiency [95% CI]':<24} {'width':>5} "
        f"{'power':>5} {'qual':>4}"
    )
    for name, row in _meter_rows(providers):
        lines.append(_efficiency_line(name, row))
    lines.append("")
    lines += _halted_lines(providers)
    lines.append(_power_line(data))
    lines.append("")
    for name, row in _meter_rows(providers):
        extra = _extra_facts(row)
        if extra:
            lines.append(_wrapped(f"{name} {meter_label(row['meter'])}: " + "; ".join(extra), "  ", "    "))
    lines += ["", "Per subscription dollar (delivered work per USD of the plan's monthly price):"]
    for name, row in providers.items():
        lines += _dollar_lines(name, row["meter"], row["dollars"])
    tested = {k: v for k, v in data["comparisons"].items() if v.get("method")}
    if tested:
        heading = (
            f"Against {data['baseline']}, in work per dollar (ratio, Holm-adjusted p; conversions' uncertainty in):"
        )
        lines += ["", _wrapped(heading, "", "  ")]
        for name, result in tested.items():
            ci = f" [{_num(result['ci'][0])}, {_num(result['ci'][1])}]" if result["ci"] else ""
            meters = f"{meter_label(result['meter'])} v {meter_label(result['baseline_meter'])}"
            lines.append(
                f"  {name} ({meters}): x{_num(result['ratio'])}{ci}, {result['method']}, p={_num(result['p'], 2)}, "
                f"p_holm={_num(result.get('p_holm'), 2)}"
            )
    lines += _divergent_lines(providers)
    lines += experiment_lines(data.get("experiment"))
    lines += overlaps
    if data["notes"]:
        lines += ["", "Notes:"] + [_wrapped(note, "  - ", "    ") for note in data["notes"]]
    if data["anomalies"]:
        lines += ["", colour.caution(f"Anomalies: {data['anomalies']} (see git tracker anomalies)")]
    return "\n".join(lines)


def experiment_lines(experiment: dict[str, Any] | None) -> list[str]:
    """The ``Experiment:`` block: the plan, the matched comparison(s) by feature and the crossover, each with its
    figures or why it cannot conclude, and the pairs or features 80 % power needs (docs/preview.md)."""
    if not experiment:
        return []
    plan = experiment["plan"]
    heading = "Experiment:"
    if plan is not None:
        odd = f", odd one out {plan['odd_one_out']}" if plan["odd_one_out"] else ""
        heading = (
            f"Experiment (plan seed {plan['seed']}, A = {plan['providers'][0]}, B = {plan['providers'][1]}; "
            f"{plan['features']} features: {plan['ab']} AB, {plan['ba']} BA{odd}):"
        )
    lines = ["", _wrapped(heading, "", "  ")]
    for matched in experiment["matched"]:
        pairs = _plural(matched["pairs"], "pair")
        lines.append(_wrapped(f"matched by feature, {_versus(matched)} ({pairs}): {_verdict(matched)}", "  ", "    "))
        lines.append(_wrapped(_power_text(matched["power"], "pairs"), "    ", "      "))
    crossover = experiment["crossover"]
    if crossover is not None:
        done = f"{len(crossover['sequences']['AB'])} AB, {len(crossover['sequences']['BA'])} BA"
        lines.append(_wrapped(f"crossover, {_versus(crossover)} ({done}): {_verdict(crossover)}", "  ", "    "))
        period = crossover["period"]
        if period["ratio"] is not None and period["ci"] is not None:
            text = (
                f"period 1 over period 2: x{_num(period['ratio'])} [{_num(period['ci'][0])}, "
                f"{_num(period['ci'][1])}], p={_num(period['p'], 2)} (below 1: the second period more efficient)"
            )
            lines.append(_wrapped(text, "    ", "      "))
        lines.append(_wrapped(_power_text(crossover["power"], "features"), "    ", "      "))
        if crossover["deviations"]:
            moved = ", ".join(
                f"{d['feature_id']} (planned {d['planned']}, done {d['done']})" for d in crossover["deviations"]
            )
            lines.append(_wrapped(f"done out of the plan's order: {moved}", "    ", "      "))
    return lines


def _versus(comparison: dict[str, Any]) -> str:
    return f"{comparison['provider']} v {comparison['versus']} in work per $"


def _verdict(comparison: dict[str, Any]) -> str:
    """``x1.23 [0.9, 1.6], p=0.04`` when tested, else the reason it cannot conclude."""
    if comparison["ratio"] is None or comparison["ci"] is None:
        return str(comparison["note"])
    lo, hi = comparison["ci"]
    return f"x{_num(comparison['ratio'])} [{_num(lo)}, {_num(hi)}], p={_num(comparison['p'], 2)}"


def _power_text(power: dict[str, Any], things: str) -> str:
    if power["needed"] is None:
        return f"power: n/a ({power['note']})"
    return (
        f"power {_num(power['power'], 2)} to detect a {power['mde'] * 100:g}% difference; 80% needs "
        f"{power['needed']} {things} ({power['more']} more)"
    )


def _wrapped(text: str, first: str, rest: str) -> str:
    """One item in 80 columns: the reasons preview gives (not comparable: …) run long."""
    return wrap.fill(text, 80, first, rest)


def _meter_rows(providers: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each provider's headline meter, then its other meters: one table row each (they are never pooled)."""
    return [(name, meter_row) for name, row in providers.items() for meter_row in (row, *row["other_meters"].values())]


def _efficiency_line(name: str, row: dict[str, Any]) -> str:
    used = amount_text(row["unit"], row["capacity_used"])
    if row["halted"]:
        eff = "HALTED"  # the reason goes under the table, where its length cannot push the columns
    elif row["ci"] is not None:
        eff = f"{_num(row['efficiency'])} [{_num(row['ci'][0])}, {_num(row['ci'][1])}]"
    else:
        eff = f"{_num(row['efficiency'])} ci=n/a"
    power = "-" if row["power"] is None else _num(row["power"], 2)  # "-": no comparison for it to be the power of
    line = (
        f"{name:<8} {meter_label(row['meter']):<8} {row['n']:>2}/{row['windows']:<3} {used:>11} {eff:<24} "
        f"{_num(row['ci_width'], 2):>5} {power:>5} {_num(row['quality_mean'], 2):>4}"
    )
    return colour.alarm(line) if row["halted"] else line


def _halted_lines(providers: dict[str, Any]) -> list[str]:
    """Each HALTED provider's reason, a line of its own, and how to lift the halt."""
    return [
        _wrapped(f"{name} HALTED: {row['halted']}; fix the capture, then `git tracker resume {name}`", "  ", "    ")
        for name, row in providers.items()
        if row["halted"]
    ]


def _power_line(data: dict[str, Any]) -> str:
    """What the power column means, once: it is prospective, and only against the baseline."""
    return _wrapped(
        f"power: probability of detecting a {data['mde'] * 100:g}% difference from {data['baseline']} at the current n",
        "",
        "  ",
    )


def _plural(count: int, thing: str) -> str:
    return f"{count} {thing}" if count == 1 else f"{count} {thing}s"


def _extra_facts(row: dict[str, Any]) -> list[str]:
    unit = unit_text(row["unit"])
    extra = []
    if row["lines_per_unit"] is not None:
        extra.append(f"{row['lines_per_unit']:.1f} lines per {unit}")
    if row["n_per_arm_for_80pct_power"]:
        extra.append(f"{row['n_per_arm_for_80pct_power']} windows per arm for 80% power")
    if row["pending"]:
        extra.append(f"{_plural(row['pending'], 'outcome')} pending")
    if row["unknown_capacity"]:
        extra.append(f"capacity unknown in {_plural(row['unknown_capacity'], 'window')}")
    if row.get("spans_reset"):
        extra.append(f"{_plural(row['spans_reset'], 'window')} across a reset (spans-reset: delta a lower bound)")
    if row.get("tokens") is not None:
        median = row["tokens_per_unit"]
        per_unit = f", median {_count(median)} per {unit}" if median is not None else ""
        extra.append(f"{_count(row['tokens'])} tokens in {_plural(row['windows_with_tokens'], 'window')}{per_unit}")
    return extra


def _dollar_lines(name: str, meter: str, dollars: dict[str, Any]) -> list[str]:
    """Work per dollar with its interval, the plan, and what one unit of the meter costs (and how that is known)."""
    default = " (default)" if dollars["price_is_default"] else ""
    plan = f"plan {dollars['plan']}, ${dollars['price_usd_per_month']:g}/month{default}"
    if dollars["usd_per_unit"] is None:
        return [f"  {name:<7} n/a; {plan}", _wrapped(dollars["reason"], " " * 10, " " * 10)]
    if dollars["ci"] is not None:
        figure = f"{_num(dollars['efficiency'])} [{_num(dollars['ci'][0])}, {_num(dollars['ci'][1])}] per $"
    else:
        figure = f"{_num(dollars['efficiency'])} per $, ci=n/a"
    unit = format_delta(meter, 1)
    how = dollars["conversion"]
    k = dollars["k"]
    if k is not None:
        interval = f" [{_num(k['ci'][0])}, {_num(k['ci'][1])}]" if k["ci"] else ""
        how += f": k = {_num(k['estimate'])}{interval}, n = {k['n']}"
    elif dollars["prompts_per_5h"] is not None and meter == "prompts":
        quota_default = " (default)" if dollars["prompts_is_default"] else ""
        how += f", {dollars['prompts_per_5h']} per 5h{quota_default}"
    return [f"  {name:<7} {figure}; {plan}", f"          {unit} = ${_num(dollars['usd_per_unit'])} ({how})"]


def _divergent_lines(providers: dict[str, Any]) -> list[str]:
    divergent = [(name, row, item) for name, row in _meter_rows(providers) for item in row.get("divergent", [])]
    if not divergent:
        return []
    lines = ["", "Divergent windows (divergent:ccusage; tokens per unit vs the provider median):"]
    for name, row, item in divergent:
        lines.append(  # a 12-character id prefix: every command that takes a window accepts it
            f"  {name} {item['window_id'][:12]}: {_count(item['tokens'])} tokens / "
            f"{amount_text(row['unit'], item['delta'])} = "
            f"{_count(item['tokens_per_unit'])} per unit, median {_count(item['median_tokens_per_unit'])} "
            f"({item['deviation']:+.0%})"
        )
    return lines


def _overlap_lines(overlaps: dict[str, Any] | None) -> list[str]:
    """The windows that overlapped another of their provider: each left out with the reason, or its apportioned
    share of the group's one consumption, and the policy that decided (``stats.overlap``)."""
    if not overlaps or not (overlaps["excluded"] or overlaps["apportioned"]):
        return []
    lines = ["", f"Overlapping windows (one meter shared; stats.overlap = {overlaps['policy']}):"]
    for item in overlaps["apportioned"]:
        unit = meter_unit_of(item["meter"])
        share, whole = amount_text(unit, round(item["share"], 2)), amount_text(unit, item["group_consumption"])
        text = (
            f"{item['provider']} {item['window_id'][:12]} (agent {item['agent_id']}): delta apportioned, "
            f"{share} of the group's {whole} "
            f"on {meter_label(item['meter'])} ({_count(item['tokens'])} of {_count(item['group_tokens'])} tokens; "
            f"its own delta {_own_delta(item)})"
        )
        lines.append(_wrapped(text, "  ", "    "))
    for item in overlaps["excluded"]:
        others = ", ".join(other[:12] for other in item["overlaps_with"])
        who = f"{item['provider']} {item['window_id'][:12]} (agent {item['agent_id']})"
        text = f"{who} overlaps {others}: {item['reason']}"
        lines.append(_wrapped(text, "  ", "    "))
    return lines


def meter_unit_of(meter: str) -> str:
    from gittracker.capacity import meter_unit

    return meter_unit(meter)


def _own_delta(item: dict[str, Any]) -> str:
    return "unknown" if item["delta"] is None else amount_text(meter_unit_of(item["meter"]), item["delta"])


def _count(value: float | None) -> str:
    """A token count in 6 characters: 950, 12.3k, 4.56M, 1.2G."""
    if value is None:
        return "-"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            scaled = value / size
            return f"{scaled:.3g}{suffix}" if scaled < 100 else f"{scaled:.0f}{suffix}"
    return f"{value:.0f}"


def format_decision(data: dict[str, Any]) -> str:
    lines = []
    for name, gate in data["gates"].items():
        lines.append(f"{name}: {colour.good('PASS') if gate['pass'] else colour.alarm('FAIL')} - {gate['detail']}")
        for provider, result in gate.get("providers", {}).items():
            for check in result["as_of"]:
                why = "ok" if check["pass"] else "; ".join(check["failed"])
                lines.append(f"    {provider} as of {check['as_of']}: {why}")
    lines.append(f"Verdict: {data['verdict']}")
    return "\n".join(lines)


def format_compare(data: dict[str, Any]) -> str:
    """``proxy compare``: each matched feature's two arms side by side, both arms over all of them, the five POC
    criteria and the verdict G3 takes from them."""
    if not data["matched"]:
        lines = [f"No matched feature: {data['detail']}."]
        lines += _compare_facts(data)
        return "\n".join(lines)
    lines = [f"Sub-agent proxy POC: GLM against the baseline on {_plural(data['matched'], 'matched feature')}"]
    for row in data["features"]:
        lines += ["", f"{row['feature_id']}: {_cost_ratio_text(row)}", *_arm_table(row)]
    lines += ["", f"All matched features: {_cost_ratio_text(data['overall'])}", *_arm_table(data["overall"])]
    lines += _compare_facts(data)
    lines += ["", "POC criteria (STATS.md, gate G3):"]
    for item in data["criteria"]:
        verdict = colour.good("PASS") if item["pass"] else colour.alarm("FAIL")
        lines.append(_wrapped(f"{item['number']} {item['name']}: {verdict} - {item['detail']}", "  ", "      "))
    failed = [str(item["number"]) for item in data["criteria"] if not item["pass"]]
    verdict = "PASS - all 5 criteria hold" if data["pass"] else f"FAIL - criteria failed: {', '.join(failed)}"
    lines += ["", f"G3: {verdict}"]
    return "\n".join(lines)


def _cost_ratio_text(row: dict[str, Any]) -> str:
    ratio = row["cost_ratio"]
    return "cost ratio n/a" if ratio is None else f"cost ratio x{ratio:.3g} (baseline cost / GLM cost)"


def _arm_table(row: dict[str, Any]) -> list[str]:
    lines = [
        f"  {'arm':<9}{'prompts':>8}{'tokens':>13}{'cost USD':>11}{'errors':>8}{'p95 ms':>9}{'quality':>8}{'failed':>7}"
    ]
    for arm in ("glm", "baseline"):
        f = row[arm]
        cost = "unknown" if f["cost_usd"] is None else f"{f['cost_usd']:.4f}"
        errors = "n/a" if f["error_rate"] is None else f"{f['error_rate']:.1%}"
        p95 = "n/a" if f["latency_p95_ms"] is None else f"{f['latency_p95_ms']:.0f}"
        lines.append(
            f"  {arm:<9}{f['prompts']:>8}{_count(f['tokens']):>13}{cost:>11}{errors:>8}{p95:>9}"
            f"{_num(f['quality'], 2):>8}{f['failed_outcomes']:>7}"
        )
    return lines


def _compare_facts(data: dict[str, Any]) -> list[str]:
    """What the comparison left out, and the models it could not price."""
    facts = []
    unpriced = [model for model, name in data["models"].items() if name is None]
    if unpriced:
        facts.append(
            f'no price for {", ".join(unpriced)}: their cost is unknown (set [prices."…"] in .git-tracker.toml)'
        )
    for arm, features in data["unmatched"].items():
        if features:
            facts.append(f"only in the {arm} arm, not compared: {', '.join(features)}")
    if data["windows_without_feature"]:
        facts.append(f"{_plural(data['windows_without_feature'], 'window')} with proxy events but no feature")
    return ["", "Notes:", *(_wrapped(fact, "  - ", "    ") for fact in facts)] if facts else []


# -- the experiment: bank and assign ----------------------------------------------------------------------------


def format_bank_add(r: dict[str, Any]) -> str:
    verb = "replaced" if r["replaced"] else "added"
    median = "" if r["median_size"] is None else f", bank median {r['median_size']:g}"
    return (
        f"feature {r['feature_id']} {verb}: {r['title']} (size {r['size']:g}{median}; "
        f"spec {r['spec_bytes']:,} bytes, sha256 {r['spec_sha256'][:12]})"
    )


def _order_text(row: dict[str, Any]) -> str:
    return "-" if row["order"] is None else f"{row['order']} ({' then '.join(row['providers'])})"


def format_bank_list(data: dict[str, Any]) -> str:
    rows = data["features"]
    if not rows:
        return "the task bank is empty: `git tracker bank add FEATURE --title T --spec FILE --size S`"
    width = max(len("feature"), *(len(row["feature_id"]) for row in rows))
    lines = [f"{'feature':<{width}}  {'status':<16} {'from':<13} {'size':>7}  {'order':<20} title"]
    for row in rows:
        size = f"{row['size']:g}" + ("*" if row["size_far"] else " ")
        lines.append(
            f"{row['feature_id']:<{width}}  {row['status']:<16} {row['status_origin']:<13} {size:>7}  "
            f"{_order_text(row):<20} {row['title']}"
        )
    median = data["median_size"]
    if median is None:
        lines.append("size rule: needs 3 or more features")
    else:
        far = sum(1 for row in rows if row["size_far"])
        lines.append(f"median size {median:g}; * far from it ({data['size_rule']}): {far}")
    plan = data["plan"]
    lines.append(
        "plan: none yet (`git tracker assign --seed N`)"
        if plan is None
        else f"plan {plan['record_id']}: seed {plan['seed']}, A={plan['providers'][0]}, B={plan['providers'][1]}"
    )
    return "\n".join(lines)


def format_bank_show(r: dict[str, Any]) -> str:
    far = " (far from the bank's median)" if r["size_far"] else ""
    lines = [
        f"{r['feature_id']}: {r['title']}",
        f"  size {r['size']:g}{far}; status {r['status']} ({r['status_origin']}, {r['status_ts']})",
        f"  planned order: {_order_text(r)}",
        f"  spec: {r['spec_bytes']:,} bytes, sha256 {r['spec_sha256']}",
        "",
        "Windows:",
    ]
    for w in r["windows"] or [{}]:
        if not w:
            lines.append("  none yet")
            continue
        outcome = "no outcome yet" if w["outcome"] is None else f"{w['outcome']}, quality {w['quality_score']:g}"
        lines.append(f"  {w['window_id']}  {_fmt(w['provider']):<6} {_fmt(w['opened_ts'])}  {outcome}")
    lines += ["", "Status history:"]
    for event in r["history"]:
        note = f": {event['note']}" if event["note"] else ""
        lines.append(f"  {event['ts']}  {event['status']:<16} {event['origin']}{note}")
    lines += ["", "Spec:", *(f"  {line}" for line in r["spec"].splitlines())]
    return "\n".join(lines)


def format_bank_status(r: dict[str, Any]) -> str:
    note = f" ({r['note']})" if r["note"] else ""
    if r["previous"] is None:
        return f"{r['feature_id']}: {r['status']} ({r['origin']}, since {r['ts']}){note}"
    return f"{r['feature_id']}: {r['status']}, set by hand{note} (was {r['previous']['status']})"


def format_assign(r: dict[str, Any]) -> str:
    first, second = r["providers"]
    lines = [f"plan {r['record_id']}: seed {r['seed']}, A={first}, B={second}"]
    if r["replaces"]:
        lines.append(f"replaces plan {r['replaces']}: {r['reason']}")
    width = max(len(row["feature_id"]) for row in r["features"])
    for row in r["features"]:
        odd = "  (odd one out)" if row["feature_id"] == r["odd_one_out"] else ""
        lines.append(f"  {row['feature_id']:<{width}}  {row['order']}  {' then '.join(row['providers'])}{odd}")
    counts = r["counts"]
    summary = f"{counts['AB']} AB, {counts['BA']} BA"
    if r["odd_one_out"]:
        summary += (
            f"; {len(r['features'])} features is an odd number: {r['odd_one_out']} is the odd one out, "
            f"its order {next(row['order'] for row in r['features'] if row['feature_id'] == r['odd_one_out'])} "
            "from the seed"
        )
    lines.append(summary)
    return "\n".join(lines)
