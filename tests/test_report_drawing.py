"""The report's meter charts drawn thinned when they hold thousands of readings and windows, without changing what a
reader sees at the drawing's resolution (issue 17): a line keeps, in every column, its first, lowest, highest and
last reading; windows narrower than a column become that column's covered share of their shade, no window lost and
no shade where none was; ticks closer than a column drawn once. Each is checked against a computation of its own."""

from __future__ import annotations

import bisect
import io
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.dates import date2num
from matplotlib.figure import Figure

from gittracker import clock
from gittracker.errors import BadInput
from gittracker.report import charts
from gittracker.report.charts import (
    BAND_ALPHA,
    STYLE,
    THIN_ABOVE,
    _dates,
    meter_chart,
)
from gittracker.report.data import Mark, MeterSeries, Reading, ReportData, Span, WindowPoint
from gittracker.report.thinning import Columns, band_coverage, first_per_column, m4_indices, merged_bands

# Columns and times on quarters of a unit: every sum and difference the code forms is exact in floating point, so
# its answers can be held to exact ones.
QUARTER = 0.25


@st.composite
def grids(draw: st.DrawFn) -> Columns:
    low = draw(st.integers(-40, 40)) * QUARTER
    width = draw(st.sampled_from([QUARTER, 1.0, 2.0, 8.0]))
    count = draw(st.integers(1, 30))
    return Columns(low, low + count * width, count)


def quarters_around(grid: Columns) -> st.SearchStrategy[float]:
    """Times on and a little beyond the grid (beyond it, a time counts in the nearest column)."""
    first = math.floor((grid.low - 2 * grid.width) / QUARTER)
    last = math.ceil((grid.high + 2 * grid.width) / QUARTER)
    return st.integers(first, last).map(lambda n: n * QUARTER)


def column_of(moment: float, grid: Columns) -> int:
    return min(max(math.floor((moment - grid.low) / grid.width), 0), grid.count - 1)


def by_column(indices: Sequence[int], times: Sequence[float], grid: Columns) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for index in indices:
        found.setdefault(column_of(times[index], grid), []).append(index)
    return found


def in_time_order(times: Sequence[float]) -> list[int]:
    return sorted(range(len(times)), key=lambda index: times[index])  # Python's sort is stable: ties as given


@given(data=st.data())
def test_a_thinned_line_keeps_each_columns_first_lowest_highest_and_last_reading(data: st.DataObject) -> None:
    grid = data.draw(grids())
    readings = data.draw(st.lists(st.tuples(quarters_around(grid), st.integers(-50, 50)), max_size=120))
    times = [moment for moment, _ in readings]
    values = [float(value) for _, value in readings]

    kept = [int(index) for index in m4_indices(np.array(times, dtype=float), np.array(values), grid)]

    order = in_time_order(times)
    assert kept == [index for index in order if index in set(kept)]  # readings of the full line, in its order, once
    full, thin = by_column(order, times, grid), by_column(kept, times, grid)
    assert thin.keys() == full.keys()  # no column left out, none added
    for column, members in full.items():
        chosen = thin[column]
        assert (chosen[0], chosen[-1]) == (members[0], members[-1]), column  # it enters and leaves where the full does
        assert min(values[i] for i in chosen) == min(values[i] for i in members), column
        assert max(values[i] for i in chosen) == max(values[i] for i in members), column
        assert len(chosen) <= 4, column  # and thins: at most four readings a column


@st.composite
def grid_and_bands(draw: st.DrawFn) -> tuple[Columns, list[tuple[float, float]]]:
    grid = draw(grids())
    opened = quarters_around(grid)
    lengths = st.integers(0, 4 * round(3 * grid.width / QUARTER)).map(lambda n: n * QUARTER / 4)
    bands = draw(st.lists(st.tuples(opened, lengths), max_size=40))
    return grid, [(start, start + length) for start, length in bands]


