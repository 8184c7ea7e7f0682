"""The report's charts: matplotlib figures (no pyplot, the SVG backend) as SVG text.

matplotlib is imported here and only here, when a report is drawn: never by the hooks, ``preview`` or the CLI's
start-up. Text, axes and grid are drawn in a placeholder colour that becomes ``currentColor``, so the page's
light or dark scheme colours them; data take the Okabe-Ito palette, which stays distinct under the common colour
vision deficiencies. A chart with nothing to draw is no chart: it says what to do next instead.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from gittracker import clock
from gittracker.records import PROVIDERS
from gittracker.report.data import MeterSeries, ReportData, WindowPoint
from gittracker.report.thinning import Columns, band_coverage, first_per_column, m4_indices

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.transforms import Bbox
    from numpy.typing import NDArray

# Okabe & Ito (2008): one colour per provider, in PROVIDERS order, and one for flags.
PALETTE = {"claude": "#E69F00", "codex": "#0072B2", "glm": "#009E73"}
FLAG = "#D55E00"
INK = "#010203"  # placeholder for text and axes: becomes currentColor in the page
OUTCOME_MARKERS = {"shipped": "o", "partial": "s", "failed": "X", None: "."}
WIDTH_IN = 6.4  # 460 pt: two charts side by side at 1280 px, scaled down (not cut) on a phone
HEIGHT_IN = 3.2
RASTER_ABOVE = 1500  # marks beyond which a chart's marks are an embedded image: the SVG stays small
THIN_ABOVE = 1500  # readings and windows beyond which a meter chart draws its layers thinned to its columns
BAND_ALPHA = 0.18  # a window's shade: light enough for the readings to read through it
STYLE: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: selectable, and sized by the browser
    "svg.hashsalt": "git-tracker",  # the same data, the same SVG
    "font.size": 10,
    "font.family": "sans-serif",
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.facecolor": "none",
    "figure.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.transparent": True,
    "axes.grid": True,
    "grid.color": INK,
    "grid.alpha": 0.15,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its SVG, or (``svg`` None) what the reader should do to get it."""

    name: str
    title: str
    svg: str | None
    next_step: str | None = None
    caption: str = ""
    figure: Figure | None = field(default=None, compare=False, repr=False)  # what was drawn, for label checks


def draw_all(data: ReportData) -> list[Chart]:
    import matplotlib

    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]  # its keys are typed as literals
        charts = [efficiency_chart(data)]
        charts += [meter_chart(series) for series in data.meters.values()]
        charts += [tokens_chart(data), work_chart(data.windows), power_chart(data)]
    return charts


def _figure(height: float = HEIGHT_IN) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, height), layout="constrained")


# matplotlib asks the browser to scale an image it embeds unresampled (a meter's window strip) by repeating pixels;
# left to itself the browser blends neighbouring columns when it scales the strip down, as a renderer blends bands
# narrower than its pixels.
_PIXELATED = ' style="image-rendering:crisp-edges;image-rendering:pixelated"'


def to_svg(figure: Figure) -> str:
    """The figure as SVG text, its placeholder colour turned into currentColor.

    Laid out (constrained) once, as savefig would, then drawn with each axis's ticks kept as the layout left them:
    the layout and the drawing ask for the ticks dozens of times and each ask works them out anew (a date axis's
    most of all), which cost more than the drawing itself. A date axis's ticks are kept before the layout too: they
    follow from its limits alone, not from its length. The SVG is the one savefig draws by itself."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.dates import DateLocator

    FigureCanvasSVG(figure)  # the layout measures text as the SVG backend does
    axes_ticks = [axis for axes in figure.axes for axis in (axes.xaxis, axes.yaxis)]
    for axis in axes_ticks:
        if isinstance(axis.get_major_locator(), DateLocator):
            _keep_ticks(axis)
    engine = figure.get_layout_engine()
    if engine is not None:
        engine.execute(figure)
        figure.set_layout_engine("none")  # laid out: savefig need not lay it out again
    for axis in axes_ticks:
        _keep_ticks(axis)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, dpi=110)
    svg = buffer.getvalue().replace(_PIXELATED, "")
    return svg.replace(INK, "currentColor").replace(INK.upper(), "currentColor")


def _keep_ticks(axis: Axis) -> None:
    """The axis's major ticks and their labels (and offset text) as its locator and formatter give them now, fixed."""
    from matplotlib.ticker import FixedFormatter, FixedLocator

    places = axis.get_major_locator()()
    formatter = axis.get_major_formatter()
    labels = formatter.format_ticks(list(places))
    kept = FixedFormatter(labels)
    kept.set_offset_string(formatter.get_offset())
    axis.set_major_locator(FixedLocator(places))
    axis.set_major_formatter(kept)


