"""The report as one HTML file: inline CSS, inline SVG, no script, no external address.

Every number of the headline table carries its exact value in ``data-value`` (JSON), so a reader or a test can
check it against ``preview --json`` while the cell shows it rounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from gittracker.capacity import meter_label
from gittracker.report.charts import FIRST_STEPS, Chart, chart_ids_prefixed
from gittracker.report.data import ReportData

CSS = """
:root { color-scheme: light dark; --ink: #1b1b1f; --paper: #ffffff; --muted: #5b5b66; --rule: #d6d6de;
  --good: #00704a; --bad: #a33f00; }
@media (prefers-color-scheme: dark) {
  :root { --ink: #e8e8ee; --paper: #16161a; --muted: #a6a6b3; --rule: #3a3a44; --good: #5fd3a4; --bad: #ff9d5c; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 1rem; max-width: 1280px; background: var(--paper); color: var(--ink);
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.5rem; margin: 0.2rem 0 0.8rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
h3 { font-size: 1rem; margin: 0 0 0.4rem; }
.verdict { border: 2px solid var(--rule); border-radius: 8px; padding: 0.8rem 1rem; }
.verdict strong { font-size: 1.1rem; }
.pass { color: var(--good); } .fail { color: var(--bad); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--rule); vertical-align: top; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
table.pairs td { overflow-wrap: anywhere; }
/* Narrower than the headline table needs (about 1,060 px): each row becomes a card, each cell a line with its
   column's name (data-label) beside the value, the cards side by side where there is room. */
@media (max-width: 1100px) {
  table.cards, table.cards tbody, table.cards tr, table.cards th, table.cards td { display: block; }
  table.cards { margin-bottom: 1rem; }
  table.cards thead { display: none; }
  table.cards tbody { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 20rem), 1fr));
    gap: 0.8rem; }
  table.cards tr { border: 1px solid var(--rule); border-radius: 8px; padding: 0.4rem 0.7rem; }
  table.cards th, table.cards td { border-bottom: none; padding: 0.15rem 0; }
  table.cards th { font-size: 1rem; }
  table.cards td { display: grid; grid-template-columns: minmax(0, 9.5rem) minmax(0, 1fr); gap: 0.6rem; }
  table.cards td::before { content: attr(data-label); color: var(--muted); }
  table.cards td.num { white-space: normal; }
}
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); gap: 1.2rem; }
figure { margin: 0; padding: 0.6rem; border: 1px solid var(--rule); border-radius: 8px; min-width: 0; }
figure svg { display: block; width: 100%; height: auto; color: var(--ink); }
figcaption, .muted, footer { color: var(--muted); font-size: 0.85rem; }
.next-step { border-left: 4px solid var(--bad); padding: 0.4rem 0.8rem; }
code { font-size: 0.9em; overflow-wrap: anywhere; }
footer { margin-top: 2rem; border-top: 1px solid var(--rule); padding-top: 0.6rem; overflow-wrap: anywhere; }
"""


def render(data: ReportData, charts: Sequence[Chart]) -> str:
    title = f"git-tracker report: {data.provenance['repository']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        _verdict(data),
        _headline(data),
        _charts(charts),
        _blocks(data),
        _footer(data),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _verdict(data: ReportData) -> str:
    decision = data.decision
    gates = "".join(
        f'<li><span class="{"pass" if gate["pass"] else "fail"}">{name} {"met" if gate["pass"] else "not met"}'
        f"</span>: {escape(str(gate['detail']))}</li>"
        for name, gate in decision["gates"].items()
    )
    empty = "" if data.preview["providers"] else f'<p class="next-step">Nothing measured yet: {_code(FIRST_STEPS)}</p>'
    return (
        f'<section class="verdict" id="verdict"><strong>Verdict: {escape(decision["verdict"])}</strong>'
        f"<ul>{gates}</ul>{empty}</section>"
    )


def _value(provider: str, key: str, value: Any, shown: str, label: str) -> str:
    exact = escape(json.dumps(value), quote=True)
    return (
        f'<td class="num" data-label="{escape(label)}" data-provider="{provider}" data-field="{key}" '
        f'data-value="{exact}">{escape(shown)}</td>'
    )


def _cell(label: str, text: str) -> str:
    """A cell that names its column: on a phone each row is a card, and the name is shown beside the value."""
    return f'<td data-label="{escape(label)}">{escape(text)}</td>'


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _interval(ci: Sequence[float] | None) -> str:
    return "n/a" if ci is None else f"{_num(ci[0])} to {_num(ci[1])}"


HEADLINE_COLUMNS = (
    "provider",
    "meter",
    "n (windows)",
    "work per unit",
    "95 % interval",
    "work per USD",
    "95 % interval (USD)",
    "power",
    "windows for 80 % power",
    "quality",
    "in plain words",
)


def _headline(data: ReportData) -> str:
    providers = data.preview["providers"]
    if not providers:
        return ""
    baseline = data.preview.get("baseline")
    header = "<tr>" + "".join(f"<th>{escape(column)}</th>" for column in HEADLINE_COLUMNS) + "</tr>"
    (_, meter, n, per_unit, ci, per_usd, ci_usd, power, needed, quality, words) = HEADLINE_COLUMNS
    rows = []
    for name, r in providers.items():
        unit = "prompt" if r["unit"] == "prompts" else "1 %"
        dollars = r["dollars"]
        cells = [
            f'<th scope="row">{escape(name)}{" (baseline)" if name == baseline else ""}</th>',
            _cell(meter, meter_label(r["meter"])),
            _value(name, "n", r["n"], f"{r['n']} ({r['windows']})", n),
            _value(name, "efficiency", r["efficiency"], f"{_num(r['efficiency'])} per {unit}", per_unit),
            _value(name, "ci", r["ci"], _interval(r["ci"]), ci),
            _value(name, "dollars.efficiency", dollars["efficiency"], _num(dollars["efficiency"]), per_usd),
            _value(name, "dollars.ci", dollars["ci"], _interval(dollars["ci"]), ci_usd),
            _value(name, "power", r["power"], _num(r["power"], 2), power),
            _value(
                name,
                "n_per_arm_for_80pct_power",
                r["n_per_arm_for_80pct_power"],
                str(r["n_per_arm_for_80pct_power"] or "out of reach"),
                needed,
            ),
            _value(name, "quality_mean", r["quality_mean"], _num(r["quality_mean"], 2), quality),
            _cell(words, plain_words(name, r, baseline, data.provenance["filters"]["provider"])),
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        '<h2 id="headline">Efficiency per provider</h2>'
        '<p class="muted">Work is outcome times quality (shipped 1, partial 0.5, failed 0); the interval is 95 %; '
        "the same figures as <code>git tracker preview --json</code>.</p>"
        f"{_baseline_note(data)}"
        f'<div class="scroll"><table class="cards" id="headline-table"><thead>{header}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def plain_words(name: str, report: Mapping[str, Any], baseline: str | None, only: str | None = None) -> str:
    """What a provider's figures allow one to say, in a sentence. ``only`` is ``--provider``: a baseline (or, for the
    baseline, the others) it leaves off the page is named and said to be not shown, never referred to as if there."""
    if report["halted"]:
        return f"halted: {report['halted']}; its figures are not to be trusted until the cause is fixed"
    n = report["n"]
    if n < 3:
        return f"only {n} completed window(s): no conclusion below 3"
    needed = report["n_per_arm_for_80pct_power"]
    more = f"{max(0, needed - n)} more window(s) for 80 % power" if needed is not None else "80 % power out of reach"
    if name == baseline:
        others = "the others" if only is None else f"the other providers (not shown: --provider {only})"
        return f"the baseline {others} are compared with; {more} per provider"
    against = "the baseline" if baseline is None or only in (None, baseline) else _baseline_not_shown(baseline, only)
    power = report["power"]
    if power is None:
        return f"not compared with {against} yet; {more}"
    if power >= 0.8:
        return f"enough windows to detect a meaningful difference from {against} (power {power:.2f})"
    return f"too few windows to tell it from {against}; power {power:.2f}, {more}"


def _baseline_not_shown(baseline: str, only: str | None) -> str:
    return f"the baseline {baseline} (not shown: --provider {only})"


def _baseline_note(data: ReportData) -> str:
    """With ``--provider`` leaving the baseline off the page, a line saying which it is: power, the plain words and
    the power chart compare with it."""
    baseline, only = data.preview.get("baseline"), data.provenance["filters"]["provider"]
    if baseline is None or only is None or only == baseline:
        return ""
    return (
        f'<p class="muted" id="baseline-note">Power, windows for 80 % power and the plain words compare {escape(only)} '
        f"with {escape(_baseline_not_shown(baseline, only))}; <code>git tracker report</code> without --provider shows "
        "both.</p>"
    )


def _charts(charts: Sequence[Chart]) -> str:
    figures = []
    for chart in charts:
        body = (
            inline_svg(chart.svg, chart.name)
            if chart.svg is not None
            else f'<p class="next-step">{_code(chart.next_step or "")}</p>'
        )
        caption = f"<figcaption>{_code(chart.caption)}</figcaption>" if chart.caption else ""
        figures.append(
            f'<figure id="chart-{chart.name}" data-chart="{chart.name}" data-empty="{str(chart.svg is None).lower()}">'
            f"<h3>{escape(chart.title)}</h3>{body}{caption}</figure>"
        )
    return f'<h2 id="charts">Charts</h2><div class="charts">{"".join(figures)}</div>'


def inline_svg(svg: str, name: str) -> str:
    """The SVG as an element of the page: no XML prologue, DOCTYPE, metadata or namespace address (HTML needs
    none), and its ids made unique on the page."""
    start = svg.index("<svg")
    body = re.sub(r"<metadata>.*?</metadata>", "", svg[start:], flags=re.DOTALL)
    body = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", body, count=2)
    body = body.replace("xlink:href=", "href=")
    body = re.sub(r'(<svg[^>]*?)\s+width="[^"]*"\s+height="[^"]*"', r"\1", body, count=1)
    return chart_ids_prefixed(body, name)


def _code(text: str) -> str:
    """Text with `back-quoted` commands set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text, quote=False))