def union_within(bands: Sequence[tuple[float, float]], low: float, high: float) -> Fraction:
    """How much of [low, high] lies inside at least one band: the bands clipped to it, sorted, overlaps joined."""
    clipped = sorted(
        (max(Fraction(start), Fraction(low)), min(Fraction(end), Fraction(high)))
        for start, end in bands
        if min(end, high) > max(start, low)
    )
    total, reach = Fraction(0), Fraction(low)
    for start, end in clipped:
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def as_arrays(bands: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([s for s, _ in bands], dtype=float), np.array([e for _, e in bands], dtype=float)


@given(grid_and_bands())
def test_window_shading_is_each_columns_covered_share(case: tuple[Columns, list[tuple[float, float]]]) -> None:
    grid, bands = case
    shares = band_coverage(*as_arrays(bands), grid) if bands else np.zeros(grid.count)
    assert shares.shape == (grid.count,)
    for column, share in enumerate(shares):
        low, high = grid.low + column * grid.width, grid.low + (column + 1) * grid.width
        expected = union_within(bands, low, high) / Fraction(grid.width)
        assert Fraction(float(share)) == expected, (column, share, expected)
        touched = any(start < high and end > low for start, end in bands if end > start)
        assert (share > 0) == touched, column  # no window lost, no shade where no window was


@given(grid_and_bands())
def test_merged_bands_are_the_union_with_no_gap_closed(case: tuple[Columns, list[tuple[float, float]]]) -> None:
    _, bands = case
    if not bands:
        return
    starts, ends = merged_bands(*as_arrays(bands))
    merged = list(zip(starts.tolist(), ends.tolist(), strict=True))
    assert all(start <= end for start, end in merged)
    assert all(after[0] > before[1] for before, after in pairwise(merged))  # a real gap apart
    assert {s for s, _ in merged} <= {s for s, _ in bands} and {e for _, e in merged} <= {e for _, e in bands}
    for start, end in bands:  # every band inside one merged band
        assert any(low <= start and end <= high for low, high in merged), (start, end)
    low, high = min(s for s, _ in bands), max(e for _, e in bands)
    assert sum(Fraction(e) - Fraction(s) for s, e in merged) == union_within(bands, low, high)


@given(data=st.data())
def test_marks_closer_than_a_column_are_drawn_once_at_the_earliest(data: st.DataObject) -> None:
    grid = data.draw(grids())
    times = data.draw(st.lists(quarters_around(grid), max_size=80))
    kept = [int(index) for index in first_per_column(np.array(times, dtype=float), grid)]
    full = by_column(in_time_order(times), times, grid)
    assert sorted(kept) == sorted(members[0] for members in full.values())


ANY_TIME = st.datetimes(datetime(1970, 1, 1), datetime(9999, 12, 30), timezones=st.just(UTC))


@given(st.lists(ANY_TIME, max_size=20), st.booleans())
def test_record_times_read_at_once_are_the_times_parse_ts_reads(moments: list[datetime], other_form: bool) -> None:
    stamps = [clock.format_ts(moment) for moment in moments]
    if other_form and stamps:  # an ISO-8601 form the ledger does not write: every stamp read one by one
        stamps[0] = stamps[0].replace("Z", "+00:00")
    expected = [float(date2num(clock.parse_ts(stamp))) for stamp in stamps]  # type: ignore[no-untyped-call]
    assert _dates(stamps).tolist() == expected


def test_a_day_the_calendar_lacks_is_bad_input_in_parse_ts_words() -> None:
    with pytest.raises(BadInput, match="expected an ISO-8601 time"):
        _dates(["2026-01-05T08:00:00.000Z", "2026-02-30T08:00:00.000Z"])


def series(readings: int, windows: int, resets: int) -> MeterSeries:
    """A meter read every 20 minutes: a sawtooth 5-hour percent, a slower weekly one; windows an hour long two hours
    apart, some overlapping the next; resets every 5 hours."""
    start = datetime(2026, 3, 2, tzinfo=UTC)

    def at(minutes: float) -> str:
        return clock.format_ts(start + timedelta(minutes=minutes))

    shown = [
        Reading(at(20 * n), float((7 * n) % 97), float((n // 3) % 101) if n % 2 else None, None)
        for n in range(readings)
    ]
    spans = [Span(f"w{n}", at(120 * n), at(120 * n + (60 if n % 5 else 150))) for n in range(windows)]
    return MeterSeries(
        "claude",
        shown,
        spans,
        [at(300 * n + 7) for n in range(resets)],
        [Mark(at(20 * 41), "spans a reset")],
    )


def drawn(meter: MeterSeries) -> tuple[object, str]:
    import matplotlib

    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        chart = meter_chart(meter)
    assert chart.svg is not None and chart.figure is not None
    return chart.figure, chart.svg


def test_a_dense_meter_chart_draws_what_the_full_data_would_at_its_columns() -> None:
    meter = series(readings=9000, windows=1500, resets=600)
    assert len(meter.readings) + len(meter.windows) > THIN_ABOVE
    figure, svg = drawn(meter)
    axes = figure.axes[0]  # type: ignore[attr-defined]

    times = _dates([r.ts for r in meter.readings])
    opened, closed = _dates([s.opened for s in meter.windows]), _dates([s.closed for s in meter.windows])
    weekly = [r for r in meter.readings if r.weekly is not None]
    grid = Columns.spanning(charts.WIDTH_IN * 72, times, _dates([r.ts for r in weekly]), opened, closed)
    line = axes.lines[0]
    assert len(line.get_xdata()) < len(times) / 2  # thinned
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["5-hour meter", "weekly meter", "anomaly"]
    for full, drawn_line in (
        ([(t, float(r.five_hour or 0)) for t, r in zip(times, meter.readings, strict=True)], line),
        (
            [(t, float(r.weekly)) for t, r in zip(times, meter.readings, strict=True) if r.weekly is not None],
            axes.lines[1],
        ),
    ):
        xs, ys = drawn_line.get_xdata(), drawn_line.get_ydata()
        wanted = by_column(range(len(full)), [t for t, _ in full], grid)
        got = by_column(range(len(xs)), list(xs), grid)
        assert got.keys() == wanted.keys()
        for column, members in wanted.items():
            mine = got[column]
            assert (xs[mine[0]], ys[mine[0]]) == full[members[0]] and (xs[mine[-1]], ys[mine[-1]]) == full[members[-1]]
            assert min(ys[i] for i in mine) == min(full[i][1] for i in members)
            assert max(ys[i] for i in mine) == max(full[i][1] for i in members)

    strip = axes.images[0].get_array()
    assert strip.shape == (1, grid.count, 4)
    merged = sorted(zip(opened.tolist(), closed.tolist(), strict=True))
    edges = grid.edges()
    firsts = [start for start, _ in merged]
    for column in range(grid.count):
        low, high = edges[column], edges[column + 1]
        near = merged[max(0, bisect.bisect_left(firsts, low) - 5) : bisect.bisect_right(firsts, high)]
        share = float(union_within(near, low, high)) / (high - low)
        assert strip[0, column, 3] == pytest.approx(BAND_ALPHA * share, abs=1e-9), column

    images = re.findall(r"<image\b[^>]*>", svg)
    assert len(images) == 1 and 'height="1"' in images[0]  # the strip; no layer turned into a picture
    assert "pixelated" not in images[0]  # the browser blends columns it scales down, as a renderer blends bands
    assert len(svg.encode()) < 200_000


def test_a_sparse_meter_chart_draws_every_reading_and_window() -> None:
    meter = series(readings=600, windows=100, resets=12)
    figure, svg = drawn(meter)
    axes = figure.axes[0]  # type: ignore[attr-defined]
    line = axes.lines[0]
    assert len(line.get_xdata()) == len(meter.readings) and line.get_marker() == "."
    bands = [c for c in axes.collections if len(c.get_paths()) == len(meter.windows)]
    assert len(bands) == 1 and not axes.images and "<image" not in svg


def savefig_alone(figure: Figure) -> str:
    """The SVG matplotlib's savefig draws, laying the figure out itself (the page's colour and image edits made)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, dpi=110)
    svg = buffer.getvalue().replace(charts._PIXELATED, "")
    return svg.replace(charts.INK, "currentColor").replace(charts.INK.upper(), "currentColor")


def report_data(weeks: int) -> ReportData:
    """What the efficiency, tokens and power charts read, for two providers, claude the baseline."""
    figures = {
        "claude": {"dollars": {"efficiency": 0.031, "ci": [0.022, 0.043]}, "n": 41, "n_per_arm_for_80pct_power": 180},
        "codex": {"dollars": {"efficiency": 0.046, "ci": [0.03, 0.061]}, "n": 230, "n_per_arm_for_80pct_power": 120},
    }
    mondays = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(weeks)]
    tokens = {
        (name, "five_hour"): {
            f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}": 1000.0 * (n % 7 + scale) for n, d in enumerate(mondays)
        }
        for name, scale in (("claude", 9), ("codex", 3))
    }
    return ReportData(
        preview={"providers": figures, "baseline": "claude"},
        decision={},
        meters={},
        weekly_tokens=tokens,
        windows=[],
        anomalies=[],
        bank=None,
        provenance={},
    )


def window_points(count: int) -> list[WindowPoint]:
    outcomes = ["shipped", "partial", "failed", None]
    return [
        WindowPoint(
            provider=("claude", "codex", "glm")[n % 3],
            unit="prompts" if n % 3 == 2 else "percent",
            meter="prompts" if n % 3 == 2 else "five_hour",
            capacity=float((n * 37) % 90 + 2),
            work=((n * 13) % 101) / 100 if outcomes[n % 4] else None,
            outcome=outcomes[n % 4],
        )
        for n in range(count)
    ]


def offsets_figure() -> Figure:
    """Axes whose labels need offset texts: a date axis within one day, values near a million on the other."""
    figure = Figure(figsize=(charts.WIDTH_IN, charts.HEIGHT_IN), layout="constrained")
    axes = figure.add_subplot()
    moments = charts._dates(
        [f"2026-03-02T{hour:02d}:{minute:02d}:00.000Z" for hour in range(9, 17) for minute in (0, 30)]
    )
    axes.plot(moments, 1_000_000 + np.arange(len(moments)) * 7.5)
    charts._date_axis(axes)
    axes.set_ylabel("prompts used")
    return figure


def short_figure() -> Figure:
    """A chart one row of bars tall, where the layout's room for labels changes how many ticks the value axis has."""
    figure = Figure(figsize=(charts.WIDTH_IN, 0.9 + 0.55), layout="constrained")
    axes = figure.add_subplot()
    axes.plot([0.0, 1.0], [0.0, 6.0])
    axes.set_xlabel("windows (per provider)")
    axes.set_ylabel("work")
    return figure


CHARTS: dict[str, Callable[[], charts.Chart | Figure]] = {
    "dense meter": lambda: charts.meter_chart(series(readings=9000, windows=1500, resets=600)),
    "sparse meter": lambda: charts.meter_chart(series(readings=600, windows=100, resets=12)),
    "work, many windows": lambda: charts.work_chart(window_points(2400)),
    "work, few windows": lambda: charts.work_chart(window_points(40)),
    "efficiency": lambda: charts.efficiency_chart(report_data(weeks=30)),
    "tokens per percent": lambda: charts.tokens_chart(report_data(weeks=30)),
    "power": lambda: charts.power_chart(report_data(weeks=30)),
    "offset texts": offsets_figure,
    "short axes": short_figure,
}


@pytest.mark.parametrize("name", CHARTS)
def test_laid_out_once_with_its_ticks_kept_a_chart_is_the_svg_savefig_draws(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        made = CHARTS[name]()
        mine = made.svg if isinstance(made, charts.Chart) else charts.to_svg(made)
        monkeypatch.setattr(charts, "to_svg", savefig_alone)
        again = CHARTS[name]()
        theirs = again.svg if isinstance(again, charts.Chart) else savefig_alone(again)
    assert mine is not None and "<text" in mine
    assert mine == theirs


@pytest.mark.parametrize("windows", [40, 2400])
def test_each_legend_mark_is_drawn_as_its_scatter_draws_its_points(windows: int) -> None:
    import matplotlib
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.markers import MarkerStyle

    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        figure = charts.work_chart(window_points(windows)).figure
    assert figure is not None
    scatters = {str(c.get_label()): c for axes in figure.axes for c in axes.collections}
    marks = [mark for mark in figure.legends[0].legend_handles if isinstance(mark, Line2D)]
    assert sorted(str(mark.get_label()) for mark in marks) == sorted(scatters)  # one entry per scatter
    for mark in marks:
        scatter = scatters[str(mark.get_label())]
        assert isinstance(scatter, PathCollection)
        provider, outcome = str(mark.get_label()).split(", ")
        assert mark.get_marker() == charts.OUTCOME_MARKERS[None if outcome == "no outcome" else outcome]
        shape = MarkerStyle(mark.get_marker())
        assert np.allclose(
            scatter.get_paths()[0].vertices, shape.get_path().transformed(shape.get_transform()).vertices
        )
        assert float(mark.get_markersize()) ** 2 == pytest.approx(scatter.get_sizes()[0])  # s is the marker's area, pt²
        assert mark.get_markeredgewidth() == np.ravel(scatter.get_linewidth())[0]
        assert to_rgba(mark.get_color(), mark.get_alpha()) == tuple(np.asarray(scatter.get_facecolor())[0])
        assert tuple(np.asarray(scatter.get_facecolor())[0]) == to_rgba(charts.PALETTE[provider], scatter.get_alpha())
