"""``git tracker report``: the self-contained HTML report with charts (docs/report.md)."""

from __future__ import annotations

from typing import Any

import click

from gittracker.commands.common import context, emit, json_option


@click.command()
@click.option("--out", metavar="FILE", help="Write the page here (default: git-tracker-report.html here).")
@click.option("--since", metavar="DATE", help="Charts over time start at this ISO-8601 date/time.")
@click.option("--provider", metavar="P", help="Only this provider.")
@click.option("--svg", "svg_dir", metavar="DIR", help="Also write each chart as its own SVG file in DIR.")
@click.option("--open", "open_it", is_flag=True, help="Open the page in the default browser once written.")
@json_option
def report(
    out: str | None, since: str | None, provider: str | None, svg_dir: str | None, open_it: bool, as_json: bool
) -> int:
    """One self-contained HTML file: headline, verdict and charts, for looking at and sharing."""
    from gittracker.report.build import write_report

    written = write_report(context(reading=True), out, since, provider, svg_dir)
    code = emit(written.to_dict(), as_json, _describe)
    if open_it:
        click.launch(str(written.path))
    return code


def _describe(written: dict[str, Any]) -> str:
    drawn = sum(written["charts"].values())
    lines = [f"wrote {written['path']} ({written['bytes'] // 1024} KiB, {drawn} of {len(written['charts'])} charts)"]
    lines += [f"wrote {path}" for path in written["svg_files"]]
    return "\n".join(lines)


COMMANDS: list[Any] = [report]
