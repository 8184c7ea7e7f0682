"""The report's tokens per 1 % chart: one series per provider AND meter, as 1 % of a 5-hour meter and 1 % of a
weekly meter are different amounts of capacity (issue 17)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from gittracker.context import open_context
from gittracker.report.charts import PALETTE, draw_all, tokens_chart
from gittracker.report.data import ReportData, gather
from tests.conftest import Sandbox
from tests.test_ingest import iso

MONDAY = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # ISO week 2026-W23
# Claude windows on both meters over two ISO weeks: (opened, minutes open, start options, end options, meter, delta).
WINDOWS = [
    (MONDAY, 60, ["--used", "10"], ["--used", "30"], "five_hour", 20.0),
    (MONDAY + timedelta(hours=3), 60, ["--weekly", "40"], ["--weekly", "42"], "weekly", 2.0),
    (MONDAY + timedelta(days=2), 90, ["--used", "5"], ["--used", "13"], "five_hour", 8.0),
    (MONDAY + timedelta(days=2, hours=4), 30, ["--weekly", "42"], ["--weekly", "45"], "weekly", 3.0),
    (MONDAY + timedelta(days=7), 60, ["--used", "20"], ["--used", "25"], "five_hour", 5.0),
    (MONDAY + timedelta(days=8), 120, ["--weekly", "3"], ["--weekly", "4"], "weekly", 1.0),
]


def transcript_line(when: datetime, number: int, tokens: int) -> str:
    line = {
        "type": "assistant",
        "timestamp": iso(when),
        "sessionId": "s1",
        "cwd": "/w/p",
        "gitBranch": "main",
        "version": "2.0.14",
        "requestId": f"req_{number}",
        "message": {
            "id": f"msg_{number}",
            "model": "claude-sonnet-4-5-20250929",
            "role": "assistant",
            "usage": {
                "input_tokens": tokens // 2,
                "output_tokens": tokens - tokens // 2,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        },
    }
    return json.dumps(line, separators=(",", ":")) + "\n"


@pytest.fixture
def both_meters(tracked: Sandbox, tmp_path: Path) -> tuple[Sandbox, dict[tuple[str, str], dict[str, float]]]:
    """Claude windows on its 5-hour and its weekly meter, Claude's transcripts with tokens inside and outside them,
    ingested; and the expected figures, computed here from what was written."""
    events: list[tuple[datetime, int]] = []
    for number, (opened, minutes, before, after, _meter, _delta) in enumerate(WINDOWS):
        tracked.ok("start", "claude", *before, env={"GIT_TRACKER_NOW": iso(opened)})
        tracked.ok("end", "claude", *after, env={"GIT_TRACKER_NOW": iso(opened + timedelta(minutes=minutes))})
        inside = (5, minutes // 2, minutes - 1)
        events += [(opened + timedelta(minutes=m), 1000 * (number + 1) + 37 * m) for m in inside]
        events.append((opened + timedelta(minutes=minutes + 20), 99_999))  # after the window: nobody's
    folder = tmp_path / "claude" / "projects" / "-w-p"
    folder.mkdir(parents=True)
    lines = [transcript_line(when, number, tokens) for number, (when, tokens) in enumerate(events)]
    (folder / "s1.jsonl").write_text("".join(lines))
    tracked.ok("ingest", "claude-logs", "--dir", str(tmp_path / "claude"))

    sums: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for opened, minutes, _before, _after, meter, delta in WINDOWS:
        closed = opened + timedelta(minutes=minutes)
        used = sum(tokens for when, tokens in events if opened <= when <= closed)
        year, week, _ = closed.isocalendar()
        total = sums[("claude", meter)][f"{year}-W{week:02d}"]
        total[0] += used
        total[1] += delta
    expected = {series: {week: t / p for week, (t, p) in weeks.items()} for series, weeks in sums.items()}
    return tracked, expected


def test_tokens_per_percent_is_per_provider_and_meter(
    both_meters: tuple[Sandbox, dict[tuple[str, str], dict[str, float]]],
) -> None:
    box, expected = both_meters
    closes = box.records("window-close")
    assert sorted(c["meter"] for c in closes) == sorted(meter for *_, meter, _ in WINDOWS)  # both meters bind
    data = gather(open_context(box.path, require_setup=False))
    assert set(data.weekly_tokens) == {("claude", "five_hour"), ("claude", "weekly")}
    for series, weeks in expected.items():
        assert data.weekly_tokens[series] == pytest.approx(weeks), series
    assert set(expected[("claude", "weekly")]) == {"2026-W23", "2026-W24"}
    # The weekly meter's 1 % buys several times the 5-hour meter's here: a mixed sum would be neither.
    assert expected[("claude", "weekly")]["2026-W23"] > 3 * expected[("claude", "five_hour")]["2026-W23"]

    [chart] = [c for c in draw_all(data) if c.name == "tokens-per-percent"]
    assert chart.svg is not None and chart.figure is not None
    [axes] = chart.figure.axes
    drawn = {str(line.get_label()): line for line in axes.get_lines()}
    assert set(drawn) == {"claude, 5h", "claude, weekly"}
    legend = axes.get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == ["claude, 5h", "claude, weekly"]
    assert "per 1 % of the meter" in axes.get_ylabel()
    heights = np.asarray(drawn["claude, weekly"].get_ydata(), dtype=float).tolist()
    assert heights == pytest.approx(list(expected[("claude", "weekly")].values()))


def test_colour_is_the_provider_and_style_the_meter() -> None:
    """Every (provider, meter) line tells apart from every other: colour by provider as in PALETTE, line style and
    marker by meter, the legend naming both."""
    weekly = {
        ("codex", "five_hour"): {"2026-W23": 900.0, "2026-W24": 950.0},
        ("codex", "weekly"): {"2026-W23": 8000.0},
        ("claude", "five_hour"): {"2026-W23": 700.0, "2026-W24": 650.0},
        ("claude", "weekly"): {"2026-W24": 6100.0},
    }
    data = ReportData({"providers": {}}, {}, {}, weekly, [], [], None, {})
    chart = tokens_chart(data)
    assert chart.figure is not None
    [axes] = chart.figure.axes
    lines = {str(line.get_label()): line for line in axes.get_lines()}
    assert set(lines) == {"codex, 5h", "codex, weekly", "claude, 5h", "claude, weekly"}
    for label, line in lines.items():
        provider = label.split(",")[0]
        assert line.get_color() == PALETTE[provider]
    looks = {label: (line.get_linestyle(), line.get_marker()) for label, line in lines.items()}
    assert looks["codex, 5h"] == looks["claude, 5h"] != looks["codex, weekly"] == looks["claude, weekly"]
    assert looks["codex, 5h"][0] != looks["codex, weekly"][0] and looks["codex, 5h"][1] != looks["codex, weekly"][1]
    assert "5h solid" in chart.caption and "weekly dashed" in chart.caption
