"""The report over a ledger of 10,000 closed windows stays readable: charts of a sane size, a page under its budget,
no label drawn over another (issue 17)."""

from __future__ import annotations

import re
import subprocess

from gittracker.context import open_context
from gittracker.records import record_path
from gittracker.report.charts import draw_all, label_boxes, overlapping_labels
from gittracker.report.data import gather
from gittracker.report.page import render
from gittracker.synth import window_ledger
from tests.conftest import Sandbox

WINDOWS = 10_000
PAGE_BUDGET = 2_000_000  # bytes: the demo's page is held under 1 MB, this one has ten thousand windows drawn
CHART_BUDGET = 500_000  # bytes of SVG per chart
WIDTH_PT = 6.4 * 72  # charts.WIDTH_IN: two side by side at 1280 px
HEIGHT_PT = (100.0, 400.0)  # the shortest chart (one row of bars) to the tallest (panels with a legend beneath)


def write_ledger(box: Sandbox, windows: int) -> None:
    """The windows' records on the ledger in one commit, written by ``git fast-import`` (tens of thousands of files:
    one append through pygit2 takes several times as long)."""
    records = [record for window in window_ledger(windows, seed=17) for record in window]
    chunks = [b"commit refs/heads/tracker-ledger\ncommitter t <t@example.com> 1780000000 +0000\ndata 6\nbulk\n\n"]
    parent = box.git("rev-parse", "-q", "--verify", "refs/heads/tracker-ledger", check=False).strip()
    if parent:
        chunks.append(f"from {parent}\n".encode())
    for record in records:
        data = (record.to_json() + "\n").encode()
        chunks.append(
            b"M 100644 inline %s\ndata %d\n%s\n" % (record_path(record.id, record.kind).encode(), len(data), data)
        )
    chunks.append(b"done\n")
    subprocess.run(["git", "fast-import", "--quiet", "--done"], cwd=box.path, input=b"".join(chunks), check=True)


def svg_size(svg: str) -> tuple[float, float, tuple[float, ...]]:
    """The root element's width and height (pt) and its viewBox."""
    root = re.search(r"<svg\b[^>]*>", svg)
    assert root, svg[:200]
    tag = root.group(0)
    width = re.search(r'width="([\d.]+)pt"', tag)
    height = re.search(r'height="([\d.]+)pt"', tag)
    box = re.search(r'viewBox="([^"]+)"', tag)
    assert width and height and box, tag
    return float(width.group(1)), float(height.group(1)), tuple(float(v) for v in box.group(1).split())


def test_ten_thousand_windows_stay_readable(tracked: Sandbox) -> None:
    write_ledger(tracked, WINDOWS)
    data = gather(open_context(tracked.path, require_setup=False))
    assert data.closed_windows == WINDOWS
    charts = draw_all(data)
    page = render(data, charts)

    assert all(chart.svg is not None for chart in charts), [c.name for c in charts if c.svg is None]
    assert len(page.encode()) < PAGE_BUDGET
    for chart in charts:
        assert chart.svg is not None and chart.figure is not None
        assert len(chart.svg.encode()) < CHART_BUDGET, (chart.name, len(chart.svg))
        width, height, view = svg_size(chart.svg)
        assert abs(width - WIDTH_PT) < 1 and HEIGHT_PT[0] <= height <= HEIGHT_PT[1], (chart.name, width, height)
        assert view == (0.0, 0.0, width, height), (chart.name, view)
        labels = label_boxes(chart.figure)
        assert len(labels) >= 5, (chart.name, labels)  # ticks and axis labels at least: the check saw the chart
        assert all(box.x0 >= -1 and box.x1 <= width * chart.figure.dpi / 72 + 1 for _, box in labels), chart.name
        assert overlapping_labels(chart.figure) == [], chart.name
        if chart.name.startswith("meter-"):  # thinned, not rasterized: its one picture is the windows' strip
            images = re.findall(r"<image\b[^>]*>", chart.svg)
            assert [re.findall(r'\bheight="([\d.]+)"', image) for image in images] == [["1"]], chart.name


def test_overlap_check_sees_labels_drawn_over_each_other() -> None:
    """The check above can fail: crowded tick labels and a label written over another are reported."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 2))
    axes = figure.add_subplot()
    axes.set_xticks(range(40), [f"window {n}" for n in range(40)])
    axes.text(0.5, 0.5, "first label", transform=axes.transAxes)
    axes.text(0.52, 0.5, "second label", transform=axes.transAxes)
    found = overlapping_labels(figure)
    assert ("first label", "second label") in found
    assert ("window 0", "window 1") in found
    axes.set_xticks([0, 39], ["window 0", "window 39"])
    assert [pair for pair in overlapping_labels(figure) if "window 0" in pair or "window 39" in pair] == []
