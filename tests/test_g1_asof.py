"""decide's gate G1 against the way it was first computed: a whole ``build_preview`` over the ledger as known at each
cutoff. G1 now evaluates the cutoffs from rows and spans made once (decision.AsOfEvaluations); its every figure and
sentence must stay what the whole previews give."""

from __future__ import annotations

import json
import marshal
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gittracker import clock, decision, preview
from gittracker.asofcache import STAMP, KeptEvaluations
from gittracker.overlaps import APPORTION, EXCLUDE
from gittracker.plans import default_plans
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


def old_known_by(
    records: Sequence[Record], rows: Sequence[preview.WindowRow] | Sequence[decision.ClosedWindow], cutoff: str
) -> list[Record]:
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
            why = decision._why_no_power(provider, whole)
            checks.append(decision._g1_check(cutoff, report, base.get("quality_mean"), why))
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
    g1 = decision.build_decision(records, lines_of, **settings)["gates"]["G1"]
    assert spelled(g1["providers"]) == spelled(old_g1(records, settings))
    checks = [check for result in g1["providers"].values() for check in result["as_of"]]
    assert any(check["power"] is not None for check in checks)  # the figures in dollars were computed
    assert any(check["ci_width"] is not None for check in checks)


def test_g1_of_a_few_windows_is_what_whole_previews_give() -> None:
    records = tricky_ledger(7, 5)
    settings: dict[str, Any] = {"baseline": "", "mde": 0.25, "plans": None, "overlap": EXCLUDE, "readings_of": None}
    g1 = decision.build_decision(records, lines_of, **settings)["gates"]["G1"]
    assert spelled(g1["providers"]) == spelled(old_g1(records, settings))


def test_g1_passes_as_whole_previews_say() -> None:
    records = tricky_ledger(360, 8)
    settings: dict[str, Any] = {"baseline": "", "mde": 1.5, "plans": None, "overlap": EXCLUDE, "readings_of": None}
    g1 = decision.build_decision(records, lines_of, **settings)["gates"]["G1"]
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
    evaluations = decision.AsOfEvaluations(records, lines_of, **settings)
    for cutoff in sorted({row.closed_ts for row in evaluations.closes})[-8:]:
        whole = preview.build_preview(old_known_by(records, evaluations.closes, cutoff), lines_of, proxy={}, **settings)
        view = evaluations.at(cutoff)
        assert view["baseline"] == whole["baseline"]
        assert spelled(view["comparisons"]) == spelled(whole["comparisons"])
        assert set(view["providers"]) == set(whole["providers"])
        for name, report in view["providers"].items():
            assert spelled(report) == spelled({key: whole["providers"][name][key] for key in report})


# -- G1's evaluations kept between runs (asofcache) ------------------------------------------------------------


def test_the_key_names_exactly_the_records_known_by_each_cutoff() -> None:
    """The ids a kept evaluation is found by are those of the records ``known_by`` gives: at every close, between
    closes, before the first and after the last."""
    records = tricky_ledger(150, 4)
    settings: dict[str, Any] = {"baseline": "", "mde": 0.5, "plans": None, "overlap": EXCLUDE, "readings_of": None}
    evaluations = decision.AsOfEvaluations(records, lines_of, **settings)
    times = sorted({r.ts for r in records})
    cutoffs = [*times, later(times[0], -1), later(times[-1], 1), *(later(ts, 1) for ts in times[::7])]
    for cutoff in cutoffs:
        names = evaluations._known_ids(cutoff)
        known = decision.known_by(records, evaluations.closes, cutoff)
        assert len(names) == len(set(names))
        assert {name.split(" ")[0] for name in names} == {r.id for r in known}
        closes = [r for r in known if r.kind == "window-close"]
        assert {f"{r.id} {lines_of(r['window_id'], None, None)}" for r in closes} <= set(names)


def kept_g1(records: Sequence[Record], settings: dict[str, Any], kept: KeptEvaluations, lines: Any = None) -> Any:
    g1 = decision.build_decision(records, lines or lines_of, kept=kept, **settings)["gates"]["G1"]
    kept.save()
    return g1


