"""`git tracker demo`: a temporary repository is removed after the report; a DIRECTORY is kept, and named."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Sandbox


def test_demo_without_a_directory_removes_its_repository_after_the_report(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    box = Sandbox(tmp_path)
    done = box.tracker("demo", env={"TMPDIR": str(scratch)})
    assert done.returncode == 0 and done.stderr == ""  # no warning from the drawing (a single week's tokens)
    out = done.stdout
    assert "Efficiency per provider" in out and "Notes on commits:" in out  # the whole report, as before
    assert out.startswith("demo repository: a temporary one, removed after this report (pass a DIRECTORY to keep it)")
    assert "git tracker demo DIRECTORY" in out.splitlines()[-1]
    assert "cd " not in out  # no path to a folder that is gone
    assert list(scratch.iterdir()) == []  # nothing left behind, not even by the hooks' background flushers


def test_demo_into_a_directory_keeps_it_and_says_where(tmp_path: Path) -> None:
    kept = tmp_path / "demo"
    box = Sandbox(tmp_path)
    report = json.loads(box.ok("demo", str(kept), "--json"))
    assert report["repository"] == str(kept.resolve())
    demo = Sandbox(kept)
    assert len(demo.records("window-close")) == sum(row["windows"] for row in report["providers"].values())
    out = Sandbox(tmp_path).ok("demo", str(tmp_path / "again"))
    assert out.startswith(f"demo repository: {(tmp_path / 'again').resolve()}\n")
    assert out.splitlines()[-1] == f"Try: cd {(tmp_path / 'again').resolve()} && git tracker log"


def test_demo_json_without_a_directory_has_no_repository(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    report = json.loads(Sandbox(tmp_path).ok("demo", "--json", env={"TMPDIR": str(scratch)}))
    assert report["repository"] is None and report["preview"]["providers"]
    assert list(scratch.iterdir()) == []


def window_tokens(box: Sandbox) -> dict[str, int]:
    """Tokens per window id, from the window totals ``ingest`` wrote (summed over the places read)."""
    tokens: dict[str, int] = {}
    for record in box.records("usage"):
        if record["granularity"] == "window":
            tokens[record["window_id"]] = tokens.get(record["window_id"], 0) + record["total_tokens"]
    return tokens


def test_the_demos_windows_get_their_tokens_from_the_agents_logs_through_ingest(tmp_path: Path) -> None:
    """Every claude and codex window has tokens, read from logs by ``ingest`` (origins claude-logs and codex-sessions,
    this repository's folder named relatively), in proportion to the capacity it used; none is marked divergent; and
    every chart of the demo's report is drawn."""
    from gittracker.demologs import NOISE, TOKENS_PER_PERCENT

    report = json.loads(Sandbox(tmp_path).ok("demo", str(tmp_path / "demo"), "--json"))
    box = Sandbox(tmp_path / "demo")
    usage = box.records("usage")
    assert {record["origin"] for record in usage} == {"claude-logs", "codex-sessions"}
    assert all(record["this_repo"] for record in usage if record["granularity"] in ("day", "block"))
    assert {record["project"] for record in usage if record["granularity"] == "day"} == {"."}
    assert str(tmp_path) not in "".join(json.dumps(record) for record in usage)  # no path of the machine's
    tokens = window_tokens(box)
    closes = [close for close in box.records("window-close") if close["provider"] in TOKENS_PER_PERCENT]
    assert len(closes) == 12 and {close["window_id"] for close in closes} == set(tokens)
    for close in closes:
        if close["delta"] is not None and close["delta"] > 0:  # the stale reading's window used capacity unseen
            rate = tokens[close["window_id"]] / close["delta"] / TOKENS_PER_PERCENT[close["provider"]]
            assert 1 - NOISE - 0.02 < rate < 1 + NOISE + 0.02, close  # 0.02: the readings are rounded to 0.1 %
    assert [a["code"] for a in box.records("anomaly")] == ["negative-delta"]  # no window marked divergent
    assert report["records"]["usage"] == len(usage)
    page = json.loads(box.ok("report", "--out", str(tmp_path / "page.html"), "--json"))
    assert page["charts"] and all(page["charts"].values()), page["charts"]
    assert set(page["charts"]) >= {"tokens-per-percent", "efficiency", "work-vs-capacity", "power"}
    assert Path(report["report"]).read_text().count('data-empty="false"') == len(page["charts"])


def test_the_demos_tokens_are_the_same_for_a_seed_and_differ_between_seeds(tmp_path: Path) -> None:
    def tokens_of(name: str, seed: str) -> list[tuple[str, str, int]]:
        Sandbox(tmp_path).ok("demo", str(tmp_path / name), "--seed", seed)
        return sorted(
            (record["provider"], record["granularity"], record["total_tokens"])
            for record in Sandbox(tmp_path / name).records("usage")
        )

    first = tokens_of("one", "7")
    assert first and tokens_of("again", "7") == first
    assert tokens_of("other", "8") != first