def _blocks(data: ReportData) -> str:
    preview = data.preview
    parts = ['<h2 id="details">Anomalies, halts, proxy and task bank</h2>']
    parts.append(_anomaly_table(data.anomalies))
    halts = {name: r["halted"] for name, r in preview["providers"].items() if r["halted"]}
    parts.append(_pairs("Halts", halts) if halts else "<h3>Halts</h3><p>No provider is halted by the stop rule.</p>")
    proxy = preview.get("proxy")
    parts.append(
        _pairs("Sub-agent proxy", proxy)
        if proxy
        else "<h3>Sub-agent proxy</h3><p>No proxy events (docs/proxy.md to set it up).</p>"
    )
    parts.append(_bank(data.bank, preview.get("experiment")))
    if preview.get("notes"):
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{escape(n)}</li>" for n in preview["notes"]) + "</ul>")
    return f'<section id="blocks">{"".join(parts)}</section>'


def _anomaly_table(anomalies: Sequence[Mapping[str, Any]]) -> str:
    if not anomalies:
        return "<h3>Anomalies</h3><p>No anomaly in this period.</p>"
    columns = ("time", "provider", "code", "detail")
    rows = "".join(
        "<tr>"
        + "".join(
            _cell(column, text)
            for column, text in zip(columns, (a["ts"], a["provider"] or "-", a["code"], a["detail"]), strict=True)
        )
        + "</tr>"
        for a in anomalies
    )
    header = "".join(f"<th>{column}</th>" for column in columns)
    return (
        f'<h3>Anomalies ({len(anomalies)})</h3><div class="scroll"><table class="cards" id="anomaly-table">'
        f"<thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _pairs(title: str, pairs: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(_text(v))}</td></tr>" for k, v in pairs.items())
    return f'<h3>{escape(title)}</h3><div class="scroll"><table class="pairs"><tbody>{rows}</tbody></table></div>'