def label_boxes(figure: Figure) -> list[tuple[str, Bbox]]:
    """Each label the figure draws (tick labels, axis labels, legend entries, annotations) with its extent in
    display units, as matplotlib lays it out."""
    from matplotlib.text import Text

    figure.draw_without_rendering()
    hidden = _undrawn_tick_labels(figure)
    shown = [
        text
        for text in figure.findobj(Text)
        if isinstance(text, Text) and text.get_visible() and text.get_text().strip() and id(text) not in hidden
    ]
    return [(text.get_text(), text.get_window_extent()) for text in shown]


def overlapping_labels(figure: Figure) -> list[tuple[str, str]]:
    """Pairs of labels whose extents overlap: none, on a readable chart."""
    boxes = label_boxes(figure)
    return [
        (name, other)
        for number, (name, box) in enumerate(boxes)
        for other, second in boxes[number + 1 :]
        if box.overlaps(second)
    ]


def _undrawn_tick_labels(figure: Figure) -> set[int]:
    """The labels of ticks outside their axis's view: matplotlib keeps such ticks but does not draw them."""
    hidden = set()
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = 1e-9 * (high - low)
            for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
                if not low - slack <= tick.get_loc() <= high + slack:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return hidden


def efficiency_chart(data: ReportData) -> Chart:
    providers = data.preview["providers"]
    shown = {name: r["dollars"] for name, r in providers.items() if r["dollars"]["efficiency"] is not None}
    title = "Delivered work per subscription dollar, with its 95 % interval"
    if not shown:
        return Chart("efficiency", title, None, _first_steps(data, "efficiency per provider"))
    figure = _figure(0.9 + 0.55 * len(shown))
    axes = figure.add_subplot()
    names = list(shown)
    for row, name in enumerate(names):
        figure_of = shown[name]
        low, high = figure_of["ci"] or (figure_of["efficiency"], figure_of["efficiency"])
        estimate = figure_of["efficiency"]
        axes.errorbar(
            [estimate],
            [row],
            xerr=[[estimate - low], [high - estimate]],
            fmt="o",
            color=PALETTE[name],
            capsize=4,
            markersize=7,
        )
    baseline = data.preview.get("baseline")
    if baseline in shown:
        axes.axvline(shown[baseline]["efficiency"], color=INK, linestyle="--", linewidth=1, alpha=0.6)
    axes.set_yticks(range(len(names)), [f"{n} (baseline)" if n == baseline else n for n in names])
    axes.set_ylim(-0.6, len(names) - 0.4)
    axes.invert_yaxis()
    axes.set_xlabel("delivered work per subscription dollar (work units / USD)")
    missing = [name for name, r in providers.items() if r["dollars"]["efficiency"] is None]
    caption = f"No dollar figure for {', '.join(missing)}: see the headline table." if missing else ""
    if baseline in shown:
        caption = f"Dashed line: the baseline ({baseline}). {caption}".strip()
    return Chart("efficiency", title, to_svg(figure), caption=caption, figure=figure)


# Record times as clock.format_ts writes them, one a line: numpy reads these (without the Z) in one call.
_CANONICAL_TIMES = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\n)*")


