"""The browser harness (tests/browser.py) can fail: each thing the report's acceptance checks is shown wrong once.

One chromium serves the whole module; every look opens its own tab.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import browser, pngpixels
from tests.browser import Browser

HEAD = '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
STYLE = "<style>body { margin: 0; background: #fff; } svg { display: block; }</style></head><body>"
# A chart with a red bar at a known place and two labels well apart.
CHART = (
    '<svg id="chart" width="300" height="200" xmlns="http://www.w3.org/2000/svg">'
    '<rect x="20" y="30" width="100" height="50" fill="#ff0000"/>'
    '<text x="10" y="150" font-size="14">first label</text>'
    '<text x="160" y="150" font-size="14">second label</text>'
    "</svg>"
)


def page(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.html"
    path.write_text(f"{HEAD}{STYLE}{body}</body></html>")
    return path


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with browser.browser(tmp_path_factory.mktemp("chromium")) as started:
        yield started


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    return tmp_path


@pytest.mark.parametrize("width", [1280, 390])
def test_a_clean_page_passes_at_both_widths(chromium: Browser, pages: Path, width: int) -> None:
    look = chromium.look(page(pages, "clean", CHART), width)
    assert look.requests == () and look.network_requests == []
    assert look.errors == []
    assert look.layout_width == width and look.content_width == width
    assert look.view.phone == (width == 390)
    [chart] = look.charts
    assert chart.element_id == "chart"
    assert (chart.box.x, chart.box.y, chart.box.width, chart.box.height) == (0, 0, 300, 200)
    assert not chart.blank
    assert [label.text for label in chart.labels] == ["first label", "second label"]
    assert look.overlapping_labels == []
    pixels = pngpixels.decode(look.screenshot)
    assert pixels.shape[1] == width
    assert tuple(pixels[55, 70][:3]) == (255, 0, 0)  # inside the bar
    assert tuple(pixels[10, 200][:3]) == (255, 255, 255)  # beside it
    assert look.problems() == []


def test_the_screenshot_is_the_full_page_height(chromium: Browser, pages: Path) -> None:
    body = f'{CHART}<div style="height: 2500px"></div><p id="end">end</p>'
    look = chromium.look(page(pages, "tall", body), 1280)
    assert look.content_height > 2700
    assert pngpixels.decode(look.screenshot).shape[0] == look.content_height


def test_an_external_image_is_a_request(chromium: Browser, pages: Path) -> None:
    look = chromium.look(page(pages, "image", f'{CHART}<img src="http://127.0.0.1:9/x.png" alt="">'), 1280)
    assert [request.url for request in look.network_requests] == ["http://127.0.0.1:9/x.png"]
    assert look.requests[0].resource_type == "Image"


def test_a_request_made_just_after_load_is_seen(chromium: Browser, pages: Path) -> None:
    script = (
        "<script>addEventListener('load', () => setTimeout(() => fetch('http://example.invalid/late'), 100))</script>"
    )
    look = chromium.look(page(pages, "late", CHART + script), 1280)
    assert [request.url for request in look.network_requests] == ["http://example.invalid/late"]


def test_an_inline_data_image_is_no_network_request(chromium: Browser, pages: Path) -> None:
    gif = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
    look = chromium.look(page(pages, "data", f'{CHART}<img src="{gif}" alt="">'), 1280)
    assert [request.url for request in look.requests] == [gif]  # Chromium reports it as fetched
    assert look.network_requests == []
    assert look.errors == []


def test_a_console_error_is_reported(chromium: Browser, pages: Path) -> None:
    script = "<script>console.log('fine'); console.error('broken', 42)</script>"
    look = chromium.look(page(pages, "console", CHART + script), 1280)
    assert [(m.source, m.level, m.text) for m in look.errors] == [("console", "error", "broken 42")]
    assert ("console", "log", "fine") in [(m.source, m.level, m.text) for m in look.messages]


def test_an_uncaught_exception_is_an_error(chromium: Browser, pages: Path) -> None:
    look = chromium.look(page(pages, "throws", CHART + "<script>null.width</script>"), 1280)
    assert [m.source for m in look.errors] == ["exception"]
    assert "TypeError" in look.errors[0].text


def test_a_blank_chart_is_blank_beside_a_drawn_one(chromium: Browser, pages: Path) -> None:
    blank = '<svg id="empty" width="300" height="200"><rect width="300" height="200" fill="#ffffff"/></svg>'
    zero = '<svg id="zero" width="0" height="0"><text x="5" y="5">hidden</text></svg>'
    look = chromium.look(page(pages, "blank", CHART + blank + zero), 1280)
    assert [(chart.element_id, chart.blank) for chart in look.charts] == [
        ("chart", False),
        ("empty", True),
        ("zero", True),
    ]
    assert look.charts[1].ink == 0.0 and look.charts[1].colours == 1
    assert look.charts[1].box.y == 200


def test_a_faint_chart_is_not_blank(chromium: Browser, pages: Path) -> None:
    # One thin grey line across a 300x200 box: little ink, but a chart is drawn.
    faint = '<svg id="faint" width="300" height="200"><line x1="0" y1="100" x2="300" y2="100" stroke="#888"/></svg>'
    [chart] = chromium.look(page(pages, "faint", faint), 1280).charts
    assert not chart.blank
    assert 0 < chart.ink < 0.05


def test_overlapping_labels_are_reported(chromium: Browser, pages: Path) -> None:
    crowded = (
        '<svg id="crowded" width="300" height="200">'
        '<text x="10" y="50" font-size="14">Monday</text>'
        '<text x="30" y="55" font-size="14">Tuesday</text>'
        '<text x="200" y="50" font-size="14">apart</text>'
        "</svg>"
    )
    look = chromium.look(page(pages, "crowded", crowded), 1280)
    assert [(a.text, b.text) for a, b in look.overlapping_labels] == [("Monday", "Tuesday")]


def test_labels_that_only_touch_do_not_overlap() -> None:
    left = browser.Label("a", browser.Box(0, 0, 10, 10))
    touching = browser.Label("b", browser.Box(10, 0, 10, 10))
    grazing = browser.Label("c", browser.Box(19.9, 9.9, 10, 10))
    inside = browser.Label("d", browser.Box(2, 2, 3, 3))
    assert browser.overlapping((left, touching, grazing)) == []
    assert browser.overlapping((touching, left, inside)) == [(left, inside)]


def test_without_chromium_the_test_skips_or_fails_where_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BROWSER_REQUIRED", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        browser.browser(tmp_path)
    monkeypatch.setenv("BROWSER_REQUIRED", "1")
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed"):
        browser.browser(tmp_path)


def test_a_chromium_that_does_not_start_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "chromium"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    monkeypatch.setenv("BROWSER_REQUIRED", "1")
    with pytest.raises(pytest.fail.Exception, match="cannot open display"):
        browser.browser(tmp_path)


def test_a_phone_page_without_a_viewport_tag_lays_out_wide(chromium: Browser, pages: Path) -> None:
    path = pages / "no-viewport.html"
    path.write_text(f"<!doctype html><html><head></head><body>{CHART}</body></html>")
    look = chromium.look(path, 390)
    assert look.view.phone
    assert look.layout_width == 980  # what a phone does: the report needs <meta name="viewport">
    assert chromium.look(path, 390, phone=False).layout_width == 390


def test_a_chart_wider_than_a_phone_scrolls_sideways(chromium: Browser, pages: Path) -> None:
    wide = '<svg id="wide" width="600" height="100"><rect width="600" height="100" fill="#00f"/></svg>'
    look = chromium.look(page(pages, "wide", wide), 390)
    assert look.layout_width == 390
    assert look.content_width == 600
    assert pngpixels.decode(look.screenshot).shape[1] == 600


# A table of six numbers a row that cannot wrap: about 700 px wide, in a box that scrolls sideways.
WIDE_TABLE = (
    '<div style="overflow-x: auto"><table id="wide" style="border-collapse: collapse"><tr>'
    + "".join(f'<td style="white-space: nowrap; padding: 0 8px">{n}.0123456789 to {n}.98765</td>' for n in range(6))
    + "</tr></table></div>"
)


def test_a_table_wider_than_a_phone_is_reported_though_the_page_does_not_scroll(chromium: Browser, pages: Path) -> None:
    path = page(pages, "wide-table", WIDE_TABLE)
    look = chromium.look(path, 390)
    assert look.content_width == 390  # the page itself does not scroll: only the table's box does
    [table] = look.tables
    assert table.element_id == "wide" and table.box.width > 600
    assert table.cut_cells and table.cut_cells[0].startswith("2.0123456789")  # the first cell past the box's edge
    assert look.problems() == [
        f"at 390 px: table 0 (wide) is {table.box.width:g} px wide, wider than the window",
        f"at 390 px: in table 0 (wide) {len(table.cut_cells)} cell(s) are cut off, the first {table.cut_cells[0]!r}",
    ]
    assert chromium.look(path, 1280).problems() == []  # the same table in a wide window: all of it in sight


def test_a_cell_narrower_than_its_content_is_cut_off(chromium: Browser, pages: Path) -> None:
    clipped = (
        '<table id="clipped"><tr><th>n</th><td style="display: block; width: 80px; overflow: hidden; '
        'white-space: nowrap">a value far wider than eighty pixels</td></tr></table>'
    )
    look = chromium.look(page(pages, "clipped", clipped), 390)
    [table] = look.tables
    assert table.box.right < 390 and table.cut_cells == ("a value far wider than eighty pixels",)
    assert look.problems() == [
        "at 390 px: in table 0 (clipped) 1 cell(s) are cut off, the first 'a value far wider than eighty pixels'"
    ]


def test_a_table_laid_out_as_cards_on_a_phone_passes(chromium: Browser, pages: Path) -> None:
    cards = (
        "<style>@media (max-width: 600px) { table, tbody, tr, td { display: block; } td::before "
        "{ content: attr(data-label) ': '; } }</style><table id=\"cards\"><tr>"
        + "".join(
            f'<td data-label="c{n}" style="white-space: nowrap">{n}.0123456789 to {n}.98765</td>' for n in range(6)
        )
        + "</tr></table>"
    )
    look = chromium.look(page(pages, "cards", cards), 390)
    [table] = look.tables
    assert table.box.width <= 390 and table.cut_cells == ()
    assert look.problems() == []


def test_dark_is_asked_for(chromium: Browser, pages: Path) -> None:
    dark = "<style>@media (prefers-color-scheme: dark) { body { background: #000; } }</style>"
    path = page(pages, "dark", dark + CHART)
    light_pixels = pngpixels.decode(chromium.look(path, 1280).screenshot)
    dark_look = chromium.look(path, 1280, dark=True)
    assert tuple(light_pixels[300, 600][:3]) == (255, 255, 255)
    assert tuple(pngpixels.decode(dark_look.screenshot)[300, 600][:3]) == (0, 0, 0)
    assert dark_look.view.dark and dark_look.errors == []


def test_labels_drawn_as_paths_are_found_by_their_groups(chromium: Browser, pages: Path) -> None:
    # matplotlib's default SVG: each label a <g id="text_N"> of glyph paths, no <text> element.
    glyphs = (
        '<svg id="paths" width="300" height="100">'
        '<g id="text_1"><path d="M 10 10 L 60 10 L 60 30 L 10 30 Z"/></g>'
        '<g id="text_2"><path d="M 50 20 L 90 20 L 90 40 L 50 40 Z"/></g>'
        "</svg>"
    )
    path = page(pages, "paths", glyphs)
    assert chromium.look(path, 1280).charts[0].labels == ()
    [chart] = chromium.look(path, 1280, label_selector="g[id^=text_]").charts
    assert [(label.box.x, label.box.width) for label in chart.labels] == [(10, 50), (50, 40)]
    assert len(chart.overlapping_labels()) == 1


def test_every_problem_is_one_line(chromium: Browser, pages: Path) -> None:
    body = (
        '<svg id="empty" width="300" height="100"></svg>'
        '<svg id="crowded" width="600" height="100"><text x="10" y="50">one</text><text x="12" y="52">two</text></svg>'
        '<img src="http://127.0.0.1:9/x.png" alt=""><script>console.error("broken")</script>'
        '<table id="cut"><tr><td style="display: block; width: 40px; overflow: hidden">overflowing</td></tr></table>'
    )
    # The failed load and the script's message arrive in either order.
    assert sorted(chromium.look(page(pages, "everything", body), 390).problems()) == sorted(
        [
            "at 390 px: the page requested http://127.0.0.1:9/x.png",
            "at 390 px: console error: broken",
            "at 390 px: log/network error: Failed to load resource: net::ERR_UNSAFE_PORT",
            "at 390 px: the page is 600 px wide and scrolls sideways",
            "at 390 px: chart 0 (empty) is blank",
            "at 390 px: in chart 1 (crowded) 'one' overlaps 'two'",
            "at 390 px: in table 0 (cut) 1 cell(s) are cut off, the first 'overflowing'",
        ]
    )
