"""``write_report``: gather, draw, write. Every input is checked before anything is drawn, and nothing is written
(no page, no SVG, no folder) until everything is drawn: a failure on the way leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gittracker.context import Context
from gittracker.files import staged
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
    ``svg_dir`` each drawn chart as its own SVG file there. Every file or none: the inputs' shapes are checked
    first, everything is gathered, drawn and rendered next, and only then is anything (the folder included)
    written."""
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
    drawn = [(chart.name, chart.svg) for chart in charts if chart.svg is not None]
    svgs = [(folder / f"{name}.svg", svg) for name, svg in drawn] if folder is not None else []
    _write_all([*svgs, (target, html)], folder)
    return Written(
        target.resolve(),
        len(html.encode()),
        {chart.name: chart.svg is not None for chart in charts},
        [path for path, _ in svgs],
        list(data.preview["providers"]),
    )


def _svg_folder(name: str | None) -> Path | None:
    """``--svg DIR`` checked, not made: an existing folder, or a new one in an existing folder."""
    if name is None:
        return None
    from gittracker.errors import BadInput

    path = Path(name)
    if path.exists() and not path.is_dir():
        raise BadInput(f"--svg: expected a folder, but {name!r} is a file")
    if not path.exists() and not path.parent.is_dir():
        raise BadInput(f"--svg: expected a folder in an existing folder, but {str(path.parent)!r} is not a folder")
    return path


def _write_all(files: Sequence[tuple[Path, str]], folder: Path | None = None) -> None:
    """Write every file or none. ``folder`` (made if absent) holds some of them. Each file is first written in full
    under a temporary name beside its place, then all are renamed into place, the last of ``files`` last; a failure
    before the renames removes what was written and the folder if it was made here, so a full disk or a failing
    write leaves nothing behind. (A rename that fails, far rarer, stops the ones after it.)"""
    from gittracker.errors import STORAGE_ERRNOS, StorageFailed

    made = folder is not None and not folder.exists()
    ready: list[tuple[Path, Path]] = []  # (temporary file written in full, its place)
    writing = folder
    try:
        if made and folder is not None:
            folder.mkdir()
        for path, text in files:
            writing = path
            ready.append((staged(path, text.encode(), durable=False), path))  # an existing file keeps its mode
        for temp, path in ready:
            writing = path
            os.replace(temp, path)
    except OSError as error:
        _undo(ready, folder if made else None)
        if error.errno in STORAGE_ERRNOS:  # the disk said no: named by the file asked for, not its temporary name
            raise StorageFailed(f"nothing was written: could not write {writing}: {error.strerror}") from None
        raise
    except BaseException:
        _undo(ready, folder if made else None)
        raise


def _undo(staged: Sequence[tuple[Path, Path]], made: Path | None) -> None:
    """The temporary files removed, and a folder made for this report removed with what was put in it."""
    for temp, path in staged:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        if made is not None and path.parent == made:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    if made is not None:
        with contextlib.suppress(OSError):
            made.rmdir()