def _dates(stamps: Sequence[str]) -> NDArray[np.float64]:
    """Record times as matplotlib's date numbers (days since its epoch), which the date axis formats. Times written
    as the ledger writes them are read by numpy all at once; any other ISO-8601 form through clock.parse_ts."""
    import numpy as np
    from matplotlib.dates import date2num

    to_number: Any = date2num  # untyped in matplotlib's stubs
    if not stamps:
        return np.zeros(0)
    if _CANONICAL_TIMES.fullmatch("\n".join(stamps) + "\n"):  # one check for all: a match per stamp cost more
        try:
            moments = np.array([stamp[:-1] for stamp in stamps], dtype="datetime64[ms]")
        except ValueError:  # a day the calendar lacks: parse_ts below says so in its words
            pass
        else:
            return np.asarray(to_number(moments), dtype=float)
    return np.asarray(to_number([clock.parse_ts(stamp) for stamp in stamps]), dtype=float)


def _date_axis(axes: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(maxticks=7)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


MANY_RESETS = 40  # beyond this, resets are ticks along the bottom: full-height lines would cover the chart


def meter_chart(series: MeterSeries) -> Chart:
    name = series.provider
    title = f"{name}: capacity meter over time"
    prompts = name == "glm"
    values = _readings(series, prompts)
    if not values:
        step = (
            f"No {name} readings in this period: `git tracker start {name} "
            + ("--prompts N`" if prompts else "--used PCT`")
            + " and `end` record them."
        )
        return Chart(f"meter-{name}", title, None, step)
    figure = _figure()
    axes = figure.add_subplot()
    times = _dates([ts for ts, _ in values])
    weekly = [] if prompts else [(r.ts, float(r.weekly)) for r in series.readings if r.weekly is not None]
    weekly_times = _dates([ts for ts, _ in weekly])
    opened = _dates([span.opened for span in series.windows])
    closed = _dates([span.closed for span in series.windows])
    dense = len(values) + len(series.windows) > THIN_ABOVE
    grid = Columns.spanning(WIDTH_IN * 72, times, weekly_times, opened, closed)
    if dense:
        _window_strip(axes, opened, closed, grid, PALETTE[name])
    else:
        _window_bands(axes, opened, closed, PALETTE[name])
    thinned = grid if dense else None
    main = {"marker": None if dense else ".", "linewidth": 0.6 if dense else 1.2}
    label = "5-hour meter" if not prompts else "prompts"
    _meter_line(axes, times, [v for _, v in values], thinned, color=PALETTE[name], label=label, **main)
    if weekly:
        style = {"color": INK, "linestyle": ":", "linewidth": 1, "label": "weekly meter"}
        _meter_line(axes, weekly_times, [v for _, v in weekly], thinned, **style)
    _reset_marks(axes, _dates(series.resets), grid)
    if series.anomalies:
        top = max(v for _, v in values)
        axes.plot(
            _dates([mark.ts for mark in series.anomalies]),
            [top] * len(series.anomalies),
            linestyle="none",
            marker="v",
            color=FLAG,
            markersize=8,
            rasterized=len(series.anomalies) > RASTER_ABOVE,
            label="anomaly",
        )
    _date_axis(axes)
    axes.set_ylabel("prompts used" if prompts else "capacity used (%)")
    axes.set_xlabel("time (UTC)")
    axes.legend(loc="upper left", fontsize=8, ncols=3)
    resets = "ticked along the bottom" if len(series.resets) > MANY_RESETS else "dashed"
    caption = (
        f"{len(series.windows)} window(s) shaded; {len(series.resets)} reset(s) {resets}; "
        f"{len(series.anomalies)} anomaly(ies) flagged ▼."
    )
    return Chart(f"meter-{name}", title, to_svg(figure), caption=caption, figure=figure)


def _meter_line(
    axes: Axes, times: NDArray[np.float64], values: Sequence[float], grid: Columns | None, **style: Any
) -> None:
    """Readings as a line: through every reading, or, given a grid, through only those that draw it the same at
    the grid's resolution."""
    import numpy as np

    heights = np.asarray(values, dtype=float)
    kept = m4_indices(times, heights, grid) if grid is not None else slice(None)
    axes.plot(times[kept], heights[kept], **style)


def _window_bands(axes: Axes, opened: NDArray[np.float64], closed: NDArray[np.float64], colour: str) -> None:
    """One light band per window, under the readings, the full height of the axes: one collection, not an artist
    per window."""
    from matplotlib.collections import PolyCollection

    if not len(opened):
        return
    bands = [[(start, 0.0), (start, 1.0), (end, 1.0), (end, 0.0)] for start, end in zip(opened, closed, strict=True)]
    collection = PolyCollection(
        bands,
        transform=axes.get_xaxis_transform(),  # x in dates, y in axes fractions: the full height
        facecolors=colour,
        alpha=BAND_ALPHA,
        linewidths=0,
    )
    axes.add_collection(collection, autolim=False)  # the readings set the x range; bands lie within it


def _window_strip(
    axes: Axes, opened: NDArray[np.float64], closed: NDArray[np.float64], grid: Columns, colour: str
) -> None:
    """Many windows as one strip the axes' height, each column shaded by the share of its time inside a window:
    what a renderer shows of bands narrower than its pixels (each pixel takes its covered share of the band's
    shade), drawn as one small image instead of thousands of polygons."""
    import numpy as np
    from matplotlib.colors import to_rgba
    from matplotlib.image import AxesImage
    from matplotlib.transforms import BlendedAffine2D

    if not len(opened):
        return
    strip = np.zeros((1, grid.count, 4))
    strip[..., :3] = to_rgba(colour)[:3]
    strip[..., 3] = BAND_ALPHA * band_coverage(opened, closed, grid)
    image = AxesImage(axes, interpolation="none", origin="lower", extent=(grid.low, grid.high, 0.0, 1.0))
    # x in dates, y in axes fractions (the full height); as an affine blend, which the SVG backend can write
    image.set_transform(BlendedAffine2D(axes.transData, axes.transAxes))
    image.set_data(strip)
    axes.add_image(image)  # adds no data limits: the readings set the x range


def _reset_marks(axes: Axes, resets: NDArray[np.float64], grid: Columns) -> None:
    """Resets as dashed lines the axes' height, or, past MANY_RESETS, as short ticks along the bottom (full-height
    lines would cover the chart): one path, a tick per column that has a reset (a path element per tick swelled
    the SVG)."""
    import numpy as np
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    if not len(resets):
        return
    if len(resets) <= MANY_RESETS:
        dashed = LineCollection(
            [[(moment, 0.0), (moment, 1.0)] for moment in resets],
            transform=axes.get_xaxis_transform(),
            colors=INK,
            linestyles="--",
            linewidths=0.8,
            alpha=0.5,
        )
        axes.add_collection(dashed, autolim=False)
        return
    shown = resets[first_per_column(resets, grid)]
    lift = np.full(len(shown), np.nan)  # a NaN between two ticks lifts the pen
    ticks = Line2D(
        np.column_stack([shown, shown, lift]).ravel(),
        np.tile([0.0, 0.05, np.nan], len(shown)),
        transform=axes.get_xaxis_transform(),
        color=INK,
        linewidth=0.5,
        alpha=0.5,
    )
    axes.add_artist(ticks)  # adds no data limits: the resets lie within the readings


def _readings(series: MeterSeries, prompts: bool) -> list[tuple[str, float]]:
    """(time, value) of the meter drawn: prompts for glm, else the 5-hour percent; readings without it left out."""
    found = []
    for reading in series.readings:
        value = reading.prompts if prompts else reading.five_hour
        if value is not None:
            found.append((reading.ts, float(value)))
    return found


def tokens_chart(data: ReportData) -> Chart:
    """One line per provider and meter: colour is the provider, line style and marker the meter. 1 % of a weekly
    meter is another amount of capacity than 1 % of a 5-hour one, so the two are never one line."""
    from gittracker.capacity import meter_label, meter_minutes

    title = "Tokens per 1 % of each meter, per ISO week"
    weekly = data.weekly_tokens
    if not weekly:
        step = (
            "No window has both tokens and a capacity percent: `git tracker ingest ccusage` (Claude) or "
            "`git tracker ingest codex-sessions` (Codex) after closing windows gives each its tokens."
        )
        return Chart("tokens-per-percent", title, None, step)
    meter_styles = (("-", "o", "solid ●"), ("--", "s", "dashed ■"), (":", "^", "dotted ▲"), ("-.", "D", "dash-dot ◆"))
    meters = sorted({meter for _, meter in weekly}, key=lambda meter: (meter_minutes(meter), meter))
    style = {meter: meter_styles[number % len(meter_styles)] for number, meter in enumerate(meters)}
    figure = _figure()
    axes = figure.add_subplot()
    mondays_of = {key: _dates([_monday(week) for week in weeks]) for key, weeks in weekly.items()}
    for (name, meter), weeks in weekly.items():
        mondays = mondays_of[name, meter]
        line, marker, _ = style[meter]
        axes.plot(
            mondays,
            list(weeks.values()),
            color=PALETTE[name],
            linestyle=line,
            marker=marker,
            label=f"{name}, {meter_label(meter)}",
        )
    every = [day for days in mondays_of.values() for day in days]
    axes.set_xlim(min(every) - 3.5, max(every) + 3.5)  # each point stands for a week: one week alone is still a range
    _date_axis(axes)
    axes.set_xlabel("ISO week (its Monday)")
    axes.set_ylabel("tokens per 1 % of the meter")
    axes.legend(loc="best", fontsize=8, ncols=2 if len(weekly) > 3 else 1)
    lines = ", ".join(f"{meter_label(meter)} {style[meter][2]}" for meter in meters)
    return Chart(
        "tokens-per-percent",
        title,
        to_svg(figure),
        caption=f"Colour: the provider; line and marker: the meter ({lines}). Higher: more tokens for the same share "
        "of that meter. 1\u00a0% of a weekly meter is not 1\u00a0% of a 5-hour one, so each meter has its own line.",
        figure=figure,
    )


def _monday(week: str) -> str:
    """The Monday an ISO week (``2026-W23``) starts on, as a record time."""
    return f"{date.fromisocalendar(int(week[:4]), int(week[6:]), 1)}T00:00:00Z"


def work_chart(points: Sequence[WindowPoint]) -> Chart:
    import numpy as np

    title = "Delivered work against capacity used, per window"
    if not points:
        return Chart(
            "work-vs-capacity",
            title,
            None,
            "No closed window in this period: `git tracker end PROVIDER` closes one, "
            "`git tracker complete --outcome shipped --quality 0.9` records its outcome.",
        )
    units = sorted({p.unit for p in points})
    groups: dict[tuple[str, str, str | None], list[WindowPoint]] = {}
    for point in points:  # one pass: each (unit, provider, outcome) is one scatter
        groups.setdefault((point.unit, point.provider, point.outcome), []).append(point)
    figure = _figure()
    panels = figure.subplots(1, len(units), squeeze=False)[0]
    many = len(points) > RASTER_ABOVE
    look = {"s": 10, "alpha": 0.4} if many else {"s": 26, "alpha": 0.8}
    entries = []
    for axes, unit in zip(panels, units, strict=True):
        for name in PROVIDERS:
            for outcome, marker in OUTCOME_MARKERS.items():
                chosen = groups.get((unit, name, outcome))
                if chosen:
                    drawn = axes.scatter(  # arrays: from lists matplotlib builds a mask per point
                        np.array([p.capacity for p in chosen], dtype=float),
                        np.array([p.work or 0.0 for p in chosen], dtype=float),
                        marker=marker,
                        color=PALETTE[name],
                        rasterized=many,
                        label=f"{name}, {outcome or 'no outcome'}",  # the legend's entry: _legend_mark draws it
                        **look,
                    )
                    entries.append(_legend_mark(drawn.get_label(), marker, PALETTE[name], **look))
        axes.set_xlabel("capacity used (%)" if unit == "percent" else "capacity used (prompts)")
    panels[0].set_ylabel("delivered work (outcome x quality)")
    figure.legend(handles=entries, loc="outside lower center", fontsize=7, ncols=3)
    return Chart(
        "work-vs-capacity",
        title,
        to_svg(_taller(figure)),
        caption="Marker: ● shipped, ■ partial, ✖ failed, · no outcome yet.",
        figure=figure,
    )


def _legend_mark(label: str, marker: str, colour: str, s: float, alpha: float) -> Line2D:
    """A scatter's legend entry as a marker alone, drawn as the scatter draws its points (``s`` their area in pt²,
    edged alike): the legend's own handler for a scatter costs several times as much."""
    from matplotlib.lines import Line2D

    return Line2D([], [], linestyle="none", marker=marker, markersize=s**0.5, color=colour, alpha=alpha, label=label)


def _taller(figure: Figure) -> Figure:
    figure.set_figheight(HEIGHT_IN + 0.8)  # room for the legend under the panels
    return figure


def power_chart(data: ReportData) -> Chart:
    title = "Windows per provider: closed so far, and needed for 80 % power"
    providers = {n: r for n, r in data.preview["providers"].items() if r["n_per_arm_for_80pct_power"] is not None}
    if not providers:
        return Chart(
            "power",
            title,
            None,
            _first_steps(
                data, "how many windows a conclusion needs (3 closed, completed windows per provider with some spread)"
            ),
        )
    figure = _figure(0.9 + 0.55 * len(providers))
    axes = figure.add_subplot()
    names = list(providers)
    needed = [providers[n]["n_per_arm_for_80pct_power"] for n in names]
    have = [providers[n]["n"] for n in names]
    axes.barh(range(len(names)), needed, color=[PALETTE[n] for n in names], alpha=0.35, label="needed")
    axes.barh(range(len(names)), have, color=[PALETTE[n] for n in names], label="closed and completed")
    for row, (got, need) in enumerate(zip(have, needed, strict=True)):
        more = max(0, need - got)
        axes.annotate(
            f"{more} more" if more else "enough",
            (need, row),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    axes.set_yticks(range(len(names)), names)
    axes.invert_yaxis()
    axes.set_xlim(0, max(needed) * 1.25)
    axes.set_xlabel("windows (per provider)")
    return Chart(
        "power",
        title,
        to_svg(figure),
        caption="Dark bar: windows counted; light bar: windows 80\u00a0% power needs against the baseline"
        + (f" ({data.preview['baseline']})." if data.preview.get("baseline") else "."),
        figure=figure,
    )


def _first_steps(data: ReportData, what: str) -> str:
    if data.closed_windows == 0:
        return f"No closed window yet, so nothing to chart for {what}: {FIRST_STEPS}"
    return (
        f"Too few windows to chart {what}: close and complete at least 3 per provider "
        "(`git tracker end`, then `git tracker complete`)."
    )


FIRST_STEPS = (
    "run `git tracker init`, then for each piece of work `git tracker start PROVIDER --used PCT`, "
    "`git tracker end PROVIDER --used PCT` and `git tracker complete --outcome shipped --quality 0.9`; "
    "or `git tracker demo` to see a filled-in report."
)


def chart_ids_prefixed(svg: str, prefix: str) -> str:
    """Ids made unique on the page: matplotlib names clip paths and markers by content, so two charts can share one."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    for name in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}-{name}"').replace(f"#{name})", f"#{prefix}-{name})")
        svg = svg.replace(f'href="#{name}"', f'href="#{prefix}-{name}"')
    return svg
