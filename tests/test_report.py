"""`git tracker report`: one self-contained HTML page whose headline is preview's, drawn only by the report."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import Sandbox

VOID = {"meta", "br", "img", "input", "link", "hr", "wbr", "col", "source", "area", "base", "embed", "track"}


class Balanced(HTMLParser):
    """Every element closed in order (SVG's self-closed elements included); data-value attributes collected."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []
        self.values: dict[tuple[str, str], object] = {}
        self.charts: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-field" in found:
            self.values[(str(found["data-provider"]), str(found["data-field"]))] = json.loads(str(found["data-value"]))
        if "data-chart" in found:
            self.charts[str(found["data-chart"])] = str(found["data-empty"])
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        return None

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def parsed(text: str) -> Balanced:
    parser = Balanced()
    parser.feed(text)
    parser.close()
    assert parser.errors == [] and parser.open == [], (parser.errors[:3], parser.open[-3:])
    return parser


def test_demo_report_is_valid_small_and_self_contained(demo: Path) -> None:
    text = (demo / "git-tracker-report.html").read_text()
    page = parsed(text)
    assert len(text.encode()) < 1_000_000
    assert "http:" not in text and "https:" not in text and "<script" not in text
    assert " src=" not in text and "url(" not in text.replace("url(#", "")  # only references inside the page
    assert page.charts and all(empty == "false" for empty in page.charts.values()), page.charts  # the demo fills all
    assert {
        "efficiency",
        "meter-claude",
        "meter-codex",
        "meter-glm",
        "tokens-per-percent",
        "work-vs-capacity",
        "power",
    } <= set(page.charts)


def test_headline_equals_preview_json(demo: Path) -> None:
    box = Sandbox(demo)
    preview = json.loads(box.ok("preview", "--json"))
    page = parsed((demo / "git-tracker-report.html").read_text())
    assert preview["providers"]
    for name, report in preview["providers"].items():
        for field in ("n", "efficiency", "ci", "power", "n_per_arm_for_80pct_power", "quality_mean"):
            assert page.values[(name, field)] == report[field], (name, field)
        assert page.values[(name, "dollars.efficiency")] == report["dollars"]["efficiency"]
        assert page.values[(name, "dollars.ci")] == report["dollars"]["ci"]
    text = html.unescape((demo / "git-tracker-report.html").read_text())
    assert f"power needs against the baseline ({preview['baseline']})." in text  # the power chart names it


class Headline(HTMLParser):
    """The headline table's column names and, per row, each cell's data-label (its column's name on a phone card)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = self.in_header = False
        self.columns: list[str] = []
        self.rows: list[list[str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self.inside = found.get("id") == "headline-table"
        elif self.inside and tag == "thead":
            self.in_header = True
        elif self.inside and tag == "tr" and not self.in_header:
            self.rows.append([])
        elif self.inside and tag == "td":
            self.rows[-1].append(found.get("data-label"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag == "thead":
            self.in_header = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.in_header and data.strip():
            self.columns.append(data.strip())


def test_each_headline_cell_names_its_column_for_phones(demo: Path) -> None:
    """On a phone each provider's row is a card: a cell shows its column's name from data-label, so every cell
    carries the name of the column it sits in (the row's first cell, a th, is the provider: the card's title)."""
    headline = Headline()
    headline.feed((demo / "git-tracker-report.html").read_text())
    assert headline.columns[:2] == ["provider", "meter"] and len(headline.columns) == 11
    assert len(headline.rows) == 3
    for row in headline.rows:
        assert row == headline.columns[1:]


def plain_words_of(page: str) -> dict[str, str]:
    """Each headline row's plain-words sentence, by provider."""
    rows = re.findall(r'<tr><th scope="row">(\w+)[^<]*</th>.*?data-label="in plain words">([^<]*)</td></tr>', page)
    return {name: html.unescape(words) for name, words in rows}


def test_a_baseline_left_off_the_page_by_provider_is_named_and_said_not_shown(demo: Path, tmp_path: Path) -> None:
    box = Sandbox(demo)
    baseline = json.loads(box.ok("preview", "--json"))["baseline"]
    others = [name for name in ("codex", "claude", "glm") if name != baseline]
    whole = (demo / "git-tracker-report.html").read_text()
    assert set(plain_words_of(whole)) == {baseline, *others}
    assert "not shown" not in whole and 'id="baseline-note"' not in whole  # all on the page: "the baseline" will do
    for name in others:
        box.ok("report", "--provider", name, "--out", str(tmp_path / f"{name}.html"))
        page = (tmp_path / f"{name}.html").read_text()
        words = plain_words_of(page)
        assert list(words) == [name]
        assert f"the baseline {baseline} (not shown: --provider {name})" in words[name], words
        note = re.search(r'<p class="muted" id="baseline-note">(.*?)</p>', page)
        assert note and f"the baseline {baseline} (not shown: --provider {name})" in html.unescape(note.group(1))
    box.ok("report", "--provider", baseline, "--out", str(tmp_path / "baseline.html"))
    alone = plain_words_of((tmp_path / "baseline.html").read_text())
    assert alone[baseline].startswith(f"the baseline the other providers (not shown: --provider {baseline})")


def test_json_says_where_and_what_and_svg_files(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    written = json.loads(Sandbox(demo).ok("report", "--out", str(out), "--svg", str(tmp_path / "svg"), "--json"))
    assert written["path"] == str(out) and out.stat().st_size == written["bytes"]
    drawn = [name for name, ok in written["charts"].items() if ok]
    assert sorted(Path(p).stem for p in written["svg_files"]) == sorted(drawn)
    for path in written["svg_files"]:
        assert Path(path).read_text().lstrip().startswith("<?xml") and "<text" in Path(path).read_text()


def test_empty_ledger_says_what_to_do_next(tracked: Sandbox) -> None:
    tracked.ok("report", "--out", "page.html")
    text = (tracked.path / "page.html").read_text()
    page = parsed(text)
    assert all(empty == "true" for empty in page.charts.values())
    assert "git tracker start PROVIDER" in text and "git tracker demo" in text and "<svg" not in text


def test_the_task_bank_is_shown_by_status_with_its_plan(tracked: Sandbox) -> None:
    """The bank's state as `bank list` has it: features counted by status, and the plan's providers and seed."""
    tracked.ok("report", "--out", "page.html")
    assert "The task bank is empty" in (tracked.path / "page.html").read_text()
    spec = tracked.path.parent / "spec.md"
    spec.write_text("# A feature\n\nDo the thing.\n", encoding="utf-8")
    for feature in ("F-01", "F-02", "F-03"):
        tracked.ok("bank", "add", feature, "--title", f"title {feature}", "--spec", str(spec), "--size", "5")
    tracked.ok("bank", "status", "F-03", "blocked-capacity")
    tracked.ok("assign", "--seed", "11", "--providers", "claude,codex")
    listed = json.loads(tracked.ok("bank", "list", "--json"))["features"]
    counts: dict[str, int] = {}
    for row in listed:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    tracked.ok("report", "--out", "page.html")
    text = html.unescape((tracked.path / "page.html").read_text())
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    assert f"3 feature(s): {statuses}; plan claude vs codex (seed 11)." in text
    assert len(counts) == 2  # the status set by hand and the others' differ: the count per status is tested


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "last tuesday"), "--since: expected an ISO-8601 time"),
        (("--provider", "zed"), "unknown provider 'zed'"),
        (("--out", "no/such/folder/page.html"), "--out: expected a file in an existing folder"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tracked: Sandbox, args: tuple[str, ...], message: str) -> None:
    before = sorted(p.name for p in tracked.path.iterdir())
    done = tracked.tracker("report", *args)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.splitlines()) == 1
    assert sorted(p.name for p in tracked.path.iterdir()) == before


def test_cli_and_preview_do_not_import_matplotlib(demo: Path) -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from gittracker.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['preview', '--json'])\n"
        "print(code, any(m == 'matplotlib' or m.startswith('matplotlib.') for m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=demo, capture_output=True, text=True, check=False)
    assert done.stdout.split() == ["0", "False"], done.stderr
