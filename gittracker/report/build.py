"""``write_report``: gather, draw, write. Every input is checked before anything is drawn or written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gittracker.context import Context
from gittracker.report.data import check_filters

DEFAULT_NAME = "git-tracker-report.html"


@dataclass(frozen=True)
class Written:
    path: Path
    size: int
    charts: dict[str, bool]  # chart name -> drawn (False: it says what to do next instead)
    svg_files: list[Path]
    providers: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "path": str(self.path),
            "bytes": self.size,
            "charts": self.charts,
            "svg_files": [str(p) for p in self.svg_files],
            "providers": self.providers,
        }


def write_report(
    ctx: Context,
    out: str | None = None,
    since: str | None = None,
    provider: str | None = None,
    svg_dir: str | None = None,
) -> Written:
    """The report written to ``out`` (default ``git-tracker-report.html`` in the current directory), and with
    ``svg_dir`` each drawn chart as its own SVG file there."""
    from gittracker.files import output_file
    from gittracker.report.charts import draw_all
    from gittracker.report.data import gather
    from gittracker.report.page import render

    check_filters(since, provider)
    target = output_file(out or DEFAULT_NAME, "--out")
    folder = _svg_folder(svg_dir)
    data = gather(ctx, since, provider)
    charts = draw_all(data)
    html = render(data, charts)
    target.write_text(html, encoding="utf-8")
    written = []
    if folder is not None:
        for chart in charts:
            if chart.svg is not None:
                path = folder / f"{chart.name}.svg"
                path.write_text(chart.svg, encoding="utf-8")
                written.append(path)
    return Written(
        target.resolve(),
        len(html.encode()),
        {chart.name: chart.svg is not None for chart in charts},
        written,
        list(data.preview["providers"]),
    )


def _svg_folder(name: str | None) -> Path | None:
    if name is None:
        return None
    from gittracker.errors import BadInput

    path = Path(name)
    if path.exists() and not path.is_dir():
        raise BadInput(f"--svg: expected a folder, but {name!r} is a file")
    if not path.exists() and not path.parent.is_dir():
        raise BadInput(f"--svg: expected a folder in an existing folder, but {str(path.parent)!r} is not a folder")
    path.mkdir(exist_ok=True)
    return path
