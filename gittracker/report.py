"""Human-readable text for records, status and the demo (JSON shapes live with their commands)."""

from __future__ import annotations

from typing import Any

from gittracker.records import Record


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    return str(value)


_SHOWN = {
    "snapshot": ("provider", "phase", "five_hour_used", "weekly_used", "prompts", "resets_at", "window_id"),
    "window-open": ("provider", "window_id", "commit_start", "feature_id"),
    "window-close": ("provider", "window_id", "delta", "unit", "errors", "notes", "commit_end"),
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
    return f"{record.ts}  {record.kind:<12} {record.agent_id:<8} {' '.join(fields)}"


def format_status(data: dict[str, Any]) -> str:
    lines = []
    any_open = False
    for agent, info in data["agents"].items():
        for window in info["open"]:
            any_open = True
            before = window["before"]
            reading = before.get("prompts") if window["provider"] == "glm" else before.get("five_hour_used")
            lines.append(
                f"agent {agent}: {window['provider']} window {window['window_id']} open {window['age_minutes']:g} min "
                f"(before {_fmt(reading)}, commit_start {_fmt(window['commit_start'])[:10]})"
            )
        if info["journal"]:
            lines.append(f"agent {agent}: {info['journal']} journalled record(s) will be replayed by the next command")
    if not any_open:
        lines.append("no open windows")
    for provider, reading in sorted(data["readings"].items()):
        lines.append(
            f"last {provider} reading {reading.get('ts')}: 5h used {_fmt(reading.get('five_hour_used'))}, "
            f"weekly {_fmt(reading.get('weekly_used'))}, prompts {_fmt(reading.get('prompts'))}, "
            f"resets {_fmt(reading.get('resets_at'))}"
        )
    if data["queued_stamps"]:
        lines.append(f"{data['queued_stamps']} commit stamp(s) queued for notes (`git tracker flush` writes them)")
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
    lines += ["", f"Anomalies: {data['anomalies']} (see git tracker anomalies)"]
    lines.append(f"Notes on commits: {data['stamped_commits']} of {data['commits']}")
    lines.append(f"Try: cd {data['repository']} && git tracker log")
    return "\n".join(lines)
