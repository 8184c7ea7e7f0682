"""The demo's report in a real headless Chromium (Debian's chromium; .ci/run installs it): at 1280, 820 (a tablet,
where the headline table no longer fits as a table) and 390 px wide, light and dark, the page loads with no network
request and no console error, lays out at the window's width without scrolling sideways, no table is wider than the
window or has a cell cut off, every chart is there and drawn, and no label overlaps another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import browser
from tests.test_report import parsed

WIDTHS = (1280, 820, 390)


@pytest.fixture(scope="module")
def demo_page(demo: Path) -> Path:
    return demo / "git-tracker-report.html"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[browser.Browser]:
    with browser.browser(tmp_path_factory.mktemp("chromium")) as started:
        yield started


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_the_demo_report_in_a_real_browser(
    chromium: browser.Browser, demo_page: Path, width: int, dark: bool, tmp_path: Path
) -> None:
    look = chromium.look(demo_page, width, dark=dark)
    (tmp_path / f"report-{width}.png").write_bytes(look.screenshot)  # kept by pytest for a look when it fails
    assert look.problems() == []
    assert {table.element_id for table in look.tables} >= {"headline-table"}  # the table check had a table to check
    drawn = [name for name, empty in parsed(demo_page.read_text()).charts.items() if empty == "false"]
    assert len(look.charts) >= len(drawn) >= 6  # every chart the page draws is an <svg> the browser laid out
    assert all(not chart.blank for chart in look.charts)
    assert look.content_height > 600 and len(look.screenshot) > 10_000
