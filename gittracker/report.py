"""Human-readable text for records, status and the demo (JSON shapes live with their commands)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def format_record(record: Record) -> str:
    fields = []
    for name in _SHOWN.get(record.kind, tuple(record.body)):
        value = record.get(name)
        if isinstance(value, str) and name.startswith("commit_"):
            value = value[:10]
        if value is not None and value != []:
            fields.append(f"{name}={_fmt(value)}")
    if record.kind == "snapshot":
        fields.insert(2, f"read: {_reading_of(dict(record.body))};")
    return f"{record.ts}  {record.kind:<12} {record.agent_id:<8} {' '.join(fields)}"


def format_stored(item: Skipped) -> str:
    """A stored record this version cannot use (``log --all``): its stamp, why it was skipped, its fields."""
    stored = item.stored or {}
    kind, agent = _fmt(stored.get("kind")), _fmt(stored.get("agent_id"))
    fields = " ".join(f"{name}={_fmt(value)}" for name, value in sorted(stored.items()) if name not in STAMP_FIELDS)
    return f"{_fmt(stored.get('ts'))}  {kind:<12} {agent:<8} [skipped: {item.reason}] {fields}".rstrip()


def format_status(data: dict[str, Any]) -> str:
    lines = []
    any_open = False
    for agent, info in data["agents"].items():
        for window in info["open"]:
            any_open = True
            before = _reading_of(window["before"])
            lines.append(
                f"agent {agent}: {window['provider']} window {window['window_id']} open {window['age_minutes']:g} min "
                f"(before {before}, commit_start {_fmt(window['commit_start'])[:10]})"
            )
        if info["journal"]:
            lines.append(f"agent {agent}: {info['journal']} journalled record(s) will be replayed by the next command")
    if not any_open:
        lines.append("no open windows")
    for provider, reading in sorted(data["readings"].items()):
        lines.append(f"last {provider} reading {reading.get('ts')}: {_reading_of(reading)}")
    if data["queued_stamps"]:
        lines.append(f"{data['queued_stamps']} commit stamp(s) queued for notes (`git tracker flush` writes them)")
    if data["problems"]:
        lines.append(
            f"{len(data['problems'])} problem(s) need attention ({', '.join(data['problems'])}): git tracker doctor"
        )
    return "\n".join(lines)


def _reading_of(fields: dict[str, Any]) -> str:
    """A kept reading as one phrase (``5h 36% (resets …), weekly 38%``), whatever schema wrote it."""
    from gittracker.capacity import Reading

    try:
        return Reading.from_fields(fields).summary()
    except (TrackerError, AttributeError, TypeError, KeyError):
        return "unreadable"


def format_delta(meter: str, delta: float | None, errors: Sequence[str] = ()) -> str:
    """``12.5% of 5h``, ``3 prompts``, or ``unknown (negative-delta)``."""
    from gittracker.capacity import PROMPTS, meter_label

    if delta is None:
        return f"unknown ({', '.join(errors)})" if errors else f"unknown on {meter_label(meter)}"
    return f"{delta:g} prompts" if meter == PROMPTS else f"{delta:g}% of {meter_label(meter)}"


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
    lines = [f"demo repository: {data['repository']}", "", "records:"]
    lines += [f"  {kind:<13} {count}" for kind, count in sorted(data["records"].items())]
    lines += ["", f"{'provider':<8} {'windows':>7} {'capacity':>9} {'shipped':>7} {'partial':>7} {'failed':>6}"]
    for provider, row in data["providers"].items():
        lines.append(
            f"{provider:<8} {row['windows']:>7} {row['capacity']:>8g}{row['unit']:<1} {row['shipped']:>7} "
            f"{row['partial']:>7} {row['failed']:>6}"
        )
    lines += ["", f"Notes on commits: {data['stamped_commits']} of {data['commits']}"]
    lines += ["", format_preview(data["preview"]), "", f"Try: cd {data['repository']} && git tracker log"]
    return "\n".join(lines)


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}"


def format_preview(data: dict[str, Any]) -> str:
    providers = data["providers"]
    if not providers:
        return (
            "No closed windows yet. Start one: `git tracker start codex --used 10`, commit, "
            "`git tracker end codex --used 25`, `git tracker complete --outcome shipped --quality 0.9`."
        )
    lines = [f"Efficiency per provider (delivered work per capacity unit; baseline: {data['baseline']})", ""]
    lines.append(
        f"{'provider':<8} {'n/win':>6} {'used':>9} {'efficiency [95% CI]':<27} {'width':>6} {'power':>5} {'qual':>4} "
        f"{'tokens':>6}"
    )
    for name, row in providers.items():
        used = f"{row['capacity_used']:g}{'%' if row['unit'] == 'percent' else ' pr'}"
        if row["halted"]:
            eff = f"HALTED: {row['halted']}"
        elif row["ci"] is not None:
            eff = f"{_num(row['efficiency'])} [{_num(row['ci'][0])}, {_num(row['ci'][1])}]"
        else:
            eff = f"{_num(row['efficiency'])} ci=n/a"
        lines.append(
            f"{name:<8} {row['n']:>2}/{row['windows']:<3} {used:>9} {eff:<27} {_num(row['ci_width'], 2):>6} "
            f"{_num(row['power'], 2):>5} {_num(row['quality_mean'], 2):>4} {_count(row.get('tokens')):>6}"
        )
    lines.append("")
    for name, row in providers.items():
        extra = []
        if row["lines_per_pct"] is not None:
            unit = "%" if row["unit"] == "percent" else "prompt"
            extra.append(f"{row['lines_per_pct']:.1f} lines per {unit}")
        if row["n_per_arm_for_80pct_power"]:
            extra.append(f"{row['n_per_arm_for_80pct_power']} windows per arm for 80% power")
        if row["pending"]:
            extra.append(f"{row['pending']} pending outcome")
        if row["unknown_capacity"]:
            extra.append(f"{row['unknown_capacity']} unknown capacity")
        if row.get("tokens_per_unit") is not None:
            unit = "%" if row["unit"] == "percent" else "prompt"
            extra.append(f"{_count(row['tokens_per_unit'])} tokens per {unit} (median of {row['windows_with_tokens']})")
        if extra:
            lines.append(f"  {name}: " + "; ".join(extra))
    tested = {k: v for k, v in data["comparisons"].items() if v.get("method")}
    if tested:
        lines += ["", f"Against {data['baseline']} (ratio of efficiencies, Holm-adjusted p):"]
        for name, result in tested.items():
            ci = f" [{_num(result['ci'][0])}, {_num(result['ci'][1])}]" if result["ci"] else ""
            lines.append(
                f"  {name}: x{_num(result['ratio'])}{ci}, {result['method']}, p={_num(result['p'], 2)}, "
                f"p_holm={_num(result.get('p_holm'), 2)}"
            )
    divergent = [(name, item) for name, row in providers.items() for item in row.get("divergent", [])]
    if divergent:
        lines += ["", "Divergent windows (divergent:ccusage; tokens per unit vs the provider median):"]
        for name, item in divergent:
            unit = "%" if providers[name]["unit"] == "percent" else " prompts"
            lines.append(  # a 12-character id prefix: every command that takes a window accepts it
                f"  {name} {item['window_id'][:12]}: {_count(item['tokens'])} tokens / {item['delta']:g}{unit} = "
                f"{_count(item['tokens_per_unit'])} per unit, median {_count(item['median_tokens_per_unit'])} "
                f"({item['deviation']:+.0%})"
            )
    if data["notes"]:
        lines += ["", "Notes:"] + [f"  - {note}" for note in data["notes"]]
    if data["anomalies"]:
        lines += ["", f"Anomalies: {data['anomalies']} (see git tracker anomalies)"]
    return "\n".join(lines)


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
        lines.append(f"{name}: {'PASS' if gate['pass'] else 'FAIL'} - {gate['detail']}")
        for provider, result in gate.get("providers", {}).items():
            for check in result["as_of"]:
                why = "ok" if check["pass"] else "; ".join(check["failed"])
                lines.append(f"    {provider} as of {check['as_of']}: {why}")
    lines.append(f"Verdict: {data['verdict']}")
    return "\n".join(lines)