@pytest.mark.parametrize("overlap", [EXCLUDE, APPORTION])
def test_kept_evaluations_give_what_evaluating_gives_as_the_ledger_grows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overlap: str
) -> None:
    """Run after run over a growing ledger (new windows, late outcomes, voids), G1 from kept evaluations is G1
    evaluated afresh; a run over an unchanged ledger evaluates nothing, and one new window only its provider's
    newest close."""
    (tmp_path / "cache").mkdir()
    evaluated: list[int] = []
    evaluate = decision.AsOfEvaluations._evaluate

    def counted(self: decision.AsOfEvaluations, known: Sequence[Record]) -> dict[str, Any]:
        evaluated.append(len(known))
        return evaluate(self, known)

    monkeypatch.setattr(decision.AsOfEvaluations, "_evaluate", counted)
    settings: dict[str, Any] = {"baseline": "", "mde": 0.5, "plans": None, "overlap": overlap, "readings_of": None}
    records = tricky_ledger(240, 9)
    ordered = sorted(records, key=lambda r: (r.ts, r.id))
    for share in (0.6, 0.7, 0.85, 1.0):
        grown = sorted(ordered[: int(len(ordered) * share)], key=lambda r: r.id)
        fresh = decision.build_decision(grown, lines_of, **settings)["gates"]["G1"]
        assert spelled(kept_g1(grown, settings, KeptEvaluations(tmp_path / "cache"))) == spelled(fresh)
        evaluated.clear()
        assert spelled(kept_g1(grown, settings, KeptEvaluations(tmp_path / "cache"))) == spelled(fresh)
        assert evaluated == []  # every cutoff's evaluation was kept
    newest = max((r for r in ordered if r.kind == "window-close"), key=lambda r: r.ts)
    window = [r for r in ordered if r.get("window_id") == newest["window_id"]]
    one_more = [remade(r, ts=later(r.ts, 20_000)) for r in window if r.kind in ("window-close", "completion")]
    one_more = [remade(r, window_id=clock.new_id(clock.parse_ts(r.ts))) for r in one_more]
    one_more[1:] = [remade(r, window_id=one_more[0]["window_id"]) for r in one_more[1:]]
    grown = sorted([*records, *one_more], key=lambda r: r.id)
    fresh = decision.build_decision(grown, lines_of, **settings)["gates"]["G1"]
    evaluated.clear()
    assert spelled(kept_g1(grown, settings, KeptEvaluations(tmp_path / "cache"))) == spelled(fresh)
    assert len(evaluated) == 1


def views(records: Sequence[Record], settings: dict[str, Any], kept: KeptEvaluations | None, lines: Any) -> str:
    """The evaluations as of the last eight closes, spelled out (kept ones saved for the next call)."""
    evaluations = decision.AsOfEvaluations(records, lines or lines_of, **settings, kept=kept)
    found = [evaluations.at(window.closed_ts) for window in evaluations.closes[-8:]]
    if kept is not None:
        kept.save()
    return spelled(found)


def test_what_changes_an_evaluation_is_in_its_key(tmp_path: Path) -> None:
    """Settings, churn lines and a late outcome each make a kept evaluation not apply: it is then what evaluating
    afresh gives (a key missing one would give the kept, stale figures)."""
    (tmp_path / "cache").mkdir()
    records = tricky_ledger(150, 4)
    settings: dict[str, Any] = {"baseline": "", "mde": 0.5, "plans": None, "overlap": EXCLUDE, "readings_of": None}

    def more_lines(window_id: str, start: str | None, end: str | None) -> int | None:
        return 10 * (lines_of(window_id, start, end) or 1)

    dearer = {**default_plans(), "claude": replace(default_plans()["claude"], price_usd=250.0)}
    last_close = max((r for r in records if r.kind == "window-close"), key=lambda r: r.ts)
    rejudged = remade(
        [r for r in records if r.kind == "completion" and r["window_id"] == last_close["window_id"]][-1],
        ts=later(last_close.ts, 60),
        outcome="failed",
        quality_score=0.1,
    )
    cases: list[tuple[list[Record], dict[str, Any], Any]] = [
        (records, {**settings, "mde": 0.25}, None),
        (records, {**settings, "baseline": "glm"}, None),
        (records, {**settings, "plans": dearer}, None),
        (records, settings, more_lines),
        (sorted([*records, rejudged], key=lambda r: r.id), settings, None),
    ]
    for changed, chosen, lines in cases:
        stale = views(records, settings, KeptEvaluations(tmp_path / "cache"), None)
        fresh = views(changed, chosen, None, lines)
        assert fresh != stale, "the case changes the evaluations: else it proves nothing"
        assert views(changed, chosen, KeptEvaluations(tmp_path / "cache"), lines) == fresh


def test_a_damaged_or_foreign_cache_is_evaluated_again(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    records = tricky_ledger(60, 3)
    settings: dict[str, Any] = {"baseline": "", "mde": 0.5, "plans": None, "overlap": EXCLUDE, "readings_of": None}
    fresh = decision.build_decision(records, lines_of, **settings)["gates"]["G1"]
    path = tmp_path / "cache" / "g1-as-of.bin"
    for damaged in (b"", b"\x00garbage", marshal.dumps(("another tool", [])), marshal.dumps((STAMP, [(b"k", 1)]))):
        path.write_bytes(damaged)
        assert spelled(kept_g1(records, settings, KeptEvaluations(tmp_path / "cache"))) == spelled(fresh)
        stamp, entries = marshal.loads(path.read_bytes())  # kept again, whole
        assert stamp == STAMP and len(entries) >= 2
