"""decide's gate G1 against the way it was first computed: a whole ``build_preview`` over the ledger as known at each
cutoff. G1 now evaluates the cutoffs from rows and spans made once (preview.AsOfEvaluations); its every figure and
sentence must stay what the whole previews give."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from gittracker import clock, preview
from gittracker.overlaps import APPORTION, EXCLUDE
from gittracker.records import PROVIDERS, Record, live_records
from gittracker.synth import window_ledger


def lines_of(window_id: str, start: str | None, end: str | None) -> int | None:
    """Some churn per window, unknown for a few: what a window's commits would give, made up."""
    lines = sum(map(ord, window_id)) % 41
    return None if lines == 0 else lines


def remade(record: Record, *, agent_id: str = "main", ts: str | None = None, **changes: Any) -> Record:
    """The record as another agent or at another time wrote it (a new id: ids follow time)."""
    body = {**record.body, **changes}
    return Record.new(record.kind, source="cli", agent_id=agent_id, machine="synthmachine", ts=ts or record.ts, **body)


def later(ts: str, minutes: int) -> str:
    return clock.format_ts(clock.parse_ts(ts) + timedelta(minutes=minutes))


def tricky_ledger(windows: int, seed: int) -> list[Record]:
    """A synthetic ledger with what makes an as-of evaluation differ from today's: outcomes recorded after later
    closes (the last window's too), outcomes voided (before and after later closes), most judged again, windows
    open at once (a second agent's), negative-delta anomalies and a resume, and weekly deltas so that figures in
    dollars, and so power, exist."""
    rng = random.Random(seed)
    records: list[Record] = []
    for window in window_ledger(windows, seed=seed):
        by_kind = {record.kind: record for record in window}
        close, done = by_kind["window-close"], by_kind["completion"]
        weekly = {} if close["provider"] == "glm" else {"weekly": round(close["delta"] * rng.uniform(0.08, 0.12), 3)}
        agent = "helper" if rng.random() < 0.2 else "main"
        new_close = remade(close, agent_id=agent, other_deltas=weekly)
        delay = rng.choice((0, 0, 0, 30, 600, 6000))  # some outcomes come after the provider's next close or two
        new_done = remade(done, agent_id=agent, ts=later(done.ts, delay))
        records += [r for r in window if r.kind not in ("window-close", "completion")] + [new_close, new_done]
        if rng.random() < 0.25:  # the outcome voided, before or after later closes, and mostly judged again
            fix = later(new_done.ts, rng.choice((5, 900, 9000)))
            if rng.random() < 0.6:
                records.append(remade(done, ts=fix, outcome="partial", quality_score=0.55))
            records.append(
                Record.new(
                    "void",
                    source="cli",
                    agent_id="main",
                    machine="synthmachine",
                    ts=fix,
                    target_id=new_done.id,
                    reason="re-judged",
                )
            )
        if rng.random() < 0.08:  # a second agent's window open at the same time as this one
            records += overlapping(window, new_close, rng)
        if rng.random() < 0.05:
            records.append(anomaly(new_close))
    last_close = max((r for r in records if r.kind == "window-close"), key=lambda r: r.ts)
    resume_at = later(last_close.ts, -3000)
    records.append(
        Record.new(
            "resume",
            source="cli",
            agent_id="main",
            machine="synthmachine",
            ts=resume_at,
            provider="codex",
            reason="checked",
        )
    )
    return sorted(records, key=lambda r: r.id)


def overlapping(window: Sequence[Record], close: Record, rng: random.Random) -> list[Record]:
    opening = next(r for r in window if r.kind == "window-open")
    other = clock.new_id(clock.parse_ts(opening.ts) + timedelta(minutes=5))
    moved = {"window_id": other, "feature_id": close["feature_id"]}
    ts = later(close.ts, -3)
    return [
        remade(opening, agent_id="helper", ts=later(opening.ts, 5), **moved),
        remade(
            close, agent_id="helper", ts=ts, opened_ts=later(opening.ts, 5), delta=round(close["delta"] / 2, 1), **moved
        ),
        Record.new(
            "completion",
            source="cli",
            agent_id="helper",
            machine="synthmachine",
            ts=later(ts, rng.choice((1, 4000))),
            window_id=other,
            outcome="shipped",
            quality_score=0.9,
            feature_id=close["feature_id"],
        ),
    ]


def anomaly(close: Record) -> Record:
    return Record.new(
        "anomaly",
        source="cli",
        agent_id="main",
        machine="synthmachine",
        ts=close.ts,
        code="negative-delta",
        window_id=close["window_id"],
        detail="the meter went down",
    )


def old_known_by(records: Sequence[Record], rows: Sequence[preview.WindowRow], cutoff: str) -> list[Record]:
    """The ledger as of a close, as G1 first cut it: records by then, and the later outcomes (and their voids) of
    the windows closed by then."""
    closed = {row.window_id for row in rows if row.closed_ts <= cutoff}
    outcomes = {r.id for r in records if r.ts > cutoff and r.kind == "completion" and r["window_id"] in closed}
    return [
        r for r in records if r.ts <= cutoff or r.id in outcomes or (r.kind == "void" and r["target_id"] in outcomes)
    ]