def _text(value: Any) -> str:
    if isinstance(value, float):
        return _num(value, 4)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return "-" if value is None else str(value)


def _bank(bank: Mapping[str, Any] | None, experiment: Mapping[str, Any] | None) -> str:
    if bank is None:
        return (
            "<h3>Task bank</h3><p>The task bank is empty (<code>git tracker bank add</code>, docs/experiment.md).</p>"
        )
    statuses = ", ".join(f"{count} {status}" for status, count in bank["by_status"].items())
    plan = bank["plan"]
    planned = f"; plan {escape(' vs '.join(plan['providers']))} (seed {escape(str(plan['seed']))})" if plan else ""
    matched = _matched(experiment["matched"]) if experiment else ""
    return f"<h3>Task bank</h3><p>{bank['features']} feature(s): {escape(statuses)}{planned}.</p>{matched}"


def _matched(matched: Iterable[Mapping[str, Any]]) -> str:
    items = [f"<li>{escape(_text(entry))}</li>" for entry in matched]
    return f"<p>Matched comparisons:</p><ul>{''.join(items)}</ul>" if items else ""


def _footer(data: ReportData) -> str:
    p = data.provenance
    filters = ", ".join(f"{k}={v}" for k, v in p["filters"].items() if v is not None) or "none"
    return (
        f'<footer id="provenance">Repository {escape(p["repository"])} · ledger tip '
        f"<code>{escape(p['ledger_tip'] or 'none')}</code> · git-tracker {escape(p['tool_version'])} · generated "
        f"{escape(p['generated'])} · filters: {escape(filters)} (--since narrows the charts over time and the "
        "anomalies; the headline and verdict are <code>preview</code>'s and <code>decide</code>'s).</footer>"
    )
