"""`git tracker report`: one self-contained HTML page whose headline is preview's, drawn only by the report."""

from __future__ import annotations

import json
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


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "gittracker", "demo", str(where / "repo")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"The report with charts: {where / 'repo' / 'git-tracker-report.html'}" in done.stdout
    return where / "repo"


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