def old_g1(records: Sequence[Record], settings: dict[str, Any]) -> dict[str, Any]:
    """G1 as it was: one whole preview per provider per each of its last two closes."""
    rows = preview.window_rows(live_records(records), lines_of)
    per_provider: dict[str, Any] = {}
    for provider in PROVIDERS:
        closes = [row.closed_ts for row in rows if row.provider == provider]
        checks = []
        for cutoff in closes[-2:]:
            whole = preview.build_preview(old_known_by(records, rows, cutoff), lines_of, proxy={}, **settings)
            report = whole["providers"].get(provider)
            base = whole["providers"].get(whole["baseline"] or "", {})
            why = preview._why_no_power(provider, whole)
            checks.append(preview._g1_check(cutoff, report, base.get("quality_mean"), why))
        if checks:
            per_provider[provider] = {"pass": len(checks) == 2 and all(c["pass"] for c in checks), "as_of": checks}
    return per_provider


def spelled(value: Any) -> str:
    return json.dumps(value, sort_keys=True)  # NaN and inf spelled alike on both sides


@pytest.mark.parametrize(
    ("windows", "seed", "baseline", "overlap", "mde"),
    [
        (90, 1, "", EXCLUDE, 0.5),
        (120, 2, "codex", APPORTION, 0.5),
        (60, 3, "glm", EXCLUDE, 0.5),
        (150, 4, "", APPORTION, 0.5),
        (360, 8, "", EXCLUDE, 1.5),
    ],
)
def test_g1_is_what_whole_previews_as_of_each_close_give(
    windows: int, seed: int, baseline: str, overlap: str, mde: float
) -> None:
    records = tricky_ledger(windows, seed)
    settings: dict[str, Any] = {
        "baseline": baseline,
        "mde": mde,
        "plans": None,
        "overlap": overlap,
        "readings_of": None,
    }
    g1 = preview.build_decision(records, lines_of, **settings)["gates"]["G1"]
    assert spelled(g1["providers"]) == spelled(old_g1(records, settings))
    checks = [check for result in g1["providers"].values() for check in result["as_of"]]
    assert any(check["power"] is not None for check in checks)  # the figures in dollars were computed
    assert any(check["ci_width"] is not None for check in checks)


def test_g1_of_a_few_windows_is_what_whole_previews_give() -> None:
    records = tricky_ledger(7, 5)
    settings: dict[str, Any] = {"baseline": "", "mde": 0.25, "plans": None, "overlap": EXCLUDE, "readings_of": None}
    g1 = preview.build_decision(records, lines_of, **settings)["gates"]["G1"]
    assert spelled(g1["providers"]) == spelled(old_g1(records, settings))


def test_g1_passes_as_whole_previews_say() -> None:
    records = tricky_ledger(360, 8)
    settings: dict[str, Any] = {"baseline": "", "mde": 1.5, "plans": None, "overlap": EXCLUDE, "readings_of": None}
    g1 = preview.build_decision(records, lines_of, **settings)["gates"]["G1"]
    assert g1["pass"]
    assert spelled(g1["providers"]) == spelled(old_g1(records, settings))


def test_the_ledger_has_what_makes_as_of_differ() -> None:
    """The tricky ledger does hold each case: else the comparison above would prove less than it says."""
    records = tricky_ledger(150, 4)
    rows = preview.window_rows(live_records(records), lines_of)
    last = max(row.closed_ts for row in rows)
    assert any(r.kind == "void" and r.ts > last for r in records) or any(r.kind == "void" for r in records)
    assert any(r.kind == "completion" and r.ts > last for r in records)
    _, overlaps = preview.apply_overlaps(rows, live_records(records), EXCLUDE, preview.readings_in(records))
    assert overlaps["excluded"]
    assert {row.agent_id for row in rows} == {"main", "helper"}
    assert any(r.kind == "anomaly" for r in records)


def test_each_as_of_view_holds_the_whole_previews_figures() -> None:
    """Per cutoff, G1's view is the whole preview's baseline, headline figures and comparisons."""
    records = tricky_ledger(120, 6)
    settings: dict[str, Any] = {"baseline": "", "mde": 0.5, "plans": None, "overlap": EXCLUDE, "readings_of": None}
    evaluations = preview.AsOfEvaluations(records, lines_of, **settings)
    for cutoff in sorted({row.closed_ts for row in evaluations.rows})[-8:]:
        whole = preview.build_preview(old_known_by(records, evaluations.rows, cutoff), lines_of, proxy={}, **settings)
        view = evaluations.at(cutoff)
        assert view["baseline"] == whole["baseline"]
        assert spelled(view["comparisons"]) == spelled(whole["comparisons"])
        assert set(view["providers"]) == set(whole["providers"])
        for name, report in view["providers"].items():
            assert spelled(report) == spelled({key: whole["providers"][name][key] for key in report})
